"""Several modalities on one grid: each equals gdalwarp of its own files to
that grid; per-band files at 10/20/60 m stack into one modality; `crs: utm`
puts each chip on its own UTM zone; optional modalities keep a presence
flag."""
import json
import subprocess

import numpy as np
import pytest
import rasterio
import rasterio.warp
from osgeo import gdal
from rasterio.windows import Window

from conftest import Dataset, build

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
PATCH = "S2A_MSIL2A_20170617T113321_36_85"


def gdalwarp_grid(ds, grid, source, resampling, xscale, yscale, out, et=0):
    """gdalwarp of SOURCE onto grid GRID of DS with the build's settings
    (error threshold ET, pinned scales): (bands, alpha)."""
    g = ds.provenance["grid"]["grids"][grid]
    gt, w, h = g["geotransform"], g["width"], g["height"]
    te = [gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]]
    subprocess.run(["gdalwarp", "-q", "-overwrite", "-r", resampling.replace("nearest", "near"),
                    "-t_srs", g["wkt"], "-te", *map(repr, te), "-ts", str(w), str(h),
                    "-et", repr(et),
                    "-wo", f"XSCALE={xscale!r}", "-wo", f"YSCALE={yscale!r}", "-dstalpha",
                    str(source), str(out)], check=True)
    data = gdal.Open(str(out)).ReadAsArray()
    return data[:-1], data[-1]


