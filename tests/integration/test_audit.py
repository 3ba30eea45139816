"""The audit (`eodkit audit`): split leakage measured exactly (checked against
a pixel raster and all chip pairs computed here from index.gpkg), blocks
that share no pixel and keep their guard band, random splits with
overlapping chips flagged, sampling weights that equalise continents and
classes, histograms equal to NumPy's, acquisition time, the datasheet, and
files that stay byte-identical when nothing changed."""
import json
import math
import shutil

import numpy as np
import pytest

from conftest import Dataset, build, run

ATLANTA = """
dataset: {{name: audit-atlanta, title: Atlanta buildings, license: CC-BY-SA-4.0,
  description: WorldView pan chips over Atlanta with building footprints}}
grid: {{chip_size: {chip}, stride: {stride}}}
modalities: [{{name: pan, files: [{shared}/optical/solaris/sample_geotiff.tif],
  sensor: WorldView-2, platform: satellite, kind: optical}}]
labels: {{source: {shared}/vector/solaris/geotiff_labels.geojson, task: segmentation}}
split: {{method: {method}, {extra} ratios: {{train: 0.6, val: 0.2, test: 0.2}}, seed: {seed}}}
"""

SLOVENIA = """
dataset: {{name: audit-lulc}}
grid: {{crs: {{like: landsat}}, chip_size: 12, stride: 6}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels:
  source: {shared}/vector/eo-learn/LULC.gpkg
  attribute: LULC_NAME
  classes: {{cultivated land: 1, forest: 2, grassland: 3, schrubland: 4, artificial surface: 5}}
  task: {task}
split: {{method: random, ratios: {{train: 0.7, test: 0.3}}, seed: 2}}
"""


def atlanta(tmp_path, shared, chip=32, stride=32, method="random", extra="", seed=1):
    out, _ = build(ATLANTA.format(shared=shared, chip=chip, stride=stride, method=method,
                                  extra=extra, seed=seed), tmp_path)
    return out


def audit(path, *args):
    """Run `eodkit audit PATH --json ARGS`; return (summary, audit.json)."""
    proc = run("audit", path, "--json", *args)
    return json.loads(proc.stdout), json.loads((path / "audit.json").read_text())


def windows(ds):
    rows = ds.chips()
    return (np.array([[r["grid_x"], r["grid_y"], r["width"], r["height"]] for r in rows]),
            np.array([r["split"] for r in rows]), rows)


def grid_of(ds, rows):
    """Index of each chip's grid (one per UTM zone with `crs: utm`)."""
    g = ds.provenance["grid"]
    grids = g.get("grids", [g])
    spans = [(gr.get("first_chip", 0), gr.get("first_chip", 0)
              + gr["chips_across"] * gr["chips_down"]) for gr in grids]
    return grids, np.array([next(k for k, (a, b) in enumerate(spans) if a <= r["chip_id"] < b)
                            for r in rows])


