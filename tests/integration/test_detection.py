"""Detection and instance segmentation datasets (doc/format.md, "Objects"):
boxes are the bounds of each polygon clipped to each chip (shapely computes
the same), oriented boxes its minimum rotated rectangle, kept when at least
min_visibility of the object lies inside; instance masks are what
gdal_rasterize burns with each feature's id; the shards are byte-identical
whatever the thread count, resumed or merged from parts."""
import json
import os
import signal
import subprocess

import numpy as np
import pytest
from osgeo import gdal, ogr
from shapely import affinity
from shapely.geometry import Polygon, box, shape

from conftest import EODKIT, Dataset, build, run, same_tree

gdal.UseExceptions()

SPACENET = """
dataset: {{name: spacenet-buildings}}
grid: {{crs: {{like: pan}}, chip_size: 256, stride: 128}}
modalities:
  - {{name: pan, kind: optical, files: ["{shared}/optical/solaris/sample_geotiff.tif"]}}
labels:
  source: "{shared}/vector/solaris/geotiff_labels.geojson"
  task: detection
  {extra}
split: {{method: random, ratios: {{train: 0.6, val: 0.2, test: 0.2}}, seed: 1}}
{output}
"""

LULC = """
dataset: {{name: lulc-instances}}
grid: {{crs: {{like: landsat}}, chip_size: 24, stride: 16}}
modalities: [{{name: landsat, files: ["{shared}/optical/eo-learn/import-tiff-test1.tiff"]}}]
labels:
  source: "{shared}/vector/eo-learn/LULC.gpkg"
  attribute: LULC_NAME
  classes: {{cultivated land: 1, forest: 2, grassland: 3, schrubland: 4, artificial surface: 5}}
  task: instance
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 2}}
"""

CLASSES = {"cultivated land": 1, "forest": 2, "grassland": 3, "schrubland": 4,
           "artificial surface": 5}


def spacenet(shared, extra="", output=""):
    """The SpaceNet recipe: without an attribute every building is class 1."""
    return SPACENET.format(shared=shared, extra=extra, output=output)


@pytest.fixture(scope="module")
def buildings(shared, tmp_path_factory):
    out, summary = build(spacenet(shared, "oriented: true"), tmp_path_factory.mktemp("sn"))
    return Dataset(out), summary


def objects(ds, row):
    """The per-object arrays of index row ROW (a chip), as {name: array}."""
    first, count = ds.chip(row, "box_range")
    names = [n for n, a in ds.collection["eodkit:label"]["arrays"].items() if a["per"] == "object"]
    return {n: np.asarray(ds.array(row["split"], n, row["shard"])[first:first + count])
            for n in names}


def chip_box(row):
    gt = json.loads(row["geotransform"])
    return gt, box(gt[0], gt[3] + row["height"] * gt[5], gt[0] + row["width"] * gt[1], gt[3])


def to_pixels(geom, gt):
    return affinity.affine_transform(geom, [1 / gt[1], 0, 0, 1 / gt[5], -gt[0] / gt[1],
                                            -gt[3] / gt[5]])


def expected_objects(geoms, row, min_visibility=0.5):
    """(id, clipped part in chip pixels, visible share) of every polygon of
    GEOMS (in layer order) that chip ROW keeps, computed with shapely."""
    gt, chip = chip_box(row)
    kept = []
    for i, g in enumerate(geoms, 1):
        part = g.intersection(chip)
        if g.area > 0 and part.area > 0 and part.area >= min_visibility * g.area:
            kept.append((i, to_pixels(part, gt), part.area / g.area))
    return kept


def test_boxes_are_the_clipped_polygons_bounds(buildings, shared):
    ds, summary = buildings
    feats = json.loads((shared / "vector/solaris/geotiff_labels.geojson").read_text())["features"]
    geoms = [shape(f["geometry"]) for f in feats]
    label = ds.collection["eodkit:label"]
    assert label["task"] == "detection" and label["oriented"] is True
    assert label["arrays"]["boxes"] == {"per": "object", "dtype": "float32", "shape": [4]}
    assert label["arrays"]["box_range"] == {"per": "chip", "dtype": "int64", "shape": [2]}
    assert "shape" not in label and label["max_object_id"] == 43
    rows = ds.chips()
    assert len(rows) == summary["chips"] == 36
    total = truncated = 0
    for row in rows:
        got = objects(ds, row)
        want = expected_objects(geoms, row)
        assert got["box_id"].tolist() == [i for i, _, _ in want]
        assert row["objects"] == len(want)
        if not want:
            continue
        bounds = np.array([p.bounds for _, p, _ in want])  # minx, miny, maxx, maxy in pixels
        assert np.allclose(got["boxes"], bounds, atol=1e-4)
        assert np.allclose(got["box_visible"], [v for _, _, v in want], atol=1e-6)
        assert got["box_truncated"].tolist() == [int(not p.equals(to_pixels(geoms[i - 1], chip_box(row)[0])))
                                                 for i, p, _ in want]
        assert set(got["box_class"].tolist()) == {1}
        total += len(want)
        truncated += int(got["box_truncated"].sum())
    assert total > 100 and truncated > 10  # overlapping chips cut many buildings
    stats = ds.stats["classes"]["objects"]
    assert sum(n for split in stats.values() for n in split.values()) == total


