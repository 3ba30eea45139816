"""collection.json validates against the STAC 1.0 Collection schema and the
extensions it declares, all from the local copies in ../shared/data (no
network): label, ml-aoi, eo, projection."""
import json
from pathlib import Path

import jsonschema
import pytest

from conftest import Dataset, build


# ../shared/data has no schema of the sar extension; this one checks the sar
# fields eodkit writes against their definitions in the sar extension v1.0.0
# (types and allowed values of sar:instrument_mode, sar:frequency_band,
# sar:product_type, sar:polarizations).
SAR_URL = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
SAR_FIELDS = {
    "type": "object",
    "properties": {
        "sar:instrument_mode": {"type": "string", "minLength": 1},
        "sar:frequency_band": {"enum": ["P", "L", "S", "C", "X", "Ku", "K", "Ka"]},
        "sar:product_type": {"type": "string", "minLength": 1},
        "sar:polarizations": {"type": "array", "minItems": 1, "uniqueItems": True,
                              "items": {"enum": ["HH", "VV", "HV", "VH"]}},
    },
}
SAR_SCHEMA = {"$id": SAR_URL, "type": "object", "required": ["stac_extensions"],
              "properties": {"stac_extensions": {"contains": {"const": SAR_URL}},
                             "assets": {"additionalProperties": SAR_FIELDS}}}


def local_store(schemas: Path):
    """Every schema under SCHEMAS keyed by its $id (with and without '#')."""
    store = {SAR_URL: SAR_SCHEMA}
    for path in schemas.rglob("*.json"):
        if "examples" in path.parts:
            continue
        doc = json.loads(path.read_text())
        if "$id" in doc:
            store[doc["$id"]] = doc
            store[doc["$id"].rstrip("#")] = doc
    return store


def validate(document, store):
    """Validate against the core schema (collection or item) and each
    declared extension."""
    kind = "collection" if document["type"] == "Collection" else "item"
    core = store[f"https://schemas.stacspec.org/v1.0.0/{kind}-spec/json-schema/{kind}.json"]
    schemas = [core] + [store[url] for url in document["stac_extensions"]]
    for schema in schemas:
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        jsonschema.Draft7Validator(schema, resolver=resolver).validate(document)
    return len(schemas)


@pytest.fixture(scope="module")
def store(shared):
    return local_store(shared / "stac-schemas")


def test_demo_collection_validates(tmp_path, demo, store):
    out, _ = build((Path(__file__).parents[2] / "examples/olinda.yaml").read_text()
                   .replace("data/", f"{demo}/"), tmp_path)
    doc = Dataset(out).collection
    assert validate(doc, store) == 5  # core + label, ml-aoi, eo, projection
    assert doc["license"] == "GPL-2.0-or-later"
    assert doc["summaries"]["ml-aoi:split"] == ["train", "validate", "test"]
    assert doc["summaries"]["label:classes"][0]["classes"] == ["URBANO", "RURAL"]
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    assert -35 < west < east < -34.8 and -8.1 < south < north < -7.9
    shards = [k for k in doc["assets"] if k.endswith(".npy")]
    assert shards and all((out / k).exists() for k in shards)
    # every file of the dataset is an asset, and every asset is a file
    files = {str(p.relative_to(out)) for p in out.rglob("*")
             if p.is_file() and p.parent.name != "items" and p.name != "collection.json"}
    assert files == {a["href"].removeprefix("./") for a in doc["assets"].values()}
    # class counts (label:overviews) are the labelled pixels of stats.json
    stats = Dataset(out).stats["classes"]["pixels"]
    overview = doc["summaries"]["label:overviews"][0]
    assert overview["property_key"] == "class"
    for entry, class_id in zip(overview["counts"], ["1", "2"]):
        assert entry["count"] == sum(split.get(class_id, 0) for split in stats.values())
    assert doc["eodkit:geography"]["continents"] == {"South America": sum(
        v["chips"] for v in doc["eodkit:splits"].values())}


def test_sar_collection_without_labels_validates(tmp_path, shared, store):
    out, _ = build(f"""
dataset: {{name: s1-camargue, description: Sentinel-1 VV backscatter}}
grid: {{chip_size: 64}}
modalities:
  - name: sar
    kind: sar
    files: [{shared}/sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif]
    band_names: [VV]
    sar: {{frequency_band: C, instrument_mode: IW, product_type: GRD, scale: db}}
split: {{method: random, ratios: {{train: 0.5, validation: 0.5}}}}
""", tmp_path)
    doc = Dataset(out).collection
    assert "https://stac-extensions.github.io/label/v1.0.1/schema.json" not in doc["stac_extensions"]
    assert validate(doc, store) == 4  # core, ml-aoi, projection, sar
    assert doc["summaries"]["ml-aoi:split"] == ["train", "validate"]
    shard = doc["assets"]["train/sar-00000.npy"]
    assert shard["sar:polarizations"] == ["VV"] and shard["sar:frequency_band"] == "C"
    assert doc["eodkit:modalities"][0]["sar"]["scale"] == "db"


