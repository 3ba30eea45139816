"""index.gpkg opens in geopandas; one row per chip in the shards; every
footprint contains its chip's centre; split/shard/row point at the array
holding that chip (checked against a GDAL read at the chip's place)."""
import json

import geopandas
import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from shapely.geometry import Point

from conftest import Dataset, build, grid_window


@pytest.fixture(scope="module")
def olinda(tmp_path_factory, demo):
    out, summary = build(f"""
dataset: {{name: olinda-index}}
grid: {{crs: {{like: optical}}, chip_size: 32, stride: 24}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], nodata: 0}}]
labels: {{source: {demo}/olinda1.shp, attribute: TIPO}}
filters: {{min_labeled: 0.2}}
split: {{method: blocks, block_size: 2000, buffer: 1, ratios: {{train: 0.7, val: 0.15, test: 0.15}}, seed: 5}}
output: {{shard_size: 20KiB}}
""", tmp_path_factory.mktemp("index"))
    return Dataset(out), summary


def test_geopandas_reads_the_index(olinda):
    ds, summary = olinda
    frame = geopandas.read_file(ds.path / "index.gpkg", layer="chips")
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == summary["chips"] > 30
    assert set(frame["split"]) == {"train", "val", "test"}
    assert frame.geometry.is_valid.all()


def test_rows_match_the_shards(olinda):
    ds, summary = olinda
    rows = ds.chips()
    # small shards: several per split, all rows accounted for exactly once
    for split, info in ds.collection["eodkit:splits"].items():
        sizes = [len(ds.array(split, "optical", k)) for k in range(info["shards"])]
        assert info["shards"] > 1
        assert sum(sizes) == info["chips"] == sum(r["split"] == split for r in rows)
        assert sorted((r["shard"], r["row"]) for r in rows if r["split"] == split) == \
            [(k, i) for k, n in enumerate(sizes) for i in range(n)]
        labels = [len(ds.array(split, "label", k)) for k in range(info["shards"])]
        assert labels == sizes


def test_footprints_contain_centres(olinda):
    ds, _ = olinda
    frame = geopandas.read_file(ds.path / "index.gpkg", layer="chips")
    for geom, lon, lat in zip(frame.geometry, frame["center_lon"], frame["center_lat"]):
        assert geom.contains(Point(lon, lat))
    # footprints are ~32 x 28.5 m wide in longitude at Olinda's latitude
    width = frame.geometry.bounds.maxx - frame.geometry.bounds.minx
    assert np.allclose(width, 32 * 28.5 / 110300, rtol=0.02)


def test_each_row_points_at_its_pixels(olinda, demo):
    ds, _ = olinda
    with rasterio.open(demo / "L7_ETMs.tif") as src:
        for row in ds.chips():
            col, line = grid_window(src, row)
            ref = src.read(window=Window(col, line, row["width"], row["height"]))
            assert np.array_equal(ds.chip(row, "optical"), ref)
            hist = {int(k): v for k, v in json.loads(row["class_hist"]).items()}
            got = np.bincount(ds.chip(row, "label").ravel(), minlength=3)
            assert hist == {c: int(n) for c, n in enumerate(got) if n}
            assert row["labeled_frac"] == pytest.approx(1 - got[0] / got.sum())
            assert json.loads(row["sources"]) == {"optical": [0]}
