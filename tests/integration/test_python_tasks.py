"""eodkit's Python reader and torch Dataset on the new tasks: regression
targets come as float32 tensors (NaN where unknown), change pairs as
(T=2, C, H, W) whether they are a time pair of one modality or two
modalities named by labels.pair, with the classes before and after."""
import sys

import numpy as np
import torch

from conftest import SOURCE, build
from test_task_change import DATES, recipe as change_recipe, scene  # noqa: F401 (fixture)
from test_task_regression import recipe as regression_recipe

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402
from eodkit.torch import ChipDataset  # noqa: E402


def test_regression_targets_are_float_tensors(tmp_path, shared):
    out, _ = build(regression_recipe(shared).replace("min_labeled: 0.99", "min_labeled: 0.5"),
                   tmp_path)
    split = eodkit.open(out).split("train")
    batch = ChipDataset(split)[list(range(len(split)))]
    label = batch["label"]
    assert label.dtype == torch.float32 and tuple(label.shape) == (len(split), 32, 32)
    want = split.read(slice(None))["label"]
    assert np.array_equal(label.numpy(), want, equal_nan=True)
    assert torch.isnan(label).any()  # the DEM's edge: a loss must mask these


def test_time_pairs_and_classes_before_after(scene):  # noqa: F811
    folder, base, masks = scene
    out, _ = build(change_recipe(folder, f"source: [{folder}/clouds_before.tif, "
                                         f"{folder}/clouds_after.tif]"), folder / "pair")
    split = eodkit.open(out).split("train")
    assert split.arrays == ["s", "label", "label_classes"]
    sample = ChipDataset(split)[0]
    assert tuple(sample["s"].shape) == (2, 1, 24, 24)
    assert sample["label_classes"].dtype == torch.int64
    assert tuple(sample["label_classes"].shape) == (2, 24, 24)
    assert torch.equal(sample["label"], (sample["label_classes"][0] !=
                                         sample["label_classes"][1]).long())


def test_two_modalities_make_a_pair(scene):  # noqa: F811
    folder, base, masks = scene
    text = f"""
dataset: {{name: slovenia-two}}
grid: {{crs: {{like: before}}, chip_size: 24}}
modalities:
  - {{name: before, files: ["{folder}/slo_{DATES[0]}_B1.tif"]}}
  - {{name: after, files: ["{folder}/slo_{DATES[2]}_B1.tif"]}}
labels:
  task: change
  source: [{folder}/clouds_before.tif, {folder}/clouds_after.tif]
  pair: [before, after]
split: {{method: random, ratios: {{train: 1.0}}}}
"""
    out, _ = build(text, folder / "two")
    ds = eodkit.open(out)
    assert ds.label["change"]["pair"] == ["before", "after"]
    split = ds.split("train")
    batch = ChipDataset(split)[[0, 1]]
    assert tuple(batch["pair"].shape) == (2, 2, 1, 24, 24)
    chips = split.read([0, 1])
    assert np.array_equal(batch["pair"][:, 0].numpy(), chips["before"])
    assert np.array_equal(batch["pair"][:, 1].numpy(), chips["after"])
    assert np.array_equal(chips["after"].astype(np.int32) - chips["before"], np.full(
        chips["before"].shape, 2000))
