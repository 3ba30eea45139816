"""Multi-modal fusion versus one modality, on real co-located data.

The review's fusion experiment pairs Sentinel-1 with Sentinel-2 patches;
the shared data's BigEarthNet S1 and S2 samples lie in different countries,
so no real S1/S2 pair of one place exists here. This example runs the same
experiment on the real co-located pair the demo data has: the Landsat-7
scene over Olinda (Brazil, 28.5 m) and the 90 m DEM of the same place,
with the census tracts' urban/rural land use as labels. One dataset holds
both modalities on one grid (`eodkit build`, the DEM resampled
bilinearly); the CNN of train_segmentation.py is trained twice with the
same seed, on the optical bands alone and on the optical bands fused with
the elevation (channels stacked), and both predictions of the test split
are scored by `eodkit eval` with block-bootstrap intervals. CPU only.

    make demo
    /usr/bin/python3 examples/fusion.py
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import train_segmentation as seg  # the folder of this script is on sys.path
from eodkit.torch import ChipDataset, loader

RECIPE = """\
dataset: {{name: olinda-fusion}}
grid: {{crs: {{like: optical}}, chip_size: 16}}
modalities:
  - {{name: optical, kind: multispectral, files: ["{data}/L7_ETMs.tif"], nodata: 0}}
  - {{name: dem, kind: dem, files: ["{data}/olinda_dem_utm25s.tif"], resampling: bilinear}}
labels:
  source: "{data}/olinda1.shp"
  attribute: TIPO
  classes: {{URBANO: 1, RURAL: 2}}
filters: {{max_nodata: 0.05, min_labeled: 0.1}}
split: {{method: blocks, block_size: 1824, buffer: 1, ratios: {{train: 0.7, test: 0.3}}, seed: 3}}
"""


def inputs(batch, modalities):
    """The MODALITIES of BATCH (normalised) stacked along the channels."""
    return torch.cat([batch[m].float() for m in modalities], dim=1)


def train(ds, modalities, epochs, seed=0):
    """train_segmentation.train on several modalities fused as channels."""
    torch.manual_seed(seed)
    split = ds.split("train")
    data = ChipDataset(split, arrays=[*modalities, "label"], normalize="meanstd")
    bands = sum(split.shapes[m][0] for m in modalities)
    model = seg.make_model(bands, seg.class_count(ds))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss(weight=seg.class_weights(ds))
    for _ in range(epochs):
        model.train()
        for batch in loader(data, 8, shuffle=True,
                            generator=torch.Generator().manual_seed(seed)):
            optimiser.zero_grad()
            loss_fn(model(inputs(batch, modalities)), batch["label"]).backward()
            optimiser.step()
    model.eval()
    test = ds.split("test")
    pred = np.zeros((len(test),) + test.shapes["label"], dtype=np.uint8)
    with torch.no_grad():
        for batch in loader(ChipDataset(test, arrays=modalities, normalize="meanstd"), 32):
            pred[batch["index"].numpy()] = model(inputs(batch, modalities)).argmax(1).numpy()
    return pred


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=seg.REPO / "examples" / "data",
                        help="folder with L7_ETMs.tif, olinda_dem_utm25s.tif and olinda1.shp")
    parser.add_argument("--out", type=Path, default=seg.REPO / "examples" / "out" / "olinda-fusion")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()

    binary = seg.find_eodkit(args.eodkit)
    recipe = args.out.with_name(args.out.name + ".yaml")
    recipe.parent.mkdir(parents=True, exist_ok=True)
    recipe.write_text(RECIPE.format(data=args.data.resolve()))
    proc = subprocess.run([binary, "build", str(recipe), "-o", str(args.out), "--overwrite"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"eodkit build {recipe} failed:\n{proc.stderr}")
    ds = seg.eodkit.open(args.out)
    print(f"dataset {ds.path}: " + ", ".join(f"{s} {len(ds.split(s))} chips" for s in ds.splits))
    print(f"{'inputs':<16} {'mean IoU (95% interval)':<26} {'kappa (95% interval)':<26}")
    for name, modalities in (("optical", ["optical"]), ("optical + dem", ["optical", "dem"])):
        pred_path = args.out.with_name(f"{args.out.name}-pred-{'-'.join(modalities)}.npy")
        np.save(pred_path, train(ds, modalities, args.epochs))
        proc = subprocess.run([binary, "eval", str(ds.path), str(pred_path), "--json"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"eodkit eval failed:\n{proc.stderr}")
        overall = json.loads(proc.stdout)["overall"]
        cells = [f"{overall[m]['value']:.3f} ({overall[m]['ci'][0]:.3f}-{overall[m]['ci'][1]:.3f})"
                 for m in ("mean_iou", "kappa")]
        print(f"{name:<16} {cells[0]:<26} {cells[1]:<26}", flush=True)


if __name__ == "__main__":
    main()