def test_sar_validator_rejects_a_bad_band(store, tmp_path, shared):
    """The sar check really checks: an unknown frequency band fails."""
    out, _ = build(f"""
dataset: {{name: s1-bad}}
grid: {{chip_size: 64}}
modalities:
  - {{name: sar, kind: sar, files: [{shared}/sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif],
     sar: {{frequency_band: C}}}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    doc = Dataset(out).collection
    doc["assets"]["train/sar-00000.npy"]["sar:frequency_band"] = "Q"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, store)


def test_invalid_collection_is_caught(store, tmp_path, demo):
    """The validator really checks: a collection without a licence fails."""
    out, _ = build((Path(__file__).parents[2] / "examples/olinda.yaml").read_text()
                   .replace("data/", f"{demo}/"), tmp_path)
    doc = Dataset(out).collection
    del doc["license"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, store)


def test_items_with_acquisition_times_validate(tmp_path, shared, store):
    """With acquisition times, each split gets a STAC Item (an Item needs a
    time): its time range, its chips' bounds and its shards."""
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    for date in ["20160206T100203", "20160317T100659"]:
        (tmp_path / f"slo_{date}_B1.tif").write_bytes(source.read_bytes())
    out, _ = build(f"""
dataset: {{name: slovenia-items}}
grid: {{crs: {{like: s}}, chip_size: 24}}
modalities:
  - name: s
    kind: multispectral
    files: ["{tmp_path}/slo_*_B1.tif"]
    time: {{mode: stack, count: 2, pattern: "_([0-9]{{8}}T[0-9]{{6}})_"}}
labels: {{source: {shared}/vector/eo-learn/LULC.gpkg, attribute: LULC_ID}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 1}}
""", tmp_path)
    ds = Dataset(out)
    doc = ds.collection
    assert validate(doc, store) == 5
    assert doc["extent"]["temporal"]["interval"] == [["2016-02-06T10:02:03Z",
                                                      "2016-03-17T10:06:59Z"]]
    items = [link["href"] for link in doc["links"] if link["rel"] == "item"]
    assert items == ["./items/train.json", "./items/test.json"]
    for href in items:
        item = json.loads((out / href).read_text())
        assert validate(item, store) == 5
        split = item["properties"]["ml-aoi:split"]
        assert item["properties"]["start_datetime"] == "2016-02-06T10:02:03Z"
        assert all((out / "items" / a["href"]).resolve().exists() for a in item["assets"].values())
        assert all(k.startswith(split + "/") for k in item["assets"])
        west, south, east, north = item["bbox"]
        rows = ds.chips(f"split = '{split}'")
        assert west <= min(r["center_lon"] for r in rows) <= max(r["center_lon"] for r in rows) <= east


@pytest.mark.parametrize("task", ["detection", "instance"])
def test_object_collections_validate(tmp_path, shared, store, task):
    """Detection (vector labels: boxes) and instance datasets: the collection
    validates, every shard of every label array is an asset."""
    out, _ = build(f"""
dataset: {{name: lulc-{task}}}
grid: {{crs: {{like: landsat}}, chip_size: 24, stride: 16}}
modalities: [{{name: landsat, files: ["{shared}/optical/eo-learn/import-tiff-test1.tiff"]}}]
labels:
  source: "{shared}/vector/eo-learn/LULC.gpkg"
  attribute: LULC_NAME
  classes: {{forest: 2, grassland: 3}}
  task: {task}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}}}
""", tmp_path)
    doc = Dataset(out).collection
    assert validate(doc, store) == 4  # core + label, ml-aoi, projection
    assert doc["summaries"]["label:type"] == ["vector" if task == "detection" else "raster"]
    assert doc["summaries"]["label:tasks"] == (["detection"] if task == "detection"
                                               else ["detection", "segmentation"])
    files = {str(p.relative_to(out)) for p in out.rglob("*.npy")}
    assert files == {k for k in doc["assets"] if k.endswith(".npy")}
    assert {"train/boxes-00000.npy", "train/box_range-00000.npy"} <= files
    assert all(doc["assets"][k]["ml-aoi:role"] == "label" for k in files
               if not k.split("/")[1].startswith("landsat"))
