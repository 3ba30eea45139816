"""Train a small object detector on an eodkit detection dataset and
evaluate it per split with `eodkit eval`.

Builds the SpaceNet buildings of ../shared/data (43 building footprints
over a 900 x 900 WorldView chip of Atlanta, 0.5 m) as a detection dataset
of overlapping 256 x 256 chips, trains torchvision's Faster R-CNN (a
MobileNetV3 FPN, no downloaded weights: weights=None, weights_backbone=None)
on the training chips for a few iterations on the CPU, writes its
detections for every chip as COCO results (image_id = chip_id, boxes in
pixels of the chip), then runs `eodkit eval --by split` (COCO's AP per
split, with block-bootstrap intervals) and `eodkit mosaic` (the boxes on
the map, duplicates across chip borders suppressed).

    /usr/bin/python3 examples/train_detection.py --data ../shared/data

A few iterations show the loop, not a useful detector: train longer
(--iterations) for that.
"""
import argparse
import json
import sys
from pathlib import Path

import torch
import torchvision
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

import train_segmentation as seg  # the folder of this script is on sys.path
from eodkit.torch import ChipDataset, collate

RECIPE = """\
dataset: {{name: spacenet-buildings, license: CC-BY-SA-4.0}}
grid: {{crs: {{like: pan}}, chip_size: 256, stride: 128}}
modalities:
  - {{name: pan, kind: optical, sensor: WorldView-2, files: ["{data}/optical/solaris/sample_geotiff.tif"]}}
labels:
  source: "{data}/vector/solaris/geotiff_labels.geojson"
  task: detection
split: {{method: random, ratios: {{train: 0.6, val: 0.2, test: 0.2}}, seed: 1}}
"""

# Fewer region proposals than torchvision's defaults: the same model, fast
# enough on a CPU.
SMALL = dict(rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=100,
             rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50,
             box_batch_size_per_image=32, box_detections_per_img=50)


def rgb(images):
    """Single-band chips as the 3-band images the backbone takes."""
    return [x.expand(3, -1, -1).contiguous() for x in images]


def make_model(classes, size):
    """Faster R-CNN with CLASSES object classes (+ background), for SIZE px
    chips, initialised at random; its box head narrowed from 1024 to 128
    features, which makes it several times faster on a CPU."""
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=classes + 1, min_size=size,
        max_size=size, **SMALL)
    pooled = model.backbone.out_channels * 7 * 7
    model.roi_heads.box_head = TwoMLPHead(pooled, 128)
    model.roi_heads.box_predictor = FastRCNNPredictor(128, classes + 1)
    return model


def train(ds, iterations, batch_size=4, seed=0):
    """Train on the first split; return the model and the losses."""
    torch.manual_seed(seed)
    data = ChipDataset(ds.split(ds.splits[0]), normalize="p2-p98")
    model = make_model(max(ds.classes), data.split.shapes["pan"][-1])
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True,
                                         collate_fn=collate,
                                         generator=torch.Generator().manual_seed(seed))
    losses, model = [], model.train()
    while len(losses) < iterations:
        for batch in loader:
            loss = sum(model(rgb(batch["pan"]), batch["target"]).values())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss))
            print(f"iteration {len(losses):3d} loss {losses[-1]:.4f}", flush=True)
            if len(losses) == iterations:
                break
    return model, losses


def predict(model, split, batch_size=4):
    """Detections for every chip of SPLIT as COCO results: image_id is the
    chip's chip_id, bbox [x, y, width, height] in pixels of the chip."""
    data = ChipDataset(split, normalize="p2-p98")
    model.eval()
    out = []
    with torch.no_grad():
        for batch in torch.utils.data.DataLoader(data, batch_size=batch_size,
                                                 collate_fn=collate):
            for chip_id, found in zip(batch["chip_id"].tolist(), model(rgb(batch["pan"]))):
                for (x0, y0, x1, y1), label, score in zip(found["boxes"].tolist(),
                                                          found["labels"].tolist(),
                                                          found["scores"].tolist()):
                    out.append({"image_id": chip_id, "category_id": label,
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "score": score})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=seg.REPO.parent / "shared" / "data",
                        help="the shared test data (optical/solaris, vector/solaris)")
    parser.add_argument("--out", type=Path, default=seg.REPO / "examples" / "out" / "spacenet")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()

    binary = seg.find_eodkit(args.eodkit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    recipe = args.out.with_name(args.out.name + ".yaml")
    recipe.write_text(RECIPE.format(data=args.data.resolve()))
    if not seg.run_eodkit(binary, "build", recipe, "-o", args.out, "--overwrite"):
        sys.exit(1)
    ds = seg.eodkit.open(args.out)
    print(f"dataset {ds.path}: " + ", ".join(
        f"{s} {len(ds.split(s))} chips" for s in ds.splits), flush=True)
    model, losses = train(ds, args.iterations)
    print(f"trained {len(losses)} iterations: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

    detections = [d for s in ds.splits for d in predict(model, ds.split(s))]
    pred = args.out.with_name(args.out.name + "-detections.json")
    pred.write_text(json.dumps(detections))
    splits = ",".join(ds.splits)
    ok = seg.run_eodkit(binary, "eval", ds.path, pred, "--split", splits, "--by", "split",
                        "--bootstrap", 200)
    ok = ok and seg.run_eodkit(binary, "mosaic", ds.path, pred, "--split", splits,
                               "--nms-metric", "ios", "-o",
                               args.out.with_name(args.out.name + "-detections.gpkg"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
