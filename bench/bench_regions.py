"""Benchmark 5, region tagging: how many chips per second eodkit tags with
their country and continent (the built-in world layer, examples/data/
world_map.gpkg: Natural Earth 1:10m countries) versus geopandas doing the
same with the same chip footprints and layer.

eodkit tags during the build, so its tagging cost is isolated two ways on a
grid of many small chips (4 px over Africa, Europe and the Middle East, so
most of the build is per-chip work): (1) a perf profile of a -j 1 build,
counting the samples whose stack holds a region function (loading the
layer, tagging every candidate by the shares of its footprint); (2) the
time of the same build with the world layer minus with a layer of one tiny
polygon in the Pacific (tagging then finds nothing, almost for free). The
geopandas baseline does what eodkit does with the footprints index.gpkg
records: the overlay (intersection) of chips and countries, the area of
each piece, and per chip the country with the largest area (the first in
layer order on a tie), `none` where no country meets it."""

import json
import warnings

import geopandas as gpd
import numpy as np

import inputs
from common import (SOURCE, STAGES, Row, build_cmd, describe, log, median_time, medians,
                    perf_share, remove, secs, show, write_recipe)

WORLD = SOURCE / "examples/data/world_map.gpkg"
ISO = "/usr/share/iso-codes/json/iso_3166-1.json"


def layer_codes(world):
    """Each country's code as eodkit reads it: ISO_A3, else the iso_a2 code
    converted (Kosovo: XKX), else None."""
    alpha3 = {e["alpha_2"]: e["alpha_3"] for e in json.load(open(ISO))["3166-1"]}
    alpha3["XK"] = "XKX"
    codes = []
    for a3, a2 in zip(world.ISO_A3, world.iso_a2):
        if isinstance(a3, str) and a3 and not a3.startswith("-"):
            codes.append(a3)
        elif isinstance(a2, str) and a2 and not a2.startswith("-"):
            codes.append(alpha3.get(a2, a2))
        else:
            codes.append(None)
    return codes


def geopandas_tags(footprints):
    """Country code per chip footprint ("none" where no country meets it,
    None on land without a code), with geopandas."""
    # shares of lon/lat areas are meant, as eodkit's: silence geopandas
    warnings.filterwarnings("ignore", "Geometry is in a geographic CRS")
    world = gpd.read_file(WORLD, layer="countries")
    world["code"] = layer_codes(world)
    world["order"] = np.arange(len(world))
    chips = gpd.GeoDataFrame({"chip": np.arange(len(footprints))}, geometry=footprints,
                             crs=world.crs)
    pieces = gpd.overlay(chips, world[["code", "order", "geometry"]], how="intersection",
                         keep_geom_type=True)
    pieces["area"] = pieces.geometry.area
    pieces = pieces.sort_values(["chip", "area", "order"], ascending=[True, False, True],
                                kind="stable").drop_duplicates("chip")
    tags = np.full(len(footprints), "none", dtype=object)
    tags[pieces.chip.to_numpy()] = pieces.code.to_numpy()
    return list(tags)


def run(cfg):
    work = cfg.work
    grid = inputs.world_grid(work, cfg.sizes["region_res"])
    recipe = write_recipe(work / "regions.yaml", f"""dataset: {{name: regions}}
grid: {{crs: {{like: image}}, chip_size: 4}}
modalities:
  - {{name: image, files: [{grid}]}}
split: {{method: random, ratios: {{train: 0.8, val: 0.1, test: 0.1}}, seed: 1}}
""")
    out, out_null = work / "out-regions", work / "out-regions-null"
    null = inputs.null_regions(work)
    log("regions")
    cmd = build_cmd(cfg, recipe, out, 1, "--regions", WORLD)
    cmd_null = build_cmd(cfg, recipe, out_null, 1, "--regions", null)
    best = medians(cfg, {"world": (cmd, out), "null": (cmd_null, out_null)})
    with_world, without = best["world"], best["null"]
    index = gpd.read_file(out / "index.gpkg", layer="chips")
    footprints = index.geometry
    # NULL: land without a code (disputed areas), as the baseline's None
    ours = [c if isinstance(c, str) else None for c in index.country]
    remove(out)
    remove(out_null)
    shares, cpu = perf_share(cmd, {"regions": STAGES["regions: tag"]}, work)
    remove(out)

    geo_s, theirs = median_time(cfg, lambda: geopandas_tags(footprints))
    differ = sum(a != b for a, b in zip(ours, theirs))
    n = len(ours)
    tagged = sum(x != "none" for x in ours)  # land, with or without a code
    same = (f"country of {n - differ} of {n} chips equal" +
            (f"; {differ} differ" if differ else "") + f" ({tagged} on land)")
    eodkit_s = shares["regions"]
    diff_s = with_world.seconds - without.seconds
    what = (f"{describe(grid)}: {n} chips of 4 px, footprints tagged with {WORLD.name} "
            f"({WORLD.stat().st_size / 2**20:.1f} MB, Natural Earth 1:10m, 240 countries)")
    row = Row("regions", "country + continent per chip", what,
              f"{n / eodkit_s:,.0f} chips/s ({secs(eodkit_s)}, perf share)",
              f"{n / geo_s:,.0f} chips/s ({secs(geo_s)}, geopandas overlay + largest area)",
              f"{geo_s / eodkit_s:.2f}x", "n/a", None, same,
              f"`{show(cmd, work)}` under `perf record`")
    note = (f"Regions: method above (bench_regions.py). By perf, tagging took {eodkit_s:.2f} s of "
            f"a {cpu:.2f} s CPU build; by difference of builds with the world layer "
            f"({with_world.seconds:.2f} s) and with a one-polygon layer "
            f"({without.seconds:.2f} s, `{show(cmd_null, work)}`) it took {diff_s:.2f} s "
            f"({n / diff_s if diff_s > 0 else float('inf'):,.0f} chips/s); the difference is "
            "within the noise of this shared machine when it is small. geopandas needs "
            "python3-rtree for its spatial index (Debian package). Both tag the footprints "
            "index.gpkg records (eodkit's outline through 8 points per edge); chips inside one "
            "country cost eodkit one prepared 'contains', only border and coast chips have "
            "their overlaps measured.")
    return [row], [note]
