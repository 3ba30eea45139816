"""Geographic generalisation test on real data: does a model trained on some
places work in places it has never seen?

Builds a leave-region-out dataset with `eodkit build` (split `method:
regions`) from the demo data: the Landsat-7 scene over Olinda (Brazil)
with census-tract land use (urban/rural) as labels, and the tracts'
neighbourhoods (`NM_BAIR`, 31 bairros) as the regions. The held-out
neighbourhoods become the test split; the other chips are split by blocks
into train and val. Trains the CNN of train_segmentation.py on train,
predicts val and test, and has `eodkit eval --by split` report the metrics
in-region (val: new blocks of the training neighbourhoods) next to held out
(test: new neighbourhoods), with 95% intervals from a bootstrap over
spatial blocks, and their gap.

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

    binary = seg.find_eodkit(args.eodkit)
    build(binary, args.data.resolve(), args.hold_out, args.out)
    ds = seg.eodkit.open(args.out)
    print(f"dataset {ds.path}: " + ", ".join(
        f"{s} {len(ds.split(s))} chips" for s in ds.splits), flush=True)
    model, losses = seg.train(ds, "optical", epochs=args.epochs, log=lambda line: None)
    print(f"trained {args.epochs} epochs: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

    # one prediction file for val then test, each in chip order: eval
    # scores them together and per split, with block-bootstrap intervals
    pred = np.concatenate([seg.predict(model, ds.split(s), "optical") for s in ("val", "test")])
    pred_path = args.out.with_name(args.out.name + "-pred.npy")
    np.save(pred_path, pred)
    ok = seg.run_eodkit(binary, "eval", ds.path, pred_path, "--split", "val,test", "--by", "split")
    held = sorted({r for r in ds.split("test").column("region") if r})
    print("val: new blocks of the training neighbourhoods (in-region); "
          f"test: held-out neighbourhoods ({', '.join(held)})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
