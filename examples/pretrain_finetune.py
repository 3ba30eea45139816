"""Self-supervised pre-training on unlabelled chips, then fine-tuning on a
few labelled ones, against the same model trained from scratch: the
review's third experiment at laptop scale, scored per region by `eodkit
eval`.

Two datasets, both built with `eodkit build` on one 30 m grid per UTM zone
(`crs: utm`, chips of 16 x 16 px):

- pre-training, a recipe without `labels:` (doc/recipe.md, "Unlabelled
  recipes"): the six bands Landsat-7 ETM+ and Sentinel-2 share (blue,
  green, red, near infrared, two short-wave infrared) from the demo's
  Landsat-7 scene over Olinda (Brazil, South America) and the six
  BigEarthNet Sentinel-2 patches of ../shared/data (Ireland, Portugal,
  Finland: Europe), overlapping chips (stride 8). The patches ship one
  file per band, so each patch's six bands are first stacked into one
  GDAL VRT (gdalbuildvrt -separate, the 20 m bands repeated onto the 10 m
  pixels); eodkit then averages both sensors onto the 30 m grid.
- fine-tuning: the demo's urban/rural census-tract labels over the same
  scene on the same grid, split by blocks so that only 10 chips train and
  149 test, with Olinda's neighbourhoods (`NM_BAIR`) as the regions.

The model is a small fully convolutional encoder (three 3 x 3 convolution
blocks, 32 features) with a 1 x 1 head. Pre-training hides half of each
chip in 2 x 2 px cells and trains the encoder with a reconstruction head to
rebuild the hidden pixels of every band (masked reconstruction, mean
squared error). Landsat-7 digital numbers and Sentinel-2 reflectances
differ in scale, so pre-training standardises each band per sensor (the
sensor of a chip is the input file the index's `sources` names); the
fine-tuning data is standardised with its stats.json as usual. Then the
pre-trained encoder with a new class head, and the same network initialised
at random, are trained on the 10 labelled chips with the same seed, epochs
and learning rate; both predict the test split, `eodkit eval --by region`
scores each (block-bootstrap 95% intervals), and the script prints the
per-region comparison as eval reports it, whichever model wins.

Pre-training reads the whole scene, the test chips' pixels included, but
never a label: what it can add is what unlabelled imagery of the place
and of other places teaches the encoder. At this scale either model may
win; the table says which, with intervals. CPU only: the defaults take a
couple of minutes on two cores, `--quick` (3 and 15 epochs) well under one.

    make demo
    /usr/bin/python3 examples/pretrain_finetune.py --shared ../shared/data
"""
import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import train_segmentation as seg  # the folder of this script is on sys.path

# No `labels:` key: an unlabelled dataset.
PRETRAIN_RECIPE = """\
dataset:
  name: pretrain-l7-s2
  description: Unlabelled Landsat-7 and Sentinel-2 chips for self-supervised pre-training.
grid: {{crs: utm, resolution: 30, chip_size: 16, stride: 8}}
# sample: {{by: continent, max_per_group: 400, seed: 1}}   # evens out the continents
modalities:
  - name: optical
    kind: multispectral
    files: ["{data}/L7_ETMs.tif", "{stacks}/*.vrt"]
    band_names: {bands}
    resampling: average
    nodata: 0
filters: {{max_nodata: 0}}
split: {{method: blocks, block_size: 1920, buffer: 1, ratios: {{train: 0.9, val: 0.1}}, seed: 1}}
"""

FINETUNE_RECIPE = """\
dataset: {{name: olinda-few-labels}}
grid: {{crs: utm, resolution: 30, chip_size: 16}}
modalities:
  - name: optical
    kind: multispectral
    files: ["{data}/L7_ETMs.tif"]
    band_names: {bands}
    resampling: average
    nodata: 0
labels:
  source: "{data}/olinda1.shp"
  attribute: TIPO
  classes: {{URBANO: 1, RURAL: 2}}
  task: segmentation
regions: {{source: "{data}/olinda1.shp", field: NM_BAIR}}
filters: {{max_nodata: 0, min_labeled: 0.1}}
split: {{method: blocks, block_size: 1440, buffer: 1, ratios: {{train: 0.25, test: 0.75}}, seed: 6}}
"""

