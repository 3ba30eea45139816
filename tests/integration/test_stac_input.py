"""STAC as a modality's input (`stac:` in the recipe) on the real BigEarthNet
Sentinel-2 patches of ../shared/data: static catalogs written by the tests
(tests/stacdata.py) read from disk and over HTTP (nginx on 127.0.0.1), and
STAC API searches against the test double tests/stac_api.py (the
`http_server` and `stac_api` fixtures of tests/conftest.py). Chips from
STAC equal chips from the same files under `band_files` byte for byte;
item datetimes order stacks; max_item_cloud filters items; the projection
extension (v1.1 proj:epsg, v2 proj:code) georeferences files that lack it;
provenance.json and collection.json record the items; bad catalogs fail
with exit code 2 and write nothing. The test catalogs and everything eodkit
writes validate with stac-node-validator (npm, offline) and jsonschema."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from osgeo import gdal, osr

from conftest import SOURCE, Dataset, build, npm_package, run, run_interrupted
from test_stac import local_store, validate

sys.path.insert(0, str(SOURCE / "tests"))
import stacdata  # noqa: E402

ASSETS = ["B02", "B03", "B04", "B05", "B01"]
RECIPE = """dataset: {{name: stac-input}}
grid: {{crs: utm, resolution: 10, chip_size: 120}}
modalities:
  - name: s2
    kind: multispectral
    resampling: bilinear
{inputs}
filters: {{max_nodata: 0.9}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}}}
"""
VALIDATOR = SOURCE / "tests" / "stac-validator"


def stac_inputs(items, extra="", assets=ASSETS, time=""):
    text = f"    stac: {{items: \"{items}\", assets: [{', '.join(assets)}]{extra}}}\n"
    return text + (f"    time: {time}\n" if time else "")


def files_inputs(shared, assets=ASSETS):
    glob = f"{shared}/samples/bigearthnet/s2/*/*_{{}}.tif"
    lines = [f"      - {{name: {a}, files: \"{glob.format(a)}\"}}" for a in assets]
    return "    band_files:\n" + "\n".join(lines) + "\n"


def shards(out):
    return {p.relative_to(out): p.read_bytes() for p in sorted(Path(out).glob("*/*.npy"))}


def assert_same_shards(a, b):
    sa, sb = shards(a), shards(b)
    assert sa and sa.keys() == sb.keys()
    for k in sa:
        assert sa[k] == sb[k], f"{k} differs"


@pytest.fixture(scope="module")
def patches(shared):
    return stacdata.s2_patches(shared)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, patches):
    """A static catalog (Catalog + Items) and an ItemCollection of all six
    patches, projection extension v1.1."""
    dest = tmp_path_factory.mktemp("catalog")
    stacdata.write_catalog(dest, patches)
    stacdata.write_item_collection(dest, patches)
    return dest


@pytest.fixture(scope="module")
def from_files(tmp_path_factory, shared):
    """The same chips built from the files (band_files)."""
    out, _ = build(RECIPE.format(inputs=files_inputs(shared)),
                   tmp_path_factory.mktemp("files"))
    return out


def test_static_catalog_equals_band_files(tmp_path, catalog, from_files, patches):
    out, summary = build(RECIPE.format(inputs=stac_inputs(catalog / "catalog.json")), tmp_path)
    assert summary["chips"] == 16
    assert_same_shards(out, from_files)
    ds = Dataset(out)
    stac = ds.provenance["read"]["s2"]["stac"]
    assert stac["catalog"] == str(catalog / "catalog.json")
    assert [i["id"] for i in stac["items"]] == [p.name for p in patches]
    first = stac["items"][0]
    assert first["href"] == str(catalog / patches[0].name / f"{patches[0].name}.json")
    assert first["assets"]["B05"]["href"] == str(
        catalog / patches[0].name / f"{patches[0].name}_B05.tif")
    assert "etag" not in first  # local files have none
    assert first["datetime"] == "2017-06-17T11:33:21Z"
    # per chip: the index's sources are sources of provenance, each an item's asset
    sources = ds.provenance["read"]["s2"]["sources"]
    ids = {i["id"] for i in stac["items"]}
    for row in ds.chips():
        fed = {sources[k]["stac_item"] for k in json.loads(row["sources"])["s2"]}
        assert fed and fed <= ids
        for k in json.loads(row["sources"])["s2"]:
            assert sources[k]["asset"] in ASSETS
    # the collection links every item read
    links = [l for l in ds.collection["links"] if l["rel"] == "derived_from"]
    assert [l["href"] for l in links] == [i["href"] for i in stac["items"]]
    assert [l["title"] for l in links] == [p.name for p in patches]
    # the resolved recipe builds the same again
    again, _ = build((out / "recipe.yaml").read_text(), tmp_path / "again")
    assert_same_shards(again, out)


def test_item_collection_and_folder(tmp_path, catalog, from_files):
    out, _ = build(RECIPE.format(inputs=stac_inputs(catalog / "items.json")), tmp_path / "ic")
    assert_same_shards(out, from_files)
    # a folder means its catalog.json
    out, _ = build(RECIPE.format(inputs=stac_inputs(catalog)), tmp_path / "folder")
    assert_same_shards(out, from_files)


def test_catalog_over_http(tmp_path, catalog, from_files, patches, http_server):
    server = http_server(catalog)
    out, summary = build(RECIPE.format(inputs=stac_inputs(server.url("catalog.json"))),
                         tmp_path / "http")
    assert_same_shards(out, from_files)
    assert {"method": "GET", "path": "/catalog.json", "status": 200}.items() <= \
        server.requests()[0].items()
    # the assets are remote inputs like any other: counted, read with retries
    assert summary["remote"]["inputs"] == 6 * len(ASSETS)
    ds = Dataset(out)
    items = ds.provenance["read"]["s2"]["stac"]["items"]
    name = patches[0].name
    assert items[0]["href"] == server.url(f"{name}/{name}.json")
    assert items[0]["etag"].startswith('"')  # nginx's ETag of the item document
    b02 = items[0]["assets"]["B02"]
    assert b02 == {"href": "/vsicurl/" + server.url(f"{name}/{name}_B02.tif")}
    # each asset file is stamped among the inputs as remote inputs are:
    # size, ETag and Last-Modified from a HEAD request, never downloaded
    remote = {i["path"]: i for i in ds.provenance["inputs"]
              if i["path"].startswith("/vsicurl/")}
    assert len(remote) == 6 * len(ASSETS)
    stamp = remote[b02["href"]]
    head = [r for r in server.requests() if r["path"] == f"/{name}/{name}_B02.tif"]
    assert stamp["bytes"] == (patches[0] / f"{name}_B02.tif").stat().st_size
    assert stamp["etag"].startswith('"') and stamp["last_modified"].endswith(" GMT")
    assert "sha256" not in stamp and head


def api_items(patches, clouds):
    return [stacdata.make_item(p, lambda f, p=p: str(p / f), cloud=clouds[p.name],
                               collection="bigearthnet-s2") for p in patches]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_stac_api_search_pages(tmp_path, patches, from_files, method, stac_api):
    clouds = {p.name: 10.0 * k for k, p in enumerate(patches)}
    api = stac_api(api_items(patches, clouds))
    out, _ = build(RECIPE.format(inputs=stac_inputs(
        api.url("search"), f", limit: 2, method: {method}, collections: [bigearthnet-s2]")),
        tmp_path)
    requests = [r for r in api.requests() if r["path"] == "/search"]
    assert_same_shards(out, from_files)
    assert len(requests) == 3 and {r["method"] for r in requests} == {method}
    if method == "GET":
        assert [r["query"] for r in requests] == [
            "collections=bigearthnet-s2&limit=2", "collections=bigearthnet-s2&limit=2&token=2",
            "collections=bigearthnet-s2&limit=2&token=4"]
    else:
        assert [json.loads(r["body"]).get("token") for r in requests] == [None, 2, 4]
    stac = Dataset(out).provenance["read"]["s2"]["stac"]
    assert stac["search"].startswith(("POST " if method == "POST" else "") + api.url("search"))
    # each item's href is its self link on the API
    assert stac["items"][0]["href"] == api.url(f"collections/bigearthnet-s2/items/"
                                               f"{patches[0].name}")


def test_search_filters_bbox_datetime_query_cloud(tmp_path, patches, stac_api):
    """The search sends bbox, datetime, query and max_item_cloud; the items
    the server returns are the ones the dataset used."""
    clouds = {p.name: 10.0 * k for k, p in enumerate(patches)}  # 0, 10, ..., 50
    items = api_items(patches, clouds)
    api = stac_api(items)
    out, _ = build(RECIPE.format(inputs=stac_inputs(
        api.url("search"),
        ", bbox: [-30, 30, 0, 75], datetime: 2017-01-01/2017-12-31,"
        " query: {platform: {eq: sentinel-2a}}, max_item_cloud: 35")), tmp_path)
    request = [r for r in api.requests() if r["path"] == "/search"][0]
    used = [i["id"] for i in Dataset(out).provenance["read"]["s2"]["stac"]["items"]]
    expected = [i["id"] for i in items
                if i["bbox"][0] <= 0 and i["properties"]["datetime"].startswith("2017")
                and i["properties"]["platform"] == "sentinel-2a"
                and i["properties"]["eo:cloud_cover"] <= 35]
    assert used == expected and 0 < len(expected) < len(patches)
    assert "bbox=-30,30,0,75" in request["query"]
    assert "datetime=2017-01-01%2F2017-12-31" in request["query"]
    query = json.loads(__import__("urllib.parse").parse.parse_qs(request["query"])["query"][0])
    assert query == {"platform": {"eq": "sentinel-2a"}, "eo:cloud_cover": {"lte": 35.0}}


def test_max_item_cloud_static(tmp_path, patches, shared):
    """Locally too: only items with eo:cloud_cover <= max_item_cloud feed chips."""
    clouds = {p.name: 10.0 * k for k, p in enumerate(patches)}
    stacdata.write_catalog(tmp_path / "cat", patches, clouds=clouds)
    out, summary = build(RECIPE.format(inputs=stac_inputs(
        tmp_path / "cat/catalog.json", ", max_item_cloud: 25")), tmp_path / "b")
    ds = Dataset(out)
    kept = [i["id"] for i in ds.provenance["read"]["s2"]["stac"]["items"]]
    assert kept == [p.name for p in patches[:3]]
    assert [i["eo:cloud_cover"] for i in ds.provenance["read"]["s2"]["stac"]["items"]] == [0, 10, 20]
    # the same chips as band_files over those three patches' files
    glob = "{" + ",".join(kept) + "}"
    inputs = "    band_files:\n" + "\n".join(
        f"      - {{name: {a}, files: [" + ", ".join(
            f"\"{shared}/samples/bigearthnet/s2/{k}/{k}_{a}.tif\"" for k in kept) + "]}"
        for a in ASSETS) + "\n"
    files, fsummary = build(RECIPE.format(inputs=inputs), tmp_path / "f")
    assert glob and summary["chips"] == fsummary["chips"] < 16
    assert_same_shards(out, files)


def shifted_copy(patch, dest, bands, add):
    """Copies of PATCH's band files with ADD added to every pixel."""
    dest.mkdir(parents=True)
    for b in bands:
        src = patch / f"{patch.name}_{b}.tif"
        ds = gdal.Translate(str(dest / src.name), str(src))
        band = ds.GetRasterBand(1)
        band.WriteArray(band.ReadAsArray() + add)
        ds = None


