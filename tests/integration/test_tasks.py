"""Chip-level tasks: classification stores the chip's majority class,
multilabel the classes present, both derived from the same class histogram
the index records."""
import json

import numpy as np

from conftest import Dataset, build

RECIPE = """
dataset: {{name: tasks}}
grid: {{crs: {{like: landsat}}, chip_size: 12, stride: 6}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels:
  source: {shared}/vector/eo-learn/LULC.gpkg
  attribute: LULC_NAME
  classes: {{cultivated land: 1, forest: 2, grassland: 3, schrubland: 4, artificial surface: 5}}
  task: {task}
  {extra}
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 2}}
"""


def histograms(ds):
    rows = ds.chips()
    return rows, [{int(k): v for k, v in json.loads(r["class_hist"]).items()} for r in rows]


def test_classification_is_the_majority_class(tmp_path, shared):
    out, _ = build(RECIPE.format(shared=shared, task="classification", extra=""), tmp_path)
    ds = Dataset(out)
    assert ds.collection["eodkit:label"]["shape"] == []
    rows, hists = histograms(ds)
    labels_seen = set()
    for row, hist in zip(rows, hists):
        labelled = {c: n for c, n in hist.items() if c != 0}
        want = min(labelled, key=lambda c: (-labelled[c], c)) if labelled else 0
        got = int(ds.chip(row, "label"))
        assert got == want == row["label"]
        labels_seen.add(got)
    assert len(labels_seen) >= 3
    for split in ["train", "test"]:
        labels = ds.split_arrays(split, "label")
        counts = np.bincount(labels, minlength=6)
        assert ds.stats["classes"]["labels"][split] == {str(c): int(n) for c, n in enumerate(counts) if n}


def test_multilabel_marks_present_classes(tmp_path, shared):
    out, _ = build(RECIPE.format(shared=shared, task="multilabel", extra="min_class_share: 0.1"),
                   tmp_path)
    ds = Dataset(out)
    classes = [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
    assert classes == [1, 2, 3, 4, 5]
    rows, hists = histograms(ds)
    multi = 0
    for row, hist in zip(rows, hists):
        got = ds.chip(row, "label")
        want = [int(hist.get(c, 0) >= 0.1 * 144 and hist.get(c, 0) > 0) for c in classes]
        assert got.tolist() == want
        multi += sum(want) > 1
    assert multi > 0