BANDS = "[blue, green, red, nir, swir1, swir2]"
S2_BANDS = ["B02", "B03", "B04", "B08", "B11", "B12"]  # the same six, in that order
WIDTH = 32   # features per pixel of the encoder
CELL = 2     # side of the hidden cells, pixels
HIDDEN = 0.5  # share of the cells hidden
METRICS = {"accuracy": "accuracy", "mean_iou": "mean IoU", "kappa": "kappa"}


def stack_patches(shared, folder):
    """One 6-band VRT per BigEarthNet Sentinel-2 patch of SHARED (its
    S2_BANDS files stacked, at the 10 m of the finest) in FOLDER; returns
    their number."""
    folder.mkdir(parents=True, exist_ok=True)
    patches = sorted(p for p in (shared / "samples" / "bigearthnet" / "s2").iterdir() if p.is_dir())
    for patch in patches:
        files = [str(next(patch.glob(f"*_{band}.tif"))) for band in S2_BANDS]
        subprocess.run(["gdalbuildvrt", "-q", "-overwrite", "-separate", "-resolution", "highest",
                        str(folder / f"{patch.name}.vrt"), *files], check=True)
    return len(patches)


def build(binary, text, out):
    """Write recipe TEXT next to OUT and build it into OUT."""
    recipe = out.with_name(out.name + ".yaml")
    recipe.write_text(text)
    proc = subprocess.run([binary, "build", str(recipe), "-o", str(out), "--overwrite"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"eodkit build {recipe} failed:\n{proc.stderr}")
    return seg.eodkit.open(out)


def describe(ds):
    """One line on dataset DS: chips per split, its labels and, from its
    audit, its chips per region (or the number of regions)."""
    regions = json.loads((ds.path / "audit.json").read_text())["geography"]["regions"]
    where = (", ".join(f"{k} {n}" for k, n in regions.items()) if len(regions) <= 4
             else f"{len(regions)} regions")
    return (f"{ds.path.name}: " + ", ".join(f"{s} {len(ds.split(s))}" for s in ds.splits)
            + f" chips; {ds.label['task'] if ds.label else 'no labels'}; {where}")


def make_encoder(bands):
    """BANDS in, WIDTH features per pixel out, same height and width: three
    3 x 3 convolution blocks, the middle one dilated (a 9 x 9 px view)."""
    return nn.Sequential(
        nn.Conv2d(bands, WIDTH, 3, padding=1), nn.BatchNorm2d(WIDTH), nn.ReLU(),
        nn.Conv2d(WIDTH, WIDTH, 3, padding=2, dilation=2), nn.BatchNorm2d(WIDTH), nn.ReLU(),
        nn.Conv2d(WIDTH, WIDTH, 3, padding=1), nn.BatchNorm2d(WIDTH), nn.ReLU())


def per_sensor(ds, modality):
    """Every split of DS's MODALITY as float32 arrays, each band standardised
    with the mean and std of its sensor's chips in the training split (a
    chip's sensor: the input file its `sources` names, Sentinel-2 for the
    stacked patches). Returns {split: array (n, C, H, W)}, and {sensor:
    chips in the training split}."""
    files = [s["path"] for s in ds.provenance["read"][modality]["sources"]]

    def sensors(split):
        first = [json.loads(s)[modality][0] for s in split.column("sources")]
        return np.array(["Sentinel-2" if files[i].endswith(".vrt") else "Landsat-7" for i in first])

    chips = {s: ds.split(s).read(slice(None), [modality])[modality].astype(np.float32)
             for s in ds.splits}
    train = sensors(ds.split(ds.splits[0]))
    moments = {}
    for sensor in np.unique(train):
        x = chips[ds.splits[0]][train == sensor]
        moments[sensor] = (x.mean(axis=(0, 2, 3), keepdims=True)[0],
                           x.std(axis=(0, 2, 3), keepdims=True)[0] + 1e-6)
    for name, x in chips.items():
        for i, sensor in enumerate(sensors(ds.split(name))):
            mean, std = moments[sensor]
            x[i] = (x[i] - mean) / std
    return chips, {s: int((train == s).sum()) for s in moments}


def hide(shape, generator):
    """A float mask of SHAPE (n, 1, H, W): 1 on the hidden 2 x 2 px cells."""
    n, _, h, w = shape
    cells = torch.rand((n, 1, h // CELL, w // CELL), generator=generator) < HIDDEN
    return cells.repeat_interleave(CELL, 2).repeat_interleave(CELL, 3).float()


def reconstruction_loss(model, x, mask):
    """Mean squared error of MODEL's reconstruction of X's hidden pixels
    from X with them set to 0 (the band mean)."""
    err = (model(x * (1 - mask)) - x) ** 2 * mask
    return err.sum() / (mask.sum() * x.shape[1])


def pretrain(chips, epochs, batch_size=32, lr=0.003, seed=0, log=print):
    """Masked reconstruction: train make_encoder with a 1 x 1 reconstruction
    head on CHIPS["train"] (standardised, (n, C, H, W)) for EPOCHS. Returns
    (encoder, training loss per epoch, validation loss per epoch); the
    validation loss is on CHIPS["val"] with the same hidden cells every
    epoch."""
    torch.manual_seed(seed)
    train, val = torch.from_numpy(chips["train"]), torch.from_numpy(chips["val"])
    encoder = make_encoder(train.shape[1])
    model = nn.Sequential(encoder, nn.Conv2d(WIDTH, train.shape[1], 1))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    val_mask = hide(val.shape, torch.Generator().manual_seed(seed + 1))
    losses, val_losses = [], []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        order = torch.randperm(len(train), generator=generator)
        for start in range(0, len(train), batch_size):
            x = train[order[start:start + batch_size]]
            optimiser.zero_grad()
            loss = reconstruction_loss(model, x, hide(x.shape, generator))
            loss.backward()
            optimiser.step()
            total += loss.item() * len(x)
        model.eval()
        with torch.no_grad():
            val_losses.append(reconstruction_loss(model, val, val_mask).item())
        losses.append(total / len(train))
        log(f"pre-train epoch {epoch + 1:3d}  loss {losses[-1]:.4f}  val loss {val_losses[-1]:.4f}")
    return encoder, losses, val_losses


def segmenter(encoder, classes, seed):
    """ENCODER followed by a new 1 x 1 head of CLASSES logits (initialised
    from SEED, so both models start from the same head)."""
    torch.manual_seed(seed)
    return nn.Sequential(encoder, nn.Conv2d(WIDTH, classes, 1))


def evaluate(binary, ds, pred, report):
    """Run `eodkit eval DS PRED --by region --json`, save the report as
    REPORT and return it."""
    proc = subprocess.run([binary, "eval", str(ds.path), str(pred), "--by", "region", "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"eodkit eval {ds.path} {pred} failed:\n{proc.stderr}")
    report.write_text(proc.stdout)
    return json.loads(proc.stdout)


def cell(metric):
    """A metric of an eval report as 'value (low-high)'."""
    low, high = metric["ci"]
    return f"{metric['value']:.3f} ({low:.3f}-{high:.3f})"


def compare(scratch, pretrained, metric="mean_iou"):
    """Print the overall metrics of the two eval reports side by side, then
    METRIC per region, and how many regions each model wins."""
    print(f"\ntest split, {scratch['overall']['chips']} chips (eodkit eval --by region; "
          "95% block-bootstrap intervals)")
    print(f"{'':<22} {'chips':>5}  {'from scratch':<22} {'pre-trained':<22} difference")
    for key, name in METRICS.items():
        a, b = scratch["overall"][key], pretrained["overall"][key]
        print(f"{name:<22} {'':>5}  {cell(a):<22} {cell(b):<22} {b['value'] - a['value']:+.3f}")
    print(f"{METRICS[metric]} per region")
    theirs = {g["name"]: g for g in pretrained["groups"]}
    wins = {"pre-trained": 0, "from scratch": 0, "tie": 0}
    for a in scratch["groups"]:
        b = theirs[a["name"]]
        diff = b[metric]["value"] - a[metric]["value"]
        print(f"{a['name']:<22} {a['chips']:>5}  {cell(a[metric]):<22} {cell(b[metric]):<22} "
              f"{diff:+.3f}")
        wins["tie" if abs(diff) < 5e-4 else "pre-trained" if diff > 0 else "from scratch"] += 1
    a, b = scratch["overall"][metric]["ci"], pretrained["overall"][metric]["ci"]
    overlap = a[0] <= b[1] and b[0] <= a[1]
    print(f"higher {METRICS[metric]}: pre-trained in {wins['pre-trained']} regions, from scratch "
          f"in {wins['from scratch']}, tied in {wins['tie']}; the overall intervals "
          + ("overlap: no difference shown at this scale" if overlap else "do not overlap"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=seg.REPO / "examples" / "data",
                        help="folder with L7_ETMs.tif and olinda1.shp (make demo fetches them)")
    parser.add_argument("--shared", type=Path, default=seg.REPO.parent / "shared" / "data",
                        help="folder holding samples/bigearthnet/s2")
    parser.add_argument("--out", type=Path,
                        default=seg.REPO / "examples" / "out" / "pretrain-finetune")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=60,
                        help="fine-tuning and from-scratch epochs")
    parser.add_argument("--quick", action="store_true",
                        help="3 pre-training and 15 training epochs: seconds, for the tests")
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()
    if args.quick:
        args.pretrain_epochs, args.epochs = 3, 15

    binary = seg.find_eodkit(args.eodkit)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = args.data.resolve()
    patches = stack_patches(args.shared.resolve(), out / "s2-stacks")
    print(f"stacked {patches} Sentinel-2 patches into {out / 's2-stacks'}")
    unlabelled = build(binary, PRETRAIN_RECIPE.format(data=data, stacks=out / "s2-stacks",
                                                      bands=BANDS), out / "pretrain")
    print("pre-training dataset  " + describe(unlabelled))
    labelled = build(binary, FINETUNE_RECIPE.format(data=data, bands=BANDS), out / "finetune")
    print("fine-tuning dataset   " + describe(labelled), flush=True)

    chips, sensors = per_sensor(unlabelled, "optical")
    print("pre-training chips per sensor: " + ", ".join(f"{k} {n}" for k, n in sensors.items()))
    encoder, _, _ = pretrain(chips, args.pretrain_epochs,
                             log=lambda line: print(line, flush=True))

    classes = seg.class_count(labelled)
    bands = labelled.split("train").shapes["optical"][0]
    torch.manual_seed(1)
    starts = {"from scratch": make_encoder(bands), "pre-trained": copy.deepcopy(encoder)}
    reports = {}
    for name, start in starts.items():
        model, losses = seg.train(labelled, "optical", epochs=args.epochs, seed=0,
                                  log=lambda line: None, model=segmenter(start, classes, seed=0))
        print(f"{name}: trained {args.epochs} epochs on {len(labelled.split('train'))} chips, "
              f"loss {losses[0]:.4f} -> {losses[-1]:.4f}", flush=True)
        tag = name.replace(" ", "-")
        pred = out / f"pred-{tag}.npy"
        np.save(pred, seg.predict(model, labelled.split("test"), "optical"))
        reports[name] = evaluate(binary, labelled, pred, out / f"eval-{tag}.json")
    compare(reports["from scratch"], reports["pre-trained"])


if __name__ == "__main__":
    main()
