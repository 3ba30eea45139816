"""Scene labels from a table: the real BigEarthNet patches' chips carry
exactly the labels of their `*_labels_metadata.json` sidecars; the same
labels from a CSV keyed by patch folder; chips across two adjacent real
Sentinel-1 patches with different labels are refused (or take the larger
patch's with `mixed: majority`); a key that names no scene is an error."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import Dataset, build, run

S2_BANDS = ["B02", "B03", "B04", "B08"]


def s2_recipe(shared, labels):
    bands = "\n".join(f'      - {{name: {b}, files: "{shared}/samples/bigearthnet/s2/*/*_{b}.tif"}}'
                      for b in S2_BANDS)
    return f"""
dataset: {{name: ben-scenes}}
grid: {{crs: utm, resolution: 10, chip_size: 120}}
modalities:
  - name: s2
    kind: multispectral
    band_files:
{bands}
labels:
  {labels}
  task: multilabel
filters: {{max_nodata: 0.9}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 1}}
"""


def sidecar_labels(shared):
    """{patch folder name: set of labels} from the real JSON sidecars."""
    return {p.parent.name: set(json.loads(p.read_text())["labels"])
            for p in (shared / "samples/bigearthnet/s2").glob("*/*_labels_metadata.json")}


def chip_labels(ds):
    """[(patch folder of the chip's files, set of label names)] per chip."""
    sources = ds.provenance["read"]["s2"]["sources"]
    names = [c["name"] for c in ds.collection["eodkit:label"]["classes"]]
    out = []
    for row in ds.chips():
        files = {Path(sources[i]["path"]).parent.name for i in json.loads(row["sources"])["s2"]}
        assert len(files) == 1, row  # the sample patches lie apart: one patch per chip
        vector = ds.chip(row, "label")
        out.append((files.pop(), {n for n, v in zip(names, vector) if v}))
    return out


def test_bigearthnet_chips_carry_their_sidecar_labels(tmp_path, shared):
    table = f'table: "{shared}/samples/bigearthnet/s2/*/*_labels_metadata.json"\n  labels: labels'
    out, summary = build(s2_recipe(shared, table), tmp_path)
    ds = Dataset(out)
    want = sidecar_labels(shared)
    label = ds.collection["eodkit:label"]
    assert label["type"] == "table"
    assert [c["name"] for c in label["classes"]] == sorted(set().union(*want.values()))
    got = chip_labels(ds)
    assert len(got) == summary["chips"] >= len(want)
    assert {patch for patch, _ in got} == set(want)
    for patch, labels in got:
        assert labels == want[patch], patch
    # the sidecars are inputs of the build
    inputs = {Path(i["path"]).name for i in ds.provenance["inputs"] if i["role"] == "labels"}
    assert len(inputs) == len(want) and all(n.endswith("_labels_metadata.json") for n in inputs)


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patch", "labels"])
        w.writerows(rows)


def test_a_csv_keyed_by_patch_folder(tmp_path, shared):
    want = sidecar_labels(shared)
    write_csv(tmp_path / "labels.csv", [(p, ";".join(sorted(ls))) for p, ls in want.items()])
    out, _ = build(s2_recipe(shared, f"table: {tmp_path}/labels.csv\n  key: patch\n"
                                     "  labels: labels\n  separator: ';'"), tmp_path)
    for patch, labels in chip_labels(Dataset(out)):
        assert labels == want[patch]


def test_a_stac_item_collection_keyed_by_item_id(tmp_path, shared):
    """STAC Items whose ids are the patch names (as BigEarthNet's are), the
    labels in their properties: key `id`, labels `properties.labels`."""
    want = sidecar_labels(shared)
    items = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "stac_version": "1.0.0", "id": patch, "geometry": None,
         "properties": {"datetime": None, "labels": sorted(labels)}, "links": [], "assets": {}}
        for patch, labels in want.items()]}
    (tmp_path / "items.json").write_text(json.dumps(items))
    out, _ = build(s2_recipe(shared, f"table: {tmp_path}/items.json\n  key: id\n"
                                     "  labels: properties.labels"), tmp_path)
    for patch, labels in chip_labels(Dataset(out)):
        assert labels == want[patch]


def test_a_key_naming_no_scene_is_refused(tmp_path, shared):
    want = sidecar_labels(shared)
    rows = [(p, ";".join(ls)) for p, ls in want.items()] + [("S2A_NO_SUCH_PATCH", "Pastures")]
    write_csv(tmp_path / "labels.csv", rows)
    (tmp_path / "r.yaml").write_text(s2_recipe(shared, f"table: {tmp_path}/labels.csv\n"
                                                       "  key: patch\n  labels: labels"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "labels.csv: row 8: key 'S2A_NO_SUCH_PATCH' names no scene" in proc.stderr
    assert "r.yaml:13:" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    # with unmatched: skip the row is left out and the build goes on
    (tmp_path / "r.yaml").write_text(s2_recipe(shared, f"table: {tmp_path}/labels.csv\n"
                                                       "  key: patch\n  labels: labels\n"
                                                       "  unmatched: skip"))
    run("build", tmp_path / "r.yaml", "-o", tmp_path / "out")


def s1_recipe(shared, task="multilabel", extra=""):
    return f"""
dataset: {{name: ben-s1}}
grid: {{crs: {{like: s1}}, chip_size: 120, stride: 60}}
modalities:
  - name: s1
    kind: sar
    files: ["{shared}/samples/bigearthnet/s1/*/*_VV.tif"]
labels:
  table: "{shared}/samples/bigearthnet/s1/*/*_labels_metadata.json"
  labels: labels
  task: {task}
  {extra}
filters: {{max_nodata: 0.5}}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def test_chips_across_scenes_with_different_labels(tmp_path, shared):
    """The two real S1 patches 61_39 and 61_40 touch (one above the other)
    and have different labels: the chip straddling them is refused unless
    labels.mixed is majority, where it takes the patch covering more of it
    (half each here: the first in file order, 61_39)."""
    s1 = shared / "samples/bigearthnet/s1"
    want = {p.parent.name[-5:]: set(json.loads(p.read_text())["labels"])
            for p in s1.glob("*/*_labels_metadata.json")}
    assert want["61_39"] != want["61_40"]
    out, summary = build(s1_recipe(shared), tmp_path / "refuse")
    ds = Dataset(out)
    names = [c["name"] for c in ds.collection["eodkit:label"]["classes"]]
    rows = ds.chips()
    assert summary["rejected"]["mixed"] == 1 and len(rows) == 2
    for row in rows:
        patch = "61_39" if row["grid_y"] == 0 else "61_40"
        assert {n for n, v in zip(names, ds.chip(row, "label")) if v} == want[patch]
    out, summary = build(s1_recipe(shared, extra="mixed: majority"), tmp_path / "majority")
    ds = Dataset(out)
    straddling = [r for r in ds.chips() if r["grid_y"] == 60]
    assert summary["rejected"]["mixed"] == 0 and len(straddling) == 1
    got = {n for n, v in zip(names, ds.chip(straddling[0], "label")) if v}
    assert got == want["61_39"]
    # its class histogram counts the pixels of both patches
    hist = json.loads(straddling[0]["class_hist"])
    both = want["61_39"] & want["61_40"]
    assert all(hist[str(names.index(n) + 1)] == 120 * 120 for n in both)


def test_classification_needs_one_label_per_scene(tmp_path, shared):
    (tmp_path / "r.yaml").write_text(s1_recipe(shared, task="classification"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "task classification gives a chip one class" in proc.stderr
