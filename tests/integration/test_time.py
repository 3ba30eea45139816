"""Time: acquisitions of one place (real Landsat-like data over Slovenia,
copied under new dates with recognisable values) become (n, T, C, H, W)
stacks, oldest first, with their datetimes in the index; mosaics take the
newest valid, cloud-free pixel; dates come from names or GDAL metadata."""
import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build, run

DATES = ["20160206T100203", "20160317T100659", "20160526T100000"]
ISO = ["2016-02-06T10:02:03Z", "2016-03-17T10:06:59Z", "2016-05-26T10:00:00Z"]


@pytest.fixture
def acquisitions(tmp_path, shared):
    """Three copies of the scene, acquisition k holding original + 1000 k."""
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    base = gdal.Open(str(source)).ReadAsArray().astype(np.int32)
    paths = []
    for k, date in enumerate(DATES):
        path = tmp_path / f"slo_{date}_B1.tif"
        subprocess.run(["gdal_translate", "-q", "-ot", "UInt16", str(source), str(path)], check=True)
        ds = gdal.Open(str(path), gdal.GA_Update)
        ds.GetRasterBand(1).WriteArray((base + 1000 * k).astype(np.uint16))
        ds = None
        paths.append(path)
    return tmp_path, base


def recipe(folder, time, extra="", filters=""):
    return f"""
dataset: {{name: slovenia-time}}
grid: {{crs: {{like: s}}, chip_size: 24, stride: 24}}
modalities:
  - name: s
    files: ["{folder}/slo_*_B1.tif"]
    time: {time}
    {extra}
{filters}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def test_stack_shape_order_and_datetimes(acquisitions):
    folder, base = acquisitions
    out, summary = build(recipe(folder, '{mode: stack, count: 2, pattern: "_([0-9]{8}T[0-9]{6})_"}'),
                         folder / "stack")
    ds = Dataset(out)
    assert ds.collection["eodkit:modalities"][0]["shape"] == [2, 1, 24, 24]
    assert ds.collection["eodkit:modalities"][0]["time"]["acquisitions"] == 3
    assert ds.collection["extent"]["temporal"]["interval"] == [[ISO[1], ISO[2]]]
    rows = ds.chips()
    assert summary["chips"] == len(rows) == 3 * 3
    for row in rows:
        chip = ds.chip(row, "s")
        x, y = row["grid_x"], row["grid_y"]
        want = base[y:y + 24, x:x + 24]
        # the two newest acquisitions, oldest first
        assert np.array_equal(chip[0, 0], want + 1000) and np.array_equal(chip[1, 0], want + 2000)
        assert json.loads(row["datetimes"]) == {"s": ISO[1:]}
        assert row["datetime"].startswith("2016/05/26 10:00:00") or \
            row["datetime"].startswith("2016-05-26T10:00:00")
    assert np.load(out / "train/s-00000.npy", mmap_mode="r").shape == (9, 2, 1, 24, 24)


def test_from_to_restrict_the_dates(acquisitions):
    folder, _ = acquisitions
    out, _ = build(recipe(folder, '{mode: stack, count: 2, from: 2016-01-01, to: 2016-04-01, '
                                  'pattern: "_([0-9]{8}T[0-9]{6})_"}'), folder / "window")
    rows = Dataset(out).chips()
    assert {tuple(json.loads(r["datetimes"])["s"]) for r in rows} == {tuple(ISO[:2])}


def test_dates_from_gdal_metadata(acquisitions):
    folder, _ = acquisitions
    for k, date in enumerate(DATES):
        subprocess.run(["gdal_edit.py", "-mo", f"TIFFTAG_DATETIME={ISO[k][:10].replace('-', ':')} "
                        f"{ISO[k][11:19]}", str(folder / f"slo_{date}_B1.tif")], check=True)
    out, _ = build(recipe(folder, "{mode: stack, count: 3}"), folder / "meta")
    rows = Dataset(out).chips()
    assert json.loads(rows[0]["datetimes"]) == {"s": ISO}


def test_mosaic_takes_the_newest_valid_pixel(acquisitions):
    folder, base = acquisitions
    newest = folder / f"slo_{DATES[2]}_B1.tif"
    ds = gdal.Open(str(newest), gdal.GA_Update)
    data = ds.GetRasterBand(1).ReadAsArray()
    data[:, :40] = 0  # a gap in the newest acquisition
    ds.GetRasterBand(1).WriteArray(data)
    ds = None
    out, _ = build(recipe(folder, '{mode: mosaic, pattern: "_([0-9]{8}T[0-9]{6})_"}',
                          extra="nodata: 0"), folder / "mosaic")
    ds = Dataset(out)
    assert ds.collection["eodkit:modalities"][0]["shape"] == [1, 24, 24]
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        want = base[y:y + 24, x:x + 24] + np.where(np.arange(x, x + 24) < 40, 1000, 2000)
        assert np.array_equal(ds.chip(row, "s")[0], want)
        used = json.loads(row["datetimes"])["s"]
        want_used = ([ISO[1]] if x < 40 else []) + ([ISO[2]] if x + 24 > 40 else [])
        assert used == want_used, (x, used)


def test_cloud_polygons_mask_mosaics_and_filter(acquisitions, shared):
    """Timestamped cloud polygons (eo-learn's CLM_VECTOR): clouds of
    2016-03-17 cover half the patch; a mosaic of that date and the older
    clear one takes the clear pixels there."""
    folder, base = acquisitions
    (folder / f"slo_{DATES[2]}_B1.tif").unlink()
    clouds = shared / "vector/eo-learn/CLM_VECTOR.gpkg"
    out, _ = build(recipe(folder, '{mode: mosaic, pattern: "_([0-9]{8}T[0-9]{6})_"}',
                          extra=f"mask: {{polygons: {clouds}, time_field: TIMESTAMP}}"),
                   folder / "clouds")
    ds = Dataset(out)
    # the mask polygons are an input of the build: provenance lists them
    assert [(i["role"], i["of"]) for i in ds.provenance["inputs"]
            if i["path"] == str(clouds)] == [("mask", "s")]
    cloud_mask = rasterize_clouds(ds, clouds, "2016-03-17T10:06:59", folder)
    older_clouds = rasterize_clouds(ds, clouds, "2016-02-06T10:02:03", folder)
    both = 0
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        newer = cloud_mask[y:y + 24, x:x + 24] > 0
        older = older_clouds[y:y + 24, x:x + 24] > 0
        # clear beats cloudy, then newer beats older
        want = base[y:y + 24, x:x + 24] + np.where(newer & ~older, 0, 1000)
        assert np.array_equal(ds.chip(row, "s")[0], want), row["chip_id"]
        assert row["cloud_frac"] == pytest.approx((newer & older).mean())
        both += (newer & older).sum()
    assert both > 0
    # a stack of the same two dates must skip the cloudy acquisition where
    # clouds exceed max_cloud: chips under the clouds keep too few steps
    out, summary = build(recipe(folder, '{mode: stack, count: 2, pattern: "_([0-9]{8}T[0-9]{6})_"}',
                                extra=f"mask: {{polygons: {clouds}, time_field: TIMESTAMP}}",
                                filters="filters: {max_cloud: 0.2}"), folder / "stack-clouds")
    shares = []
    for j in range(3):
        for i in range(3):
            shares.append((cloud_mask[j * 24:j * 24 + 24, i * 24:i * 24 + 24] > 0).mean())
    assert summary["rejected"]["time"] == sum(s > 0.2 for s in shares) > 0
    assert summary["chips"] == sum(s <= 0.2 for s in shares)


def rasterize_clouds(ds, clouds, when, folder):
    g = ds.provenance["grid"]["grids"][0]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    ref = folder / f"clouds-{when[:10]}.tif"
    subprocess.run(["gdal_rasterize", "-q", "-burn", "1", "-where", f"TIMESTAMP LIKE '{when}%'",
                    "-te", *map(repr, [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]),
                    "-ts", str(w), str(h), "-ot", "Byte", "-init", "0", str(clouds), str(ref)],
                   check=True)
    mask = gdal.Open(str(ref)).ReadAsArray()
    assert 0 < mask.mean() < 1
    return mask


def test_pattern_without_a_date_is_refused(acquisitions):
    folder, _ = acquisitions
    (folder / "r.yaml").write_text(recipe(folder, '{mode: stack, count: 2, pattern: "_(X[0-9]+)_"}'))
    proc = run("build", folder / "r.yaml", "-o", folder / "out", check=False)
    assert proc.returncode == 2
    assert "slo_20160206T100203_B1.tif: no date in its name: it does not match time.pattern" \
        in proc.stderr
    assert not (folder / "out").exists()


def test_too_few_acquisitions_for_the_stack(acquisitions):
    folder, _ = acquisitions
    (folder / "r.yaml").write_text(recipe(folder, '{mode: stack, count: 5, pattern: "_([0-9]{8}T[0-9]{6})_"}'))
    proc = run("build", folder / "r.yaml", "-o", folder / "out", check=False)
    assert proc.returncode == 2 and "time.count is 5 but the files hold 3 acquisitions" in proc.stderr
