"""Train a small CNN on an eodkit segmentation dataset, predict its test
split, then score and map the predictions with the eodkit command.

    make demo
    /usr/bin/python3 examples/train_segmentation.py examples/out/olinda

Prints the training loss per epoch; writes OUT/pred-test.npy, the test
predictions as an (n, H, W) uint8 array of class ids with row i for chip i
of the test split in chip order (index fid order), the order `eodkit eval`
and `eodkit mosaic` expect; runs `eodkit eval DATASET PRED --split test` and
`eodkit mosaic DATASET PRED --split test -o OUT/pred-test.tif`. CPU only;
the demo takes seconds. examples/geo_generalisation.py reuses its functions.
"""
import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
try:
    import eodkit
except ImportError:  # running from a clone without `make install`
    sys.path.insert(0, str(REPO / "python"))
    import eodkit
from eodkit.torch import ChipDataset, loader


def make_model(bands, classes):
    """A small fully convolutional network: BANDS in, one logit per class
    (ids 0 .. CLASSES-1) out, same height and width."""
    return nn.Sequential(
        nn.Conv2d(bands, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, classes, 1))


def class_count(ds):
    """Logits the model needs: the largest class id (or background) + 1."""
    return max([*ds.classes, ds.background or 0]) + 1


def class_weights(ds):
    """Loss weights that even out the classes' pixels in the training split
    (stats.json `classes.pixels`): total / (classes * pixels of the class),
    0 for a class without training pixels."""
    pixels = ds.stats["classes"]["pixels"][ds.splits[0]]
    counts = np.array([pixels.get(str(k), 0) for k in range(class_count(ds))], float)
    weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0)
    return torch.tensor(weights, dtype=torch.float32)


def train(ds, modality, epochs=60, batch_size=8, lr=0.01, seed=0, log=print, model=None):
    """Train MODEL (default: a new make_model, initialised with SEED) on
    DS's training split (the first split) of MODALITY, normalised with
    stats.json mean/std, every label id a class (background too), with
    class_weights in the loss so that rare classes count. MODEL must map
    the modality's bands to class_count(DS) logits per pixel. Returns
    (model, mean loss per epoch); LOG gets one line per epoch."""
    torch.manual_seed(seed)
    split = ds.split(ds.splits[0])
    data = ChipDataset(split, arrays=[modality, "label"], normalize="meanstd")
    batches = loader(data, batch_size, shuffle=True,
                     generator=torch.Generator().manual_seed(seed))
    if model is None:
        model = make_model(split.shapes[modality][0], class_count(ds))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(ds))
    losses = []
    for epoch in range(epochs):
        model.train()
        total, seen = 0.0, 0
        for batch in batches:
            optimiser.zero_grad()
            loss = loss_fn(model(batch[modality]), batch["label"])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch["index"])
            seen += len(batch["index"])
        losses.append(total / seen)
        log(f"epoch {epoch + 1:3d}  loss {losses[-1]:.4f}")
    return model, losses


def predict(model, split, modality, batch_size=32):
    """Class ids (uint8 array (n, H, W)) for every chip of SPLIT, row i for
    chip i: the prediction array `eodkit eval` and `eodkit mosaic` read."""
    data = ChipDataset(split, arrays=[modality], normalize="meanstd")
    pred = np.zeros((len(split),) + split.shapes[modality][-2:], dtype=np.uint8)
    model.eval()
    with torch.no_grad():
        for batch in loader(data, batch_size):
            pred[batch["index"].numpy()] = model(batch[modality]).argmax(1).numpy()
    return pred


def find_eodkit(given=None):
    """The eodkit command: GIVEN, else `eodkit` on the PATH, else the
    clone's build/eodkit. Exits with a message when there is none."""
    for candidate in (given, shutil.which("eodkit"), REPO / "build" / "eodkit"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    sys.exit("no eodkit command: pass --eodkit PATH, put it on the PATH or run `make`")


def run_eodkit(binary, *args):
    """Run `BINARY ARGS`, echoing the command and its output; True when it
    succeeded."""
    print("$ eodkit " + " ".join(map(str, args)), flush=True)
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    print(proc.stdout + proc.stderr, end="", flush=True)
    if proc.returncode != 0:
        print(f"eodkit {args[0]} failed (exit status {proc.returncode})", flush=True)
    return proc.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="a segmentation dataset built by eodkit build")
    parser.add_argument("--out", type=Path, help="output folder (default: DATASET-model)")
    parser.add_argument("--modality", help="the modality to train on (default: the first)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()

    ds = eodkit.open(args.dataset)
    if (ds.label or {}).get("task") != "segmentation":
        sys.exit(f"{ds.path}: not a segmentation dataset")
    modality = args.modality or next(iter(ds.modalities))
    out = args.out or ds.path.with_name(ds.path.name + "-model")
    out.mkdir(parents=True, exist_ok=True)
    binary = find_eodkit(args.eodkit)

    start = time.perf_counter()
    model, _ = train(ds, modality, args.epochs, args.batch_size)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s", flush=True)
    pred_path = out / "pred-test.npy"
    np.save(pred_path, predict(model, ds.split("test"), modality))
    print(f"wrote {pred_path}", flush=True)
    ok = run_eodkit(binary, "eval", ds.path, pred_path, "--split", "test")
    ok = run_eodkit(binary, "mosaic", ds.path, pred_path, "--split", "test",
                    "-o", out / "pred-test.tif") and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
