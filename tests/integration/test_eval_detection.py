"""eodkit eval on detection and instance datasets: every number of the
report (COCO's AP and AR, per class AP, precision and recall at a score
threshold) equals an independent Python implementation of COCO's
definitions (coco_reference.py) on random predictions, by box and by mask,
overall and per group; perfect predictions score 1; the bootstrap is
deterministic; bad prediction files are refused with clear messages."""
import json

import numpy as np
import pytest

import coco_reference as ref
from conftest import Dataset, build, build_spacenet_recipe, run
from test_detection import LULC, spacenet

LULC_DETECTION = LULC.replace("task: instance", "task: detection").replace(
    "chip_size: 24, stride: 16", "chip_size: 48, stride: 12")


@pytest.fixture(scope="module")
def lulc(shared, tmp_path_factory):
    out, _ = build(LULC_DETECTION.format(shared=shared), tmp_path_factory.mktemp("lulc"))
    return out


@pytest.fixture(scope="module")
def buildings(shared, tmp_path_factory):
    out, _ = build(spacenet(shared), tmp_path_factory.mktemp("sn"))
    return out


@pytest.fixture(scope="module")
def instances(shared, tmp_path_factory):
    out, _ = build(LULC.format(shared=shared).replace("chip_size: 24, stride: 16",
                                                      "chip_size: 36, stride: 12"),
                   tmp_path_factory.mktemp("inst"))
    return out


def truth(ds, splits):
    """{chip_id: (row, objects)} of the chips of SPLITS."""
    out = {}
    arrays = ds.collection["eodkit:label"]["arrays"]
    for row in ds.chips():
        if row["split"] not in splits:
            continue
        first, count = ds.chip(row, "box_range")
        out[row["chip_id"]] = (row, {n: np.asarray(ds.array(row["split"], n, row["shard"])[first:first + count])
                                     for n, a in arrays.items() if a["per"] == "object"})
    return out


def xywh(box):
    box = [float(v) for v in box]
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


def random_boxes(ds, splits, rng, classes):
    """Detections for the chips of SPLITS: each object found with jittered
    boxes (sometimes twice, sometimes missed), false alarms, a few tied
    scores, one chip with more than 100 detections of a class."""
    preds = []
    for chip_id, (row, objs) in truth(ds, splits).items():
        for box, cls in zip(objs["boxes"], objs["box_class"]):
            for _ in range(rng.integers(0, 3)):
                b = np.array(xywh(box)) + rng.normal(0, 0.15 * np.sqrt(max(box[2] - box[0], 1)), 4)
                b[2:] = np.abs(b[2:])
                c = int(cls) if rng.random() < 0.8 else int(rng.choice(classes))
                preds.append({"image_id": chip_id, "category_id": c,
                              "bbox": [round(float(v), 3) for v in b],
                              "score": round(float(rng.random()), 2)})  # ties happen
        for _ in range(rng.integers(0, 6)):
            x, y = rng.random(2) * row["width"]
            w, h = rng.random(2) * row["width"] / 2 + 1
            preds.append({"image_id": chip_id, "category_id": int(rng.choice(classes)),
                          "bbox": [x, y, w, h], "score": float(rng.random())})
    crowded = next(iter(truth(ds, splits)))
    for _ in range(130):
        preds.append({"image_id": crowded, "category_id": classes[0],
                      "bbox": list(rng.random(4) * 20 + 1), "score": float(rng.random())})
    return preds


