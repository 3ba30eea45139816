"""Conformance of both dataset readers to doc/format.md ("What readers
check", "Labels per task") for the label arrays of the tasks change,
regression and scene labels from a table, as test_format.py does for the
demo's segmentation: a real small build of each (shards of a few chips)
and copies of it changed one way each. The eodkit commands (`info`, `eval`
with perfect predictions, `preview`) and python/eodkit must agree on each:
both accept a valid dataset (eval scores the perfect predictions as
perfect, Python reads the same labels), both refuse a damaged one naming
the damaged file.

The change build pairs dated copies of the real eo-learn scene with the
real eo-learn cloud masks of two dates as its two label sources (see
tests/integration/test_task_change.py); the regression build has the real
Olinda DEM as the target of the real Landsat-7 scene; the scene labels are
the real BigEarthNet sidecars."""
import json
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import SOURCE, build
from test_format import commands_verdict, edit_json, remove, resave

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402

DATES = ["20160206T100203", "20160317T100659", "20160516T100647"]
CLOUDS = {"before": "2016-02-06T10:02:03", "after": "2016-05-16T10:06:47"}


def change_recipe(folder):
    return f"""
dataset: {{name: slovenia-change}}
grid: {{crs: {{like: s}}, chip_size: 24}}
modalities:
  - name: s
    files: ["{folder}/slo_*_B1.tif"]
    time: {{mode: pair, pattern: "_([0-9]{{8}}T[0-9]{{6}})_", before: {{to: 2016-03-31}},
            after: {{from: 2016-05-01}}}}
labels:
  task: change
  source: [{folder}/clouds_before.tif, {folder}/clouds_after.tif]
  classes: {{1: 1}}
  class_names: {{1: cloud}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 3}}
output: {{dir: out, shard_size: 5KiB}}
"""


def regression_recipe(shared):
    return f"""
dataset: {{name: olinda-elevation}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - name: optical
    files: [{shared}/optical/stars/L7_ETMs.tif]
    bands: [1, 2, 3]
labels:
  source: {shared}/dem/stars/olinda_dem_utm25s.tif
  task: regression
  resampling: bilinear
filters: {{min_labeled: 0.5}}
split: {{method: blocks, block_size: 3000, ratios: {{train: 0.7, test: 0.3}}, seed: 4}}
output: {{dir: out, shard_size: 20KiB}}
"""


def scenes_recipe(shared):
    bands = "\n".join(f'      - {{name: {b}, files: "{shared}/samples/bigearthnet/s2/*/*_{b}.tif"}}'
                      for b in ["B02", "B03", "B04"])
    return f"""
dataset: {{name: ben-scenes}}
grid: {{crs: utm, resolution: 10, chip_size: 120}}
modalities:
  - name: s2
    kind: multispectral
    band_files:
{bands}
labels:
  table: "{shared}/samples/bigearthnet/s2/*/*_labels_metadata.json"
  labels: labels
  task: multilabel
filters: {{max_nodata: 0.9}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 1}}
output: {{dir: out, shard_size: 100KiB}}
"""


def change_data(folder, shared):
    """Three dated copies of the real eo-learn scene (acquisition k:
    original + 1000 k) and its real cloud masks of two dates rasterised on
    its grid."""
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    base = gdal.Open(str(source)).ReadAsArray().astype(np.int32)
    for k, date in enumerate(DATES):
        path = folder / f"slo_{date}_B1.tif"
        subprocess.run(["gdal_translate", "-q", "-ot", "UInt16", str(source), str(path)],
                       check=True)
        ds = gdal.Open(str(path), gdal.GA_Update)
        ds.GetRasterBand(1).WriteArray((base + 1000 * k).astype(np.uint16))
        ds = None
    for when, stamp in CLOUDS.items():
        subprocess.run(["gdal_rasterize", "-q", "-burn", "1", "-ot", "Byte", "-init", "0",
                        "-where", f"TIMESTAMP LIKE '{stamp}%'",
                        "-te", "464565", "5078685", "467085", "5080845", "-tr", "30", "30",
                        str(shared / "vector/eo-learn/CLM_VECTOR.gpkg"),
                        str(folder / f"clouds_{when}.tif")], check=True)


def perfect_predictions(out, splits, pred):
    """The label of every chip of SPLITS, in eval's order, saved to PRED."""
    labels = []
    con = sqlite3.connect(out / "index.gpkg")
    for split in splits:
        for shard, row in con.execute("select shard, row from chips where split = ? "
                                      "order by fid", (split,)):
            labels.append(np.load(out / split / f"label-{shard:05d}.npy")[row])
    con.close()
    np.save(pred, np.stack(labels))


@pytest.fixture(scope="module")
def builds(shared, tmp_path_factory):
    """{task: (dataset folder, perfect predictions, its splits)}, each
    dataset in several shards per split."""
    made = {}
    for task in ["change", "regression", "scenes"]:
        folder = tmp_path_factory.mktemp(task)
        if task == "change":
            change_data(folder, shared)
            text = change_recipe(folder)
        else:
            text = regression_recipe(shared) if task == "regression" else scenes_recipe(shared)
        out, summary = build(text, folder)
        splits = list(summary["splits"])
        collection = json.loads((out / "collection.json").read_text())
        assert all(v["shards"] > 1 for v in collection["eodkit:splits"].values()), task
        pred = folder / "pred.npy"
        perfect_predictions(out, splits, pred)
        made[task] = (out, pred, splits)
    label = json.loads((made["change"][0] / "collection.json").read_text())["eodkit:label"]
    assert set(label["arrays"]) == {"label", "label_classes"}
    return made