def expected_leakage(ds):
    """Shared pixels (a raster per grid and split) and the three smallest
    distances between chips of different splits (every pair of one grid),
    from the index alone."""
    win, split, rows = windows(ds)
    grids, grid = grid_of(ds, rows)
    res = ds.collection["eodkit:grid"]["resolution"]
    names = list(ds.collection["eodkit:splits"])
    shared, pairs = 0, {f"{a}|{b}": 0 for i, a in enumerate(names) for b in names[i + 1:]}
    for g in range(len(grids)):
        mine, owner = win[grid == g], split[grid == g]
        # a raster over the chips' edges (compressed coordinates: UTM grids are
        # huge), each cell weighing its area in pixels
        xs = np.unique(np.concatenate([mine[:, 0], mine[:, 0] + mine[:, 2]]))
        ys = np.unique(np.concatenate([mine[:, 1], mine[:, 1] + mine[:, 3]]))
        area = np.outer(np.diff(ys), np.diff(xs))
        cover = np.zeros((len(names), len(ys) - 1, len(xs) - 1), bool)
        for (x, y, w, h), s in zip(mine, owner):
            cover[names.index(s), np.searchsorted(ys, y):np.searchsorted(ys, y + h),
                  np.searchsorted(xs, x):np.searchsorted(xs, x + w)] = True
        shared += int(area[cover.sum(axis=0) >= 2].sum())
        for i, a in enumerate(names):
            for j, b in enumerate(names[i + 1:], i + 1):
                pairs[f"{a}|{b}"] += int(area[cover[i] & cover[j]].sum())
    x0, y0, w, h = (win[:, k].astype(np.int64) for k in range(4))
    gx = np.maximum(0, np.maximum(x0[None, :] - (x0 + w)[:, None], x0[:, None] - (x0 + w)[None, :]))
    gy = np.maximum(0, np.maximum(y0[None, :] - (y0 + h)[:, None], y0[:, None] - (y0 + h)[None, :]))
    other = (split[:, None] != split[None, :]) & (grid[:, None] == grid[None, :])
    return {
        "shared_pixels": shared,
        "pairs": pairs,
        "pixels": math.sqrt(int((gx * gx + gy * gy)[other].min())),
        "crs": float(np.sqrt(((gx * res[0]) ** 2 + (gy * res[1]) ** 2)[other].min())),
        "gap": int(np.maximum(gx, gy)[other].min()),
    }


def check_leakage(ds, leak):
    want = expected_leakage(ds)
    assert leak["shared_pixels"] == want["shared_pixels"]
    assert leak["shared_pixels_by_pair"] == want["pairs"]
    assert leak["min_distance_pixels"] == want["pixels"]
    assert leak["min_distance_crs"] == pytest.approx(want["crs"], rel=1e-12)
    assert leak["min_gap_pixels"] == want["gap"]
    return want


def test_random_split_with_overlapping_chips_is_flagged(tmp_path, shared):
    out = atlanta(tmp_path, shared, chip=32, stride=16)
    summary, doc = audit(out)
    leak = doc["leakage"]
    want = check_leakage(Dataset(out), leak)
    assert want["shared_pixels"] > 100000  # the check above is not vacuous
    assert leak["leaky"] and leak["verdict"] == "shared pixels"
    assert summary["leaky"] and summary["shared_pixels"] == want["shared_pixels"]
    assert any(w.startswith("SPLIT LEAKAGE:") and "'random'" in w for w in doc["warnings"])
    html = (out / "audit.html").read_text()
    assert 'role="alert"' in html and "SPLIT LEAKAGE:" in html
    text = run("audit", out).stdout
    assert "LEAKY (random split)" in text and "warning: SPLIT LEAKAGE:" in text


def test_random_split_without_overlap_touches(tmp_path, shared):
    out = atlanta(tmp_path, shared, chip=32, stride=32)
    _, doc = audit(out)
    leak = doc["leakage"]
    check_leakage(Dataset(out), leak)
    assert leak["shared_pixels"] == 0 and leak["min_distance_pixels"] == 0
    assert leak["touching"] and leak["leaky"] and leak["verdict"] == "touching"
    assert any(w.startswith("SPLIT LEAKAGE RISK:") for w in doc["warnings"])


@pytest.mark.parametrize("stride,buffer", [(16, 1), (32, 2), (16, 0.5)])
def test_blocks_share_no_pixel_and_keep_the_guard_band(tmp_path, shared, stride, buffer):
    out = atlanta(tmp_path, shared, stride=stride, method="blocks",
                  extra=f"block_size: 48, buffer: {buffer},", seed=3)
    ds = Dataset(out)
    _, doc = audit(out)
    leak = doc["leakage"]
    want = check_leakage(ds, leak)
    guard = ds.provenance["split"]["guard_pixels"]
    assert leak["guard_pixels"] == guard == [math.ceil(buffer * 32)] * 2
    assert leak["shared_pixels"] == 0
    assert want["gap"] >= guard[0] and leak["guard_respected"] is True
    assert leak["min_distance_pixels"] >= guard[0] > 0
    assert not leak["leaky"] and leak["verdict"] == "separated" and doc["warnings"] == []
    closest = leak["closest_chips"]
    assert closest[0]["split"] != closest[1]["split"]