def test_time_stack_ordered_by_item_datetime(tmp_path, patches):
    patch = patches[3]  # S2A_MSIL2A_20180510T94033_19_86, Finland
    bands = ["B02", "B03"]
    shifted_copy(patch, tmp_path / "later", bands, 1000)
    old = stacdata.make_item(patch, lambda f: str(patch / f), bands=bands, item_id="old")
    new = stacdata.make_item(patch, lambda f: str(tmp_path / "later" / f), bands=bands,
                             item_id="new", datetime="2018-07-01T10:00:00Z")
    # the catalog lists the newer item first
    (tmp_path / "items.json").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [new, old]}))
    recipe = RECIPE.format(inputs=stac_inputs(tmp_path / "items.json", assets=bands,
                                              time="{mode: stack, count: 2}"))
    recipe = recipe.replace("resampling: bilinear", "resampling: nearest").replace(
        "grid: {crs: utm, resolution: 10, chip_size: 120}",
        "grid: {crs: {like: s2}, chip_size: 120}")  # the patch is the chip
    out, summary = build(recipe, tmp_path / "b")
    ds = Dataset(out)
    rows = ds.chips()
    assert summary["chips"] == len(rows) == 1
    chip = ds.chip(rows[0], "s2")
    assert chip.shape == (2, 2, 120, 120)
    with rasterio.open(patch / f"{patch.name}_B02.tif") as src:
        b02 = src.read(1)
    assert np.array_equal(chip[0, 0], b02)           # oldest first
    assert np.array_equal(chip[1, 0], b02 + 1000)
    assert json.loads(rows[0]["datetimes"]) == {
        "s2": ["2018-05-10T09:40:33Z", "2018-07-01T10:00:00Z"]}


