"""NaN and infinities are never data: in every filter (chip nodata shares,
max_nodata) and statistic they count as nodata, whatever the declared
nodata value; `nodata: nan` is accepted; a modality whose kept chips hold
no valid value is an error, not a dataset of NaN; a nodata value the
modality's data type cannot hold is refused naming the recipe line and the
file. The rasters are the real Olinda DEM (float32, no nodata) with some or
all values replaced."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from conftest import Dataset, build, grid_window, run

INPUT = 2


def dem_copy(shared, folder, edit):
    """A copy of the Olinda DEM whose values EDIT(array) replaced in place
    (georeferencing and format untouched)."""
    path = Path(folder) / "dem.tif"
    shutil.copy(shared / "dem/stars/olinda_dem_utm25s.tif", path)
    path.chmod(0o644)
    with rasterio.open(path, "r+") as ds:
        assert ds.nodata is None and ds.dtypes[0] == "float32"
        a = ds.read(1)
        edit(a)
        ds.write(a, 1)
    return path


def recipe(dem, extra="", grid="{crs: {like: dem}, chip_size: 8}", nodata=None):
    return f"""dataset: {{name: nan}}
grid: {grid}
modalities:
  - name: dem
    kind: dem
    files: [{dem}]
{f"    nodata: {nodata}" if nodata is not None else ""}
{extra}
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 3}}
"""


def fails(tmp_path, text, pattern):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    proc = run("build", path, "-o", out, check=False)
    assert proc.returncode == INPUT, proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eodkit: error: "), proc.stderr
    assert pattern in lines[0], lines[0]
    assert not out.exists() and not Path(f"{out}.partial").exists()
    return lines[0]


def partly_nan(a):
    a[:, :40] = np.nan           # whole chips of NaN on the west side
    a[50:53, 60:95] = np.inf     # chips partly infinite
    a[70, 61:66] = -np.inf
    a[90:, 100:] = np.nan


def test_all_nan_raster_is_an_error(tmp_path, shared):
    """Used to build 41+ all-NaN chips with null statistics and exit 0."""
    dem = dem_copy(shared, tmp_path, lambda a: a.fill(np.nan))
    line = fails(tmp_path, recipe(dem), "hold no valid value")
    assert "modality 'dem'" in line and "recipe.yaml" in line


def test_all_nan_chips_fail_max_nodata(tmp_path, shared):
    dem = dem_copy(shared, tmp_path, lambda a: a.fill(np.nan))
    fails(tmp_path, recipe(dem, "filters: {max_nodata: 0.5}"), "no chip was kept")


def test_partly_nan_statistics_are_numpy_nan_aware(tmp_path, shared):
    dem = dem_copy(shared, tmp_path, partly_nan)
    out, summary = build(recipe(dem), tmp_path)
    ds = Dataset(out)
    band = ds.stats["modalities"]["dem"]["bands"][0]
    train = ds.split_arrays(ds.stats["split"], "dem").astype(np.float64)
    assert np.isnan(train).any() and np.isinf(train).any()
    v = np.where(np.isfinite(train), train, np.nan)  # inf counts as nodata too
    assert band["count"] == train.size
    assert band["valid_count"] == np.count_nonzero(~np.isnan(v)) > 0
    assert band["mean"] == pytest.approx(np.nanmean(v), rel=1e-9)
    assert band["std"] == pytest.approx(np.nanstd(v), rel=1e-9)
    assert band["min"] == np.nanmin(v) and band["max"] == np.nanmax(v)
    for p, got in band["percentiles"].items():
        assert got == pytest.approx(np.nanpercentile(v, float(p)), rel=1e-7), p


def test_nan_and_inf_count_in_chip_nodata_shares_and_max_nodata(tmp_path, shared):
    """The index's nodata_frac of every chip is its share of non-finite
    pixels in the raster, and max_nodata drops exactly the chips above it."""
    dem = dem_copy(shared, tmp_path, partly_nan)
    with rasterio.open(dem) as src:
        a = src.read(1)
    out, summary = build(recipe(dem, "filters: {max_nodata: 0.25}"), tmp_path)
    ds = Dataset(out)
    shares = {}
    for j in range(a.shape[0] // 8):
        for i in range(a.shape[1] // 8):
            shares[(i * 8, j * 8)] = float(np.mean(~np.isfinite(a[j*8:j*8+8, i*8:i*8+8])))
    rows = ds.chips()
    for row in rows:
        assert row["nodata_frac"] == pytest.approx(shares[(row["grid_x"], row["grid_y"])])
        chip = ds.chip(row, "dem")[0]
        assert np.array_equal(chip, a[row["grid_y"]:row["grid_y"] + 8,
                                      row["grid_x"]:row["grid_x"] + 8], equal_nan=True)
    too_many = sum(s > 0.25 for s in shares.values())
    assert 0 < too_many < len(shares)
    assert summary["rejected"]["nodata"] == too_many
    assert len(rows) == len(shares) - too_many


def test_nodata_nan_is_accepted_and_warped_nan_is_nodata(tmp_path, shared):
    """`nodata: nan` (the warper then skips NaN sources) on a DEM warped
    onto the Landsat grid: chips are built, and their statistics leave out
    every NaN and infinite pixel."""
    dem = dem_copy(shared, tmp_path, partly_nan)
    optical = shared / "optical/stars/L7_ETMs.tif"
    text = f"""dataset: {{name: nan-warped}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - name: optical
    files: [{optical}]
    nodata: 0
  - name: dem
    files: [{dem}]
    resampling: bilinear
    nodata: nan
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 3}}
"""
    out, _ = build(text, tmp_path)
    ds = Dataset(out)
    band = ds.stats["modalities"]["dem"]["bands"][0]
    train = ds.split_arrays(ds.stats["split"], "dem").astype(np.float64)
    assert np.isnan(train).any()
    assert band["valid_count"] == np.count_nonzero(np.isfinite(train)) > 0
    assert band["mean"] == pytest.approx(train[np.isfinite(train)].mean(), rel=1e-9)
    assert ds.stats["modalities"]["dem"]["nodata"] is None  # NaN has no JSON number
    meta = {m["name"]: m for m in ds.collection["eodkit:modalities"]}
    assert "nodata" in meta["dem"] and meta["dem"]["nodata"] is None
    assert "nodata: nan" in (out / "recipe.yaml").read_text()


@pytest.mark.parametrize("value, dtype_text", [
    ("300", "uint8"), ("-1", "uint8"), ("0.5", "uint8"), ("nan", "uint8")])
def test_nodata_outside_the_data_type_is_refused(tmp_path, shared, value, dtype_text):
    """Used to build: 300 on uint8 silently matched nothing (or wrapped)."""
    optical = shared / "optical/stars/L7_ETMs.tif"
    text = f"""dataset: {{name: bad-nodata}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - name: optical
    files: [{optical}]
    nodata: {value}
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}}}
"""
    line = fails(tmp_path, text, f"modalities[].nodata: {value if value != 'nan' else 'nan'}")
    assert "recipe.yaml:6:13" in line  # the recipe line of nodata
    assert dtype_text in line and "L7_ETMs.tif" in line


def test_float32_nodata_beyond_float32_is_refused(tmp_path, shared):
    dem = dem_copy(shared, tmp_path, lambda a: None)
    line = fails(tmp_path, recipe(dem, nodata="1e39"), "is not a value of float32")
    assert "recipe.yaml:7:13" in line and "dem.tif" in line


@pytest.mark.parametrize("text, value", [("0.1", np.float32(0.1)),
                                         ("-3.40282347e+38", np.float32(-3.4028235e38))])
def test_float32_nodata_is_compared_as_float32(tmp_path, shared, text, value):
    """A float32 nodata is rounded to float32 as the pixels are: 0.1 in the
    recipe matches pixels holding 0.1f, and -3.40282347e+38 (as files often
    write float32's lowest value) matches it. Neither matched before."""
    def mark(a):
        a[10:30, 10:30] = value
    dem = dem_copy(shared, tmp_path, mark)
    out, _ = build(recipe(dem, nodata=text), tmp_path)
    ds = Dataset(out)
    band = ds.stats["modalities"]["dem"]["bands"][0]
    train = ds.split_arrays(ds.stats["split"], "dem")
    assert (train == value).any()
    assert band["valid_count"] == np.count_nonzero(train != value)
    assert band["min"] == train[train != value].min()



def test_a_files_own_nodata_outside_its_type_is_ignored_as_gdal_does(tmp_path, shared):
    """A uint8 file tagged with nodata 300 (real files carry such tags, e.g.
    -9999 on unsigned data): no pixel can hold it and GDAL's reads ignore
    it, so the build does too: it builds, declares no nodata, and its
    chips hold the file's pixels, zeros included."""
    from osgeo import gdal
    src = tmp_path / "l7.tif"
    shutil.copy(shared / "optical/stars/L7_ETMs.tif", src)
    src.chmod(0o644)
    ds = gdal.Open(str(src), gdal.GA_Update)
    for b in range(1, ds.RasterCount + 1):
        ds.GetRasterBand(b).SetNoDataValue(300)
    ds = None
    assert gdal.Info(str(src)).count("NoData Value=3e+02") == 6
    out, _ = build(f"""dataset: {{name: file-nodata}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - name: optical
    files: [{src}]
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 1}}
""", tmp_path)
    d = Dataset(out)
    meta = {m["name"]: m for m in d.collection["eodkit:modalities"]}
    assert meta["optical"].get("nodata") is None
    rows = d.chips()
    assert rows
    with rasterio.open(shared / "optical/stars/L7_ETMs.tif") as ds:
        whole = ds.read()
        for row in rows:
            x, y = grid_window(ds, row)
            assert np.array_equal(d.chip(row, "optical"), whole[:, y:y + 32, x:x + 32])
