"""Benchmark 2, I/O floor: how close an aligned build from an uncompressed
scene comes to a plain sequential copy of the same bytes: `dd` of the input
to /dev/null plus `dd` writing as many bytes as the dataset eodkit wrote.
No labels here (nothing to copy for them): only the pixel path, with the
nodata filter. Target: eodkit within 1.5x of the copy. A perf profile of
the build by stage says where the time above the floor goes."""
import json

import inputs
from common import (Row, build_cmd, dataset_bytes, describe, log, medians, remove, run_command,
                    scene_recipe, secs, show, stage_profile)

CHIP = 256
# the stages a plain copy does not have, and what would take each off the floor
REMEDY = {
    "nodata check": "one test per pixel instead of two (the source's nodata value and the "
                    "output's, the same value here)",
    "statistics": "the per-value histogram counted as chips are cut instead of reading the "
                  "training shards back",
    "chip copy": "reading each work unit straight into chip order",
    "checkpoints": "fewer checkpoints (at most one a second now; each creates a file and "
                   "renames it over the last, which makes ext4 start a writeback)",
    "audit histograms": "the histograms of the statistics pass instead of reading the shards "
                        "again",
    "provenance (sha256)": "hashing is a full read of the inputs by itself; from -j 2 it runs "
                           "on a thread beside the workers, at -j 1 it cannot be hidden",
    "index.gpkg": "index rows written by the committer as chips come",
}


def run(cfg):
    size = cfg.sizes["floor_px"]
    work = cfg.work
    scene = inputs.scene(work, size, compress="none")
    recipe = scene_recipe(work, "floor", scene, CHIP)
    rows, notes = [], []
    log("floor")
    cmds = {j: build_cmd(cfg, recipe, work / f"out-floor-j{j}", j) for j in (1, 2)}
    run_command(cmds[1])  # untimed: warms the page cache and tells the bytes to write
    written = dataset_bytes(work / "out-floor-j1")
    copy = work / "floor-copy.bin"
    floor_cmd = ["sh", "-c", f"dd if={scene} of=/dev/null bs=1M status=none && "
                 f"dd if=/dev/zero of={copy} bs=1M count={-(-written // 2**20)} status=none"]
    best = medians(cfg, {1: (cmds[1], work / "out-floor-j1"), 2: (cmds[2], work / "out-floor-j2"),
                         "copy": (floor_cmd, copy)})
    chips = json.loads(best[1].stdout)["chips"]
    for path in (copy, work / "out-floor-j1", work / "out-floor-j2"):
        remove(path)
    what = (f"{describe(scene)}; {written / 2**20:.0f} MB written "
            f"({chips} chips of {CHIP} px)")
    floor = best["copy"]
    for j in (1, 2):
        ratio = best[j].seconds / floor.seconds
        rows.append(Row("floor", f"aligned, uncompressed, -j {j}", what, secs(best[j].seconds),
                        f"{secs(floor.seconds)} (dd in + dd out)", f"{ratio:.2f}x (eodkit / copy)",
                        "<= 1.5x", ratio <= 1.5, "n/a (same bytes)",
                        f"`{show(cmds[j], work)}` vs `{show(floor_cmd, work)}`"))
    shares, _, profile = stage_profile(cmds[1], work)
    remove(work / "out-floor-j1")
    above = sorted((k for k in REMEDY if shares.get(k, 0) >= 0.05), key=lambda k: -shares[k])
    notes.append(
        f"Floor: the copy reads the input from the page cache and writes the dataset's byte count "
        f"(all files) into the page cache, like eodkit (neither syncs); it has no start-up "
        f"cost, where eodkit, like any GDAL program, spends about 0.05 s loading GDAL and its "
        f"drivers. Where eodkit -j 1 spends "
        f"its time on this input (perf samples by stage): {profile}. The copy touches each byte "
        "once; what eodkit does besides, largest first, and what would remove it: "
        + ("; ".join(f"{k} ({shares[k]:.2f} s): {REMEDY[k]}" for k in above) or
           "none above 0.05 s at this size") + ".")
    return rows, notes
