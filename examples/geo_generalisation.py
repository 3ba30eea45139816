"""Geographic generalisation test on real data: does a model trained on some
places work in places it has never seen?

Builds a leave-region-out dataset with `eodkit build` (split `method:
regions`) from the demo data: the Landsat-7 scene over Olinda (Brazil)
with census-tract land use (urban/rural) as labels, and the tracts'
neighbourhoods (`NM_BAIR`, 31 bairros) as the regions. The held-out
neighbourhoods become the test split; the other chips are split by blocks
into train and val. Trains the CNN of train_segmentation.py on train, then
reports the same metrics in-region (val: new blocks of the training
neighbourhoods) and held out (test: new neighbourhoods).

    make demo
    /usr/bin/python3 examples/geo_generalisation.py
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

import train_segmentation as seg  # the folder of this script is on sys.path

RECIPE = """\
dataset: {{name: olinda-leave-region-out}}
grid: {{crs: {{like: optical}}, chip_size: 16}}
modalities:
  - {{name: optical, kind: multispectral, files: ["{data}/L7_ETMs.tif"], nodata: 0}}
labels:
  source: "{data}/olinda1.shp"
  attribute: TIPO
  classes: {{URBANO: 1, RURAL: 2}}
  task: segmentation
regions: {{source: "{data}/olinda1.shp", field: NM_BAIR}}
filters: {{max_nodata: 0.05, min_labeled: 0.1}}
split:
  method: regions
  hold_out: {{test: {{region: {hold_out}}}}}
  ratios: {{train: 0.8, val: 0.2}}
  block_size: 1824
  buffer: 1
  seed: 1
"""


def build(binary, data, hold_out, out):
    """Write the leave-region-out recipe (HOLD_OUT: neighbourhood names) next
    to OUT and build it into OUT with the eodkit command BINARY."""
    recipe = out.with_name(out.name + ".yaml")
    names = "[" + ", ".join(f'"{name}"' for name in hold_out) + "]"
    recipe.write_text(RECIPE.format(data=data, hold_out=names))
    proc = subprocess.run([binary, "build", str(recipe), "-o", str(out), "--overwrite"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"eodkit build {recipe} failed:\n{proc.stderr}")


def metrics(pred, label, classes):
    """Pixel accuracy of PRED against LABEL (same shapes), and per class id
    in CLASSES ({id: name}) its IoU (None when in neither) and whether
    LABEL holds it ("labelled")."""
    result = {"accuracy": float(np.mean(pred == label)), "iou": {}, "labelled": {}}
    for cid, name in classes.items():
        union = np.count_nonzero((pred == cid) | (label == cid))
        inter = np.count_nonzero((pred == cid) & (label == cid))
        result["iou"][name] = inter / union if union else None
        result["labelled"][name] = bool(np.any(label == cid))
    return result


def mean_iou(result, names):
    """Mean of RESULT's IoUs (see metrics) over class NAMES."""
    return float(np.mean([result["iou"][n] for n in names]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=seg.REPO / "examples" / "data",
                        help="folder with L7_ETMs.tif and olinda1.shp (make demo fetches them)")
    parser.add_argument("--out", type=Path, default=seg.REPO / "examples" / "out" / "olinda-regions")
    parser.add_argument("--hold-out", nargs="+", metavar="NEIGHBOURHOOD",
                        default=["Rio Doce", "Jardim Atlântico", "Casa Caiada"])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()

    build(seg.find_eodkit(args.eodkit), args.data.resolve(), args.hold_out, args.out)
    ds = seg.eodkit.open(args.out)
    print(f"dataset {ds.path}: " + ", ".join(
        f"{s} {len(ds.split(s))} chips" for s in ds.splits), flush=True)
    model, losses = seg.train(ds, "optical", epochs=args.epochs,
                              log=lambda line: None)
    print(f"trained {args.epochs} epochs: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

    classes = {ds.background: "background", **ds.classes}
    rows = []
    for split, where in (("train", "seen chips"), ("val", "in-region"), ("test", "held out")):
        part = ds.split(split)
        regions = sorted({r for r in part.column("region") if r})
        got = metrics(seg.predict(model, part, "optical"),
                      part.read(slice(None), ["label"])["label"], classes)
        rows.append((f"{split} ({where})", len(part), got, regions))
    names = list(classes.values())
    print(f"\n{'split':24s} {'chips':>5s} {'accuracy':>8s} " +
          " ".join(f"{'IoU ' + n:>16s}" for n in names))
    for title, n, got, _ in rows:
        ious = " ".join(f"{'-' if got['iou'][c] is None else format(got['iou'][c], '.3f'):>16s}"
                        for c in names)
        print(f"{title:24s} {n:5d} {got['accuracy']:8.3f} {ious}")
    shared = [c for c in names
              if rows[1][2]["labelled"][c] and rows[2][2]["labelled"][c]]
    print(f"\nmean IoU over the classes both val and test hold ({', '.join(shared)}): "
          f"in-region {mean_iou(rows[1][2], shared):.3f}, "
          f"held out {mean_iou(rows[2][2], shared):.3f}")
    print(f"held-out neighbourhoods: {', '.join(rows[2][3])}")

if __name__ == "__main__":
    main()
