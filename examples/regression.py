"""Regression on real data: elevation from Landsat-7 reflectance.

Builds a regression dataset with `eodkit build` from the demo data: the
Landsat-7 scene over Olinda (Brazil) as the input and the 90 m DEM of the
same place as the target (`task: regression`, resampled bilinearly onto
the 28.5 m grid, float32 with NaN where the DEM has no value), split by
spatial blocks. Fits a per-pixel linear model of the six bands by least
squares on the training chips (NaN targets left out), predicts the test
chips, and has `eodkit eval --by block` report RMSE, MAE, bias and R^2 with
block-bootstrap intervals and residual plots, and `eodkit mosaic` map the
predictions (overlaps averaged). CPU only, seconds.

    make demo
    /usr/bin/python3 examples/regression.py
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

import train_segmentation as seg  # the folder of this script is on sys.path

RECIPE = """\
dataset: {{name: olinda-elevation}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, kind: multispectral, files: ["{data}/L7_ETMs.tif"], nodata: 0}}
labels:
  source: "{data}/olinda_dem_utm25s.tif"
  task: regression
  resampling: bilinear
filters: {{max_nodata: 0.05, min_labeled: 0.9}}
split: {{method: blocks, block_size: 2736, buffer: 1, ratios: {{train: 0.7, test: 0.3}}, seed: 2}}
"""


def design(chips):
    """Per-pixel features of CHIPS (n, 6, H, W): the bands and a constant,
    as a (pixels, 7) matrix in (chip, row, column) order."""
    x = chips.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, chips.shape[1])
    return np.hstack([x, np.ones((len(x), 1))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=seg.REPO / "examples" / "data",
                        help="folder with L7_ETMs.tif and olinda_dem_utm25s.tif (make demo)")
    parser.add_argument("--out", type=Path,
                        default=seg.REPO / "examples" / "out" / "olinda-elevation")
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
    train, test = ds.split("train").read(slice(None)), ds.split("test").read(slice(None))
    print(f"dataset {ds.path}: train {len(train['label'])} chips, "
          f"test {len(test['label'])} chips; target mean {ds.stats['target']['mean']:.2f} m")

    x, y = design(train["optical"]), train["label"].astype(np.float64).ravel()
    known = ~np.isnan(y)
    coef, *_ = np.linalg.lstsq(x[known], y[known], rcond=None)
    print("fitted elevation = " + " + ".join(f"{c:.3f} b{k + 1}" for k, c in
                                             enumerate(coef[:-1])) + f" + {coef[-1]:.2f}")
    pred = (design(test["optical"]) @ coef).reshape(test["label"].shape).astype(np.float32)
    pred_path = args.out.with_name(args.out.name + "-pred.npy")
    np.save(pred_path, pred)
    ok = seg.run_eodkit(binary, "eval", ds.path, pred_path, "--by", "block")
    ok = ok and seg.run_eodkit(binary, "mosaic", ds.path, pred_path, "-o",
                               args.out.with_name(args.out.name + "-pred.tif"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
