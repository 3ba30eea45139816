"""The Python reader on detection and instance datasets: a chip's objects
are its rows of the per-object shards; eodkit.torch gives targets in the
form torchvision's detection models take (checked by running them: Faster
R-CNN and Mask R-CNN, no weights, on CPU), and `collate` keeps them per
sample."""
import json
import sys

import numpy as np
import pytest
import torch
import torchvision
from torch.utils.data import DataLoader

from conftest import SOURCE, build

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402
from eodkit.torch import ChipDataset, collate, loader  # noqa: E402

from test_detection import LULC, spacenet  # noqa: E402


@pytest.fixture(scope="module")
def buildings(shared, tmp_path_factory):
    out, _ = build(spacenet(shared, "oriented: true"), tmp_path_factory.mktemp("sn"))
    return eodkit.open(out)


@pytest.fixture(scope="module")
def instances(shared, tmp_path_factory):
    out, _ = build(LULC.format(shared=shared), tmp_path_factory.mktemp("lulc"))
    return eodkit.open(out)


def test_objects_are_the_chips_rows_of_the_object_shards(buildings):
    train = buildings.split("train")
    assert train.arrays == ["pan"]
    assert train.object_arrays == ["boxes", "obb", "box_class", "box_id", "box_visible",
                                   "box_truncated"]
    assert train.shapes["boxes"] == (4,) and train.dtypes["box_id"] == np.uint32
    shard, rows = train.column("shard"), train.column("row")
    counts = train.column("objects")
    seen = 0
    for i in range(len(train)):
        got = train.objects(i)
        ranges = np.load(buildings.path / "train" / f"box_range-{shard[i]:05d}.npy")
        first, count = ranges[rows[i]]
        boxes = np.load(buildings.path / "train" / f"boxes-{shard[i]:05d}.npy")
        assert np.array_equal(got["boxes"], boxes[first:first + count])
        assert len(got["box_id"]) == count == counts[i]
        seen += count
    assert seen == sum(buildings.stats["classes"]["objects"]["train"].values())
    listed = train.read_objects([3, 0], ["boxes"])
    assert [list(o) for o in listed] == [["boxes"], ["boxes"]]
    assert np.array_equal(listed[1]["boxes"], train.objects(0)["boxes"])


def test_segmentation_splits_have_no_objects(demo_dataset):
    split = eodkit.open(demo_dataset).split("train")
    assert split.arrays == ["optical", "label"] and split.object_arrays == []
    with pytest.raises(eodkit.DatasetError, match="no objects"):
        split.objects(0)


def test_targets_are_torchvision_detection_targets(buildings):
    data = ChipDataset(buildings.split("train"), normalize="p2-p98")
    sample = data[1]
    target = sample["target"]
    objects = buildings.split("train").objects(1)
    assert target["boxes"].dtype == torch.float32 and target["boxes"].shape == (len(objects["boxes"]), 4)
    assert target["labels"].dtype == torch.int64 and target["labels"].tolist() == [1] * len(objects["boxes"])
    assert np.array_equal(target["boxes"].numpy(), objects["boxes"])
    assert target["object_ids"].tolist() == objects["box_id"].tolist()
    assert "masks" not in target
    # batches: one dict per chip, whatever the number of boxes
    batch = next(iter(DataLoader(data, batch_size=5, collate_fn=collate)))
    assert batch["pan"].shape == (5, 1, 256, 256) and len(batch["target"]) == 5
    assert [len(t["boxes"]) for t in batch["target"]] == [
        len(buildings.split("train").objects(i)["boxes"]) for i in range(5)]
    whole = next(iter(loader(data, 5)))
    for a, b in zip(whole["target"], batch["target"]):
        assert torch.equal(a["boxes"], b["boxes"])
    assert torch.equal(whole["pan"], batch["pan"])


# Fewer region proposals than torchvision's defaults (2000 per image when
# training): the same code paths, in seconds on a CPU.
SMALL = dict(rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=100,
             rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50,
             box_batch_size_per_image=32)


def rgb(images):
    """Single-band chips as the 3-band images the stock backbones take."""
    return [x.expand(3, -1, -1).contiguous() for x in images]


def test_faster_rcnn_trains_and_predicts_on_the_targets(buildings):
    torch.manual_seed(0)
    data = ChipDataset(buildings.split("train"), normalize="p2-p98")
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=2, min_size=256, max_size=256,
        **SMALL)
    model.train()
    batch = next(iter(DataLoader(data, batch_size=4, collate_fn=collate)))
    losses = model(rgb(batch["pan"]), batch["target"])
    assert {"loss_classifier", "loss_box_reg", "loss_objectness",
            "loss_rpn_box_reg"} <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        out = model(rgb(batch["pan"][:2]))
    assert len(out) == 2 and out[0]["boxes"].shape[1] == 4


def test_instance_targets_carry_masks_for_mask_rcnn(instances):
    split = instances.split("train")
    assert split.arrays == ["landsat", "label", "instance"]
    data = ChipDataset(split, normalize="p2-p98")
    sample = data[0]
    target = sample["target"]
    ids = split.chip(0)["instance"]
    assert target["masks"].dtype == torch.uint8
    assert target["masks"].shape == (len(target["boxes"]), 24, 24)
    for oid, mask in zip(target["object_ids"].tolist(), target["masks"]):
        assert np.array_equal(mask.numpy(), (ids == oid).astype(np.uint8))
    assert sample["instance"].dtype == torch.int64 and sample["label"].shape == (24, 24)
    torch.manual_seed(0)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=6, min_size=48, max_size=48,
        **SMALL)
    model.train()
    batch = collate([data[i] for i in range(3)])
    images = [x.nan_to_num() for x in rgb(batch["landsat"])]
    losses = model(images, batch["target"])
    assert "loss_mask" in losses and torch.isfinite(sum(losses.values()))
    json.dumps({k: float(v) for k, v in losses.items()})
