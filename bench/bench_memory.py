"""Benchmark 6, memory: peak RSS of `eodkit build -j 2` (its maximum
resident set size as GNU time reports it, /usr/bin/time -f %M in
common.run_command) on 4-band DEFLATE scenes of two sizes (full run:
10000x10000 and 20000x20000 px). Targets: under 512 MB on the largest, and
no growth with the scene size (the larger scene may use at most 10% more;
what grows at all is the per-chip plan and index, a few bytes per chip).
Imagery only: labels are held in memory as polygons, so their memory grows
with the label file, not with the scene."""

import inputs
from common import Row, describe, eodkit_build, log, remove, scene_recipe, show

LIMIT_MB = 512
CHIP = 256


def run(cfg):
    work = cfg.work
    sizes = cfg.sizes["memory_px"]
    peaks, rows = {}, []
    for size in sizes:
        scene = inputs.scene(work, size)
        recipe = scene_recipe(work, f"memory-{size}", scene, CHIP, max_nodata=1)
        out = work / f"out-memory-{size}"
        log(f"memory: {size} px")
        best, summary, cmd = eodkit_build(cfg, recipe, out, 2)
        remove(out)
        peaks[size] = best.max_rss_mb
        rows.append(Row("memory", f"{size}x{size} px scene, -j 2",
                        f"{describe(scene)}; {summary['chips']} chips of {CHIP} px",
                        f"{best.max_rss_mb:.0f} MB peak RSS ({best.seconds:.1f} s)", "none", "n/a",
                        f"< {LIMIT_MB} MB", best.max_rss_mb < LIMIT_MB, "n/a",
                        f"`{show(cmd, work)}`"))
    small, large = peaks[sizes[0]], peaks[sizes[-1]]
    growth = large / small - 1
    rows.append(Row("memory", f"growth {sizes[0]} -> {sizes[-1]} px", f"{(sizes[-1] / sizes[0]) ** 2:.0f}x "
                    "the pixels", f"{small:.0f} -> {large:.0f} MB", "none", f"{growth:+.1%}",
                    "<= +10%", growth <= 0.10, "n/a", "as above"))
    return rows, []