def test_blocks_without_buffer_touch(tmp_path, shared):
    out = atlanta(tmp_path, shared, stride=32, method="blocks", extra="block_size: 48,", seed=3)
    _, doc = audit(out)
    check_leakage(Dataset(out), doc["leakage"])
    assert doc["leakage"]["shared_pixels"] == 0
    assert doc["leakage"]["verdict"] == "touching"


def test_a_constructed_lattice_gives_exact_distances(tmp_path, shared):
    """Chips of 30 x 20 pixels every 40 x 25: blocks of 60 m (120 px) with a
    guard band of one chip; distances are known multiples of the lattice."""
    recipe = ATLANTA.format(shared=shared, chip="[20, 30]", stride="[25, 40]", method="blocks",
                            extra="block_size: 60, buffer: 1,", seed=5)
    out, _ = build(recipe, tmp_path)
    ds = Dataset(out)
    _, doc = audit(out)
    leak = doc["leakage"]
    want = check_leakage(ds, leak)
    # gaps between chips are 10 columns + k * 40 and 5 rows + k * 25
    win, _, _ = windows(ds)
    assert set(win[:, 2]) == {30} and set(win[:, 3]) == {20}
    assert leak["shared_pixels"] == 0 and want["gap"] >= 20
    assert leak["min_distance_crs"] == pytest.approx(leak["min_distance_pixels"] * 0.5)


def test_leakage_per_utm_grid(tmp_path, shared):
    """`crs: utm`: one grid per zone, zone 29N spanning Ireland to Portugal
    (far larger than its chips: a raster of it would not fit); chips compare
    within their grid."""
    s2 = shared / "samples/bigearthnet/s2"
    files = ", ".join(f'"{next((s2 / p).glob("*B02.tif"))}"' for p in
                      ["S2A_MSIL2A_20170617T113321_36_85", "S2A_MSIL2A_20171221T112501_56_35",
                       "S2A_MSIL2A_20180510T94033_19_86"])
    out, _ = build(f"""
dataset: {{name: utm-audit}}
grid: {{crs: utm, resolution: 10, chip_size: 20, stride: 12}}
modalities: [{{name: s2, files: [{files}], resampling: nearest}}]
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 1}}
""", tmp_path)
    ds = Dataset(out)
    grids = ds.provenance["grid"]["grids"]
    assert len(grids) == 2 and max(g["width"] * g["height"] for g in grids) > 10**9
    _, doc = audit(out)
    want = check_leakage(ds, doc["leakage"])
    assert doc["leakage"]["grids"] == 2 and want["shared_pixels"] > 0
    assert set(doc["geography"]["countries"]) == {"IRL", "PRT", "FIN"}
    assert (out / "audit.html").read_text().count("<h3>Grid EPSG:326") == 2


def test_histograms_equal_numpy(tmp_path, shared):
    out = atlanta(tmp_path, shared, stride=32)
    ds = Dataset(out)
    _, doc = audit(out)
    band = doc["bands"]["modalities"]["pan"][0]
    stats = ds.stats["modalities"]["pan"]["bands"][0]
    values = ds.split_arrays("train", "pan")[:, 0].ravel()
    values = values[values != ds.stats["modalities"]["pan"]["nodata"]]
    counts, _ = np.histogram(values, bins=32, range=(stats["min"], stats["max"]))
    assert band["counts"] == counts.tolist()
    assert band["count"] == stats["valid_count"] == counts.sum()
    assert (band["min"], band["max"], band["bins"]) == (stats["min"], stats["max"], 32)


def region_layer(path, cuts):
    """Vertical strips over Atlanta with made-up countries and continents."""
    names = ["Europe", "Africa", "Asia", "Oceania"]
    edges = [-84.6, *cuts, -84.3]
    features = [{"type": "Feature",
                 "properties": {"iso_a3": f"X{k:02d}", "name_long": f"Strip {k}",
                                "continent": names[k], "zone": f"zone-{k}"},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [edges[k], 33.5], [edges[k + 1], 33.5], [edges[k + 1], 33.8],
                     [edges[k], 33.8], [edges[k], 33.5]]]}}
                for k in range(len(edges) - 1)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return edges, names