def reference(ds, splits, preds, threshold=0.5, masks=False):
    """coco_reference's metrics for PREDS against the chips of SPLITS."""
    classes = [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
    images = {}
    for chip_id, (row, objs) in truth(ds, splits).items():
        ids = ds.chip(row, "instance") if "instance" in ds.collection["eodkit:label"]["arrays"] else None
        per = {}
        for c in classes:
            gts = []
            for box, cls, oid in zip(objs["boxes"], objs["box_class"], objs["box_id"]):
                if cls != c:
                    continue
                bb = xywh(box)
                mask = ids == oid if ids is not None else None
                gts.append({"bbox": bb, "mask": mask,
                            "area": float(mask.sum()) if mask is not None else bb[2] * bb[3]})
            dts = [{"bbox": p["bbox"], "score": p["score"],
                    "mask": decode(p["segmentation"]) if masks else None,
                    "area": float(decode(p["segmentation"]).sum()) if masks
                    else p["bbox"][2] * p["bbox"][3]}
                   for p in preds if p["image_id"] == chip_id and p["category_id"] == c]
            iou = ((lambda d, g: ref.mask_iou(d["mask"], g["mask"])) if masks
                   else (lambda d, g: ref.box_iou(d["bbox"], g["bbox"])))
            per[c] = (gts, dts, iou)
        images[chip_id] = per
    return ref.evaluate(images, classes, threshold)


def check(report_part, want):
    for key in ["map", "map_50", "map_75", "precision", "recall", "f1"]:
        got = report_part[key]["value"]
        assert (got is None) == (want[key] is None), key
        if got is not None:
            assert got == pytest.approx(want[key], abs=1e-9), key
    for key in ["map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100",
                "mar_small", "mar_medium", "mar_large"]:
        got = report_part[key]
        assert (got is None) == (want[key] is None), key
        if got is not None:
            assert got == pytest.approx(want[key], abs=1e-9), key
    for c in report_part["classes"]:
        for key in ["ap", "ap_50", "ap_75"]:
            w = want["classes"][c["id"]][key]
            assert (c[key] is None) == (w is None)
            if w is not None:
                assert c[key] == pytest.approx(w, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_box_map_equals_the_reference(lulc, tmp_path, seed):
    ds = Dataset(lulc)
    rng = np.random.default_rng(seed)
    classes = [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
    preds = random_boxes(ds, ["train", "test"], rng, classes)
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(preds))
    report = json.loads(run("eval", lulc, path, "--split", "train,test", "--by", "split",
                            "--bootstrap", 50, "--json").stdout)
    assert report["task"] == "detection" and report["iou_type"] == "bbox"
    assert report["unit"] == "object" and len(report["classes"]) == len(classes)
    want = reference(ds, ["train", "test"], preds)
    check(report["overall"], want)
    assert 0 < want["map"] < 1 and want["map_medium"] is not None
    for group in report["groups"]:
        check(group, reference(ds, [group["name"]], preds))
    assert report["overall"]["detections"] == len(preds)
    # a stricter score threshold: fewer detections count
    strict = json.loads(run("eval", lulc, path, "--split", "train,test", "--threshold", 0.9,
                            "--bootstrap", 0, "--json").stdout)
    check(strict["overall"], reference(ds, ["train", "test"], preds, threshold=0.9))


def test_box_map_on_buildings_equals_the_reference(buildings, tmp_path):
    ds = Dataset(buildings)
    preds = random_boxes(ds, ["test"], np.random.default_rng(7), [1])
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(preds))
    report = json.loads(run("eval", buildings, path, "--bootstrap", 0, "--json").stdout)
    want = reference(ds, ["test"], preds)
    check(report["overall"], want)
    assert want["map_medium"] is not None and want["map_small"] is not None


def encode(mask, compressed):
    """COCO RLE of MASK (H x W bool): run lengths column-major from 0s, as
    a list or as pycocotools' compressed string."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    counts, current, run_ = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run_)
            run_, current = 0, v
        run_ += 1
    counts.append(run_)
    if not compressed:
        return {"size": list(mask.shape), "counts": counts}
    text = ""
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            text += chr(c + 48)
    return {"size": list(mask.shape), "counts": text}


def decode(rle):
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str):
        runs, p = [], 0
        while p < len(counts):
            x, k, more = 0, 0, True
            while more:
                c = ord(counts[p]) - 48
                x |= (c & 0x1f) << (5 * k)
                more = c & 0x20
                p += 1
                k += 1
                if not more and c & 0x10:
                    x |= -1 << (5 * k)
            if len(runs) > 2:
                x += runs[-2]
            runs.append(x)
        counts = runs
    flat = np.repeat(np.arange(len(counts)) % 2, counts).astype(bool)
    return flat.reshape(w, h).T


def test_mask_map_equals_the_reference(instances, tmp_path):
    ds = Dataset(instances)
    rng = np.random.default_rng(3)
    classes = [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
    preds = []
    for chip_id, (row, objs) in truth(ds, ["train"]).items():
        ids = ds.chip(row, "instance")
        for box, cls, oid in zip(objs["boxes"], objs["box_class"], objs["box_id"]):
            mask = ids == oid
            if rng.random() < 0.3:
                mask = np.roll(mask, rng.integers(-2, 3), axis=int(rng.integers(0, 2)))
            mask = mask ^ (rng.random(mask.shape) < 0.03)
            preds.append({"image_id": chip_id, "category_id": int(cls), "bbox": xywh(box),
                          "segmentation": encode(mask, bool(rng.random() < 0.5)),
                          "score": float(rng.random())})
        for _ in range(3):
            preds.append({"image_id": chip_id, "category_id": int(rng.choice(classes)),
                          "bbox": [0, 0, 5, 5],
                          "segmentation": encode(rng.random(ids.shape) < 0.1, True),
                          "score": float(rng.random())})
    for p in preds:  # the encoder and decoder agree
        assert decode(p["segmentation"]).shape == (36, 36)
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(preds))
    report = json.loads(run("eval", instances, path, "--split", "train", "--bootstrap", 0,
                            "--json").stdout)
    assert report["task"] == "instance" and report["iou_type"] == "segm"
    want = reference(ds, ["train"], preds, masks=True)
    check(report["overall"], want)
    assert 0 < want["map"] < 1
    # the same detections scored by box
    boxes = json.loads(run("eval", instances, path, "--split", "train", "--bootstrap", 0,
                           "--iou-type", "bbox", "--json").stdout)
    assert boxes["iou_type"] == "bbox"
    check(boxes["overall"], reference(ds, ["train"], preds))


def test_the_truth_scores_one(buildings, tmp_path):
    ds = Dataset(buildings)
    preds = [{"image_id": chip_id, "category_id": 1, "bbox": xywh(b), "score": 1.0}
             for chip_id, (row, objs) in truth(ds, ["train", "val", "test"]).items()
             for b in objs["boxes"]]
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(preds))
    report = json.loads(run("eval", buildings, path, "--split", "train,val,test", "--by",
                            "split", "--json").stdout)
    for part in [report["overall"]] + report["groups"]:
        for key in ["map", "map_50", "map_75", "precision", "recall", "f1"]:
            assert part[key]["value"] == 1.0
            assert part[key]["ci"] == [1.0, 1.0]
    assert report["gap"]["map"]["value"] == 0
    text = run("eval", buildings, path, "--split", "train,val,test", "--by", "split").stdout
    assert "mAP@[.5:.95]" in text and "geotiff_labels" in text


def test_bootstrap_is_deterministic(lulc, tmp_path):
    ds = Dataset(lulc)
    classes = [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(random_boxes(ds, ["train"], np.random.default_rng(5), classes)))
    args = ["eval", lulc, path, "--split", "train", "--by", "block", "--block-chips", 1,
            "--bootstrap", 200, "--json"]
    one, two = run(*args).stdout, run(*args).stdout
    assert one == two
    report = json.loads(one)
    low, high = report["overall"]["map"]["ci"]
    assert low <= high and report["bootstrap"]["replicates"] == 200
    assert len(report["groups"]) > 1 and report["gap"]["map"] is not None
    other = json.loads(run(*args[:-1], "--seed", 9, "--json").stdout)
    assert other["overall"]["map"]["ci"] != report["overall"]["map"]["ci"]
    assert other["overall"]["map"]["value"] == report["overall"]["map"]["value"]


@pytest.mark.parametrize("content, message", [
    ("[{", "not a JSON file of detections"),
    ('{"annotations": []}', "detections are a JSON array"),
    ('[{"image_id": 999999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
     "detection 0: image_id 999999 is not a chip of split test"),
    ('[{"image_id": CHIP, "category_id": 7, "bbox": [0, 0, 1, 1], "score": 1}]',
     "detection 0: 'category_id' must be a class id of the dataset"),
    ('[{"image_id": CHIP, "category_id": 1, "bbox": [0, 0, -1, 1], "score": 1}]',
     "detection 0: 'bbox' must be [x, y, width, height]"),
    ('[{"image_id": CHIP, "category_id": 1, "bbox": [0, 0, 1], "score": 1}]',
     "detection 0: 'bbox' must be [x, y, width, height]"),
    ('[{"image_id": CHIP, "category_id": 1, "bbox": [0, 0, 1, 1]}]',
     "detection 0: 'score' must be a number"),
    ('[{"image_id": "CHIP", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
     "detection 0: 'image_id' must be an integer"),
    ('[3]', "detection 0: not an object"),
])
def test_bad_predictions_are_refused(buildings, tmp_path, content, message):
    chip = next(r["chip_id"] for r in Dataset(buildings).chips("split = 'test'"))
    path = tmp_path / "pred.json"
    path.write_text(content.replace("CHIP", str(chip)))
    proc = run("eval", buildings, path, check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}" in proc.stderr and message in proc.stderr, proc.stderr


def test_bad_masks_are_refused(instances, tmp_path):
    chip = next(r["chip_id"] for r in Dataset(instances).chips("split = 'train'"))
    path = tmp_path / "pred.json"
    det = {"image_id": chip, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 0.5}
    path.write_text(json.dumps([det]))
    proc = run("eval", instances, path, "--split", "train", check=False)
    assert proc.returncode == 2 and "no 'segmentation'" in proc.stderr
    path.write_text(json.dumps([dict(det, segmentation={"size": [10, 10], "counts": [100]})]))
    proc = run("eval", instances, path, "--split", "train", check=False)
    assert proc.returncode == 2 and '"size": [36, 36]' in proc.stderr
    path.write_text(json.dumps([dict(det, segmentation={"size": [36, 36], "counts": [5, 3]})]))
    proc = run("eval", instances, path, "--split", "train", check=False)
    assert proc.returncode == 2 and "adding up to the chip's pixels" in proc.stderr
    proc = run("eval", instances, path, "--split", "train", "--iou-type", "mask", check=False)
    assert proc.returncode == 1 and "--iou-type is bbox or segm" in proc.stderr


def test_page_example_runs(tmp_path, shared):
    """The detection example of doc/cmd/eval.md prints what the page says,
    on the recipe of doc/recipe.md."""
    import re
    import shlex
    import subprocess
    import sys
    from conftest import SOURCE
    page = (SOURCE / "doc/cmd/eval.md").read_text()
    section = page.split("## Detections", 1)[1].split("## Metrics", 1)[0]
    build_spacenet_recipe(tmp_path, shared)
    printed = None
    for line in re.findall(r"^    ((?:python3|eodkit) .*)$", section, re.M):
        if line.startswith("python3"):
            subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=tmp_path, check=True)
        else:
            printed = run(*shlex.split(line)[1:], cwd=tmp_path).stdout
    shown = section.split("It prints:\n\n", 1)[1].rstrip("\n")
    assert printed.splitlines() == [line[4:].rstrip() for line in shown.splitlines()]


def test_missing_predictions_file(buildings, tmp_path):
    proc = run("eval", buildings, tmp_path / "none.json", check=False)
    assert proc.returncode == 3 and f"{tmp_path / 'none.json'}: cannot read it" in proc.stderr
