"""Inputs named as GDAL names them (doc/recipe.md, "Archive and remote
recipes"): members of .zip, .tar and .gz archives, an SRTM .hgt.zip GDAL
opens itself, NetCDF subdatasets, names relative to the recipe's folder
inside such names, and lists of names in a file (files_from). Errors for
names that name nothing quote GDAL, name the input and leave nothing
behind."""
import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
import zipfile

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build, run, same_data

L7 = "L7_ETMs.tif"


def recipe(files, name="optical", extra=""):
    return f"""
dataset: {{name: archive}}
grid: {{crs: {{like: {name}}}, chip_size: 32}}
modalities:
  - name: {name}
    files: {files}
{extra}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo):
    """The Landsat scene built from the plain file."""
    out, summary = build(recipe(f"[{demo / L7}]"), tmp_path_factory.mktemp("plain"))
    assert summary["chips"] > 50
    return out


def make_archive(kind, scene, folder):
    """SCENE packed in an archive of KIND under FOLDER; its GDAL name,
    relative to FOLDER's parent."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        with zipfile.ZipFile(folder / "scene.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.write(scene, L7)
        return f"/vsizip/{folder.name}/scene.zip/{L7}"
    if kind == "tar":
        with tarfile.open(folder / "scene.tar.gz", "w:gz", dereference=True) as t:
            t.add(scene, L7)
        return f"/vsitar/{folder.name}/scene.tar.gz/{L7}"
    with open(scene, "rb") as f, gzip.open(folder / f"{L7}.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    return f"/vsigzip/{folder.name}/{L7}.gz"


@pytest.mark.parametrize("kind", ["zip", "tar", "gzip"])
def test_archive_member_builds_as_the_file(kind, reference, demo, tmp_path):
    """A scene inside an archive, named relative to the recipe's folder,
    gives the bytes the plain file gives; provenance hashes the member."""
    name = make_archive(kind, demo / L7, tmp_path / "data")
    out, _ = build(recipe(f'["{name}"]'), tmp_path)
    assert same_data(reference, out) > 5
    inputs = Dataset(out).provenance["inputs"]
    member = [i for i in inputs if i["role"] == "modality"]
    assert len(member) == 1
    assert member[0]["path"] == name.replace("/data/", f"/{tmp_path}/data/", 1)
    assert member[0]["sha256"] == sha256((demo / L7).read_bytes())
    assert member[0]["bytes"] == (demo / L7).stat().st_size


@pytest.fixture(scope="module")
def hgt(tmp_path_factory, shared):
    """An SRTM-3 tile N41E012.hgt made from the real Rome DEM (1 arc-second,
    averaged to 3), its folder."""
    folder = tmp_path_factory.mktemp("srtm")
    tile = folder / "tile.tif"
    subprocess.run(["gdalwarp", "-q", "-t_srs", "EPSG:4326", "-te", "11.999583333333334",
                    "40.999583333333334", "13.000416666666666", "42.000416666666666",
                    "-ts", "1201", "1201", "-r", "average", "-dstnodata", "-32768",
                    str(shared / "dem/sarsen/Rome-30m-DEM.tif"), str(tile)], check=True)
    subprocess.run(["gdal_translate", "-q", "-of", "SRTMHGT", str(tile),
                    str(folder / "N41E012.hgt")], check=True)
    assert (folder / "N41E012.hgt.aux.xml").exists()  # GDAL's statistics beside it
    return folder


def check_hgt_chips(out, gdal_name):
    """Every chip holds the tile's pixels at its window (grid like: dem)."""
    ds = Dataset(out)
    tile = gdal.Open(gdal_name).ReadAsArray()
    rows = ds.chips()
    assert len(rows) >= 2
    for row in rows:
        x, y = row["grid_x"], row["grid_y"]
        assert np.array_equal(ds.chip(row, "dem")[0], tile[y:y + 32, x:x + 32])
    return ds


def test_hgt_member_of_zip(hgt, tmp_path):
    with zipfile.ZipFile(tmp_path / "N41E012.hgt.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(hgt / "N41E012.hgt", "N41E012.hgt")
    out, _ = build(recipe('["/vsizip/N41E012.hgt.zip/N41E012.hgt"]', "dem",
                          "filters: {max_nodata: 0.5}"), tmp_path)
    ds = check_hgt_chips(out, f"/vsizip/{tmp_path}/N41E012.hgt.zip/N41E012.hgt")
    source = ds.provenance["read"]["dem"]["sources"][0]
    assert source["path"] == f"/vsizip/{tmp_path}/N41E012.hgt.zip/N41E012.hgt"


def test_hgt_zip_opened_by_gdal_with_side_files(hgt, tmp_path):
    """A .hgt.zip GDAL opens itself, zipped with the .aux.xml GDAL wrote
    beside the tile: provenance lists and hashes both members."""
    data = tmp_path / "data"
    data.mkdir()
    with zipfile.ZipFile(data / "N41E012.hgt.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(hgt / "N41E012.hgt", "N41E012.hgt")
        z.write(hgt / "N41E012.hgt.aux.xml", "N41E012.hgt.aux.xml")
    out, _ = build(recipe("[data/N41E012.hgt.zip]", "dem", "filters: {max_nodata: 0.5}"),
                   tmp_path)
    ds = check_hgt_chips(out, str(data / "N41E012.hgt.zip"))
    listed = {i["path"].rsplit("/", 1)[1]: i for i in ds.provenance["inputs"]
              if i["role"] == "modality"}
    with zipfile.ZipFile(data / "N41E012.hgt.zip") as z:
        aux = z.read("N41E012.hgt.aux.xml")
    assert listed["N41E012.hgt.aux.xml"]["sha256"] == sha256(aux)
    assert listed["N41E012.hgt.aux.xml"]["bytes"] == len(aux)
    assert listed["N41E012.hgt.zip"]["sha256"] == sha256((data / "N41E012.hgt.zip").read_bytes())


def test_netcdf_subdatasets(demo, tmp_path):
    """NETCDF:"file":variable names, quoted or not, with the file relative to
    the recipe's folder: each variable's pixels as in the scene's band."""
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["gdal_translate", "-q", "-of", "netCDF", str(demo / L7),
                    str(data / "l7.nc")], check=True)
    out, _ = build(recipe("['NETCDF:\"data/l7.nc\":Band3']", "red", """
  - name: nir
    files: ['NETCDF:data/l7.nc:Band4']"""), tmp_path)
    ds = Dataset(out)
    scene = gdal.Open(str(demo / L7)).ReadAsArray()
    rows = ds.chips()
    assert len(rows) > 50
    for row in rows:
        x, y = row["grid_x"], row["grid_y"]
        assert np.array_equal(ds.chip(row, "red")[0], scene[2, y:y + 32, x:x + 32])
        assert np.array_equal(ds.chip(row, "nir")[0], scene[3, y:y + 32, x:x + 32])
    paths = [ds.provenance["read"][m]["sources"][0]["path"] for m in ("red", "nir")]
    assert paths == [f'NETCDF:"{tmp_path}/data/l7.nc":Band3', f"NETCDF:{tmp_path}/data/l7.nc:Band4"]
    assert {i["path"] for i in ds.provenance["inputs"] if i["role"] == "modality"} == {
        f"{tmp_path}/data/l7.nc"}


def test_files_from_lists_names(reference, demo, tmp_path):
    """files_from: one name per line, relative to the list's folder, with
    comments, blank lines, surrounding blanks and CRLF line ends."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo / L7, data / L7)
    with zipfile.ZipFile(data / "scene.zip", "w") as z:
        z.write(demo / L7, L7)
    (data / "scenes.txt").write_bytes(
        b"# the scene, twice\r\n\r\n  /vsizip/scene.zip/L7_ETMs.tif  \r\nL7_ETMs.tif\r\n")
    out, _ = build(recipe("[]").replace("files: []", "files_from: data/scenes.txt"), tmp_path)
    ds = Dataset(out)
    sources = [s["path"] for s in ds.provenance["read"]["optical"]["sources"]]
    assert sources == [f"/vsizip/{data}/scene.zip/{L7}", f"{data}/{L7}"]
    # the same scene twice mosaics to the scene
    ref = Dataset(reference)
    assert [r["chip_id"] for r in ds.chips()] == [r["chip_id"] for r in ref.chips()]
    assert np.array_equal(ds.split_arrays("train", "optical"),
                          ref.split_arrays("train", "optical"))


def test_files_from_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    (tmp_path / "r.yaml").write_text(recipe("[]").replace("files: []", "files_from: empty.txt"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "r.yaml:6:17: modalities[].files_from:" in proc.stderr and "names no file" in proc.stderr
    (tmp_path / "r.yaml").write_text(recipe("[]").replace("files: []", "files_from: missing.txt"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "missing.txt: cannot open" in proc.stderr
    (tmp_path / "r.yaml").write_text(recipe("[a.tif]").replace(
        "files: [a.tif]", "files: [a.tif]\n    files_from: empty.txt"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "give one of 'files'" in proc.stderr


@pytest.mark.parametrize("files, code, says", [
    ("['/vsizip/data/scene.zip/missing.tif']", 2,
     ["/vsizip/{tmp}/data/scene.zip/missing.tif: cannot open it", "does not exist"]),
    ("['NETCDF:\"data/l7.nc\":nope']", 2,
     ['NETCDF:"{tmp}/data/l7.nc":nope: cannot open it', "Variable not found"]),
    ("[data/scene.zip]", 4,
     ["{tmp}/data/scene.zip: GDAL cannot read it as a raster", "/vsizip/ARCHIVE/MEMBER",
      "not recognized as a supported file format"]),
])
def test_names_that_name_nothing(files, code, says, demo, tmp_path):
    """A missing member, a missing subdataset, an archive GDAL does not open
    by itself: the error names the input and quotes GDAL; nothing is
    written."""
    data = tmp_path / "data"
    data.mkdir()
    with zipfile.ZipFile(data / "scene.zip", "w") as z:
        z.write(demo / L7, L7)
    subprocess.run(["gdal_translate", "-q", "-of", "netCDF", "-b", "1", str(demo / L7),
                    str(data / "l7.nc")], check=True)
    (tmp_path / "r.yaml").write_text(recipe(files))
    out = tmp_path / "out"
    proc = run("build", tmp_path / "r.yaml", "-o", out, check=False)
    assert proc.returncode == code, proc.stderr
    for text in says:
        assert text.format(tmp=tmp_path) in proc.stderr
    assert "r.yaml:6:12" in proc.stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()
    assert json.loads(proc.stdout or "null") is None