def strip_of(lon, edges):
    return next(k for k in range(len(edges) - 1) if edges[k] <= lon < edges[k + 1])


def test_continent_weights_equalise_with_a_custom_layer(tmp_path, shared):
    out = atlanta(tmp_path, shared, stride=32)
    layer = tmp_path / "strips.geojson"
    edges, names = region_layer(layer, [-84.4805, -84.4790, -84.4780])
    summary, doc = audit(out, "--regions", layer, "--region-field", "zone")
    ds = Dataset(out)
    rows = ds.chips()
    continent = [names[strip_of(r["center_lon"], edges)] for r in rows]
    # the index keeps the build's tags; the audit used the layer
    assert {r["continent"] for r in rows} == {"North America"}
    geo = doc["geography"]
    for name in names:
        assert geo["continents"][name]["chips"] == continent.count(name)
    assert geo["continents"]["North America"]["chips"] == 0
    assert set(geo["regions"]) == {f"zone-{k}" for k in range(4)}
    assert geo["countries"]["X00"]["name"] == "Strip 0"
    assert doc["regions"]["source"] == str(layer) and doc["regions"]["field"] == "zone"
    assert summary["continents"] == 4
    sums = {}
    for r, c in zip(rows, continent):
        sums.setdefault(r["split"], {}).setdefault(c, 0.0)
        sums[r["split"]][c] += r["weight_continent"]
    for split, per in sums.items():
        n = ds.collection["eodkit:splits"][split]["chips"]
        assert sum(per.values()) == pytest.approx(n, rel=1e-12)
        assert len(per) > 1
        assert all(v == pytest.approx(n / len(per), rel=1e-12) for v in per.values())
        for c, v in per.items():
            w = doc["weights"]["continent"][split][c]
            assert w["chips"] == sum(r["split"] == split and cc == c
                                     for r, cc in zip(rows, continent))
            assert w["weight"] * w["chips"] == pytest.approx(v, rel=1e-12)
    # bias indices from the same counts
    counts = np.array([continent.count(n) for n in names], float)
    p = counts[counts > 0] / counts.sum()
    assert doc["bias"]["continent_entropy"] == pytest.approx(-(p * np.log(p)).sum() / np.log(6))
    assert doc["bias"]["outside_europe_north_america"] == pytest.approx(
        1 - continent.count("Europe") / len(rows))


def dominant(hist, background=0):
    labelled = {int(c): n for c, n in json.loads(hist).items() if int(c) != background}
    return min(labelled, key=lambda c: (-labelled[c], c)) if labelled else background


@pytest.mark.parametrize("task", ["segmentation", "classification"])
def test_class_weights_equalise(tmp_path, shared, task):
    out, _ = build(SLOVENIA.format(shared=shared, task=task), tmp_path)
    _, doc = audit(out)
    ds = Dataset(out)
    rows = ds.chips()
    sums = {}
    for r in rows:
        cls = r["label"] if task == "classification" else dominant(r["class_hist"])
        sums.setdefault(r["split"], {}).setdefault(cls, []).append(r["weight_class"])
    for split, per in sums.items():
        n = ds.collection["eodkit:splits"][split]["chips"]
        assert len(per) >= 3
        assert sum(map(sum, per.values())) == pytest.approx(n, rel=1e-12)
        for cls, weights in per.items():
            assert sum(weights) == pytest.approx(n / len(per), rel=1e-12)
            assert len(set(weights)) == 1
            assert doc["weights"]["class"][split][str(cls)] == {"chips": len(weights),
                                                               "weight": weights[0]}
            assert doc["classes"]["dominant"][split][str(cls)] == len(weights)
    # class entropy over the labelled classes, as stats.json counts them
    basis = "labels" if task == "classification" else "pixels"
    assert doc["bias"]["class_basis"] == basis
    total = {}
    for per in ds.stats["classes"][basis].values():
        for c, v in per.items():
            if c != "0":
                total[c] = total.get(c, 0) + v
    p = np.array(list(total.values()), float)
    p /= p.sum()
    assert doc["bias"]["class_entropy"] == pytest.approx(-(p * np.log(p)).sum() / np.log(5))


