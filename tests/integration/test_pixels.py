"""Chips built on a raster's native grid equal rasterio window reads of the
same windows, every chip, every band (the aligned path is a pure read)."""
import numpy as np
import rasterio
from rasterio.windows import Window

from conftest import Dataset, build, grid_window


def assert_chips_equal_reads(ds, name, source):
    rows = ds.chips()
    assert rows, "no chips written"
    with rasterio.open(source) as src:
        for row in rows:
            col, line = grid_window(src, row)
            ref = src.read(window=Window(col, line, row["width"], row["height"]),
                           boundless=True, fill_value=src.nodata or 0)
            got = ds.chip(row, name)
            assert got.dtype == ref.dtype
            assert np.array_equal(got, ref), f"chip {row['chip_id']} differs"
    return len(rows)


def test_landsat_native_grid(tmp_path, demo):
    out, summary = build(f"""
dataset: {{name: l7-native}}
grid: {{crs: {{like: optical}}, chip_size: 48, stride: 40}}
modalities:
  - name: optical
    files: [{demo}/L7_ETMs.tif]
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 3}}
""", tmp_path)
    ds = Dataset(out)
    # 349 x 352 pixels, 48-pixel chips every 40: 8 x 8 chips, none filtered.
    assert summary["chips"] == 64
    assert ds.collection["eodkit:modalities"][0]["shape"] == [6, 48, 48]
    assert assert_chips_equal_reads(ds, "optical", demo / "L7_ETMs.tif") == 64
    src = ds.provenance["read"]["optical"]["sources"][0]
    assert src["aligned"] is True and src["xscale"] == 1.0


def test_worldview_uint16_native_grid(tmp_path, shared):
    source = shared / "optical/solaris/sample_geotiff.tif"
    out, summary = build(f"""
dataset: {{name: atlanta-pan}}
grid: {{chip_size: [100, 150]}}
modalities:
  - name: pan
    files: [{source}]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    assert summary["chips"] == 9 * 6
    assert ds.collection["eodkit:modalities"][0]["dtype"] == "uint16"
    assert assert_chips_equal_reads(ds, "pan", source) == 54
