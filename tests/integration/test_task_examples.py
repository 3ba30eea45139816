"""The task examples run end to end on real data, CPU only, in seconds:
examples/regression.py (elevation from Landsat-7, eval and mosaic),
examples/change_detection.py (a cloud-change pair, eval of the change
class) and examples/fusion.py (optical + DEM fused versus optical alone,
both scored by eval)."""
import re
import subprocess

import numpy as np
from osgeo import gdal

from conftest import EODKIT, SOURCE

PYTHON = "/usr/bin/python3"


def script(name, *args):
    proc = subprocess.run([PYTHON, str(SOURCE / "examples" / name), *map(str, args),
                           "--eodkit", EODKIT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_regression_example(tmp_path, demo):
    out = script("regression.py", "--data", demo, "--out", tmp_path / "elevation")
    assert re.search(r"^RMSE +[0-9.]+ \([0-9.]+-[0-9.]+\)$", out, re.M)
    assert "residuals (prediction - target) of all chips" in out
    pred = np.load(tmp_path / "elevation-pred.npy")
    assert pred.dtype == np.float32 and pred.shape[1:] == (32, 32)
    mosaic = gdal.Open(str(tmp_path / "elevation-pred.tif"))
    assert mosaic.GetRasterBand(1).GetDescription() == "target"


def test_change_detection_example(tmp_path, shared):
    out = script("change_detection.py", "--shared", shared, "--out", tmp_path / "change")
    f1 = float(re.search(r"^change F1 +([0-9.]+) ", out, re.M).group(1))
    assert 0.5 < f1 < 1  # soft cloud edges: a threshold finds most, not all
    assert "pairs (2, 1, 12, 12)" in out


def test_fusion_example(tmp_path, demo):
    out = script("fusion.py", "--data", demo, "--out", tmp_path / "fusion", "--epochs", 3)
    rows = re.findall(r"^(optical(?: \+ dem)?) +([0-9.]+) \(", out, re.M)
    assert [name for name, _ in rows] == ["optical", "optical + dem"]
    assert (tmp_path / "fusion-pred-optical-dem.npy").exists()