def test_oriented_boxes_are_minimum_rotated_rectangles(buildings, shared):
    ds, _ = buildings
    feats = json.loads((shared / "vector/solaris/geotiff_labels.geojson").read_text())["features"]
    geoms = [shape(f["geometry"]) for f in feats]
    checked = 0
    for row in ds.chips():
        got = objects(ds, row)
        for corners, (_, part, _) in zip(got["obb"], expected_objects(geoms, row)):
            want = np.array(part.minimum_rotated_rectangle.exterior.coords[:-1])
            corners = corners.reshape(4, 2).astype(np.float64)
            # the same rectangle: every corner is one of shapely's
            assert max(np.hypot(*(want - c).T).min() for c in corners) < 1e-3
            # DOTA order: clockwise on the image (y down), from the top corner
            area2 = sum(corners[k, 0] * corners[(k + 1) % 4, 1] -
                        corners[(k + 1) % 4, 0] * corners[k, 1] for k in range(4))
            assert area2 > 0
            assert corners[0, 1] == corners[:, 1].min()
            checked += 1
    assert checked > 100


def synthetic(folder, features, size=64):
    """A 1 m single-band raster of SIZE x SIZE pixels at (1000, 2000) in
    EPSG:32633 and a GeoJSON layer of FEATURES ([(geometry, class)]); return
    their paths."""
    tif = folder / "image.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(tif), size, size, 1, gdal.GDT_Byte)
    ds.SetGeoTransform([1000, 1, 0, 2000, 0, -1])
    ds.SetProjection("EPSG:32633")
    ds.GetRasterBand(1).Fill(7)
    ds = None
    layer = {"type": "FeatureCollection",
             "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
             "features": [{"type": "Feature", "properties": {"kind": k}, "geometry": g}
                          for g, k in features]}
    vec = folder / "objects.geojson"
    vec.write_text(json.dumps(layer))
    return tif, vec


def square(x0, x1, y0, y1):
    """A rectangle given in pixels of the synthetic raster, in CRS units."""
    return {"type": "Polygon", "coordinates": [[[1000 + x0, 2000 - y0], [1000 + x1, 2000 - y0],
                                                [1000 + x1, 2000 - y1], [1000 + x0, 2000 - y1],
                                                [1000 + x0, 2000 - y0]]]}


SYNTHETIC = """
dataset: {{name: synthetic}}
grid: {{crs: {{like: image}}, chip_size: 32}}
modalities: [{{name: image, files: ["{tif}"]}}]
labels:
  source: "{vec}"
  attribute: kind
  task: {task}
  {extra}
split: {{method: random, ratios: {{all: 1.0}}}}
"""


def test_visibility_rule_is_exact_at_the_threshold(tmp_path):
    # The chip border is at x = 32. A: 8 pixels wide, exactly half in each
    # chip: kept in both, truncated, visible 0.5. B: 4 of its 9 columns left
    # of the border: dropped there (0.444 < 0.5), kept right (0.556).
    # C: a point with a 6 x 4 box, whole in chip 0. D: 2 of 10 columns in
    # chip 1 (dropped there, 0.2).
    tif, vec = synthetic(tmp_path, [
        (square(28, 36, 4, 12), "a"), (square(28, 37, 20, 28), "b"),
        ({"type": "Point", "coordinates": [1010, 1980]}, "c"), (square(24, 34, 40, 44), "d")])
    out, summary = build(SYNTHETIC.format(tif=tif, vec=vec, task="detection",
                                          extra="box_size: [6, 4]"), tmp_path)
    ds = Dataset(out)
    by_pos = {(r["grid_x"], r["grid_y"]): r for r in ds.chips()}
    left, right = objects(ds, by_pos[(0, 0)]), objects(ds, by_pos[(32, 0)])
    assert left["box_id"].tolist() == [1, 3] and right["box_id"].tolist() == [1, 2]
    assert left["box_visible"].tolist() == [0.5, 1.0] and right["box_visible"][0] == 0.5
    assert right["box_visible"][1] == pytest.approx(5 / 9)
    assert left["box_truncated"].tolist() == [1, 0] and right["box_truncated"].tolist() == [1, 1]
    assert left["boxes"].tolist() == [[28, 4, 32, 12], [7, 18, 13, 22]]
    assert right["boxes"].tolist() == [[0, 4, 4, 12], [0, 20, 5, 28]]
    # class ids as for segmentation: text values sorted, 1, 2, ...
    assert left["box_class"].tolist() == [1, 3] and right["box_class"].tolist() == [1, 2]
    low = objects(ds, by_pos[(0, 32)])
    assert low["box_id"].tolist() == [4] and objects(ds, by_pos[(32, 32)])["box_id"].size == 0
    # a stricter threshold drops the halves
    out, _ = build(SYNTHETIC.format(tif=tif, vec=vec, task="detection",
                                    extra="box_size: [6, 4]\n  min_visibility: 0.55"),
                   tmp_path / "strict")
    ds = Dataset(out)
    by_pos = {(r["grid_x"], r["grid_y"]): r for r in ds.chips()}
    assert objects(ds, by_pos[(0, 0)])["box_id"].tolist() == [3]
    assert objects(ds, by_pos[(32, 0)])["box_id"].tolist() == [2]


