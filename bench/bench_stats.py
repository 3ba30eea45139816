"""Benchmark 4, statistics: eodkit's training statistics (stats.json: one
pass over the training shards at the end of the build, in groups of chips
on the worker pool, plus a second pass for exact float percentiles) versus
NumPy computing the same numbers over the same shards (count, valid count,
mean, std, min, max, percentiles 1/2/50/98/99 per band, nodata and NaN
excluded), for a uint8 modality and a float32 one (the reprojected DEM).

eodkit's statistics are a step inside the build, so their cost is measured
there: the CPU time of the perf samples whose stack holds one of its
statistics functions (STATS below). The build runs at -j 1, so CPU time is
wall time. No target: the point is the same numbers at a fraction of the
cost."""
import json

import numpy as np

import inputs
from common import (STAGES, Row, describe, eodkit_build, log, median_time, perf_share, remove,
                    scene_recipe, secs, show, split_arrays)

PERCENTILES = [1, 2, 50, 98, 99]
# the statistics pass: its groups of chips, its float second pass, and the
# moment/histogram/percentile functions they call
STATS = STAGES["statistics"]


def numpy_stats(dataset, split, name, nodata):
    """What stats.json holds for array NAME, with NumPy: one dict per band."""
    shards = split_arrays(dataset, split, name)
    bands = []
    for b in range(shards[0].shape[1]):
        flat = np.concatenate([s[:, b].ravel() for s in shards]).astype(np.float64)
        keep = ~np.isnan(flat)
        if nodata is not None:
            keep &= flat != nodata
        v = flat[keep]
        bands.append({"count": flat.size, "valid_count": v.size, "mean": v.mean(), "std": v.std(),
                      "min": v.min(), "max": v.max(),
                      "percentiles": dict(zip(map(str, PERCENTILES), np.percentile(v, PERCENTILES)))})
    return bands


def worst_relative_error(ours, theirs):
    worst = 0.0
    for a, b in zip(ours, theirs):
        pairs = [(a[k], b[k]) for k in ("count", "valid_count", "mean", "std", "min", "max")]
        pairs += [(a["percentiles"][p], b["percentiles"][p]) for p in b["percentiles"]]
        for x, y in pairs:
            worst = max(worst, abs(x - y) / max(abs(y), 1e-12))
    return worst


def run(cfg):
    size = cfg.sizes["build_px"]
    work = cfg.work
    scene, dem, labels = inputs.scene(work, size), inputs.dem(work, size), inputs.labels(work, size)
    recipe = scene_recipe(work, "stats", scene, 64, dem=dem, labels=labels)
    out = work / "out-stats"
    log("stats")
    best, summary, cmd = eodkit_build(cfg, recipe, out, 1)
    stats = json.loads((out / "stats.json").read_text())
    split = stats["split"]

    def with_numpy():
        return {name: numpy_stats(out, split, name, mod["nodata"])
                for name, mod in stats["modalities"].items()}

    numpy_s, theirs = median_time(cfg, with_numpy)
    errors = {name: worst_relative_error(mod["bands"], theirs[name])
              for name, mod in stats["modalities"].items()}
    same = "; ".join(f"{n}: worst relative error {e:.1e}" for n, e in errors.items())
    remove(out)
    shares, cpu = perf_share(cmd, {"statistics": STATS}, work)
    remove(out)
    ours = shares["statistics"]
    pixels = sum(b["count"] for mod in stats["modalities"].values() for b in mod["bands"])
    what = (f"training shards of {describe(scene)} + {describe(dem)}: {stats['chips']} chips of "
            f"64 px, {pixels / 1e6:.0f} M band values (uint8 + float32)")
    row = Row("stats", "stats.json vs NumPy", what,
              f"{secs(ours)} (perf share of a {secs(cpu)} -j 1 build)",
              f"{secs(numpy_s)} (NumPy over the shards)", f"{numpy_s / ours:.2f}x", "same numbers",
              max(errors.values()) < 1e-6, same, f"`{show(cmd, work)}` under `perf record`")
    note = ("Stats: NumPy loads the training shards (page cache) and computes per band what "
            "stats.json holds, as tests/integration/test_stats.py does; eodkit's time is the CPU "
            "time of the perf samples whose stack holds one of " +
            ", ".join(sorted(STATS)) +
            f" during a -j 1 build ({best.seconds:.2f} s wall unprofiled), which includes "
            "reading the shards back (page cache), as NumPy's time does.")
    return [row], [note]
