"""Plan cost follows the data, not the grid: candidate chips come from the
inputs' footprints (and the parts of sparse files GDAL reports data in),
never from the chip lattice. The chips are those of the documented lattice
rule (doc/recipe.md, grid), recomputed here in Python; peak memory is
measured (the build's own maximum resident set, from wait4)."""
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import rasterio
from osgeo import gdal
from pyproj import Transformer

from conftest import EODKIT, Dataset, sanitized

BEN = "samples/bigearthnet"
MB = 1024  # ru_maxrss is in KiB on Linux


# Runs a command and writes its peak resident set (KiB) to a file: measured
# from a small process, as a child forked from pytest itself would count
# pytest's pages until it execs.
MEASURE = ("import resource, subprocess, sys\n"
           "rc = subprocess.call(sys.argv[2:])\n"
           "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
           "sys.exit(rc)\n")


def run_measured(args, timeout=300):
    """Run eodkit ARGS; return ((exit code, stdout, stderr), its peak
    resident set in MiB, seconds)."""
    with tempfile.NamedTemporaryFile() as rss:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", MEASURE, rss.name, EODKIT,
                               *map(str, args)], capture_output=True, text=True,
                              timeout=timeout)
        seconds = time.monotonic() - t0
        peak = int(open(rss.name).read()) / MB
    return (proc.returncode, proc.stdout, proc.stderr), peak, seconds


def zone_of(lon, lat):
    return (32600 if lat >= 0 else 32700) + min(max(math.floor((lon + 180) / 6), 0), 59) + 1


def lattice_chips(files, res, chip, stride):
    """The chips of `crs: utm` over FILES by the documented rule: per UTM
    zone, chip corners on multiples of stride x resolution of the zone's
    CRS; a chip is kept when its window overlaps a file and its centre lies
    in the zone. {(crs, left, top)}."""
    step, side = stride * res, chip * res
    want = set()
    for path in files:
        with rasterio.open(path) as ds:
            epsg, (x0, y0, x1, y1) = ds.crs.to_epsg(), ds.bounds
        assert 32601 <= epsg <= 32760  # each patch is in its own UTM zone
        to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
        for i in range(math.floor((x0 - side) / step), math.ceil(x1 / step) + 1):
            for j in range(math.floor(y0 / step), math.ceil((y1 + side) / step) + 1):
                left, top = i * step, j * step
                if not (left < x1 and left + side > x0 and top - side < y1 and top > y0):
                    continue
                lon, lat = to_ll.transform(left + side / 2, top - side / 2)
                if zone_of(lon, lat) == epsg:
                    want.add((f"EPSG:{epsg}", float(left), float(top)))
    return want


def test_bigearthnet_over_three_zones_at_stride_6(tmp_path, shared):
    """Six Sentinel-2 and two Sentinel-1 BigEarthNet patches in UTM 29N (Ireland
    to Portugal), 33N and 35N, 20 px chips every 6 px: the lattice of zone
    29N alone holds 2368 x 25645 chip positions (refused before, and 1.5 GB
    before that limit); the candidates are the 4,163 chips over the patches,
    and the build stays under 300 MB."""
    files = sorted((shared / BEN / "s2").glob("*/*_B02.tif")) + \
        sorted((shared / BEN / "s1").glob("*/*_VV.tif"))
    listed = ", ".join(f'"{f}"' for f in files)
    recipe = tmp_path / "ben.yaml"
    recipe.write_text(f"""dataset: {{name: ben-utm}}
grid: {{crs: utm, resolution: 10, chip_size: 20, stride: 6}}
modalities: [{{name: s, files: [{listed}], resampling: nearest}}]
split: {{method: random, ratios: {{train: 1.0}}, seed: 1}}
""")
    out = tmp_path / "out"
    (code, stdout, stderr), rss, _ = run_measured(["build", recipe, "-o", out])
    assert code == 0, stderr
    summary = json.loads(stdout)
    rows = Dataset(out).chips()
    got = {(r["crs"], *json.loads(r["geotransform"])[0:4:3]) for r in rows}
    want = lattice_chips(files, 10, 20, 6)
    assert summary["grids"] == 3 and summary["candidates"] == len(want) == 4163
    assert got == want
    assert len(rows) == len(got)
    assert rss < 300 or sanitized(), f"peak RSS {rss:.0f} MB"