def test_min_objects_drops_chips_before_reading_them(tmp_path):
    tif, vec = synthetic(tmp_path, [(square(2, 8, 2, 8), "a"), (square(10, 14, 2, 8), "a"),
                                    (square(40, 50, 40, 50), "a")])
    out, summary = build(SYNTHETIC.format(tif=tif, vec=vec, task="detection", extra="")
                         + "filters: {min_objects: 1}\n", tmp_path)
    assert summary["chips"] == 2 and summary["rejected"]["objects"] == 2
    assert sorted(r["objects"] for r in Dataset(out).chips()) == [1, 2]


def test_boxes_from_lines_are_refused(tmp_path):
    tif, vec = synthetic(tmp_path, [(square(2, 8, 2, 8), "a"),
                                    ({"type": "LineString",
                                      "coordinates": [[1001, 1999], [1020, 1980]]}, "b")])
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SYNTHETIC.format(tif=tif, vec=vec, task="detection", extra=""))
    out = tmp_path / "out"
    proc = run("build", recipe, "-o", out, check=False)
    assert proc.returncode == 2
    assert f"{vec}: feature 1 is a Line String" in proc.stderr
    assert "takes polygons" in proc.stderr and "recipe.yaml:" in proc.stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()
    # points need a box size
    tif, vec = synthetic(tmp_path, [({"type": "Point", "coordinates": [1010, 1980]}, "c")])
    proc = run("build", recipe, "-o", out, check=False)
    assert proc.returncode == 2 and "labels.box_size" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("key, value, message", [
    ("oriented", "true", "labels.oriented: only for task detection or instance"),
    ("box_size", "4", "labels.box_size: only for task detection or instance"),
    ("min_visibility", "0.3", "labels.min_visibility: only for task detection or instance"),
])
def test_object_keys_need_an_object_task(tmp_path, shared, key, value, message):
    text = LULC.format(shared=shared).replace("task: instance",
                                              f"task: segmentation\n  {key}: {value}")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    line = text.splitlines().index(f"  {key}: {value}") + 1
    proc = run("build", recipe, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert f"recipe.yaml:{line}:{len(key) + 5}: {message}" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_instance_masks_are_the_rasterised_feature_ids(tmp_path, shared):
    out, summary = build(LULC.format(shared=shared), tmp_path)
    ds = Dataset(out)
    label = ds.collection["eodkit:label"]
    assert label["task"] == "instance" and label["arrays"]["instance"]["dtype"] == "uint16"
    assert label["arrays"]["label"]["shape"] == [24, 24]
    # the reference: every mapped feature with its 1-based position in the
    # layer, rasterised in layer order (later features win) by GDAL
    src = ogr.Open(str(shared / "vector/eo-learn/LULC.gpkg"))
    layer = src.GetLayer(0)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("ids")
    ids = mem.CreateLayer("ids", layer.GetSpatialRef(), ogr.wkbPolygon)
    ids.CreateField(ogr.FieldDefn("oid", ogr.OFTInteger))
    for position, f in enumerate(layer, 1):
        if f.GetField("LULC_NAME") in CLASSES:
            g = ogr.Feature(ids.GetLayerDefn())
            g.SetGeometry(f.GetGeometryRef().Clone())
            g.SetField("oid", position)
            ids.CreateFeature(g)
    masked = 0
    for row in ds.chips():
        gt = json.loads(row["geotransform"])
        raster = gdal.GetDriverByName("MEM").Create("", row["width"], row["height"], 1,
                                                    gdal.GDT_UInt16)
        raster.SetGeoTransform(gt)
        gdal.RasterizeLayer(raster, [1], ids, options=["ATTRIBUTE=oid"])
        want = raster.ReadAsArray()
        kept = objects(ds, row)["box_id"]
        # objects a chip drops (too little inside) are background there
        masked += int(np.count_nonzero(want[~np.isin(want, kept)]))
        want[~np.isin(want, kept)] = 0
        assert np.array_equal(ds.chip(row, "instance"), want)
        # the class mask beside it is the segmentation label
        instance = ds.chip(row, "instance")
        classes = dict(zip(kept.tolist(), objects(ds, row)["box_class"].tolist()))
        for oid, cls in classes.items():
            assert (ds.chip(row, "label")[instance == oid] == cls).all()
    assert masked > 0


def test_detection_builds_are_byte_identical(tmp_path, shared):
    text = spacenet(shared, "oriented: true", "output: {shard_size: 300KB}")
    one, _ = build(text, tmp_path / "one", "-j", "1")
    two, _ = build(text, tmp_path / "two", "-j", "2")
    assert len(list((one / "train").glob("boxes-*.npy"))) > 3
    assert same_tree(one, two) > 40
    # built in parts and merged
    recipe = tmp_path / "one" / "recipe.yaml"
    parts = tmp_path / "parts"
    for i in range(3):
        run("build", recipe, "-o", parts, "--part", f"{i}/3")
    run("merge", recipe, "-o", parts)
    assert same_tree(one, parts) > 40
    # killed after units reached the shards beyond the checkpoint, resumed
    killed = tmp_path / "killed"
    env = dict(os.environ, EODKIT_CRASH_AT="unit:5")
    proc = subprocess.run([EODKIT, "build", str(recipe), "-o", str(killed)], env=env,
                          capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    run("build", recipe, "-o", killed, "--resume")
    assert same_tree(one, killed) > 40


def test_instance_builds_are_byte_identical(tmp_path, shared):
    one, _ = build(LULC.format(shared=shared), tmp_path / "one", "-j", "1")
    two, _ = build(LULC.format(shared=shared), tmp_path / "two", "-j", "2")
    assert same_tree(one, two) > 10


def test_preview_draws_the_boxes(buildings, tmp_path):
    ds, _ = buildings
    sheet = tmp_path / "sheet.png"
    summary = json.loads(run("preview", ds.path, "-o", sheet, "-n", 4, "--json").stdout)
    png = gdal.Open(str(sheet)).ReadAsArray().transpose(1, 2, 0)  # rows, columns, rgb
    rows = {r["chip_id"]: r for r in ds.chips("split = 'train'")}
    colour = [78, 121, 167]  # the first class colour (doc/cmd/preview.md)
    edges = 0
    for placed in summary["chips"]:
        boxes = objects(ds, rows[placed["chip_id"]])["boxes"]
        tile = png[placed["y"]:placed["y"] + 256, placed["overlay_x"]:placed["overlay_x"] + 256]
        image = png[placed["y"]:placed["y"] + 256, placed["x"]:placed["x"] + 256]
        for x0, y0, x1, y1 in boxes:
            left, top = int(np.floor(x0)), int(np.floor(y0))
            assert tile[top, left].tolist() == colour
            assert tile[int(np.ceil(y1)) - 1, int(np.ceil(x1)) - 1].tolist() == colour
            edges += 1
        # away from the outlines the overlay is the image itself
        outline = np.zeros((256, 256), bool)
        for x0, y0, x1, y1 in boxes:
            c0, r0 = int(np.floor(x0)), int(np.floor(y0))
            c1, r1 = int(np.ceil(x1)) - 1, int(np.ceil(y1)) - 1
            outline[r0:r1 + 1, [c0, c1]] = outline[[r0, r1], c0:c1 + 1] = True
        assert np.array_equal(tile[~outline], image[~outline])
    assert edges > 5


def test_no_chip_with_enough_objects_is_an_error(tmp_path):
    tif, vec = synthetic(tmp_path, [(square(2, 8, 2, 8), "a")])
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SYNTHETIC.format(tif=tif, vec=vec, task="detection", extra="")
                      + "filters: {min_objects: 2}\n")
    proc = run("build", recipe, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "no chip was kept: of 4 candidate chips, 4 too few objects (filters.min_objects)" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_info_shows_the_objects(buildings):
    ds, _ = buildings
    info = json.loads(run("info", ds.path, "--json").stdout)
    assert info["class_objects"] == ds.stats["classes"]["objects"]
    assert info["label"]["task"] == "detection"
    text = run("info", ds.path).stdout
    want = ds.stats["classes"]["objects"]
    assert "(objects)" in text
    assert f"geotiff_labels            1 {want['train']['1']:14d} {want['val']['1']:14d}" in text
