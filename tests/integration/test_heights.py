"""Heights keep their vertical datum, and the dataset says which: the Rome
SRTM DEM (WGS 84 + EGM96 height) stays in EGM96 (orthometric) heights on any
grid; the vertical CRS is recorded in the grid description of
provenance.json and collection.json and in the STAC proj fields of the DEM's
assets; the gdalwarp command of doc/format.md reproduces the chips exactly
(without its -novshift, gdalwarp would give ellipsoidal heights, 49 m
higher)."""
import subprocess

import numpy as np
from osgeo import gdal, osr

from conftest import Dataset, build, gdalwarp_options, run
from test_stac import local_store, validate

ROME = "dem/sarsen/Rome-30m-DEM.tif"


def recipe(files, grid="crs: EPSG:32633, resolution: 30"):
    return f"""
dataset: {{name: rome-dem}}
grid: {{{grid}, chip_size: 64}}
modalities:
  - name: dem
    kind: dem
    files: {files}
    resampling: bilinear
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def chips_against(ds, ref):
    """(pixels compared, largest |chip - REF|) where both hold data."""
    compared, worst = 0, 0.0
    for row in ds.chips():
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        got = ds.chip(row, "dem")[0].astype(float)
        want = ref[y:y + h, x:x + w].astype(float)
        both = (got != -32768) & (want != -32768)
        compared += int(both.sum())
        if both.any():
            worst = max(worst, float(np.abs(got[both] - want[both]).max()))
    return compared, worst


def test_egm96_heights_are_recorded_and_reproduced(tmp_path, shared):
    dem = shared / ROME
    assert osr.SpatialReference(wkt=gdal.Open(str(dem)).GetProjection()).IsCompound()
    out, _ = build(recipe(f"[{dem}]"), tmp_path)
    ds = Dataset(out)

    # the vertical CRS, in the grid description of both files
    vertical = ds.provenance["grid"]["vertical_crs"]["dem"]
    assert vertical["name"] == "EGM96 height" and vertical["code"] == "EPSG:5773"
    assert osr.SpatialReference(wkt=vertical["wkt2"]).IsVertical()
    assert ds.collection["eodkit:grid"]["vertical_crs"] == {"dem": vertical}
    assert ds.collection["eodkit:grid"]["crs"] == "EPSG:32633"

    # STAC proj fields of the DEM's assets: the grid CRS with EGM96 heights
    assets = [a for key, a in ds.collection["assets"].items() if key.endswith(".npy")]
    dem_assets = [a for a in assets if "/dem-" in a["href"]]
    assert dem_assets and all("proj:epsg" not in a for a in dem_assets)
    crs = osr.SpatialReference(wkt=dem_assets[0]["proj:wkt2"])
    assert crs.IsCompound() and crs.GetAuthorityCode("VERT_CS") == "5773"
    assert crs.GetAttrValue("PROJCS") == "WGS 84 / UTM zone 33N"
    store = local_store(shared / "stac-schemas")
    assert validate(ds.collection, store) >= 2

    # the command of doc/format.md reproduces the chips bit for bit ...
    ref = tmp_path / "gdalwarp.tif"
    subprocess.run(["gdalwarp", "-q", *gdalwarp_options(ds, "dem"), str(dem), str(ref)],
                   check=True)
    compared, worst = chips_against(ds, gdal.Open(str(ref)).ReadAsArray())
    assert compared > 50000 and worst == 0
    # ... and without -novshift gdalwarp turns them into ellipsoidal heights
    shifted = tmp_path / "shifted.tif"
    options = [o for o in gdalwarp_options(ds, "dem") if o != "-novshift"]
    subprocess.run(["gdalwarp", "-q", *options, str(dem), str(shifted)], check=True)
    ellipsoidal = gdal.Open(str(shifted)).ReadAsArray().astype(float)
    geoid = ellipsoidal - gdal.Open(str(ref)).ReadAsArray()
    valid = gdal.Open(str(ref)).ReadAsArray() != -32768
    assert 47 <= np.median(geoid[valid]) <= 51  # EGM96 undulation around Rome


def test_native_compound_grid(tmp_path, shared):
    """On the DEM's own grid (`like`), chips are the file's pixels and the
    grid CRS is the compound CRS itself."""
    dem = shared / ROME
    out, _ = build(recipe(f"[{dem}]", grid="crs: {like: dem}"), tmp_path)
    ds = Dataset(out)
    assert ds.provenance["read"]["dem"]["sources"][0]["placements"][0]["aligned"]
    assert ds.provenance["grid"]["vertical_crs"]["dem"]["code"] == "EPSG:5773"
    grid = osr.SpatialReference(wkt=ds.collection["eodkit:grid"]["wkt2"])
    assert grid.IsCompound()
    ref = tmp_path / "gdalwarp.tif"
    subprocess.run(["gdalwarp", "-q", *gdalwarp_options(ds, "dem"), str(dem), str(ref)],
                   check=True)
    compared, worst = chips_against(ds, gdal.Open(str(ref)).ReadAsArray())
    assert compared > 50000 and worst == 0
    assert validate(ds.collection, local_store(shared / "stac-schemas")) >= 2


def test_files_with_other_vertical_datums_are_refused(tmp_path, shared):
    """Mosaicking EGM96 heights with EGM2008 heights would mix datums
    silently: refused, naming both files."""
    dem = shared / ROME
    other = tmp_path / "rome-egm2008.tif"
    subprocess.run(["gdal_translate", "-q", "-a_srs", "EPSG:4326+3855", str(dem), str(other)],
                   check=True)
    (tmp_path / "r.yaml").write_text(recipe(f"[{dem}, {other}]"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert f"{other}: its heights are in 'EGM2008 height'" in proc.stderr
    assert f"those of {dem} are in 'EGM96 height'" in proc.stderr
    assert "r.yaml:7:" in proc.stderr and not (tmp_path / "out").exists()


def test_without_vertical_crs_nothing_is_claimed(tmp_path, demo):
    """A DEM whose CRS has no vertical part gets no vertical_crs."""
    out, _ = build(recipe(f"[{demo}/olinda_dem_utm25s.tif]",
                          grid="crs: EPSG:31985, resolution: 90"), tmp_path)
    ds = Dataset(out)
    assert "vertical_crs" not in ds.provenance["grid"]
    assert "vertical_crs" not in ds.collection["eodkit:grid"]