def set_label_array(d, name, **fields):
    edit_json(d, "collection.json",
              lambda c: c["eodkit:label"]["arrays"][name].update(fields))


def drop_label_array(d, name):
    edit_json(d, "collection.json", lambda c: c["eodkit:label"]["arrays"].pop(name))


def add_label_array(d, name, entry):
    edit_json(d, "collection.json",
              lambda c: c["eodkit:label"]["arrays"].update({name: entry}))


def set_change_sources(d, n):
    edit_json(d, "collection.json", lambda c: c["eodkit:label"]["change"].update(sources=n))


def regression_dtype(d, dtype):
    def change(c):
        c["eodkit:label"]["dtype"] = dtype
        c["eodkit:label"]["arrays"]["label"]["dtype"] = dtype
    edit_json(d, "collection.json", change)


# name: (task, change, the file a refusal must name; None: a valid dataset)
CASES = {
    "change valid": ("change", lambda d: None, None),
    "change label_classes not listed": (
        "change", lambda d: drop_label_array(d, "label_classes"), "collection.json"),
    "change label_classes with one source": (
        "change", lambda d: set_change_sources(d, 1), "collection.json"),
    "change label_classes shape": (
        "change", lambda d: set_label_array(d, "label_classes", shape=[24, 24]),
        "collection.json"),
    "change label_classes per object": (
        "change", lambda d: set_label_array(d, "label_classes", per="object"),
        "collection.json"),
    "change label_classes dtype": (
        "change", lambda d: set_label_array(d, "label_classes", dtype="int16"),
        "collection.json"),
    "change label_classes shard missing": (
        "change", lambda d: remove(d, "test/label_classes-00001.npy"),
        "test/label_classes-00001.npy"),
    "change label_classes shard one date": (
        "change", lambda d: resave(d, "train/label_classes-00000.npy",
                                   lambda a: np.ascontiguousarray(a[:, :1])),
        "train/label_classes-00000.npy"),
    "change label_classes shard dtype": (
        "change", lambda d: resave(d, "train/label_classes-00001.npy",
                                   lambda a: a.astype(np.uint16)),
        "train/label_classes-00001.npy"),
    "change label_classes shard fewer rows": (
        "change", lambda d: resave(d, "test/label_classes-00000.npy", lambda a: a[:-1]),
        "test/label_classes-00000.npy"),
    "regression valid": ("regression", lambda d: None, None),
    "regression dtype uint8": (
        "regression", lambda d: regression_dtype(d, "uint8"), "collection.json"),
    "regression without label": (
        "regression", lambda d: drop_label_array(d, "label"), "collection.json"),
    "regression with label_classes": (
        "regression", lambda d: add_label_array(d, "label_classes", {
            "per": "chip", "dtype": "uint8", "shape": [2, 32, 32]}), "collection.json"),
    "regression target shard float64": (
        "regression", lambda d: resave(d, "train/label-00002.npy",
                                       lambda a: a.astype(np.float64)),
        "train/label-00002.npy"),
    "regression target shard more rows": (
        "regression", lambda d: resave(d, "test/label-00000.npy",
                                       lambda a: np.concatenate([a, a[:1]])),
        "test/label-00000.npy"),
    "scenes valid": ("scenes", lambda d: None, None),
    "scenes classes": (
        "scenes", lambda d: edit_json(d, "collection.json", lambda c: c[
            "eodkit:label"].update(classes="Pastures, Water bodies")), "collection.json"),
    "scenes label shard one class short": (
        "scenes", lambda d: resave(d, "train/label-00000.npy",
                                   lambda a: np.ascontiguousarray(a[:, :-1])),
        "train/label-00000.npy"),
}


def python_verdict(d, pred, splits):
    """What python/eodkit says of dataset D: None when it opens it and reads
    every split whole (then the labels are the perfect predictions PRED),
    else the DatasetError's message."""
    try:
        ds = eodkit.open(d)
        batches = [ds.split(s).read(slice(None)) for s in splits]
    except eodkit.DatasetError as err:
        return str(err)
    labels = np.concatenate([b["label"] for b in batches])
    assert np.array_equal(labels, np.load(pred), equal_nan=labels.dtype.kind == "f")
    return None


@pytest.mark.parametrize("case", CASES)
def test_both_readers_agree(builds, tmp_path, case):
    task, change, damaged = CASES[case]
    out, pred, splits = builds[task]
    d = tmp_path / "ds"
    shutil.copytree(out, d)
    change(d)
    perfect = ("rmse", 0.0) if task == "regression" else ("accuracy", 1.0)
    from_commands = commands_verdict(d, pred, tmp_path, splits, perfect)
    from_python = python_verdict(d, pred, splits)
    if damaged is None:
        assert from_commands is None and from_python is None
        return
    assert from_commands is not None, "the eodkit commands accept it"
    assert from_python is not None, "python/eodkit accepts it"
    for message in [from_commands, from_python]:
        assert str(d) in message and damaged in message, message
