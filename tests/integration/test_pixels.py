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
    placed = ds.provenance["read"]["optical"]["sources"][0]["placements"][0]
    assert placed["aligned"] is True and placed["xscale"] == 1.0


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


def test_mosaic_of_overlapping_tiles_equals_the_scene(tmp_path, demo):
    """Two overlapping tiles cut from the scene mosaic back into it exactly;
    a third file with nodata holes does not punch holes into the result."""
    import subprocess
    scene = demo / "L7_ETMs.tif"
    west, east, holes = tmp_path / "west.tif", tmp_path / "east.tif", tmp_path / "holes.tif"
    subprocess.run(["gdal_translate", "-q", "-srcwin", "0", "0", "200", "352", str(scene), str(west)],
                   check=True)
    subprocess.run(["gdal_translate", "-q", "-srcwin", "150", "0", "199", "352", str(scene), str(east)],
                   check=True)
    # a copy of the west tile whose left half is nodata (0): later files win,
    # but only where they hold data
    from osgeo import gdal
    subprocess.run(["gdal_translate", "-q", "-a_nodata", "0", str(west), str(holes)], check=True)
    ds = gdal.Open(str(holes), gdal.GA_Update)
    for b in range(1, 7):
        band = ds.GetRasterBand(b)
        data = band.ReadAsArray()
        data[:, :100] = 0
        band.WriteArray(data)
    ds = None
    assert (gdal.Open(str(holes)).ReadAsArray()[:, :, :100] == 0).all()
    out, summary = build(f"""
dataset: {{name: mosaic}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - name: optical
    files: [{west}, {east}, {holes}]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    assert summary["chips"] == 110
    assert [s["placements"][0]["aligned"] for s in ds.provenance["read"]["optical"]["sources"]] \
        == [True] * 3
    assert assert_chips_equal_reads(ds, "optical", scene) == 110
    sources = {row["grid_x"]: row["sources"] for row in ds.chips() if row["grid_y"] == 0}
    assert sources[0] == '{"optical": [0, 2]}'
    assert sources[288] == '{"optical": [1]}'
