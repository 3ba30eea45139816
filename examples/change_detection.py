"""Change detection: a time pair per chip and a change mask, end to end.

The shared data holds no two real images of one place at two dates, so the
pair is made from real data and the making is stated: the eo-learn
Landsat-like scene of Slovenia (one real acquisition), with the real
eo-learn cloud polygons (CLM_VECTOR) of two real acquisition times painted
in as clouds (blended towards the scene's 99.5th percentile with the
polygons' mask smoothed by a 5 x 5 mean, so cloud edges are soft and reach
past the polygons), saved under those two dates. The change labels are the two real cloud
masks, rasterised: `task: change` with a source before and after (cloud
appeared or cleared). Builds the dataset with `time: {mode: pair}`, fits a
threshold on the absolute difference of the pair on the training chips
(the one with the best change F1), predicts the test chips and has
`eodkit eval --by block` report the change class's F1, IoU, precision and
recall with block-bootstrap intervals. CPU only, a second.

    /usr/bin/python3 examples/change_detection.py --shared ../shared/data
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

import train_segmentation as seg  # the folder of this script is on sys.path

DATES = {"before": "2016-02-06T10:02:03", "after": "2016-05-16T10:06:47"}

RECIPE = """\
dataset: {{name: slovenia-cloud-change}}
grid: {{crs: {{like: s}}, chip_size: 12}}
modalities:
  - name: s
    kind: multispectral
    files: ["{folder}/scene_*.tif"]
    time: {{mode: pair, pattern: "scene_([0-9T]+)", before: {{to: 2016-03-01}},
           after: {{from: 2016-05-01}}}}
labels:
  task: change
  source: ["{folder}/clouds_before.tif", "{folder}/clouds_after.tif"]
  classes: {{1: 1}}
  class_names: {{1: cloud}}
split: {{method: blocks, block_size: 720, ratios: {{train: 0.6, test: 0.4}}, seed: 5}}
"""


def make_inputs(shared, folder):
    """The dated images and the cloud-mask label rasters (see the doc)."""
    folder.mkdir(parents=True, exist_ok=True)
    scene = gdal.Open(str(shared / "optical/eo-learn/import-tiff-test1.tiff"))
    values = scene.ReadAsArray()
    bright = np.percentile(values, 99.5)
    for when, stamp in DATES.items():
        mask_path = folder / f"clouds_{when}.tif"
        mask = gdal.GetDriverByName("GTiff").Create(str(mask_path), scene.RasterXSize,
                                                    scene.RasterYSize, 1, gdal.GDT_Byte)
        mask.SetGeoTransform(scene.GetGeoTransform())
        mask.SetProjection(scene.GetProjection())
        gdal.Rasterize(mask, str(shared / "vector/eo-learn/CLM_VECTOR.gpkg"), burnValues=[1],
                       where=f"TIMESTAMP LIKE '{stamp}%'")
        clouds = np.pad(mask.ReadAsArray().astype(np.float64), 2)
        mask = None
        alpha = sum(clouds[dy:dy + values.shape[0], dx:dx + values.shape[1]]
                    for dy in range(5) for dx in range(5)) / 25
        name = folder / f"scene_{stamp.replace('-', '').replace(':', '')}.tif"
        image = gdal.GetDriverByName("GTiff").CreateCopy(str(name), scene)
        image.GetRasterBand(1).WriteArray((values + alpha * (bright - values)).astype(values.dtype))
        image = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=seg.REPO.parent / "shared" / "data",
                        help="the shared test data (optical/eo-learn, vector/eo-learn)")
    parser.add_argument("--out", type=Path,
                        default=seg.REPO / "examples" / "out" / "slovenia-change")
    parser.add_argument("--eodkit", help="the eodkit command (default: PATH, then build/eodkit)")
    args = parser.parse_args()

    binary = seg.find_eodkit(args.eodkit)
    inputs = args.out.with_name(args.out.name + "-inputs")
    make_inputs(args.shared.resolve(), inputs)
    recipe = args.out.with_name(args.out.name + ".yaml")
    recipe.write_text(RECIPE.format(folder=inputs.resolve()))
    proc = subprocess.run([binary, "build", str(recipe), "-o", str(args.out), "--overwrite"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"eodkit build {recipe} failed:\n{proc.stderr}")
    ds = seg.eodkit.open(args.out)
    train, test = ds.split("train").read(slice(None)), ds.split("test").read(slice(None))
    print(f"dataset {ds.path}: train {len(train['label'])} chips, test {len(test['label'])} "
          f"chips, pairs {train['s'].shape[1:]}")

    def difference(chips):  # (n, T=2, C, H, W) -> (n, H, W)
        return np.abs(chips[:, 1].astype(np.float64) - chips[:, 0]).max(axis=1)

    d, truth = difference(train["s"]), train["label"] == 1

    def f1(t):
        hit = d > t
        return 2 * (hit & truth).sum() / max(hit.sum() + truth.sum(), 1)

    threshold = max(np.unique(d), key=f1)
    print(f"threshold on |after - before|: {threshold:g} (train change F1 {f1(threshold):.3f})")
    pred = (difference(test["s"]) > threshold).astype(np.uint8)
    pred_path = args.out.with_name(args.out.name + "-pred.npy")
    np.save(pred_path, pred)
    ok = seg.run_eodkit(binary, "eval", ds.path, pred_path, "--by", "block")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
