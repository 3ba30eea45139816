"""eodkit mosaic on a detection dataset: detections become georeferenced
boxes in a GeoPackage; overlapping chips find the same building several
times and non-maximum suppression across chip borders keeps one box per
building, the same boxes a plain greedy NMS in Python keeps."""
import filecmp
import json

import numpy as np
import pytest
from osgeo import ogr
from shapely.geometry import box as shapely_box, shape

from conftest import Dataset, build, build_spacenet_recipe, run
from test_detection import spacenet


@pytest.fixture(scope="module")
def buildings(shared, tmp_path_factory):
    out, _ = build(spacenet(shared), tmp_path_factory.mktemp("sn"))
    return out


def every_chip(ds):
    for row in ds.chips():
        first, count = ds.chip(row, "box_range")
        arrays = {n: np.asarray(ds.array(row["split"], n, row["shard"])[first:first + count])
                  for n in ("boxes", "box_visible", "box_id")}
        yield row, arrays


def read_layer(path, name="detections"):
    src = ogr.Open(str(path))
    layer = src.GetLayerByName(name)
    out = [{"geom": shape(json.loads(f.GetGeometryRef().ExportToJson())),
            **{k: f.GetField(k) for k in ("class_id", "class_name", "score", "chip_id",
                                           "split", "detection")}} for f in layer]
    epsg = layer.GetSpatialRef().GetAuthorityCode(None)
    return out, epsg


def test_one_box_per_building(buildings, shared, tmp_path):
    ds = Dataset(buildings)
    preds, whole = [], {}
    for row, objs in every_chip(ds):
        for b, v, oid in zip(objs["boxes"], objs["box_visible"], objs["box_id"]):
            preds.append({"image_id": row["chip_id"], "category_id": 1,
                          "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]),
                                   float(b[3] - b[1])], "score": float(v)})
            whole[int(oid)] = whole.get(int(oid), False) or v == 1
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(preds))
    feats = json.loads((shared / "vector/solaris/geotiff_labels.geojson").read_text())["features"]
    for metric in ["iou", "ios"]:
        out = tmp_path / f"{metric}.gpkg"
        summary = json.loads(run("mosaic", buildings, path, "--split", "train,val,test",
                                 "-o", out, "--nms-metric", metric, "--json").stdout)
        assert summary["mode"] == "detections" and summary["detections"] == len(preds)
        got, epsg = read_layer(out)
        assert epsg == "32616" and summary["layers"] == [
            {"name": "detections", "crs": "EPSG:32616", "features": len(got)}]
        assert summary["kept"] == len(got) and summary["suppressed"] == len(preds) - len(got)
        # every building seen whole in some chip is there once, with its bounds
        for oid, seen_whole in whole.items():
            if not seen_whole:
                continue
            # boxes are float32 pixels: within 1e-4 pixels (0.5 m each)
            bounds = np.array(shape(feats[oid - 1]["geometry"]).bounds)
            same = [g for g in got if np.abs(np.array(g["geom"].bounds) - bounds).max() < 5e-5]
            assert len(same) == 1, oid
            assert same[0]["score"] == 1.0 and same[0]["class_name"] == "geotiff_labels"
        assert len(got) == len(whole) == 43


def greedy_nms(boxes, scores, threshold, ios):
    """Indices kept by plain greedy NMS (best score first, ties in order)."""
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    kept = []
    for i in order:
        a = boxes[i]
        ok = True
        for j in kept:
            b = boxes[j]
            w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
            h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
            inter = w * h if w > 0 and h > 0 else 0
            den = min(a[2] * a[3], b[2] * b[3]) if ios else a[2] * a[3] + b[2] * b[3] - inter
            if den > 0 and inter / den > threshold:
                ok = False
                break
        if ok:
            kept.append(i)
    return sorted(kept)


