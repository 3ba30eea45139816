"""Benchmark 1, build: `eodkit build` versus the chip-by-chip rasterio script
users write today (baseline_build.py), same scene, same recipe, in four
cases: an aligned single modality and an optical + reprojected DEM pair,
each with 64 px and 256 px chips. Both outputs are compared array by array
(every chip, every modality and the labels) before any time is reported.
Targets: eodkit -j 1 at least 3x faster than the script (one process), and
-j 2 at least 1.8x faster than -j 1."""
import json
from pathlib import Path

import numpy as np

import inputs
from common import (BENCH, PYTHON, Diff, build_cmd, describe, eodkit, log, medians, remove,
                    scene_recipe, show, stage_profile, timed_row, tree_digest)

CASES = [  # (name, chip size, with the DEM)
    ("aligned", 64, False),
    ("aligned", 256, False),
    ("reprojected", 64, True),
    ("reprojected", 256, True),
]


def compare(dataset, baseline_out, names):
    """Compare every chip eodkit wrote with the baseline's file for the same
    grid position; return a one-line verdict."""
    files = {p.name: p for p in Path(baseline_out).rglob("*.npy")}
    ds = eodkit.open(dataset)
    diffs = {n: Diff() for n in names}
    for split in map(ds.split, ds.splits):
        grid = zip(split.column("grid_x"), split.column("grid_y"))
        for i, (x, y) in enumerate(grid):
            ours = split.chip(i)  # views into shards mapped once per split
            for n in names:
                diffs[n].add(ours[n], np.load(files[f"x{x}_y{y}_{n}.npy"]))
    chips = len(ds.column("split"))
    verdict = "; ".join(f"{n}: {d.text()}" for n, d in diffs.items())
    if len(files) != chips * len(names):
        verdict += f"; CHIP SETS DIFFER: baseline {len(files) // len(names)}, eodkit {chips}"
    return verdict


def run(cfg):
    size = cfg.sizes["build_px"]
    work = cfg.work
    scene = inputs.scene(work, size)
    labels = inputs.labels(work, size)
    dem = inputs.dem(work, size)
    rows, notes, profiles = [], [], []
    for name, chip, with_dem in CASES:
        case = f"{name}, {chip} px chips"
        log(f"build: {case}")
        recipe = scene_recipe(work, f"build-{name}-{chip}", scene, chip,
                              dem=dem if with_dem else None, labels=labels)
        out1, out2 = work / f"out-build-{name}-{chip}-j1", work / f"out-build-{name}-{chip}-j2"
        base_out = work / f"baseline-build-{name}-{chip}"
        cmd1, cmd2 = build_cmd(cfg, recipe, out1, 1), build_cmd(cfg, recipe, out2, 2)
        base_cmd = [PYTHON, BENCH / "baseline_build.py", "--optical", scene, "--labels", labels,
                    "--chip", chip, "--out", base_out] + (["--dem", dem] if with_dem else [])
        best = medians(cfg, {1: (cmd1, out1), 2: (cmd2, out2), "script": (base_cmd, base_out)})
        one, two, base = best[1], best[2], best["script"]
        summary = json.loads(one.stdout)
        same_j = ("every file byte-identical to -j 1" if tree_digest(out1) == tree_digest(out2)
                  else "FILES DIFFER from -j 1")
        same = compare(out1, base_out, ["optical"] + (["dem"] if with_dem else []) + ["label"])
        for folder in (out1, out2, base_out):
            remove(folder)
        what = "; ".join([describe(scene)] + ([describe(dem)] if with_dem else [])
                         + [describe(labels), f"{summary['chips']} of {summary['candidates']} "
                            "chips kept"])
        rows.append(timed_row("build", case, what, one.seconds, base.seconds,
                              "rasterio script, 1 process", ">= 3x", 3, same,
                              f"`{show(cmd1, work)}` vs `{show(base_cmd, work)}`"))
        rows.append(timed_row("build -j 2", case, what, two.seconds, one.seconds, "eodkit -j 1",
                              ">= 1.8x", 1.8, same_j, f"`{show(cmd2, work)}`"))
        _, _, profile = stage_profile(cmd1, work)
        remove(out1)
        profiles.append(f"{case}: {profile}")
    notes.append(
        "Build: the baseline is `bench/baseline_build.py`, a script of the kind users write: "
        "per chip a rasterio window read (the DEM through a `WarpedVRT` onto the scene grid), "
        "nodata filter, a shapely STRtree query and `rasterio.features.rasterize` of the hits in "
        "feature order, min-labelled filter, random split, `np.save` per array. For the same "
        "pixels its WarpedVRT uses eodkit's warp settings: bilinear, exact transforms "
        "(`tolerance=1e-12`: rasterio 1.3 cannot create a WarpedVRT with tolerance 0) and "
        "`XSCALE`/`YSCALE` pinned to the ratio eodkit records in provenance.json. eodkit's time "
        "includes everything its build does beyond the script: training statistics, region "
        "tagging, index.gpkg, STAC, provenance (with input checksums) and the audit.")
    notes.append("Build, where eodkit -j 1 spends its CPU time (perf samples by stage, "
                 "common.STAGES) and the -j 2 speed-up that allows: " + "; ".join(profiles) + ".")
    notes.append(
        "Build, why targets can be missed. 3x: in the reprojected cases both tools spend most "
        "of their time in GDAL's warper computing an exact PROJ transform per pixel ('PROJ "
        "transforms' above), so with 256 px chips, where the script's per-chip Python overhead "
        "is small, the ratio shrinks towards the shared warp cost. eodkit already renders the "
        "labels and reads the aligned modalities first and does not warp a work unit none of "
        "whose chips can pass the filters; what is left is the warp itself, which "
        "`error_threshold: 0.125` would shorten (GDAL's approximate transformer: about 1.6x on "
        "warp-heavy builds, not bit-identical to `gdalwarp -et 0`). 1.8x with -j 2: the bound "
        "above is Amdahl's law on the profile. The pool work runs in parallel, and from 2 "
        "threads so do the input checksums (hashed on a thread beside the workers); the rest "
        "runs on one thread: the process start (loading GDAL and its drivers, about 0.05 s), "
        "setup (loading and transforming the label polygons, region tagging), the committer "
        "(shards, the chip journal, a checkpoint at most once a second), index.gpkg, the second "
        "pass over float data for exact percentiles, and the audit. On a build of about a "
        "second, 1.8x needs under 11% serial work, about 0.1 s: it would take labels read per "
        "work unit through the GeoPackage's spatial index instead of loaded whole before the "
        "first unit, and the statistics' second pass and the audit on the pool. The two cores "
        "are also shared with other engineers' jobs (load average above), which takes from "
        "-j 2 first.")
    return rows, notes
