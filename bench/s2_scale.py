#!/usr/bin/python3
"""The figures doc/scaling.md scales to a Major TOM-sized Sentinel-2 build
("Planetary scale"): chips of 256 x 256 px at 10 m, 4 and 12 bands of
uint16, read from tiled DEFLATE GeoTIFFs as Sentinel-2 COGs are stored,
built with -j 1 and -j 2, in two parts and merged. The scene is made from
real Sentinel-2 L2A 10 m bands (the BigEarthNet patches of ../shared/data:
B02, B03, B04, B08 of one patch for 4 bands, of three patches for 12)
mirror-tiled to SIZE x SIZE px. Also the chips/s of a build reading the real Sentinel-2
L1C JPEG2000 tile (B01.jp2) directly, as from a SAFE product. Prints one
line per measurement: wall-clock and CPU seconds (medians of REPEAT runs),
chips and MB of chips written per CPU second (and what a part already
built costs when it is run again); every dataset is checked
byte-identical to the -j 1 one. Not part of bench/run.

    bench/s2_scale.py [--eodkit build/eodkit] [--size 4096] [--repeat 3]
"""
import argparse
import filecmp
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from common import SHARED
from inputs import reflect

PATCHES = sorted((SHARED / "samples/bigearthnet/s2").glob("S2A_*"))[:3]
BANDS_10M = ("B02", "B03", "B04", "B08")
JP2 = SHARED / "optical/stars/B01.jp2"
RECIPE = """dataset: {{name: s2-{bands}}}
grid: {{crs: {{like: s2}}, chip_size: 256}}
modalities: [{{name: s2, files: ["{scene}"], bands: {band_list}}}]
filters: {{max_nodata: 1.0}}
split: {{method: random, ratios: {{train: 0.8, val: 0.1, test: 0.1}}, seed: 1}}
"""


def scene(path, size, nbands):
    """SIZE x SIZE px, NBANDS (4 or 12) bands of uint16 at 10 m
    (EPSG:32629), tiled 512, DEFLATE with the horizontal predictor."""
    bands = []
    for patch in PATCHES:
        for name in BANDS_10M:
            with rasterio.open(next(patch.glob(f"*_{name}.tif"))) as src:
                bands.append(src.read(1))
    src = np.stack(bands[:nbands])
    profile = dict(driver="GTiff", width=size, height=size, count=len(src),
                   dtype="uint16", crs="EPSG:32629",
                   transform=from_origin(500000, 5900000, 10, 10), tiled=True,
                   blockxsize=512, blockysize=512, compress="deflate", predictor=2,
                   BIGTIFF="IF_SAFER")
    cols = np.arange(size)
    with rasterio.open(path, "w", **profile) as dst:
        for y0 in range(0, size, 512):
            rows = np.arange(y0, min(y0 + 512, size))
            data = src[:, reflect(rows, src.shape[1])[:, None],
                       reflect(cols, src.shape[2])[None, :]]
            dst.write(data, window=Window(0, y0, size, len(rows)))


def timed(repeat, argv):
    """Median seconds of REPEAT runs of ARGV: (wall clock, CPU). On a shared
    machine the CPU seconds (user + system) are the steadier measure of
    what a run costs a core."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True)
        walls.append(time.monotonic() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def chip_bytes(dataset):
    return sum(p.stat().st_size for p in Path(dataset).glob("*/*.npy"))


def same(a, b):
    files = sorted(p.relative_to(a) for p in Path(a).rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in Path(b).rglob("*") if p.is_file())
    return all(filecmp.cmp(Path(a) / f, Path(b) / f, shallow=False) for f in files)


def report(what, seconds, chips, nbytes, checked=""):
    """One line: wall and CPU seconds (SECONDS), and the chips and MB of
    chips per CPU second."""
    wall, cpu = seconds[0], max(seconds[1], 1e-6)
    print(f"{what:<36} {wall:7.2f} s wall {cpu:7.2f} s CPU {chips:5d} chips "
          f"{chips / cpu:7.1f} chips/CPU s {nbytes / 1e6:7.1f} MB "
          f"{nbytes / 1e6 / cpu:6.1f} MB/CPU s {checked}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eodkit", default=str(Path(__file__).resolve().parents[1] /
                                            "build/eodkit"))
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    eodkit, r = args.eodkit, args.repeat
    work = Path(tempfile.mkdtemp(prefix="s2-scale-"))
    try:
        for nbands in (4, 12):
            path = work / f"s2-{nbands}.tif"
            scene(path, args.size, nbands)
            print(f"scene: {args.size} x {args.size} px x {nbands} bands uint16, "
                  f"{path.stat().st_size / 1e6:.0f} MB DEFLATE", flush=True)
            recipe = work / f"s2-{nbands}.yaml"
            recipe.write_text(RECIPE.format(bands=nbands, scene=path,
                                            band_list=list(range(1, nbands + 1))))
            one, out = work / f"one-{nbands}", str(work / f"out-{nbands}")
            t = timed(r, [eodkit, "build", recipe, "-o", one, "-j", "1", "--overwrite"])
            chips = sum(int(np.load(p, mmap_mode="r").shape[0])
                        for p in one.glob("*/s2-*.npy"))
            nbytes = chip_bytes(one)
            report(f"{nbands} bands, -j 1", t, chips, nbytes)
            t = timed(r, [eodkit, "build", recipe, "-o", out, "-j", "2", "--overwrite"])
            report(f"{nbands} bands, -j 2", t, chips, nbytes,
                   "same bytes" if same(one, out) else "DIFFERENT")
            shutil.rmtree(out)
            parts = [timed(1, [eodkit, "build", recipe, "-o", out, "--part", f"{i}/2",
                               "-j", "1"]) for i in range(2)]
            again = timed(1, [eodkit, "build", recipe, "-o", out, "--part", "0/2"])
            t = timed(1, [eodkit, "merge", recipe, "-o", out, "-j", "1"])
            report(f"{nbands} bands, parts 0/2 + 1/2, -j 1",
                   tuple(map(sum, zip(*parts))), chips, nbytes)
            report(f"{nbands} bands, part 0/2 again (built)", again, 0, 0)
            report(f"{nbands} bands, merge of 2 parts, -j 1", t, chips, nbytes,
                   "same bytes" if same(one, out) else "DIFFERENT")
            shutil.rmtree(out)
            shutil.rmtree(one)
            path.unlink()
        recipe = work / "jp2.yaml"
        recipe.write_text(RECIPE.format(bands=1, scene=JP2, band_list=[1]))
        t = timed(r, [eodkit, "build", recipe, "-o", work / "jp2", "-j", "1", "--overwrite"])
        chips = sum(int(np.load(p, mmap_mode="r").shape[0])
                    for p in (work / "jp2").glob("*/s2-*.npy"))
        report("JPEG2000 B01 tile, 1 band, -j 1", t, chips, chip_bytes(work / "jp2"))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
