#!/usr/bin/python3
"""Plan cost against the data, not the grid (issue 17): set-up time (until
the build starts writing work units: its journal appears), peak memory at
that point and for the whole build (VmHWM, read every 10 ms: a child's
rusage would count the pages of this Python process it was forked from),
for recipes whose chip lattices are far larger than their data. With
--base (repeatable), the same recipes with other eodkit binaries (e.g.
main's) for a before/after table. Not part of bench/run.

    bench/plan_scale.py [--eodkit build/eodkit] [--base [LABEL=]OTHER/eodkit]...

Cases: the BigEarthNet samples of ../shared/data (six Sentinel-2 and two
Sentinel-1 patches in UTM 29N, 33N and 35N) on `crs: utm` in 20 px chips at
strides 6, 12 and 120; a 10^6 x 10^6 px sparse GeoTIFF with three 4096 px
tiles written; the same raster with no tile written.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared/data"


def ben_recipe(work, stride):
    files = sorted((SHARED / "samples/bigearthnet/s2").glob("*/*_B02.tif")) + \
        sorted((SHARED / "samples/bigearthnet/s1").glob("*/*_VV.tif"))
    path = work / f"ben{stride}.yaml"
    path.write_text(f"""dataset: {{name: ben}}
grid: {{crs: utm, resolution: 10, chip_size: 20, stride: {stride}}}
modalities: [{{name: s, files: [{", ".join(f'"{f}"' for f in files)}], resampling: nearest}}]
split: {{method: random, ratios: {{train: 1.0}}, seed: 1}}
""")
    return path


def sparse_recipe(work, tiles):
    raster = work / f"sparse{len(tiles)}.tif"
    if not raster.exists():
        subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", "1000000", "1000000",
                        "-ot", "Byte", "-co", "SPARSE_OK=YES", "-co", "TILED=YES",
                        "-co", "BLOCKXSIZE=4096", "-co", "BLOCKYSIZE=4096", "-co", "BIGTIFF=YES",
                        "-co", "COMPRESS=DEFLATE", "-a_srs", "EPSG:31985", "-a_ullr", "-200000",
                        "10000000", "800000", "9000000", str(raster)], check=True)
        ds = gdal.Open(str(raster), gdal.GA_Update)
        rng = np.random.default_rng(7)
        for bx, by in tiles:
            ds.GetRasterBand(1).WriteArray(rng.integers(1, 255, (4096, 4096), dtype=np.uint8),
                                           bx * 4096, by * 4096)
        ds = None
    path = work / f"sparse{len(tiles)}.yaml"
    path.write_text(f"""dataset: {{name: sparse}}
grid: {{crs: {{like: big}}, chip_size: 64}}
modalities: [{{name: big, files: ["{raster}"], nodata: 0}}]
filters: {{max_nodata: 0.5}}
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""")
    return path


def vm_hwm(pid):
    """Peak resident set of process PID so far, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(eodkit, recipe, out):
    """(set-up seconds, set-up peak MiB, total seconds, total peak MiB, result)."""
    journal = Path(f"{out}.partial/.eodkit-journal")
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as so, tempfile.TemporaryFile("w+") as se:
        proc = subprocess.Popen([eodkit, "build", str(recipe), "-o", str(out), "--overwrite"],
                                stdout=so, stderr=se)
        setup = setup_rss = None
        peak = 0.0
        while True:
            try:
                peak = max(peak, vm_hwm(proc.pid))
            except OSError:
                pass
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if setup is None and journal.exists():
                setup, setup_rss = time.monotonic() - t0, peak
            time.sleep(0.01)
        total = time.monotonic() - t0
        so.seek(0)
        se.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            summary = json.loads(so.read())
            result = f"{summary['candidates']} candidates, {summary['chips']} chips"
        else:
            result = f"exit {code}: {se.read().strip()[:90]}"
    return setup, setup_rss, total, peak, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eodkit", default=str(ROOT / "build/eodkit"))
    ap.add_argument("--base", action="append", default=[], metavar="[LABEL=]PATH",
                    help="another eodkit binary to compare with (repeatable)")
    args = ap.parse_args()
    binaries = [("new", args.eodkit)] + [tuple(b.split("=", 1)) if "=" in b else ("base", b)
                                         for b in args.base]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [(f"BigEarthNet, crs: utm, stride {s}", ben_recipe(work, s)) for s in (6, 12, 120)]
        cases += [("10^6 px sparse GeoTIFF, 3 tiles", sparse_recipe(work, [(3, 5), (100, 200),
                                                                            (243, 243)])),
                  ("10^6 px sparse GeoTIFF, no tile", sparse_recipe(work, []))]
        print("| case | eodkit | set-up s | set-up peak MB | build s | build peak MB | result |")
        print("|---|---|---|---|---|---|---|")
        for name, recipe in cases:
            for label, binary in binaries:
                s, srss, t, rss, result = measure(binary, recipe, work / "out")
                fmt = (lambda v, f: f.format(v) if v is not None else "-")
                print(f"| {name} | {label} | {fmt(s, '{:.2f}')} | {fmt(srss, '{:.0f}')} | "
                      f"{t:.2f} | {rss:.0f} | {result} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
