#!/usr/bin/python3
"""Remote builds against local ones, and what --remote-workers buys: the
São Tomé part of the ESA WorldCover tile (../shared/data) as a COG of 128 px
tiles, served by nginx on 127.0.0.1 behind the fault proxy of
tests/httpfixtures.py, which can add LATENCY seconds to every answer.
Prints seconds, requests, bytes served and whether the dataset's arrays,
index and statistics equal the local build's. Not part of bench/run.

    bench/remote_workers.py [--eodkit build/eodkit] [--latency 0.05]
"""
import argparse
import filecmp
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from httpfixtures import FaultProxy, Nginx  # noqa: E402

WORLDCOVER = (ROOT.parent / "shared/data/landcover/esa-worldcover/"
              "ESA_WorldCover_10m_2021_v200_N00E006_Map.tif")
RECIPE = """dataset: {{name: wc}}
grid: {{crs: {{like: worldcover}}, chip_size: 64}}
modalities: [{{name: worldcover, files: ["{files}"]}}]
filters: {{max_nodata: 0.99}}
split: {{method: random, ratios: {{train: 1.0}}}}
"""
COMPARED = ("index.gpkg", "stats.json", "train/worldcover-00000.npy")


def build(eodkit, work, name, files, *args):
    (work / f"{name}.yaml").write_text(RECIPE.format(files=files))
    start = time.monotonic()
    proc = subprocess.run([eodkit, "build", str(work / f"{name}.yaml"), "-o",
                           str(work / name), "--overwrite", *args],
                          capture_output=True, text=True, check=True)
    return time.monotonic() - start, json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eodkit", default=str(ROOT / "build/eodkit"))
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "www").mkdir()
        subprocess.run(["gdal_translate", "-q", "-of", "COG", "-co", "BLOCKSIZE=128",
                        "-co", "OVERVIEWS=NONE", "-projwin", "6.45", "0.42", "6.78", "0.0",
                        str(WORLDCOVER), str(work / "www/wc.tif")], check=True)
        seconds, _ = build(args.eodkit, work, "local", work / "www/wc.tif", "-j", "2")
        print(f"local, -j 2: {seconds:.2f} s")
        with Nginx(work / "www", work / "nginx") as web, FaultProxy(web.port) as proxy:
            if args.latency > 0:
                proxy.inject(f"slow:{args.latency}", 10 ** 9)
            for extra in (["-j", "1"], ["-j", "2"], ["-j", "2", "--remote-workers", "8"]):
                asked = len(proxy.log)
                web.clear_log()
                seconds, summary = build(args.eodkit, work, "remote", proxy.url("wc.tif"),
                                         *extra)
                served = sum(r["bytes"] for r in web.requests()) / 1e6
                same = all(filecmp.cmp(work / "local" / f, work / "remote" / f,
                                       shallow=False) for f in COMPARED)
                print(f"remote, {' '.join(extra)}: {seconds:.2f} s, {summary['chips']} chips, "
                      f"{len(proxy.log) - asked} requests, {served:.1f} MB, "
                      f"same as local: {same}")


if __name__ == "__main__":
    main()
