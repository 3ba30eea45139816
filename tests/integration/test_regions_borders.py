"""Country tags at land borders and coasts, checked against Natural Earth
1:50m (../shared/data, not the layer eodkit tags with): a real Landsat scene
re-georeferenced across the Luxembourg, Spain/Portugal borders and the
Portuguese coast gives chips whose country is the one holding the largest
share of their footprint (the sea only when no country meets it), and a
held-out country keeps every pixel of it out of the other splits."""
import json
import os

import pytest

# shares of lon/lat areas are meant (as eodkit's)
pytestmark = pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")

import geopandas as gpd
import numpy as np
from osgeo import gdal, osr

from conftest import Dataset, build, run

REFERENCE = "boundaries/naturalearth/ne_50m_admin_0_countries.json"
PIXEL = 300.0  # metres: the 349 x 352 px scene covers about 105 km x 106 km
CHIP = 12      # pixels: 3.6 km chips, 29 x 29 of them

# name: (lon, lat of the scene centre, EPSG code of its grid)
SCENES = {
    "lux": (6.13, 49.78, 3035),         # LUX / DEU / FRA / BEL
    "esp_prt": (-7.1, 38.9, 32629),     # ESP / PRT (Badajoz / Elvas)
    "prt_coast": (-9.2, 39.3, 32629),   # PRT / the Atlantic (Peniche)
}


@pytest.fixture(scope="module")
def reference(shared):
    ref = gpd.read_file(shared / REFERENCE)
    # Natural Earth writes -99 where ISO has no code (France): ADM0_A3 then
    ref["code"] = [a if a != "-99" else b for a, b in zip(ref.ISO_A3, ref.ADM0_A3)]
    return ref


def place(demo, out, lon, lat, epsg):
    """The demo Landsat scene, its pixels unchanged, centred on LON/LAT in
    EPSG:EPSG with PIXEL metre pixels."""
    lonlat = osr.SpatialReference()
    lonlat.ImportFromEPSG(4326)
    lonlat.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(lonlat, srs).TransformPoint(lon, lat)
    src = gdal.Open(str(demo / "L7_ETMs.tif"))
    w, h = src.RasterXSize * PIXEL / 2, src.RasterYSize * PIXEL / 2
    gdal.Translate(str(out), src, outputSRS=f"EPSG:{epsg}",
                   outputBounds=[x - w, y + h, x + w, y - h])
    return out


def recipe(name, scene, split="split: {method: random, ratios: {train: 1.0}}",
           regions=""):
    return f"""
dataset: {{name: {name}}}
grid: {{chip_size: {CHIP}}}
modalities: [{{name: image, files: [{scene}], bands: [1]}}]
{regions}
{split}
"""


def chips(out):
    return gpd.read_file(out / "index.gpkg", layer="chips")


def majority(reference, footprint):
    """The reference's country for FOOTPRINT by the documented rule, and the
    share of each country in it."""
    shares = {}
    for i in reference.sindex.query(footprint):
        row = reference.iloc[i]
        share = row.geometry.intersection(footprint).area / footprint.area
        if share > 0:
            shares[row.code] = shares.get(row.code, 0) + share
    if not shares:
        return "none", shares
    return max(shares, key=shares.get), shares


@pytest.mark.parametrize("name", sorted(SCENES))
def test_tags_agree_with_natural_earth_50m(tmp_path, demo, reference, name):
    lon, lat, epsg = SCENES[name]
    scene = place(demo, tmp_path / "scene.tif", lon, lat, epsg)
    out, summary = build(recipe(name, scene), tmp_path)
    assert summary["regions"].endswith("world_map.gpkg")
    rows = chips(out)
    assert len(rows) == 29 * 29
    expected = [majority(reference, g) for g in rows.geometry]
    agree = np.array([e[0] == c for e, c in zip(expected, rows.country)])
    # the scene straddles the border or coast: many chips have a share of
    # two places, and those are the ones a centre point gets wrong
    straddling = np.array([len(s) + (sum(s.values()) < 1 - 1e-9) > 1 for _, s in expected])
    assert straddling.sum() >= 40
    assert agree.mean() >= 0.97, (name, agree.mean())
    # the recorded share is that of the tagged country in the layer eodkit
    # used (the largest of any country), 0 for the sea
    world = gpd.read_file(demo / "world_map.gpkg", layer="countries")
    for footprint, country, share in zip(rows.geometry, rows.country, rows.region_share):
        shares = {}
        for i in world.sindex.query(footprint):
            row = world.iloc[i]
            inside = row.geometry.intersection(footprint).area / footprint.area
            if inside > 0:
                shares[row.ISO_A3] = shares.get(row.ISO_A3, 0) + inside
        if country == "none":
            assert not shares and share == 0
        else:
            assert share == pytest.approx(shares[country], abs=1e-6)
            assert share == pytest.approx(max(shares.values()), abs=1e-6)
    assert (rows.region_share[rows.country != "none"] < 1).sum() >= 20