def test_asset_hrefs_are_not_patterns(tmp_path, patches):
    """Asset hrefs name files, never glob patterns: 'b[2].tif' is read, not
    the 'b2.tif' beside it that the pattern would match."""
    patch = patches[3]
    (tmp_path / "files").mkdir()
    shutil.copy(patch / f"{patch.name}_B02.tif", tmp_path / "files/b[2].tif")
    shifted_copy(patch, tmp_path / "decoy", ["B02"], 1000)
    (tmp_path / "decoy" / f"{patch.name}_B02.tif").rename(tmp_path / "files/b2.tif")
    item = stacdata.make_item(patch, lambda f: "files/b[2].tif", bands=["B02"])
    (tmp_path / "item.json").write_text(json.dumps(item))
    recipe = RECIPE.format(inputs=stac_inputs("item.json", assets=["B02"])).replace(
        "grid: {crs: utm, resolution: 10, chip_size: 120}",
        "grid: {crs: {like: s2}, chip_size: 120}").replace("bilinear", "nearest")
    out, _ = build(recipe, tmp_path)
    ds = Dataset(out)
    with rasterio.open(patch / f"{patch.name}_B02.tif") as src:
        assert np.array_equal(ds.chip(ds.chips()[0], "s2")[0], src.read(1))
    assert ds.provenance["read"]["s2"]["sources"][0]["path"] == str(tmp_path / "files/b[2].tif")