@pytest.mark.parametrize("column_type", ["TEXT", "DATETIME"])
def test_acquisition_years_and_months(tmp_path, shared, column_type):
    """From the index's datetime column, text or GeoPackage DATETIME (the
    build writes none for this undated scene: every chip is unknown)."""
    from osgeo import ogr

    out = atlanta(tmp_path, shared, stride=64)
    _, before = audit(out)
    assert before["time"]["known"] == 0 and before["time"]["years"] == {}
    assert before["time"]["unknown"] == before["dataset"]["chips"]
    gpkg = ogr.Open(str(out / "index.gpkg"), 1)
    defn = gpkg.GetLayerByName("chips").GetLayerDefn()
    if defn.GetFieldIndex("datetime") >= 0:
        gpkg.ExecuteSQL("ALTER TABLE chips RENAME COLUMN datetime TO datetime_built")
    gpkg.ExecuteSQL(f"ALTER TABLE chips ADD COLUMN datetime {column_type}")
    gpkg.ExecuteSQL("UPDATE chips SET datetime = CASE WHEN fid % 5 = 0 THEN NULL ELSE "
                    "printf('%04d-%02d-15T10:30:00Z', 2015 + fid % 3, 1 + fid % 12) END")
    gpkg = None
    _, doc = audit(out)
    fids = [r["fid"] for r in Dataset(out).chips()]
    known = [f for f in fids if f % 5]
    assert doc["time"]["column"] is True
    assert doc["time"]["known"] == len(known)
    assert doc["time"]["unknown"] == len(fids) - len(known)
    assert doc["time"]["years"] == {str(y): sum(2015 + f % 3 == y for f in known)
                                    for y in (2015, 2016, 2017)}
    assert doc["time"]["months"] == {f"{m:02d}": sum(1 + f % 12 == m for f in known)
                                     for m in range(1, 13)}


def test_index_stays_a_valid_geopackage(tmp_path, shared):
    import geopandas
    from osgeo import gdal

    out = atlanta(tmp_path, shared, stride=32)
    audit(out)
    frame = geopandas.read_file(out / "index.gpkg", layer="chips")
    assert str(frame["weight_continent"].dtype) == "float64"
    assert str(frame["weight_class"].dtype) == "float64"
    chips = sum(s["chips"] for s in Dataset(out).collection["eodkit:splits"].values())
    assert frame.crs.to_epsg() == 4326 and len(frame) == chips
    gpkg = gdal.OpenEx(str(out / "index.gpkg"), gdal.OF_VECTOR)
    layer = gpkg.GetLayerByName("chips")
    assert layer.GetFeatureCount() == chips
    names = [layer.GetLayerDefn().GetFieldDefn(i).GetName()
             for i in range(layer.GetLayerDefn().GetFieldCount())]
    assert names[-2:] == ["weight_continent", "weight_class"]
    gpkg = None
    con = __import__("sqlite3").connect(out / "index.gpkg")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("select last_change from gpkg_contents where table_name = 'chips'"
                       ).fetchone()[0] == "2000-01-01T00:00:00.000Z"
    assert con.execute("select count(*) from rtree_chips_geom").fetchone()[0] == len(frame)
    con.close()


def test_same_dataset_same_bytes(tmp_path, shared):
    first = atlanta(tmp_path / "a", shared, stride=16, method="blocks",
                    extra="block_size: 48, buffer: 1,")
    second = atlanta(tmp_path / "b", shared, stride=16, method="blocks",
                     extra="block_size: 48, buffer: 1,")
    audit(first)
    names = ["audit.json", "audit.html", "datasheet.md", "index.gpkg"]
    once = {n: (first / n).read_bytes() for n in names}
    audit(first)
    assert {n: (first / n).read_bytes() for n in names} == once
    audit(second)
    assert {n: (second / n).read_bytes() for n in names} == once


