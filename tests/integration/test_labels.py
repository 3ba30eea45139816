"""Rasterised label chips equal gdal_rasterize on the same grid (after the
same reprojection with ogr2ogr), for three real label sets; raster labels
equal a nearest-neighbour gdalwarp."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal, ogr

from conftest import Dataset, build, run


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


def warp_near(ds, raster, tmp_path):
    """RASTER warped by gdalwarp (nearest, GDAL's default error threshold,
    nodata 0) onto the first grid of dataset DS, as an array."""
    g = ds.provenance["grid"]["grids"][0]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    ref_path = tmp_path / "lulc-near.tif"
    subprocess.run(["gdalwarp", "-q", "-r", "near", "-t_srs", g["wkt"], "-et", "0.125",
                    "-te", *map(repr, [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]),
                    "-ts", str(w), str(h), "-dstnodata", "0", str(raster), str(ref_path)],
                   check=True)
    return gdal.Open(str(ref_path)).ReadAsArray()


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
    values = warp_near(ds, lulc, tmp_path)
    remap = np.zeros(256, np.uint8)
    remap[[1, 2, 3, 8]] = [1, 2, 3, 5]
    ref = remap[values]
    assert set(np.unique(ref)) == {0, 1, 2, 3, 5}
    assert assert_labels_equal(ds, ref) == 20


OLINDA_RECIPE = """
dataset: {{name: olinda-labels}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], bands: [1]}}]
labels: {{source: {labels}, attribute: TIPO, {extra}}}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def test_merged_class_is_named_after_all_its_values(tmp_path, demo):
    """Both census-tract types merged into one classification class: the
    class is 'URBANO + RURAL' everywhere it is named (not 'URBANO', as if it
    held urban tracts only), unless class_names names it."""
    out, _ = build(OLINDA_RECIPE.format(
        demo=demo, labels=demo / "olinda1.shp",
        extra="classes: {URBANO: 1, RURAL: 1}, task: classification"), tmp_path / "merged")
    ds = Dataset(out)
    assert ds.collection["eodkit:label"]["classes"] == [{"id": 1, "name": "URBANO + RURAL"}]
    assert ds.collection["summaries"]["label:classes"][0]["classes"] == ["URBANO + RURAL"]
    audit = (out / "audit.json").read_text()
    assert "URBANO + RURAL" in audit and '"URBANO"' not in audit
    out, _ = build(OLINDA_RECIPE.format(
        demo=demo, labels=demo / "olinda1.shp",
        extra="classes: {URBANO: 1, RURAL: 1}, class_names: {1: tract}, task: classification"),
        tmp_path / "named")
    assert Dataset(out).collection["eodkit:label"]["classes"] == [{"id": 1, "name": "tract"}]


@pytest.mark.parametrize("case", ["empty layer", "values outside classes", "elsewhere"])
def test_why_no_label_feature_overlaps(tmp_path, demo, shared, case):
    """When no label feature meets the imagery, the message says why: the
    layer is empty, no feature has a value of labels.classes (listing what
    the attribute holds), or the labelled features lie elsewhere."""
    labels, extra = demo / "olinda1.shp", "classes: {URBANO: 1, RURAL: 2}"
    if case == "empty layer":
        labels = tmp_path / "empty.gpkg"
        subprocess.run(["ogr2ogr", "-where", "1 = 0", str(labels), str(demo / "olinda1.shp")],
                       check=True)
    elif case == "values outside classes":
        extra = "classes: {urban: 1, rural: 2}"
    else:  # the Slovenian land-use polygons, far from Olinda
        labels, extra = shared / "vector/eo-learn/LULC.gpkg", "classes: {1: 1}"
    recipe = OLINDA_RECIPE.format(demo=demo, labels=labels, extra=extra)
    if case == "elsewhere":
        recipe = recipe.replace("attribute: TIPO", "attribute: LULC_ID")
    (tmp_path / "r.yaml").write_text(recipe)
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    lulc = ogr.Open(str(shared / "vector/eo-learn/LULC.gpkg"))
    lulc.GetLayer().SetAttributeFilter("LULC_ID = 1")
    forest = lulc.GetLayer().GetFeatureCount()  # the features classes {1: 1} labels
    want = {"empty layer": f"{labels}: layer 'olinda1' has no feature with a geometry "
                           f"({tmp_path}/r.yaml:5:",
            "values outside classes": f"{labels}: none of its 470 features has a value of "
                                      "labels.classes: attribute 'TIPO' holds 'RURAL', "
                                      "'URBANO', classes lists 'urban', 'rural' "
                                      f"({tmp_path}/r.yaml:5:",
            "elsewhere": f"{labels}: no label feature overlaps the imagery (its {forest} "
                         f"labelled features all lie outside it; {tmp_path}/r.yaml:5:"}[case]
    assert want in proc.stderr, proc.stderr


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
    ref = warp_near(ds, lulc, tmp_path)
    assert len(set(np.unique(ref)) - {0}) >= 3
    assert assert_labels_equal(ds, ref) == 20
    kept = np.concatenate([ds.chip(r, "label").ravel() for r in ds.chips()])
    values, counts = np.unique(kept[kept != 0], return_counts=True)
    pixels = ds.stats["classes"]["pixels"]["train"]
    assert {int(k): v for k, v in pixels.items() if k != "0"} == dict(zip(values.tolist(),
                                                                        counts.tolist()))