@pytest.mark.parametrize("proj, served", [("v1.1", False), ("v2", False), ("v2", True)])
def test_proj_fields_georeference_files_without_crs(tmp_path, patches, from_files, proj,
                                                    served, http_server):
    """Band files stripped of CRS and geotransform, georeferenced by the
    item's proj:epsg (v1.1) or proj:code (v2) and proj:transform: the same
    chips as from the original files, also over HTTP (where each file is a
    remote input, though GDAL opens it through a VRT)."""
    data = {}
    for p in patches:
        folder = tmp_path / "bare" / p.name
        folder.mkdir(parents=True)
        for a in ASSETS:
            f = folder / f"{p.name}_{a}.tif"
            gdal.Translate(str(f), str(p / f.name), creationOptions=["PROFILE=BASELINE"])
            for side in folder.glob("*.aux.xml"):
                side.unlink()
            ds = gdal.Open(str(f))
            assert ds.GetSpatialRef() is None and ds.GetGeoTransform(can_return_null=True) is None
            ds = None
        data[p.name] = folder
    stacdata.write_catalog(tmp_path / "cat", patches, proj=proj, bands=ASSETS, data_dirs=data)
    items = http_server(tmp_path / "cat").url("catalog.json") if served else \
        tmp_path / "cat/catalog.json"
    out, summary = build(RECIPE.format(inputs=stac_inputs(items)), tmp_path / "b")
    assert_same_shards(out, from_files)
    if served:
        assert summary["remote"]["inputs"] == len(patches) * len(ASSETS)
        sources = Dataset(out).provenance["read"]["s2"]["sources"]
        assert all(s["path"].startswith("/vsicurl/http") for s in sources)


def test_catalog_over_http_with_faults(tmp_path, catalog, from_files, http_server,
                                       fault_proxy):
    """503 answers to STAC documents and to asset files: retried by GDAL
    with eodkit's remote settings (doc/recipe.md, "Archive and remote
    recipes"), counted in the summary; the chips are the same."""
    proxy = fault_proxy(http_server(catalog))
    proxy.inject("503", 2, match=lambda method, path, rng: path.endswith(".json"))
    proxy.inject("503", 2, every=4, match=lambda method, path, rng: path.endswith(".tif"))
    out, summary = build(RECIPE.format(inputs=stac_inputs(proxy.url("catalog.json"))),
                         tmp_path)
    assert proxy.faults("503") == 4
    assert summary["remote"]["http_retries"] == 4
    assert_same_shards(out, from_files)


def test_signal_stops_a_slow_catalog_walk(tmp_path, catalog, http_server, fault_proxy):
    """Each item document answers after 2 s, so walking the catalog takes
    12 s: SIGINT 3 s in stops the walk at the next document, exit 130,
    nothing written."""
    proxy = fault_proxy(http_server(catalog))
    proxy.inject("slow:2", 100,
                 match=lambda method, path, rng: path.endswith(".json") and path.count("/") == 2)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(inputs=stac_inputs(proxy.url("catalog.json"))))
    code, stdout, stderr, seconds = run_interrupted("build", recipe, "-o", tmp_path / "out",
                                                    after=3)
    assert code == 130, stderr
    assert "interrupted while setting the build up" in stderr and stdout == ""
    assert seconds < 3.5 and proxy.faults("slow:2") < len(list(catalog.glob("*/*.json")))
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def fails(tmp_path, inputs, code=2):
    tmp_path.mkdir(parents=True)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(inputs=inputs))
    proc = run("build", recipe, "-o", tmp_path / "out", check=False)
    assert proc.returncode == code, proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    return proc.stderr


