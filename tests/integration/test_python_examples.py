"""The example scripts run end to end: examples/train_segmentation.py trains
on the demo dataset with Debian's PyTorch (the loss falls below the first
epoch's), writes test predictions in chip order, and `eodkit eval` and
`eodkit mosaic` accept them; examples/geo_generalisation.py builds a
leave-region-out dataset, trains, and has `eodkit eval --by split` report
in-region (val) and held-out (test) metrics; examples/train_detection.py
trains a detector and evaluates it per split."""
import json
import re
import subprocess
import sys

import numpy as np
import rasterio
import torch

from conftest import EODKIT, SOURCE

sys.path.insert(0, str(SOURCE / "examples"))
import train_segmentation as seg  # noqa: E402

PYTHON = "/usr/bin/python3"


def script(name, *args):
    proc = subprocess.run([PYTHON, str(SOURCE / "examples" / name), *map(str, args),
                           "--eodkit", EODKIT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_train_segmentation_end_to_end(demo_dataset, tmp_path):
    out = script("train_segmentation.py", demo_dataset, "--out", tmp_path, "--epochs", 8)
    losses = [float(x) for x in re.findall(r"^epoch +\d+ +loss ([0-9.]+)$", out, re.M)]
    assert len(losses) == 8 and losses[-1] < losses[0]
    pred = np.load(tmp_path / "pred-test.npy")
    assert pred.shape == (8, 32, 32) and pred.dtype == np.uint8 and pred.max() <= 2
    assert "$ eodkit eval" in out and "$ eodkit mosaic" in out
    with rasterio.open(tmp_path / "pred-test.tif") as tif:
        assert tif.crs.to_epsg() == 31985 and tif.count == 1


def test_predictions_are_in_chip_order(demo_dataset):
    """predict() puts chip i's prediction in row i: a 'model' that calls
    pixels above the band-1 mean class 1, else 0, matches NumPy on the
    chips read in order."""
    split = seg.eodkit.open(demo_dataset).split("test")

    def model(x):
        return torch.stack([-x[:, 0], x[:, 0]], dim=1)

    model.eval = lambda: None
    pred = seg.predict(model, split, "optical", batch_size=3)
    mean = split.dataset.stats["modalities"]["optical"]["bands"][0]["mean"]
    want = split.read(slice(None), ["optical"])["optical"][:, 0] > mean
    assert np.array_equal(pred, want.astype(np.uint8))


def test_geo_generalisation_reports_held_out_regions(tmp_path, demo):
    out = script("geo_generalisation.py", "--data", demo, "--out", tmp_path / "regions",
                 "--epochs", 5)
    assert "dataset " + str(tmp_path / "regions") + ": train 83 chips, val 50 chips, test 47 chips" in out
    pred = np.load(tmp_path / "regions-pred.npy")
    assert pred.shape == (50 + 47, 16, 16) and pred.dtype == np.uint8
    # eval's per-split table: in-region (val) next to held out (test)
    assert re.search(r"^val +50 +\d+ +0\.\d+ \(", out, re.M)
    assert re.search(r"^test +47 +\d+ +0\.\d+ \(", out, re.M)
    assert "test: held-out neighbourhoods (Casa Caiada, Jardim Atlântico, Rio Doce)" in out
    ds = seg.eodkit.open(tmp_path / "regions")
    held = {"Casa Caiada", "Jardim Atlântico", "Rio Doce"}
    assert set(ds.split("test").column("region")) == held
    elsewhere = set(ds.split("train").column("region")) | set(ds.split("val").column("region"))
    assert not held & elsewhere


def test_train_detection_end_to_end(tmp_path, shared):
    """examples/train_detection.py: builds the SpaceNet buildings as a
    detection dataset, trains Faster R-CNN (no downloaded weights) for a
    few iterations on the CPU, writes its detections of every chip and has
    `eodkit eval --by split` and `eodkit mosaic` accept them."""
    out = script("train_detection.py", "--data", shared, "--out", tmp_path / "spacenet",
                 "--iterations", 3)
    losses = [float(x) for x in re.findall(r"^iteration +\d+ +loss ([0-9.]+)$", out, re.M)]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert "dataset " + str(tmp_path / "spacenet") + ": train 22 chips, val 7 chips, test 7 chips" in out
    detections = json.loads((tmp_path / "spacenet-detections.json").read_text())
    assert detections and {"image_id", "category_id", "bbox", "score"} == set(detections[0])
    assert "$ eodkit eval" in out and "mAP@[.5:.95]" in out
    for split in ("train", "val", "test"):
        assert re.search(rf"^{split} +\d+ +\d+ +\d+ +\d\.\d{{3}}", out, re.M), split
    assert (tmp_path / "spacenet-detections.gpkg").is_file()
