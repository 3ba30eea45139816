"""Reference grids (grid.system): chips on OlmoEarth-style UTM cells or on
the Major TOM grid, each with its cell id in index.gpkg and STAC. The ids
and windows are recomputed here in Python from the scheme doc/format.md
documents (Cell ids), with pyproj, independently of eodkit; two builds over
overlapping patches share cell ids, geotransforms and pixels."""
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer

from conftest import Dataset, build, run

BEN = "samples/bigearthnet/s2"
PATCHES = ["S2A_MSIL2A_20170617T113321_36_85", "S2A_MSIL2A_20170617T113321_4_55",
           "S2A_MSIL2A_20171221T112501_56_35", "S2A_MSIL2A_20180510T94033_19_86",
           "S2B_MSIL2A_20170924T093019_43_47", "S2B_MSIL2A_20180421T114349_41_4"]
R_KM = 6378.137


def b02(shared, patch):
    return next((shared / BEN / patch).glob("*_B02.tif"))


def recipe(shared, grid, patches, name="cells", split="{method: random, ratios: {train: 1.0}}"):
    files = ", ".join(f'"{b02(shared, p)}"' for p in patches)
    return f"""dataset: {{name: {name}}}
grid: {grid}
modalities: [{{name: s2, files: [{files}], resampling: nearest}}]
split: {split}
"""


def file_bounds(path, crs):
    """Bounds of a raster in CRS (pyproj, 21 points an edge, as GDAL's
    OCTTransformBounds densifies)."""
    with rasterio.open(path) as ds:
        b = ds.bounds
        src = CRS.from_wkt(ds.crs.to_wkt())
    if src == CRS.from_user_input(crs):
        return b.left, b.bottom, b.right, b.top
    t = Transformer.from_crs(src, CRS.from_user_input(crs), always_xy=True)
    return t.transform_bounds(b.left, b.bottom, b.right, b.top, densify_pts=21)


def overlaps(w, b):
    """Window W and bounds B (xmin, ymin, xmax, ymax) share area."""
    return w[0] < b[2] and w[2] > b[0] and w[1] < b[3] and w[3] > b[1]


def zone_epsg(lon, lat):
    zone = min(max(math.floor((lon + 180) / 6), 0), 59) + 1
    return (32600 if lat >= 0 else 32700) + zone


def index_chips(out):
    """(cell, crs, left, top, chip row) of every chip of the index."""
    got = {}
    for row in Dataset(out).chips():
        gt = json.loads(row["geotransform"])
        got[row["cell"]] = (row["crs"], gt[0], gt[3], row)
    return got


# ---- utm-cells: OlmoEarth's tiles ----

