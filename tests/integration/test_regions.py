"""Country/continent tagging of chips: real scenes land in the right
country, open ocean is `none`, border chips record their overlap share,
and any polygon layer and field can be used instead of the default."""
import json
from pathlib import Path

import geopandas as gpd
import pytest

from conftest import Dataset, build, run

PATCHES = {
    "S2A_MSIL2A_20170617T113321_36_85": ("IRL", "Europe"),
    "S2A_MSIL2A_20170617T113321_4_55": ("IRL", "Europe"),
    "S2B_MSIL2A_20180421T114349_41_4": ("IRL", "Europe"),
    "S2A_MSIL2A_20171221T112501_56_35": ("PRT", "Europe"),
    "S2A_MSIL2A_20180510T94033_19_86": ("FIN", "Europe"),
    "S2B_MSIL2A_20170924T093019_43_47": ("FIN", "Europe"),
}


def tags(ds):
    return {(r["country"], r["continent"]) for r in ds.chips()}


def one_band_recipe(name, path, chip):
    return f"""
dataset: {{name: {name}}}
grid: {{chip_size: {chip}}}
modalities: [{{name: image, files: [{path}], bands: [1]}}]
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def patch_band(shared, patch):
    folder = shared / "samples/bigearthnet/s2" / patch
    return sorted(folder.glob("*B02.tif"))[0]


@pytest.mark.parametrize("patch", sorted(PATCHES))
def test_bigearthnet_patches(tmp_path, shared, patch):
    out, summary = build(one_band_recipe("ben", patch_band(shared, patch), 60), tmp_path)
    assert summary["regions"].endswith("world_map.gpkg")
    ds = Dataset(out)
    assert tags(ds) == {PATCHES[patch]}
    assert ds.collection["summaries"]["eodkit:continents"] == ["Europe"]
    assert ds.collection["eodkit:geography"]["countries"] == {PATCHES[patch][0]: 4}


def test_olinda_is_brazil(tmp_path, demo):
    out, _ = build(one_band_recipe("olinda", demo / "L7_ETMs.tif", 64), tmp_path)
    ds = Dataset(out)
    assert tags(ds) == {("BRA", "South America")}
    assert {r["country_name"] for r in ds.chips()} == {"Brazil"}


def test_atlanta_is_usa(tmp_path, shared):
    out, _ = build(one_band_recipe("atlanta", shared / "optical/solaris/sample_geotiff.tif", 300),
                   tmp_path)
    rows = Dataset(out).chips()
    assert {(r["country"], r["continent"]) for r in rows} == {("USA", "North America")}
    assert all(r["region_share"] == 1.0 for r in rows)


def test_open_ocean_is_none(tmp_path, shared):
    out, summary = build(one_band_recipe("ocean", shared / "optical/stars/B01.jp2", 305),
                         tmp_path)
    ds = Dataset(out)
    assert summary["chips"] == 36
    assert tags(ds) == {("none", "none")}
    assert all(r["region_share"] == 0 for r in ds.chips())
    assert ds.collection["summaries"]["eodkit:countries"] == ["none"]


def test_custom_region_layer_and_field(tmp_path, shared, demo):
    layer = shared / "boundaries/naturalearth/ne_50m_admin_0_countries.json"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(one_band_recipe("olinda-ne", demo / "L7_ETMs.tif", 64))
    out = tmp_path / "out"
    summary = json.loads(run("build", recipe, "-o", out, "--regions", layer,
                             "--region-field", "SUBREGION").stdout)
    assert Path(summary["regions"]) == layer
    rows = Dataset(out).chips()
    # chips are tagged by their footprint: those wholly off the layer's
    # coastline are the sea, all others Brazil
    land = [r for r in rows if r["region_share"] > 0]
    assert {r["region"] for r in land} == {"South America"}
    assert {r["country"] for r in land} == {"BRA"}  # from ISO_A3 of Natural Earth
    brazil = gpd.read_file(layer).query("ISO_A3 == 'BRA'").geometry.unary_union
    sea = gpd.read_file(out / "index.gpkg", layer="chips").query("country == 'none'")
    assert len(land) + len(sea) == len(rows) and not sea.geometry.intersects(brazil).any()
    assert set(sea.region) == {"none"} and len(sea) < len(rows) / 4
    # the border between land and sea shows in the overlap share
    assert min(r["region_share"] for r in rows) < 0.9 < max(r["region_share"] for r in rows)
    prov = Dataset(out).provenance
    assert [i["of"] for i in prov["inputs"] if i["role"] == "regions"] == ["SUBREGION"]


def test_region_layer_without_the_field(tmp_path, demo):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(one_band_recipe("x", demo / "L7_ETMs.tif", 64))
    proc = run("build", recipe, "-o", tmp_path / "out", "--region-field", "contnent",
               check=False)
    assert proc.returncode == 2
    assert "world_map.gpkg: the region layer has no field 'contnent' (did you mean " \
        "'continent'?)" in proc.stderr
    assert not (tmp_path / "out").exists()
