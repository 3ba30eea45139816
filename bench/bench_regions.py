"""Benchmark 5, region tagging: how many chips per second eodkit tags with
their country and continent (the built-in world layer, examples/data/
world.gpkg) versus a geopandas spatial join of the same chip centres with
the same layer.

eodkit tags during the build, so its tagging cost is isolated two ways on a
grid of many small chips (4 px over Africa, Europe and the Middle East, so
most of the build is per-chip work): (1) a perf profile of a -j 1 build,
counting the samples whose stack holds a region function (loading the
layer, tagging every candidate's centre, the share of every written chip's
footprint inside its country); (2) the time of the same build with the
world layer minus with a layer of one tiny polygon in the Pacific (tagging
then finds nothing, almost for free). The geopandas join does what eodkit
does with the centres: point in polygon (first polygon in layer order),
then for points in no polygon the nearest one within 0.1 degree (coarse
coastlines). It does not compute footprint shares, which eodkit also does."""

import warnings

import geopandas as gpd
import pandas as pd

import inputs
from common import (SOURCE, STAGES, Row, build_cmd, describe, eodkit, log, median_time, medians,
                    perf_share, remove, secs, show, write_recipe)

WORLD = SOURCE / "examples/data/world.gpkg"
SNAP = 0.1  # degrees, as eodkit's COAST_SNAP_DEGREES


def geopandas_tags(lon, lat):
    """Country name per point (None over the sea), with geopandas."""
    # distances in degrees are meant (as eodkit's snap): silence geopandas
    warnings.filterwarnings("ignore", "Geometry is in a geographic CRS")
    world = gpd.read_file(WORLD)[["name_long", "geometry"]]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=world.crs)
    joined = gpd.sjoin(points, world, how="left", predicate="intersects")
    joined = joined.sort_values("index_right", kind="stable")  # first polygon wins
    joined = joined[~joined.index.duplicated()].sort_index()
    names = joined["name_long"].to_numpy(dtype=object)
    # points in no polygon: the nearest polygon whose box is within SNAP
    far = points[joined["name_long"].isna().to_numpy()]
    left, right = world.sindex.query_bulk(far.geometry.buffer(SNAP, cap_style=3))
    d = far.geometry.iloc[left].reset_index(drop=True).distance(
        world.geometry.iloc[right].reset_index(drop=True))
    near = pd.DataFrame({"point": far.index[left], "country": right, "d": d})
    near = near[near.d <= SNAP].sort_values(["d", "country"]).drop_duplicates("point")
    names[near.point.to_numpy()] = world.name_long.to_numpy()[near.country.to_numpy()]
    return [n if isinstance(n, str) else None for n in names]


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
    ds = eodkit.open(out)
    lon = ds.column("center_lon").tolist()
    lat = ds.column("center_lat").tolist()
    ours = ds.column("country_name").tolist()
    remove(out)
    remove(out_null)
    shares, cpu = perf_share(cmd, {"regions": STAGES["regions: tag"]}, work)
    remove(out)

    geo_s, theirs = median_time(cfg, lambda: geopandas_tags(lon, lat))
    differ = sum(a != b for a, b in zip(ours, theirs))
    n = len(ours)
    tagged = sum(x is not None for x in ours)
    same = (f"country of {n - differ} of {n} chips equal" +
            (f"; {differ} differ" if differ else "") + f" ({tagged} on land)")
    eodkit_s = shares["regions"]
    diff_s = with_world.seconds - without.seconds
    what = (f"{describe(grid)}: {n} chips of 4 px, centres tagged with {WORLD.name} "
            f"({WORLD.stat().st_size / 2**20:.1f} MB, 177 countries)")
    row = Row("regions", "country + continent per chip", what,
              f"{n / eodkit_s:,.0f} chips/s ({secs(eodkit_s)}, perf share)",
              f"{n / geo_s:,.0f} chips/s ({secs(geo_s)}, geopandas sjoin + nearest)",
              f"{geo_s / eodkit_s:.2f}x", "n/a", None, same,
              f"`{show(cmd, work)}` under `perf record`")
    note = (f"Regions: method above (bench_regions.py). By perf, tagging took {eodkit_s:.2f} s of "
            f"a {cpu:.2f} s CPU build; by difference of builds with the world layer "
            f"({with_world.seconds:.2f} s) and with a one-polygon layer "
            f"({without.seconds:.2f} s, `{show(cmd_null, work)}`) it took {diff_s:.2f} s "
            f"({n / diff_s if diff_s > 0 else float('inf'):,.0f} chips/s); the difference is "
            "within the noise of this shared machine when it is small. geopandas needs "
            "python3-rtree for its spatial index (Debian package). The grid's corner is off round "
            "degrees (inputs.py), so no centre lies exactly on a border meridian such as 25 E "
            "(Libya-Egypt), where the join's arithmetic and eodkit's could put it on either side; "
            "eodkit tags the very centre index.gpkg records (one function computes both).")
    return [row], [note]
