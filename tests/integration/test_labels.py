"""Rasterised label chips equal gdal_rasterize on the same grid (after the
same reprojection with ogr2ogr), for three real label sets; raster labels
equal a nearest-neighbour gdalwarp."""
import subprocess

import numpy as np
from osgeo import gdal

from conftest import Dataset, build


def rasterize_reference(ds, vector, sql, tmp_path, all_touched=False):
    g = ds.provenance["grid"]["grids"][0]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    projected = tmp_path / "labels-grid-crs.gpkg"
    subprocess.run(["ogr2ogr", "-overwrite", "-t_srs", g["wkt"], "-dialect", "SQLite",
                    "-sql", sql, "-nln", "labels", str(projected), str(vector)], check=True)
    ref = tmp_path / "labels.tif"
    te = [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]
    cmd = ["gdal_rasterize", "-q", "-a", "cls", "-te", *map(repr, te), "-ts", str(w), str(h),
           "-ot", "Byte", "-init", "0", str(projected), str(ref)]
    if all_touched:
        cmd.insert(1, "-at")
    subprocess.run(cmd, check=True)
    return gdal.Open(str(ref)).ReadAsArray()


def assert_labels_equal(ds, ref):
    rows = ds.chips()
    assert rows
    for row in rows:
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        assert np.array_equal(ds.chip(row, "label"), ref[y:y + h, x:x + w]), row["chip_id"]
    return len(rows)


def test_olinda_census_tracts(tmp_path, demo):
    out, _ = build(f"""
dataset: {{name: olinda-labels}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], bands: [1]}}]
labels: {{source: {demo}/olinda1.shp, attribute: TIPO, classes: {{URBANO: 1, RURAL: 2}}}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    ref = rasterize_reference(
        ds, demo / "olinda1.shp",
        "SELECT CASE TIPO WHEN 'URBANO' THEN 1 WHEN 'RURAL' THEN 2 END AS cls, geometry FROM olinda1",
        tmp_path)
    assert assert_labels_equal(ds, ref) == 110
    assert (ref > 0).sum() > 10000


def test_slovenia_land_use(tmp_path, shared):
    out, _ = build(f"""
dataset: {{name: slovenia-lulc}}
grid: {{crs: {{like: landsat}}, chip_size: 16, stride: 8}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels: {{source: {shared}/vector/eo-learn/LULC.gpkg, attribute: LULC_ID, all_touched: true}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    ref = rasterize_reference(ds, shared / "vector/eo-learn/LULC.gpkg",
                              "SELECT LULC_ID AS cls, geom FROM LULC", tmp_path, all_touched=True)
    assert assert_labels_equal(ds, ref) == 9 * 8
    assert len(np.unique(ref)) >= 4


def test_atlanta_buildings(tmp_path, shared):
    out, summary = build(f"""
dataset: {{name: atlanta-buildings}}
grid: {{chip_size: 150}}
modalities: [{{name: pan, files: [{shared}/optical/solaris/sample_geotiff.tif]}}]
labels: {{source: {shared}/vector/solaris/geotiff_labels.geojson}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    classes = ds.collection["eodkit:label"]["classes"]
    assert [c["id"] for c in classes] == [1]
    ref = rasterize_reference(ds, shared / "vector/solaris/geotiff_labels.geojson",
                              "SELECT 1 AS cls, geometry FROM geotiff_labels", tmp_path)
    assert assert_labels_equal(ds, ref) == 36
    # 43 buildings: the label pixels form 43 separate footprints or fewer
    # where buildings touch, and cover a real share of the scene.
    assert 0.02 < (ref == 1).mean() < 0.9


def test_label_raster_is_read_nearest_and_remapped(tmp_path, shared):
    """A label raster at another resolution is resampled with nearest and its
    values remapped through labels.classes (8 -> 5; unmapped -> background)."""
    lulc = tmp_path / "lulc.tif"
    subprocess.run(["gdal_rasterize", "-q", "-a", "LULC_ID", "-tr", "7", "7", "-ot", "Byte",
                    "-a_nodata", "0", str(shared / "vector/eo-learn/LULC.gpkg"), str(lulc)],
                   check=True)
    out, _ = build(f"""
dataset: {{name: raster-labels}}
grid: {{crs: {{like: landsat}}, chip_size: 16}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels: {{source: {lulc}, classes: {{1: 1, 2: 2, 3: 3, 8: 5}}}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    g = ds.provenance["grid"]["grids"][0]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    ref_path = tmp_path / "lulc-near.tif"
    subprocess.run(["gdalwarp", "-q", "-r", "near", "-t_srs", g["wkt"], "-et", "0.125",
                    "-te", *map(repr, [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]),
                    "-ts", str(w), str(h), "-dstnodata", "0", str(lulc), str(ref_path)],
                   check=True)
    values = gdal.Open(str(ref_path)).ReadAsArray()
    remap = np.zeros(256, np.uint8)
    remap[[1, 2, 3, 8]] = [1, 2, 3, 5]
    ref = remap[values]
    assert set(np.unique(ref)) == {0, 1, 2, 3, 5}
    assert assert_labels_equal(ds, ref) == 20


def test_byte_label_raster_without_classes_keeps_its_values(tmp_path, shared):
    """The documented path of a uint8 label raster without labels.classes:
    class ids are the raster's values (its nodata, 0, the background), and
    the classes found are those values. (This path once called qsort on a
    NULL class table, which the sanitizer build aborts on.)"""
    lulc = tmp_path / "lulc.tif"
    subprocess.run(["gdal_rasterize", "-q", "-a", "LULC_ID", "-tr", "7", "7", "-ot", "Byte",
                    "-a_nodata", "0", str(shared / "vector/eo-learn/LULC.gpkg"), str(lulc)],
                   check=True)
    out, _ = build(f"""
dataset: {{name: raw-raster-labels}}
grid: {{crs: {{like: landsat}}, chip_size: 16}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels: {{source: {lulc}}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    g = ds.provenance["grid"]["grids"][0]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    ref_path = tmp_path / "lulc-near.tif"
    subprocess.run(["gdalwarp", "-q", "-r", "near", "-t_srs", g["wkt"], "-et", "0.125",
                    "-te", *map(repr, [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]),
                    "-ts", str(w), str(h), "-dstnodata", "0", str(lulc), str(ref_path)],
                   check=True)
    ref = gdal.Open(str(ref_path)).ReadAsArray()
    assert len(set(np.unique(ref)) - {0}) >= 3
    assert assert_labels_equal(ds, ref) == 20
    kept = np.concatenate([ds.chip(r, "label").ravel() for r in ds.chips()])
    values, counts = np.unique(kept[kept != 0], return_counts=True)
    pixels = ds.stats["classes"]["pixels"]["train"]
    assert {int(k): v for k, v in pixels.items() if k != "0"} == dict(zip(values.tolist(),
                                                                        counts.tolist()))
