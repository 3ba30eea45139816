"""Masks and nodata: per-chip cloud share from a mask band (any nonzero
value, or given values) filtered by max_cloud; an undeclared nodata value
(the zeros around the swath of a Sentinel-2 B01 tile) set in the recipe."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build


@pytest.fixture
def with_qa_band(tmp_path, shared):
    """The Slovenian scene plus a QA band: 3 = cloud, 1 = clear, 7 = haze."""
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    data = gdal.Open(str(source)).ReadAsArray()
    qa = np.ones_like(data)
    qa[10:40, 20:70] = 3
    qa[50:60, :] = 7
    path = tmp_path / "scene_qa.tif"
    drv = gdal.GetDriverByName("GTiff")
    out = drv.Create(str(path), data.shape[1], data.shape[0], 2, gdal.GDT_UInt16)
    src = gdal.Open(str(source))
    out.SetGeoTransform(src.GetGeoTransform())
    out.SetProjection(src.GetProjection())
    out.GetRasterBand(1).WriteArray(data)
    out.GetRasterBand(2).WriteArray(qa)
    out = None
    return path, qa


def recipe(path, mask, filters=""):
    return f"""
dataset: {{name: masked}}
grid: {{crs: {{like: s}}, chip_size: 12}}
modalities:
  - {{name: s, files: [{path}], bands: [1], mask: {mask}}}
{filters}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


@pytest.mark.parametrize("mask,cloudy", [("{band: 2, values: [3]}", [3]),
                                         ("{band: 2, values: [3, 7]}", [3, 7])])
def test_cloud_share_from_mask_values(tmp_path, with_qa_band, mask, cloudy):
    path, qa = with_qa_band
    out, summary = build(recipe(path, mask), tmp_path / "all")
    rows = Dataset(out).chips()
    assert summary["chips"] == 7 * 6
    for row in rows:
        x, y = row["grid_x"], row["grid_y"]
        want = np.isin(qa[y:y + 12, x:x + 12], cloudy).mean()
        assert row["cloud_frac"] == pytest.approx(want)
    out, summary = build(recipe(path, mask, "filters: {max_cloud: 0.25}"), tmp_path / "filtered")
    shares = [np.isin(qa[j:j + 12, i:i + 12], cloudy).mean()
              for j in range(0, 84 - 11, 12) for i in range(0, 84 - 11, 12) if j + 12 <= 72]
    assert summary["rejected"]["cloud"] == sum(s > 0.25 for s in shares) > 0
    assert all(r["cloud_frac"] <= 0.25 for r in Dataset(out).chips())


def test_any_nonzero_mask_value(tmp_path, with_qa_band):
    path, qa = with_qa_band
    out, _ = build(recipe(path, "{band: 2}"), tmp_path)
    assert all(r["cloud_frac"] == 1.0 for r in Dataset(out).chips())


def test_undeclared_nodata_set_in_the_recipe(tmp_path, shared):
    """B01.jp2 declares no nodata, but half of it is zeros outside the swath."""
    tile = shared / "optical/stars/B01.jp2"
    body = f"""
dataset: {{name: b01}}
grid: {{chip_size: 305}}
modalities: [{{name: b01, files: [{tile}]{{nodata}}}}]
split: {{method: random, ratios: {{train: 1.0}}}}
"""
    plain, _ = build(body.replace("{nodata}", ""), tmp_path / "plain")
    declared, _ = build(body.replace("{nodata}", ", nodata: 0"), tmp_path / "declared")
    zeros = (gdal.Open(str(tile)).ReadAsArray() == 0)
    assert 0.4 < zeros.mean() < 0.6
    plain_rows, declared_rows = Dataset(plain).chips(), Dataset(declared).chips()
    assert all(r["nodata_frac"] == 0 for r in plain_rows)
    for row in declared_rows:
        x, y = row["grid_x"], row["grid_y"]
        assert row["nodata_frac"] == pytest.approx(zeros[y:y + 305, x:x + 305].mean())
    band = Dataset(declared).stats["modalities"]["b01"]["bands"][0]
    assert band["valid_count"] == band["count"] - zeros[:1830, :1830].sum()
    assert Dataset(plain).stats["modalities"]["b01"]["bands"][0]["min"] == 0
    assert band["min"] > 0
