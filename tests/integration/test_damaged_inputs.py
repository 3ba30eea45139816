"""Damaged inputs are GDAL errors, never missing data: a truncated label,
AOI or region layer, and a truncated raster (modality or labels, read
directly or warped), each stop the build with exit 4 and one message naming
the damaged file, and leave nothing at the output path. Every damaged file
is a truncated copy of real data."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run

GDAL = 4


def truncated_copy(src, folder, keep=0.9, part=None):
    """Copy SRC (with its shapefile siblings) into FOLDER and cut file PART
    (default: SRC itself) to KEEP of its size; return the copy of SRC."""
    src = Path(src)
    folder.mkdir(parents=True, exist_ok=True)
    for sibling in src.parent.glob(src.stem + ".*"):
        shutil.copy(sibling, folder / sibling.name)
        os.chmod(folder / sibling.name, 0o644)
    cut = folder / (part or src.name)
    os.truncate(cut, int(cut.stat().st_size * keep))
    return folder / src.name


def shapefile(src, folder, name):
    """SRC converted to the shapefile FOLDER/NAME.shp."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.shp"
    subprocess.run(["ogr2ogr", "-q", str(out), str(src)], check=True, capture_output=True)
    return out


def recipe(folder, *, optical, labels=None, extra_modality="", aoi=None):
    text = f"""dataset: {{name: damaged}}
grid:
  crs: {{like: optical}}
  chip_size: 32
{f"  aoi: {aoi}" if aoi else ""}
modalities:
  - name: optical
    files: [{optical}]
    nodata: 0
{extra_modality}
"""
    if labels is not None:
        text += f"""labels:
  source: {labels}
{"  attribute: TIPO" if str(labels).endswith(".shp") else ""}
{"  classes: {URBANO: 1, RURAL: 2}" if str(labels).endswith(".shp") else ""}
"""
    text += "split: {method: random, ratios: {train: 0.8, test: 0.2}}\n"
    path = folder / "recipe.yaml"
    path.write_text(text)
    return path


def fails_naming(path_recipe, damaged, folder, *args):
    """Build PATH_RECIPE: exit 4, one line naming DAMAGED, no output."""
    out = folder / "out"
    proc = run("build", path_recipe, "-o", out, *args, check=False)
    assert proc.returncode == GDAL, proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eodkit: error: "), proc.stderr
    assert damaged.name in lines[0], lines[0]
    assert not out.exists() and not Path(str(out) + ".partial").exists()
    return lines[0]


@pytest.mark.parametrize("part", ["olinda1.shp", "olinda1.dbf"])
def test_truncated_label_shapefile(tmp_path, shared, part):
    """Cut to 90%, the .shp loses the geometry of its last ~50 polygons
    (GDAL: 'Error in fread()'), the .dbf their attributes; the build used to
    go on without them, exit 0, label_features_unmapped 0."""
    labels = truncated_copy(shared / "vector/sf/olinda1.shp", tmp_path / "labels", part=part)
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif", labels=labels)
    line = fails_naming(path, labels, tmp_path)
    assert "damaged or truncated" in line
    assert "fread" in line  # GDAL's own words


def test_truncated_label_shapefile_without_class_map(tmp_path, shared):
    """Text classes found from the values themselves: the same damage."""
    labels = truncated_copy(shared / "vector/sf/olinda1.shp", tmp_path / "labels")
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif", labels=labels)
    path.write_text(path.read_text().replace("  classes: {URBANO: 1, RURAL: 2}\n", ""))
    fails_naming(path, labels, tmp_path)


def test_truncated_aoi(tmp_path, shared):
    aoi = shapefile(shared / "vector/sf/olinda1.shp", tmp_path / "aoi", "aoi")
    aoi = truncated_copy(aoi, tmp_path / "cut")
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif", aoi=aoi)
    fails_naming(path, aoi, tmp_path)


def test_truncated_region_layer(tmp_path, shared):
    world = shapefile(shared / "boundaries/spData/world.gpkg", tmp_path / "world", "world")
    world = truncated_copy(world, tmp_path / "cut", keep=0.5)
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif")
    fails_naming(path, world, tmp_path, "--regions", world)


def truncated_raster(src, folder, keep=0.6):
    """SRC rewritten by gdal_translate (header first, pixels after), then cut
    to KEEP of its size: it opens, but its last strips are missing."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / Path(src).name
    subprocess.run(["gdal_translate", "-q", str(src), str(out)], check=True)
    os.truncate(out, int(out.stat().st_size * keep))
    subprocess.run(["gdalinfo", str(out)], check=True, capture_output=True)  # opens
    return out


def test_truncated_modality_read_directly(tmp_path, shared):
    optical = truncated_raster(shared / "optical/stars/L7_ETMs.tif", tmp_path / "cut")
    line = fails_naming(recipe(tmp_path, optical=optical), optical, tmp_path)
    assert "TIFFReadEncodedStrip" in line


def test_truncated_modality_warped(tmp_path, shared):
    dem = truncated_raster(shared / "dem/stars/olinda_dem_utm25s.tif", tmp_path / "cut")
    extra = f"""  - name: dem
    files: [{dem}]
    resampling: bilinear"""
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif", extra_modality=extra)
    fails_naming(path, dem, tmp_path)


def test_truncated_label_raster(tmp_path, shared):
    full = tmp_path / "labels.tif"
    subprocess.run(["gdal_rasterize", "-q", "-burn", "1", "-tr", "0.0003", "0.0003",
                    "-ot", "Byte", str(shared / "vector/sf/olinda1.shp"), str(full)],
                   check=True)
    labels = truncated_raster(full, tmp_path / "cut", keep=0.3)
    path = recipe(tmp_path, optical=shared / "optical/stars/L7_ETMs.tif", labels=labels)
    fails_naming(path, labels, tmp_path)