def test_continents_come_from_the_shipped_table(tmp_path, demo):
    lon, lat, epsg = SCENES["lux"]
    out, _ = build(recipe("lux", place(demo, tmp_path / "s.tif", lon, lat, epsg)), tmp_path)
    rows = chips(out)
    assert set(rows.country) == {"LUX", "DEU", "FRA", "BEL"}
    assert set(rows.continent) == {"Europe"} and set(rows.region) == {"Europe"}
    assert set(rows.country_name) == {"Luxembourg", "Germany", "France", "Belgium"}
    # the table's subregions too (UN M49)
    out, _ = build(recipe("lux", tmp_path / "s.tif"), tmp_path, "--region-field", "subregion")
    assert set(chips(out).region) == {"Western Europe"}


def hold_out_lux(tmp_path, demo, regions=""):
    lon, lat, epsg = SCENES["lux"]
    scene = place(demo, tmp_path / "scene.tif", lon, lat, epsg)
    split = """split:
  method: regions
  block_size: 20000
  ratios: {train: 0.8, val: 0.2, test: 0}
  hold_out: {test: {country: [LUX]}}"""
    return build(recipe("lux-out", scene, split, regions), tmp_path)


def test_held_out_country_has_no_pixel_in_other_splits(tmp_path, demo, reference):
    out, summary = hold_out_lux(tmp_path, demo)
    rows = chips(out)
    lux = reference[reference.code == "LUX"].geometry.unary_union
    inside = rows.geometry.intersection(lux).area > 0
    assert inside.sum() >= 190  # the reference's Luxembourg chips
    assert set(rows.split[inside]) == {"test"}
    assert set(rows.country[rows.split == "test"]) == {"LUX"}
    # the chips that touch Luxembourg without being mostly in it are dropped
    prov = Dataset(out).provenance["split"]
    assert prov["hold_out_margin"] == 5000
    assert prov["hold_out_border_dropped"] > 0
    assert prov["guard_dropped"] >= prov["hold_out_border_dropped"]
    assert summary["rejected"]["guard"] == prov["guard_dropped"]


def test_without_margin_only_chips_touching_the_layer_are_dropped(tmp_path, demo, shared):
    out, _ = hold_out_lux(tmp_path, demo, "regions: {margin: 0}")
    rows = chips(out)
    # against the layer eodkit tagged with, nothing of Luxembourg leaks ...
    world = gpd.read_file(demo / "world_map.gpkg", layer="countries")
    lux = world[world.ISO_A3 == "LUX"].geometry.unary_union
    outside = rows[rows.split != "test"]
    assert not (outside.geometry.intersection(lux).area > 0).any()
    # ... and chips beyond it are kept: fewer dropped than with the margin
    dropped = Dataset(out).provenance["split"]["hold_out_border_dropped"]
    assert 0 < dropped < 60


def test_no_region_layer_is_said(tmp_path, demo):
    (tmp_path / "empty").mkdir()
    env = dict(os.environ, EODKIT_DATA_DIR=str(tmp_path / "empty"))
    env.pop("EODKIT_REGIONS", None)
    path = tmp_path / "r.yaml"
    path.write_text(recipe("olinda", demo / "L7_ETMs.tif"))
    proc = run("build", path, "-o", tmp_path / "out", env=env)
    assert (f"eodkit: note: countries and continents are not tagged: no region layer "
            f"(no world_map.gpkg in {tmp_path / 'empty'}); ") in proc.stderr
    assert "--regions" in proc.stderr
    assert json.loads(proc.stdout)["regions"] is None
    assert {r["country"] for r in Dataset(tmp_path / "out").chips()} == {None}