def utm_cells_expected(shared, patches, side_px, res):
    """Cells of SIDE_PX x RES m per UTM zone (origin 0): id
    EPSG:<code>_<res>_<col>_<row>, col = x / side, row = -y / side, for
    every cell whose square meets a file and whose centre is in the zone."""
    side = side_px * res
    want = {}
    for p in patches:
        path = b02(shared, p)
        with rasterio.open(path) as ds:
            epsg = ds.crs.to_epsg()
        x0, y0, x1, y1 = file_bounds(path, f"EPSG:{epsg}")
        to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
        for col in range(math.floor(x0 / side) - 1, math.floor(x1 / side) + 2):
            for row in range(math.floor(-y1 / side) - 1, math.floor(-y0 / side) + 2):
                w = (col * side, -(row + 1) * side, (col + 1) * side, -row * side)
                lon, lat = to_ll.transform((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)
                if overlaps(w, (x0, y0, x1, y1)) and zone_epsg(lon, lat) == epsg:
                    want[f"EPSG:{epsg}_{res:g}_{col}_{row}"] = (f"EPSG:{epsg}", w[0], w[3])
    return want


def test_utm_cells_ids_equal_the_documented_scheme(tmp_path, shared):
    out, summary = build(recipe(shared, "{system: utm-cells, resolution: 10, chip_size: 64}",
                                PATCHES), tmp_path)
    got = index_chips(out)
    want = utm_cells_expected(shared, PATCHES, 64, 10)
    assert len(want) > 40 and summary["grids"] == 2
    assert {k: v[:3] for k, v in got.items()} == want
    ds = Dataset(out)
    assert ds.provenance["grid"]["system"] == "utm-cells"
    assert ds.collection["summaries"]["eodkit:cells"] == sorted(want)
    assert ds.collection["eodkit:grid"]["system"] == "utm-cells"


# ---- majortom ----

def majortom_cell(row, col, d):
    """Centroid (lon, lat) of Major TOM cell ROW, COL at spacing D km."""
    n_rows = math.ceil(math.pi * R_KM / d)
    dlat = 180 / n_rows
    lat = row * dlat
    n_cols = max(math.ceil(2 * math.pi * R_KM * math.cos(math.radians(lat)) / d), 1)
    dlon = 360 / n_cols
    return col * dlon + dlon / 2, lat + dlat / 2


def majortom_name(row, col):
    return f"{abs(row)}{'U' if row >= 0 else 'D'}_{abs(col)}{'R' if col >= 0 else 'L'}"


def majortom_expected(shared, patches, d, res, size):
    """Every Major TOM cell whose chip (SIZE px at RES m, centred on the
    cell centroid in the UTM zone of the centroid, corner on the pixel
    lattice) meets a file: {name: (crs, left, top)}."""
    n_rows = math.ceil(math.pi * R_KM / d)
    dlat = 180 / n_rows
    want = {}
    for p in patches:
        path = b02(shared, p)
        w0, s0, e0, n0 = file_bounds(path, "EPSG:4326")
        for row in range(math.floor(s0 / dlat) - 2, math.floor(n0 / dlat) + 3):
            n_cols = max(math.ceil(2 * math.pi * R_KM * math.cos(math.radians(row * dlat)) / d), 1)
            dlon = 360 / n_cols
            for col in range(math.floor(w0 / dlon) - 2, math.floor(e0 / dlon) + 3):
                lon, lat = majortom_cell(row, col, d)
                epsg = zone_epsg(lon, lat)
                x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
                left = res * math.floor(x / res - size / 2 + 0.5)
                top = res * math.floor(y / res + size / 2 + 0.5)
                w = (left, top - size * res, left + size * res, top)
                if overlaps(w, file_bounds(path, f"EPSG:{epsg}")):
                    want[majortom_name(row, col)] = (f"EPSG:{epsg}", left, top)
    return want


def test_majortom_ids_and_windows_equal_the_documented_scheme(tmp_path, shared):
    out, summary = build(recipe(shared, "{system: majortom, spacing: 1, resolution: 10, "
                                "chip_size: 106}", PATCHES), tmp_path)
    got = index_chips(out)
    want = majortom_expected(shared, PATCHES, 1, 10, 106)
    assert len(want) > 20 and summary["grids"] == 2
    assert {k: v[:3] for k, v in got.items()} == want
    # each chip's centre lies in the cell its id names
    for name, (_, _, _, row) in got.items():
        d = 1
        n_rows = math.ceil(math.pi * R_KM / d)
        r = math.floor(row["center_lat"] / (180 / n_rows))
        n_cols = max(math.ceil(2 * math.pi * R_KM * math.cos(math.radians(r * 180 / n_rows)) / d), 1)
        c = (math.floor(row["center_lon"] / (360 / n_cols)) + n_cols // 2) % n_cols - n_cols // 2
        assert majortom_name(r, c) == name
    ds = Dataset(out)
    assert ds.provenance["grid"]["system"] == "majortom"
    assert ds.provenance["grid"]["spacing_km"] == 1
    assert ds.collection["summaries"]["eodkit:cells"] == sorted(want)


def test_majortom_10km_cell_of_snowbird():
    """The spacing, rows and columns of the Major TOM paper's 10 km grid:
    Snowbird, Utah lies in cell 451U_946L (Major TOM's own example)."""
    d = 10
    n_rows = math.ceil(math.pi * R_KM / d)
    assert n_rows == 2004
    lon, lat = -111.6556, 40.5829
    r = math.floor(lat / (180 / n_rows))
    n_cols = math.ceil(2 * math.pi * R_KM * math.cos(math.radians(r * 180 / n_rows)) / d)
    c = (math.floor(lon / (360 / n_cols)) + n_cols // 2) % n_cols - n_cols // 2
    assert (majortom_name(r, c), n_cols) == ("451U_946L", 3047)


def test_eodkit_names_the_cell_of_snowbird(tmp_path, shared):
    """A BigEarthNet patch moved onto Snowbird, Utah (UTM 12N), on the 10 km
    Major TOM grid (100 m pixels, 107 px chips): the chip of cell 451U_946L
    is made, and Snowbird lies in it."""
    x, y = Transformer.from_crs(4326, 32612, always_xy=True).transform(-111.6556, 40.5829)
    moved = tmp_path / "snowbird.tif"
    x0, y0 = 10 * round(x / 10) - 600, 10 * round(y / 10) + 600
    subprocess.run(["gdal_translate", "-q", "-a_srs", "EPSG:32612", "-a_ullr", str(x0), str(y0),
                    str(x0 + 1200), str(y0 - 1200), str(b02(shared, PATCHES[0])), str(moved)],
                   check=True)
    out, _ = build(f"""dataset: {{name: snowbird}}
grid: {{system: majortom, spacing: 10, resolution: 100, chip_size: 107}}
modalities: [{{name: s2, files: ["{moved}"], resampling: nearest}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    chips = index_chips(out)
    crs, left, top, _ = chips["451U_946L"]
    assert crs == "EPSG:32612" and left < x < left + 10700 and top - 10700 < y < top


# ---- two builds on one reference grid ----

def chip_window(row):
    gt = json.loads(row["geotransform"])
    return (gt[0], gt[3] + row["height"] * gt[5], gt[0] + row["width"] * gt[1], gt[3])


@pytest.mark.parametrize("grid", ["{system: utm-cells, resolution: 10, chip_size: 64}",
                                  "{system: majortom, spacing: 1, resolution: 10, chip_size: 106}"])
def test_overlapping_builds_share_cells_and_pixels(tmp_path, shared, grid):
    """Builds over patches 0-2 and 2-5: the chips over patch 2 have the same
    cell ids, the same geotransforms and, where no other file reaches into
    them, the same pixels."""
    a, _ = build(recipe(shared, grid, PATCHES[:3], name="a"), tmp_path / "a")
    b, _ = build(recipe(shared, grid, PATCHES[2:], name="b"), tmp_path / "b")
    ca, cb = index_chips(a), index_chips(b)
    both = set(ca) & set(cb)
    over = {cell for cell, (crs, _, _, row) in ca.items()
            if overlaps(chip_window(row), file_bounds(b02(shared, PATCHES[2]), crs))}
    assert len(over) >= 4 and over <= both
    da, db = Dataset(a), Dataset(b)
    for cell in over:
        ra, rb = ca[cell][3], cb[cell][3]
        assert (ra["crs"], ra["geotransform"]) == (rb["crs"], rb["geotransform"])
        others = [p for p in PATCHES if p != PATCHES[2] and overlaps(
            chip_window(ra), file_bounds(b02(shared, p), ra["crs"]))]
        if not others:
            assert np.array_equal(da.chip(ra, "s2"), db.chip(rb, "s2")), cell


# ---- bad input ----

def test_unknown_grid_system_is_refused_at_its_line(tmp_path, shared):
    path = tmp_path / "r.yaml"
    path.write_text(recipe(shared, "{system: h3, resolution: 10, chip_size: 64}", PATCHES[:1]))
    proc = run("build", path, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[0]
    assert line.startswith("eodkit: error: ") and "r.yaml:2:16: grid.system: 'h3'" in line
    assert "'utm-cells'" in line and "'majortom'" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("grid, at, message", [
    ("{system: majortom, crs: EPSG:32633, resolution: 10, chip_size: 64}", "EPSG",
     "grid.crs: grid.system chooses the CRS"),
    ("{system: utm-cells, resolution: 10, chip_size: 64, stride: 32}", "32}",
     "grid.stride: a reference grid (grid.system) has one chip per cell"),
    ("{system: utm-cells, spacing: 5, resolution: 10, chip_size: 64}", "5,",
     "grid.spacing: only 'system: majortom' has a spacing"),
    ("{system: majortom, spacing: 0, resolution: 10, chip_size: 64}", "0,",
     "grid.spacing: the Major TOM grid spacing is in km"),
    ("{system: majortom, chip_size: 64}", "{",
     "grid: 'resolution' is required with 'system: majortom'"),
])
def test_reference_grid_keys_are_checked(tmp_path, shared, grid, at, message):
    """Each mistake is named at its line:column (exit 2)."""
    path = tmp_path / "r.yaml"
    path.write_text(recipe(shared, grid, PATCHES[:1]))
    proc = run("build", path, "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2, proc.stderr
    column = len("grid: ") + grid.index(at) + 1
    assert f"r.yaml:2:{column}: {message}" in proc.stderr, proc.stderr


# ---- eodkit merge of datasets on one reference grid ----

def test_merge_of_two_datasets_is_one_build_over_both(tmp_path, shared):
    """Datasets over patches 0-2 and 2-5 on utm-cells, block splits with a
    guard band: `eodkit merge A B -o C` holds every cell of either once, is
    the same dataset as one build over all six patches, and its splits keep
    the guard band across the former datasets (the audit finds no shared
    pixel between splits)."""
    from conftest import same_data
    grid = "{system: utm-cells, resolution: 10, chip_size: 64}"
    split = "{method: blocks, block_size: 2560, buffer: 1, ratios: {train: 0.7, test: 0.3}, seed: 3}"
    a, _ = build(recipe(shared, grid, PATCHES[:3], name="a", split=split), tmp_path / "a")
    b, _ = build(recipe(shared, grid, PATCHES[2:], name="a", split=split), tmp_path / "b")
    whole, _ = build(recipe(shared, grid, PATCHES, name="a", split=split), tmp_path / "whole")
    merged = tmp_path / "merged"
    proc = run("merge", a, b, "-o", merged)
    summary = json.loads(proc.stdout)
    assert summary["chips"] == len(Dataset(merged).chips()) > 0
    assert same_data(merged, whole) >= 7  # shards, index, stats, STAC, audit
    cells = [r["cell"] for r in Dataset(merged).chips()]
    assert len(cells) == len(set(cells))
    assert set(cells) <= set(utm_cells_expected(shared, PATCHES, 64, 10))
    assert summary["rejected"]["guard"] > 0
    audit = json.loads((merged / "audit.json").read_text())
    assert audit["leakage"]["shared_pixels"] == 0


@pytest.mark.parametrize("other, message", [
    ("{system: utm-cells, resolution: 20, chip_size: 32}",
     "differ in more than the modalities' files, so they cannot be merged: "
     "'  resolution: [10, 10]' against '  resolution: [20, 20]'"),
    ("{crs: utm, resolution: 10, chip_size: 64}",
     "was not built on a reference grid (grid.system)"),
])
def test_merge_refuses_datasets_that_do_not_fit(tmp_path, shared, other, message):
    a, _ = build(recipe(shared, "{system: utm-cells, resolution: 10, chip_size: 64}",
                        PATCHES[:1], name="a"), tmp_path / "a")
    b, _ = build(recipe(shared, other, PATCHES[1:2], name="b"), tmp_path / "b")
    proc = run("merge", a, b, "-o", tmp_path / "c", check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not (tmp_path / "c").exists()


def test_merge_refuses_datasets_of_stac_items(tmp_path, shared):
    """A dataset whose modality reads STAC items (the BigEarthNet catalog of
    tests/stacdata.py) cannot be joined: its files are not in its recipe."""
    import stacdata
    grid = "{system: utm-cells, resolution: 10, chip_size: 64}"
    a, _ = build(recipe(shared, grid, PATCHES[:1], name="a"), tmp_path / "a")
    stacdata.write_catalog(tmp_path / "stac", stacdata.s2_patches(shared)[1:2])
    b, _ = build(f"""dataset: {{name: b}}
grid: {grid}
modalities: [{{name: s2, stac: {{items: "{tmp_path / 'stac/catalog.json'}", assets: [B02]}},
              resampling: nearest}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path / "b")
    proc = run("merge", a, b, "-o", tmp_path / "c", check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"{b}: modality 's2' reads STAC items" in proc.stderr, proc.stderr
    assert not (tmp_path / "c").exists()