def sparse_tiff(path, side=1_000_000, block=4096, tiles=()):
    """A SIDE x SIDE px Byte GeoTIFF of 1 m pixels (UTM 25S), DEFLATE, in
    BLOCK px tiles of which only TILES ((column, row) of blocks) are written,
    with random values 1-254: {tile: array}."""
    subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", str(side), str(side),
                    "-ot", "Byte", "-co", "SPARSE_OK=YES", "-co", "TILED=YES",
                    "-co", f"BLOCKXSIZE={block}", "-co", f"BLOCKYSIZE={block}",
                    "-co", "BIGTIFF=YES", "-co", "COMPRESS=DEFLATE",
                    "-a_srs", "EPSG:31985", "-a_ullr", "-200000", "10000000",
                    str(side - 200000), str(10000000 - side), str(path)], check=True)
    rng = np.random.default_rng(7)
    written = {}
    ds = gdal.Open(str(path), gdal.GA_Update)
    for bx, by in tiles:
        a = rng.integers(1, 255, (block, block), dtype=np.uint8)
        ds.GetRasterBand(1).WriteArray(a, bx * block, by * block)
        written[(bx, by)] = a
    ds = None
    return written


def test_sparse_million_pixel_grid_with_three_tiles_builds_in_seconds(tmp_path):
    """A 10^6 x 10^6 px raster (244 million chip positions of 64 px) with
    three 4096 px tiles written: only the chips over them are planned and
    read; the kept chips are exactly the tiles' 3 x 4096 chips, pixel for
    pixel, within a bounded time and memory."""
    tiles = [(3, 5), (100, 200), (243, 243)]
    written = sparse_tiff(tmp_path / "huge.tif", tiles=tiles)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""dataset: {{name: sparse}}
grid: {{crs: {{like: big}}, chip_size: 64}}
modalities:
  - {{name: big, files: ["{tmp_path / 'huge.tif'}"], nodata: 0}}
filters: {{max_nodata: 0.5}}
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""")
    out = tmp_path / "out"
    (code, stdout, stderr), rss, seconds = run_measured(["build", recipe, "-o", out])
    assert code == 0, stderr
    summary = json.loads(stdout)
    # the written tiles' chips, and a ring of chips within the margin kept
    # around parts with data (4 px), all nodata and rejected
    assert summary["chips"] == 3 * 64 * 64
    assert summary["candidates"] == 3 * 66 * 66
    assert summary["rejected"]["nodata"] == 3 * (66 * 66 - 64 * 64)
    ds = Dataset(out)
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        tile = written[(x // 4096, y // 4096)]
        want = tile[y % 4096:y % 4096 + 64, x % 4096:x % 4096 + 64]
        assert np.array_equal(ds.chip(row, "big")[0], want)
    assert (seconds < 120 and rss < 300) or sanitized(), (seconds, rss)


def test_sparse_raster_without_data_plans_nothing_at_once(tmp_path):
    """The same raster with no tile written: no candidate chip, a clear
    error within seconds (it used to allocate 2.1 GB for region tagging)."""
    sparse_tiff(tmp_path / "huge.tif")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""dataset: {{name: empty}}
grid: {{crs: {{like: big}}, chip_size: 64}}
modalities:
  - {{name: big, files: ["{tmp_path / 'huge.tif'}"], nodata: 0}}
""")
    (code, _, stderr), rss, seconds = run_measured(["build", recipe, "-o", tmp_path / "out"])
    assert code == 2, stderr
    assert "no chip lies on data of every required modality" in stderr
    assert (seconds < 30 and rss < 200) or sanitized(), (seconds, rss)
    assert not (tmp_path / "out").exists()