def test_bad_catalogs(tmp_path, catalog, patches, http_server):
    name = patches[0].name
    err = fails(tmp_path / "a", stac_inputs(catalog / "catalog.json", assets=["B02", "B13"]))
    assert f"STAC item '{name}'" in err and "has no asset 'B13'" in err and "B8A" in err
    # not STAC: a GeoJSON feature collection, and a JSON that is no STAC type
    (tmp_path / "plain.json").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x",
                                                     "properties": {}, "geometry": None}]}))
    err = fails(tmp_path / "b", stac_inputs(tmp_path / "plain.json"))
    assert "plain.json: not STAC" in err and "stac_version" in err
    (tmp_path / "other.json").write_text('{"type": "Topology", "objects": {}}')
    err = fails(tmp_path / "c", stac_inputs(tmp_path / "other.json"))
    assert "other.json: not STAC" in err and "'Topology'" in err
    (tmp_path / "broken.json").write_text('{"type": ')
    assert "broken.json: not STAC: not JSON" in fails(tmp_path / "d",
                                                      stac_inputs(tmp_path / "broken.json"))
    assert "nothing.json: no such file" in fails(tmp_path / "e",
                                                 stac_inputs(tmp_path / "nothing.json"))
    # an item without the projection extension whose file has no CRS
    bare = tmp_path / "bare"
    bare.mkdir()
    for a in ASSETS:
        gdal.Translate(str(bare / f"{name}_{a}.tif"), str(patches[0] / f"{name}_{a}.tif"),
                       creationOptions=["PROFILE=BASELINE"])
    for side in bare.glob("*.aux.xml"):
        side.unlink()
    stacdata.write_catalog(tmp_path / "noproj", patches[:1], proj=None, bands=ASSETS,
                           data_dirs={name: bare})
    err = fails(tmp_path / "f", stac_inputs(tmp_path / "noproj/catalog.json"))
    assert f"STAC item '{name}'" in err and "has no CRS" in err and "proj:code" in err
    # proj:code a URL: refused, never fetched (GDAL would download it)
    web_root = tmp_path / "web"
    web_root.mkdir()
    (web_root / "crs.wkt").write_text(osr.SpatialReference(
        wkt=gdal.Open(str(patches[0] / f"{name}_B02.tif")).GetProjection()).ExportToWkt())
    web = http_server(web_root)
    stacdata.write_catalog(tmp_path / "urlproj", patches[:1], proj="v2", bands=ASSETS,
                           data_dirs={name: bare})
    item_path = tmp_path / "urlproj" / name / f"{name}.json"
    item = json.loads(item_path.read_text())
    item["properties"]["proj:code"] = web.url("crs.wkt")
    item_path.write_text(json.dumps(item))
    err = fails(tmp_path / "h", stac_inputs(tmp_path / "urlproj/catalog.json"))
    assert "which GDAL/PROJ does not know (URLs other than OGC CRS URLs are not fetched)" \
        in err, err
    assert web.requests() == []
    # a chain of catalogs deeper than the walk follows (32 levels)
    for level in range(40):
        child = {"rel": "child", "href": f"c{level + 1}.json"} if level < 39 else None
        (tmp_path / f"c{level}.json").write_text(json.dumps(
            {"type": "Catalog", "stac_version": "1.0.0", "id": f"c{level}",
             "description": "chain", "links": [child] if child else []}))
    err = fails(tmp_path / "g", stac_inputs(tmp_path / "c0.json"))
    assert "c33.json: the catalog is deeper than 32 levels" in err


def test_bad_urls(tmp_path, catalog, patches, http_server, stac_api):
    server = http_server(catalog)
    err = fails(tmp_path / "a", stac_inputs(server.url("missing/catalog.json")))
    assert server.url("missing/catalog.json") in err and "404" in err
    api = stac_api(api_items(patches, {p.name: 5.0 for p in patches}))
    err = fails(tmp_path / "b", stac_inputs(api.url("search"), ", bbox: [100, -10, 110, 0]"))
    assert api.url("search?bbox=100,-10,110,0") in err
    assert "no STAC item passes the filters" in err
    err = fails(tmp_path / "c", stac_inputs(api.url("search"), ", max_item_cloud: 1"))
    assert "no STAC item passes the filters" in err