def test_datasheet_holds_the_real_numbers(tmp_path, shared):
    out = atlanta(tmp_path, shared, stride=32, method="blocks", extra="block_size: 48,")
    audit(out)
    ds = Dataset(out)
    sheet = (out / "datasheet.md").read_text()
    for heading in ["## Motivation", "## Composition", "## Collection process",
                    "## Preprocessing, cleaning, labelling", "## Uses", "## Distribution",
                    "## Maintenance"]:
        assert f"\n{heading}\n" in sheet
    total = sum(s["chips"] for s in ds.collection["eodkit:splits"].values())
    assert f"**How many instances are there?** {total} chips" in sheet
    for split, s in ds.collection["eodkit:splits"].items():
        assert f"| {split} | {s['chips']} |" in sheet
    pixels = ds.stats["classes"]["pixels"]
    assert (f"| geotiff_labels | 1 | {pixels['train']['1']} | {ds.stats['classes']['chips']['train']['1']} |"
            in sheet)
    assert "| background | 0 |" in sheet
    assert "WorldView pan chips over Atlanta with building footprints" in sheet
    assert "`CC-BY-SA-4.0`" in sheet
    for item in ds.provenance["inputs"]:
        assert item["sha256"] in sheet
    band = ds.stats["modalities"]["pan"]["bands"][0]
    assert f"| pan | b1 | {band['valid_count']} |" in sheet
    assert "North America: " in sheet and "USA (United States)" in sheet
    assert "**Curator:**" in sheet and "```yaml\n" in sheet


def test_bad_input(tmp_path, shared, demo):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run("audit", empty, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"{empty}: not an eodkit dataset (no collection.json)" in proc.stderr

    out = atlanta(tmp_path / "ds", shared, stride=64)
    proc = run("audit", out, "--regions", demo / "world.gpkg", "--region-field", "contnent",
               check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "world.gpkg: the region layer has no field 'contnent' (did you mean 'continent'?)" \
        in proc.stderr
    proc = run("audit", out, "--regions", tmp_path / "nowhere.gpkg", check=False)
    assert proc.returncode == 2 and "nowhere.gpkg: no such region layer" in proc.stderr

    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "index.gpkg").unlink()
    proc = run("audit", broken, check=False)
    assert proc.returncode == 2 and f"{broken}: not an eodkit dataset (no index.gpkg)" in proc.stderr
    (broken / "index.gpkg").write_text("not a geopackage")
    proc = run("audit", broken, check=False)
    assert proc.returncode == 2 and "index.gpkg: cannot open the chip index" in proc.stderr

    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    (partial / ".eodkit-partial").write_text("")
    proc = run("audit", partial, check=False)
    assert proc.returncode == 2 and "unfinished build" in proc.stderr

    for args, needle in [((), "expected one dataset folder"),
                         ((out, "--region-field", "x"), "--region-field needs --regions"),
                         ((out, "--bogus"), "unknown option")]:
        proc = run("audit", *args, check=False)
        assert proc.returncode == 1 and needle in proc.stderr
    assert run("audit", "--help").stdout.startswith("eodkit audit\n\nAudit a dataset")


def test_a_class_missing_from_splits_is_warned(tmp_path, shared):
    recipe = SLOVENIA.format(shared=shared, task="segmentation").replace(
        "artificial surface: 5}", "artificial surface: 5, water: 6}")
    out, _ = build(recipe, tmp_path)
    summary, doc = audit(out)
    assert doc["classes"]["pixels"]["train"]["6"] == 0
    assert ("MISSING CLASS: class 'water' (6) has no pixels in splits 'train', 'test': it "
            "cannot be learnt or evaluated there.") in doc["warnings"]
    assert not any("class 'forest'" in w for w in doc["warnings"])
    assert summary["warnings"] == doc["warnings"]