def test_utm_zone_without_candidates_is_dropped_with_its_crs(tmp_path, shared):
    """The Rome DEM (WGS 84 + EGM96 height) moved so that one pixel column
    lies west of 12 E, in UTM 32N: that zone is framed on the sliver,
    but the only chip over it has its centre in 33N, so 32N holds no
    candidate and is dropped. The dataset's single grid is 33N, and so is
    the CRS its DEM assets give with their vertical CRS (it was 32N's)."""
    from osgeo import osr
    from pyproj import Transformer
    dem = tmp_path / "dem.tif"
    west, top = 12 - 1 / 3600, 42.45  # one pixel of 1" west of zone 33
    subprocess.run(["gdal_translate", "-q", "-a_ullr", str(west), str(top), str(west + 0.1),
                    str(top - 0.1), str(shared / "dem/sarsen/Rome-30m-DEM.tif"), str(dem)],
                   check=True)
    side = 256 * 30
    to32 = Transformer.from_crs(4326, 32632, always_xy=True)
    for lat in (top, top - 0.1):  # 12 E lies in the left half of a 32N chip column
        x, _ = to32.transform(12, lat)
        assert 100 < x % side < side / 2 - 100
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""dataset: {{name: sliver}}
grid: {{crs: utm, resolution: 30, chip_size: 256}}
modalities: [{{name: dem, kind: dem, files: ["{dem}"], resampling: bilinear}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""")
    out = tmp_path / "out"
    proc = subprocess.run([EODKIT, "build", recipe, "-o", out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["grids"] == 1
    ds = Dataset(out)
    assert {r["crs"] for r in ds.chips()} == {"EPSG:32633"}
    assets = [a for k, a in ds.collection["assets"].items() if k.endswith(".npy")]
    crs = osr.SpatialReference(wkt=assets[0]["proj:wkt2"])
    assert crs.IsCompound() and crs.GetAuthorityCode("VERT_CS") == "5773"
    assert crs.GetAttrValue("PROJCS") == "WGS 84 / UTM zone 33N"


def test_tiles_on_four_continents_are_placed_on_their_zones_only(tmp_path, shared):
    """A BigEarthNet patch (UTM 29N, Portugal) and copies of it moved to
    Texas (14N), Chad (33N) and Sumatra (48S): each file is placed on the
    grid of its own zone only. It used to be placed on every zone's grid,
    which failed for Sumatra on 33N, 89 degrees away: 'Point outside of
    projection domain', exit 4; a global build placed each of its files on
    each of its zones. The chips are those of the
    lattice rule and hold the files' pixels."""
    patch = next(p for p in sorted((shared / BEN / "s2").glob("*/*_B02.tif"))
                 if rasterio.open(p).crs.to_epsg() == 32629)
    files = [patch]
    for name, epsg, x, y in [("texas", 32614, 600000, 3400000),
                             ("chad", 32633, 500000, 1000000),
                             ("sumatra", 32748, 399200, 9416000)]:
        files.append(tmp_path / f"{name}.tif")
        subprocess.run(["gdal_translate", "-q", "-a_srs", f"EPSG:{epsg}", "-a_ullr", str(x),
                        str(y), str(x + 1200), str(y - 1200), str(patch), str(files[-1])],
                       check=True)
    listed = ", ".join(f'"{f}"' for f in files)
    recipe = tmp_path / "world.yaml"
    recipe.write_text(f"""dataset: {{name: four-continents}}
grid: {{crs: utm, resolution: 10, chip_size: 40}}
modalities: [{{name: s, files: [{listed}], resampling: nearest}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""")
    out = tmp_path / "out"
    proc = subprocess.run([EODKIT, "build", recipe, "-o", out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ds = Dataset(out)
    grids = [g["crs"] for g in ds.provenance["grid"]["grids"]]
    zones = []
    for path in files:
        with rasterio.open(path) as f:
            zones.append(f"EPSG:{f.crs.to_epsg()}")
    assert sorted(grids) == sorted(zones) and len(set(zones)) == 4
    for source, zone in zip(ds.provenance["read"]["s"]["sources"], zones):
        assert [grids[p["grid"]] for p in source["placements"]] == [zone]
    rows = ds.chips()
    assert {(r["crs"], *json.loads(r["geotransform"])[0:4:3]) for r in rows} == \
        lattice_chips(files, 10, 40, 40)
    moved = {}
    for path in files[1:]:  # their corners lie on the chip lattice: whole chips
        with rasterio.open(path) as src:
            moved[f"EPSG:{src.crs.to_epsg()}"] = (src.read(1), ~src.transform)
    checked = 0
    for row in rows:
        if row["crs"] in moved:
            pixels, to_pixel = moved[row["crs"]]
            gt = json.loads(row["geotransform"])
            col, line = (round(v) for v in to_pixel * (gt[0], gt[3]))
            assert np.array_equal(ds.chip(row, "s")[0], pixels[line:line + 40, col:col + 40])
            checked += 1
    assert checked == 3 * 9