@pytest.mark.parametrize("metric, threshold", [("iou", 0.5), ("iou", 0.3), ("ios", 0.6)])
def test_suppression_is_greedy_nms(buildings, tmp_path, metric, threshold):
    ds = Dataset(buildings)
    rng = np.random.default_rng(11)
    rows = [r for r in ds.chips() if r["split"] == "test"]
    preds, grid_boxes = [], []
    for _ in range(400):
        row = rows[rng.integers(len(rows))]
        x, y = rng.random(2) * 200
        w, h = rng.random(2) * 60 + 4
        preds.append({"image_id": row["chip_id"], "category_id": 1, "bbox": [x, y, w, h],
                      "score": float(rng.integers(0, 50)) / 50})  # many ties
        grid_boxes.append([row["grid_x"] + x, row["grid_y"] + y, w, h])
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(preds))
    out = tmp_path / "boxes.gpkg"
    run("mosaic", buildings, path, "-o", out, "--nms-metric", metric, "--nms-threshold",
        threshold)
    got, _ = read_layer(out)
    want = greedy_nms(grid_boxes, [p["score"] for p in preds], threshold, metric == "ios")
    assert sorted(g["detection"] for g in got) == want
    assert 20 < len(want) < 400
    # the boxes are where the chips put them
    gt = json.loads(rows[0]["geotransform"])
    for g in got:
        p = preds[g["detection"]]
        row = next(r for r in rows if r["chip_id"] == p["image_id"])
        cgt = json.loads(row["geotransform"])
        x0, y0, w, h = p["bbox"]
        want_box = shapely_box(cgt[0] + x0 * cgt[1], cgt[3] + (y0 + h) * cgt[5],
                               cgt[0] + (x0 + w) * cgt[1], cgt[3] + y0 * cgt[5])
        assert np.abs(np.array(g["geom"].bounds) - np.array(want_box.bounds)).max() < 1e-9
        assert g["chip_id"] == p["image_id"] and g["split"] == "test"
    assert gt[1] == 0.5


def test_min_score_output_and_errors(buildings, tmp_path):
    ds = Dataset(buildings)
    row = next(r for r in ds.chips() if r["split"] == "test")
    preds = [{"image_id": row["chip_id"], "category_id": 1, "bbox": [10 * i, 10, 5, 5],
              "score": i / 10} for i in range(10)]
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(preds))
    out = tmp_path / "boxes.gpkg"
    summary = json.loads(run("mosaic", buildings, path, "-o", out, "--min-score", 0.45,
                             "--json").stdout)
    assert summary["below_score"] == 5 and summary["kept"] == 5
    assert sorted(g["detection"] for g in read_layer(out)[0]) == [5, 6, 7, 8, 9]
    again = tmp_path / "again.gpkg"
    run("mosaic", buildings, path, "-o", again, "--min-score", 0.45)
    assert filecmp.cmp(out, again, shallow=False)
    # a failure leaves the earlier file as it was
    before = out.read_bytes()
    path.write_text('[{"image_id": 1}]')
    proc = run("mosaic", buildings, path, "-o", out, check=False)
    assert proc.returncode == 2 and "detection 0" in proc.stderr
    assert out.read_bytes() == before and not (tmp_path / "boxes.gpkg.eodkit-partial").exists()
    proc = run("mosaic", buildings, path, "-o", out, "--nms-metric", "dice", check=False)
    assert proc.returncode == 1 and "--nms-metric is iou or ios" in proc.stderr


def test_page_example_runs(tmp_path, shared):
    """The detections example of doc/cmd/mosaic.md (with truth.json as
    doc/cmd/eval.md makes it) prints what the page says."""
    import re
    import shlex
    import subprocess
    import sys
    from conftest import SOURCE
    build_spacenet_recipe(tmp_path, shared)
    eval_page = (SOURCE / "doc/cmd/eval.md").read_text().split("## Detections", 1)[1]
    make = re.search(r"^    (python3 .*)$", eval_page, re.M).group(1)
    subprocess.run([sys.executable, *shlex.split(make)[1:]], cwd=tmp_path, check=True)
    section = (SOURCE / "doc/cmd/mosaic.md").read_text().split("## Detections", 1)[1]
    line = re.search(r"^    (eodkit .*)$", section, re.M).group(1)
    printed = run(*shlex.split(line)[1:], cwd=tmp_path).stdout
    shown = section.split("prints\n\n", 1)[1].split("\n\n", 1)[0]
    assert printed.splitlines() == [line[4:] for line in shown.splitlines()]
    assert (tmp_path / "buildings.gpkg").is_file()