def test_landsat_and_dem_on_one_30m_grid(tmp_path, demo):
    out, summary = build(f"""
dataset: {{name: l7-dem}}
grid: {{crs: EPSG:31985, resolution: 30, chip_size: 32, error_threshold: 0}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif], resampling: bilinear}}
  - {{name: dem, kind: dem, files: [{demo}/olinda_dem_utm25s.tif], resampling: bilinear}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    assert summary["chips"] > 50
    # the DEM's CRS has no EPSG code: it is still recognised as a warp source
    dem_src = ds.provenance["read"]["dem"]["sources"][0]["placements"][0]
    assert dem_src["aligned"] is False and dem_src["xscale"] == pytest.approx(3, rel=0.01)
    for name, path in [("optical", demo / "L7_ETMs.tif"), ("dem", demo / "olinda_dem_utm25s.tif")]:
        src = ds.provenance["read"][name]["sources"][0]["placements"][0]
        ref, alpha = gdalwarp_grid(ds, 0, path, "bilinear", src["xscale"], src["yscale"],
                                   tmp_path / f"{name}.tif")
        tolerance = 1e-3 if name == "dem" else 0
        compared = 0
        for row in ds.chips():
            x, y = row["grid_x"], row["grid_y"]
            covered = alpha[y:y + 32, x:x + 32] > 0
            got = ds.chip(row, name).astype(float)[:, covered]
            want = ref[:, y:y + 32, x:x + 32].astype(float)[:, covered]
            assert np.abs(got - want).max(initial=0) <= tolerance, (name, row["chip_id"])
            compared += covered.sum()
        assert compared > 50 * 32 * 32 * 0.9


def bigearthnet_recipe(shared, patches, grid, bands=BANDS, name="ben"):
    folder = shared / "samples/bigearthnet/s2"
    lines = [f"dataset: {{name: {name}}}", f"grid: {grid}", "modalities:", "  - name: s2",
             "    resampling: bilinear", "    band_files:"]
    for band in bands:
        lines.append(f"      - {{name: {band}, files: \"{folder}/{patches}/*_{band}.tif\"}}")
    lines.append("split: {method: random, ratios: {train: 1.0}}")
    return "\n".join(lines) + "\n"


def test_bigearthnet_bands_stack_on_the_10m_grid(tmp_path, shared):
    out, summary = build(bigearthnet_recipe(shared, PATCH, "{crs: {like: s2}, chip_size: 60}"),
                         tmp_path)
    ds = Dataset(out)
    assert summary["chips"] == 4
    assert ds.collection["eodkit:modalities"][0]["shape"] == [12, 60, 60]
    folder = shared / "samples/bigearthnet/s2" / PATCH
    read = ds.provenance["read"]["s2"]
    for b, band in enumerate(BANDS):
        path = folder / f"{PATCH}_{band}.tif"
        placed = read["sources"][b]["placements"][0]
        with rasterio.open(path) as src:
            ten_metre = src.res[0] == 10
        assert placed["aligned"] is ten_metre
        if ten_metre:
            with rasterio.open(path) as src:
                for row in ds.chips():
                    want = src.read(1, window=Window(row["grid_x"], row["grid_y"], 60, 60))
                    assert np.array_equal(ds.chip(row, "s2")[b], want), band
        else:
            ref, alpha = gdalwarp_grid(ds, 0, path, "bilinear", placed["xscale"],
                                       placed["yscale"], tmp_path / f"{band}.tif",
                                       et=read["error_threshold"])
            for row in ds.chips():
                x, y = row["grid_x"], row["grid_y"]
                assert (alpha[y:y + 60, x:x + 60] > 0).all()
                assert np.array_equal(ds.chip(row, "s2")[b], ref[0, y:y + 60, x:x + 60]), band


def test_utm_chips_stay_in_their_zone(tmp_path, shared):
    out, summary = build(bigearthnet_recipe(shared, "*", "{crs: utm, resolution: 10, chip_size: 120}",
                                            bands=["B02", "B03", "B04", "B08"]), tmp_path)
    ds = Dataset(out)
    # zones 29N (Ireland, Portugal) and 35N (Finland); the zones between hold no data
    assert summary["grids"] == 2
    assert ds.collection["eodkit:grid"]["zones"] == ["EPSG:32629", "EPSG:32635"]
    paths = [src["path"] for src in ds.provenance["read"]["s2"]["sources"]]
    rows = ds.chips()
    assert len(rows) == summary["chips"] >= 6
    fed = set()
    for row in rows:
        gt = json.loads(row["geotransform"])
        b02 = [i for i in json.loads(row["sources"])["s2"] if paths[i].endswith("_B02.tif")]
        assert b02
        for index in b02:
            fed.add(paths[index])
            with rasterio.open(paths[index]) as src:
                # each chip is on the UTM zone of the patches that fed it ...
                assert row["crs"] == f"EPSG:{src.crs.to_epsg()}"
                # ... and its pixels are the patch's pixels at the place the
                # index gives: the georeferencing is right to the pixel
                col = round((gt[0] - src.transform.c) / 10)
                line = round((gt[3] - src.transform.f) / -10)
                want = src.read(1, window=Window(col, line, 120, 120), boundless=True,
                                fill_value=0)
                got = ds.chip(row, "s2")[0]
                inside = want != 0
                assert inside.any() and np.array_equal(got[inside], want[inside])
        # the lon/lat footprint is the chip's own extent, to within a pixel
        west, south, east, north = rasterio.warp.transform_bounds(
            row["crs"], "EPSG:4326", gt[0], gt[3] - 1200, gt[0] + 1200, gt[3])
        minx, miny, maxx, maxy = chip_bounds(ds, row)
        lon_pixel = 10 / (111320 * np.cos(np.radians(north)))
        assert abs(minx - west) < lon_pixel and abs(maxx - east) < lon_pixel
        assert abs(miny - south) < 10 / 110540 and abs(maxy - north) < 10 / 110540
    assert len(fed) == 6


def test_each_utm_zone_is_framed_on_its_own_data(tmp_path, shared):
    """A patch in Ireland and one in Finland: each zone's grid covers its own
    patch plus a chip of margin, not the lon/lat box of all the data."""
    s2 = shared / "samples/bigearthnet/s2"
    out, summary = build(f"""
dataset: {{name: two-zones}}
grid: {{crs: utm, resolution: 10, chip_size: 60}}
modalities:
  - {{name: s2, resampling: nearest, files: ["{s2}/S2A_MSIL2A_20170617T113321_36_85/*_B02.tif",
                                              "{s2}/S2A_MSIL2A_20180510T94033_19_86/*_B02.tif"]}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    grids = Dataset(out).provenance["grid"]["grids"]
    assert [g["crs"] for g in grids] == ["EPSG:32629", "EPSG:32635"]
    # a 1200 m patch, its lon/lat box a little wider in UTM, a 600 m margin
    # each side, one stride of snapping (before: the lon/lat box of both)
    assert all(g["width"] <= 360 and g["height"] <= 360 for g in grids), grids
    assert summary["chips"] >= 2 * 4


def test_nodata_in_an_aligned_modality_spares_the_warp(tmp_path, demo):
    """Units whose aligned optical chips all fail max_nodata are not warped
    (the DEM): the chips kept, and their pixels, are those of a build that
    keeps everything, filtered afterwards."""
    half = tmp_path / "half.tif"
    with rasterio.open(demo / "L7_ETMs.tif") as src:
        pixels, profile = src.read(), src.profile
    # west of column 270 is nodata: work units (256 px) there are not warped
    pixels[:, :, :270] = 0
    with rasterio.open(half, "w", **profile) as dst:
        dst.write(pixels)
    recipe = f"""
dataset: {{name: spare}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, files: [{half}], nodata: 0}}
  - {{name: dem, kind: dem, files: [{demo}/olinda_dem_utm25s.tif], resampling: bilinear}}
filters: {{max_nodata: {{max_nodata}}}}
split: {{method: random, ratios: {{train: 1.0}}}}
"""
    strict, s1 = build(recipe.replace("{max_nodata}", "0.1"), tmp_path / "strict")
    loose, s2 = build(recipe.replace("{max_nodata}", "1"), tmp_path / "loose")
    loose_rows = {r["chip_id"]: r for r in Dataset(loose).chips()}
    passing = {i for i, r in loose_rows.items() if r["nodata_frac"] <= 0.1}
    strict_rows = Dataset(strict).chips()
    assert {r["chip_id"] for r in strict_rows} == passing
    assert s1["rejected"]["nodata"] == len(loose_rows) - len(passing) > 20
    for row in strict_rows:
        for name in ("optical", "dem"):
            assert np.array_equal(Dataset(strict).chip(row, name),
                                  Dataset(loose).chip(loose_rows[row["chip_id"]], name))


def chip_bounds(ds, row):
    import sqlite3
    con = sqlite3.connect(ds.path / "index.gpkg")
    b = con.execute("select minx, miny, maxx, maxy from rtree_chips_geom where id = ?",
                    (row["fid"],)).fetchone()
    con.close()
    return b


def test_optional_modality_keeps_a_presence_flag(tmp_path, demo, shared):
    """The DEM covers part of the Landsat scene only; chips outside it are kept
    with `present` 0 for the DEM instead of being dropped."""
    small_dem = tmp_path / "dem-part.tif"
    subprocess.run(["gdal_translate", "-q", "-srcwin", "0", "0", "50", "111",
                    str(demo / "olinda_dem_utm25s.tif"), str(small_dem)], check=True)
    out, summary = build(f"""
dataset: {{name: optional}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif]}}
  - {{name: dem, kind: dem, files: [{small_dem}], resampling: bilinear, required: false, nodata: -9999}}
filters: {{max_nodata: 0.0}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    assert summary["chips"] == 110
    rows = Dataset(out).chips()
    present = [json.loads(r["present"])["dem"] for r in rows]
    assert 0 < sum(present) < len(rows)
    ds = Dataset(out)
    for row, p in zip(rows, present):
        dem = ds.chip(row, "dem")
        assert (dem == -9999).all() if row["grid_x"] > 60 * 90 / 28.5 else True
        if p == 1:
            assert (dem != -9999).all()


@pytest.mark.parametrize("broken,pattern", [
    ("band", r"L7_ETMs\.tif: has no band 9 \(it has 6 bands\)"),
    ("apart", r"modality 'far' does not overlap the modalities before it"),
])
def test_bad_multisensor_input(tmp_path, demo, shared, broken, pattern):
    import re
    from conftest import run
    extra = {"band": f"  - {{name: optical, files: [{demo}/L7_ETMs.tif], bands: [1, 9]}}",
             "apart": f"  - {{name: optical, files: [{demo}/L7_ETMs.tif]}}\n"
                      f"  - {{name: far, files: [{shared}/optical/solaris/sample_geotiff.tif], "
                      f"resampling: nearest}}"}[broken]
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""dataset: {{name: bad}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
{extra}
""")
    proc = run("build", recipe, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2 and re.search(pattern, proc.stderr), proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