def test_recipe_errors(tmp_path, catalog):
    err = fails(tmp_path / "a", stac_inputs(catalog / "catalog.json", ", max_item_cloud: 120"))
    assert "recipe.yaml:7:" in err and "max_item_cloud" in err
    err = fails(tmp_path / "b", stac_inputs(catalog / "catalog.json", ", colections: [x]"))
    assert "did you mean 'collections'" in err
    err = fails(tmp_path / "c", stac_inputs(catalog / "catalog.json") +
                files_inputs("/nowhere"))
    assert "give one of 'files'" in err


# ---- validation of the STAC JSON the tests and eodkit write ----

def ensure_validator():
    npm_package(VALIDATOR, "stac-node-validator")
    return VALIDATOR / "node_modules" / ".bin" / "stac-node-validator"


def validator_config(shared, tmp_path):
    """stac-node-validator options mapping every schema URL to a local file.
    The projection extension v2.0.0 refers to PROJJSON schema v0.7, which
    this PROJ does not ship: its v0.5 schema stands in (under the v0.7 id)."""
    s = shared / "stac-schemas"
    projjson = json.loads(Path("/usr/share/proj/projjson.schema.json").read_text())
    projjson["$id"] = "https://proj.org/schemas/v0.7/projjson.schema.json"
    (tmp_path / "projjson-v0.7.json").write_text(json.dumps(projjson))
    config = {"schemas": str(s / "stac-spec-v1.0.0"), "schemaMap": {
        "https://geojson.org/schema/": f"{s}/geojson/",
        stacdata.PROJ_V1: f"{s}/projection/v1.1.0/schema.json",
        stacdata.PROJ_V2: f"{s}/projection/v2.0.0/schema.json",
        stacdata.EO: f"{s}/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/label/v1.0.1/schema.json": f"{s}/label/schema.json",
        "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json": f"{s}/ml-aoi/schema.json",
        "https://proj.org/schemas/v0.5/projjson.schema.json": "/usr/share/proj/projjson.schema.json",
        "https://proj.org/schemas/v0.7/projjson.schema.json": str(tmp_path / "projjson-v0.7.json"),
    }}
    path = tmp_path / "validator.json"
    path.write_text(json.dumps(config))
    return path


def test_stac_json_validates(tmp_path, shared, patches, catalog):
    clouds = {p.name: 10.0 * k for k, p in enumerate(patches)}
    v2 = tmp_path / "v2"
    stacdata.write_catalog(v2, patches, proj="v2", clouds=clouds)
    out, _ = build(RECIPE.format(inputs=stac_inputs(v2 / "catalog.json", time="{mode: mosaic}")),
                   tmp_path / "b")
    documents = ([catalog / "catalog.json"] + sorted(catalog.glob("*/*.json")) +
                 [v2 / "catalog.json"] + sorted(v2.glob("*/*.json")) +
                 [out / "collection.json"] + sorted((out / "items").glob("*.json")))
    assert len(documents) == 2 + 2 * len(patches) + 1 + 2
    proc = subprocess.run([str(ensure_validator()), "--config",
                           str(validator_config(shared, tmp_path)), *map(str, documents)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Passed: {len(documents)}" in proc.stdout and "Invalid: 0" in proc.stdout
    # the same documents with python jsonschema against ../shared/data/stac-schemas
    store = local_store(shared / "stac-schemas")
    store[stacdata.PROJ_V2] = json.loads(
        (shared / "stac-schemas/projection/v2.0.0/schema.json").read_text())
    projjson = json.loads(Path("/usr/share/proj/projjson.schema.json").read_text())
    store["https://proj.org/schemas/v0.5/projjson.schema.json"] = projjson
    store["https://proj.org/schemas/v0.7/projjson.schema.json"] = projjson
    for doc in documents:
        d = json.loads(doc.read_text())
        if d["type"] == "Catalog":
            core = store["https://schemas.stacspec.org/v1.0.0/catalog-spec/json-schema/catalog.json"]
            import jsonschema
            jsonschema.Draft7Validator(core, resolver=jsonschema.RefResolver.from_schema(
                core, store=store)).validate(d)
        else:
            assert validate(d, store) >= 1
    # the collection links the items it was derived from
    links = [l for l in json.loads((out / "collection.json").read_text())["links"]
             if l["rel"] == "derived_from"]
    assert len(links) == len(patches)
