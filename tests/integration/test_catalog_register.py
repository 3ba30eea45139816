"""Registering datasets built by `eodkit build`: a real build over
../shared/data (WorldView pan chip of Atlanta with SpaceNet building labels)
is registered with its real counts, bands, footprint and continent, found
by continent, and registering it again changes nothing. A collection without
continents gets the one under its footprint's centre from a region layer.
The folder it was registered from is kept for its owner (`catalog show`)
and published nowhere: no API response, page or export of `serve` and
`catalog` holds it, and catalogs written before are cleaned of it."""
import hashlib
import json
import shutil
import sqlite3
import urllib.parse

import pytest

from conftest import build, run
from test_serve import Server

RECIPE = """
dataset:
  name: atlanta-buildings
  title: Atlanta building footprints
  license: CC-BY-SA-4.0
  description: 100 x 100 pixel WorldView chips of Atlanta with SpaceNet building footprints.
grid:
  crs: {{like: pan}}
  chip_size: 100
modalities:
  - name: pan
    sensor: WorldView-2
    platform: satellite
    kind: optical
    files: [{shared}/optical/solaris/sample_geotiff.tif]
    nodata: 0
labels:
  source: {shared}/vector/solaris/geotiff_labels.geojson
  task: segmentation
split:
  method: random
  ratios: {{train: 0.6, val: 0.2, test: 0.2}}
  seed: 1
"""


@pytest.fixture(scope="module")
def atlanta(tmp_path_factory, shared):
    folder = tmp_path_factory.mktemp("atlanta")
    out, _ = build(RECIPE.format(shared=shared), folder, "--regions",
                   shared / "boundaries/spData/world.gpkg")
    return out


def cat(db, *args, check=True):
    return run("catalog", "--db", db, *args, check=check)


def folder_bytes(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_register_and_find_by_continent(tmp_path, atlanta):
    db = tmp_path / "c.sqlite"
    collection = json.loads((atlanta / "collection.json").read_text())
    assert collection["summaries"]["eodkit:continents"] == ["North America"]

    proc = cat(db, "register", atlanta)
    assert proc.stdout.strip() == f"{atlanta}: 1 added, 0 updated, 0 unchanged, 0 rejected"

    found = json.loads(cat(db, "search", "--continent", "north america", "--json").stdout)
    d = next(d for d in found["datasets"] if d["id"] == "atlanta-buildings")
    chips = {name: s["chips"] for name, s in collection["eodkit:splits"].items()}
    assert d["name"] == "Atlanta building footprints"
    assert d["continent"] == ["North America"] and d["region"] == "USA"
    assert d["num_images"] == sum(chips.values()) == 81
    assert d["size_measure_px"] == 81 * 100 * 100 and d["image_size_px"] == "100"
    assert d["resolution_m"] == "0.5"
    assert d["task"] == ["semantic segmentation"] and d["num_classes"] == 1
    assert d["platform"] == ["satellite"] and d["modality"] == ["optical"]
    assert d["sensor"] == "WorldView-2" and d["license"] == "CC-BY-SA-4.0"
    assert d["bbox"] == pytest.approx(collection["extent"]["spatial"]["bbox"][0])
    assert d["volume_mb"] == pytest.approx(folder_bytes(atlanta) / 1e6)
    # A folder of this machine is no URL for anyone else: none is published.
    assert d["url"] is None and d["source"] == "eodkit"
    assert d["provenance"] == "registered from its collection.json (eodkit build)"
    assert d["detail"]["splits"] == chips
    assert d["detail"]["modalities"][0]["bands"] == ["b1"]
    assert d["detail"]["classes"] == [{"id": 1, "name": "geotiff_labels"}]
    assert d["fair"]["missing"] == ["identifier", "url"]
    assert "path" not in d["detail"]

    # Registering again is a no-op, and the dataset is found by its title too.
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = cat(db, "register", atlanta)
    assert "0 added, 0 updated, 1 unchanged" in proc.stdout
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert "atlanta-buildings" in cat(db, "show", "Atlanta Building Footprints").stdout
    # And it is on the map and in the statistics.
    stats = json.loads(cat(db, "stats", "--by", "continent", "--json").stdout)
    north = next(g for g in stats["groups"] if g["value"] == "North America")
    assert north["datasets"] == 24  # 23 shipped + this one


def test_continent_from_the_region_layer(tmp_path, atlanta, shared):
    """A collection.json without the build's geography summaries (as an
    older eodkit wrote them): the continent under the footprint's centre."""
    copy = tmp_path / "old-atlanta"
    shutil.copytree(atlanta, copy)
    collection = json.loads((copy / "collection.json").read_text())
    for key in ["eodkit:continents", "eodkit:countries"]:
        collection["summaries"].pop(key, None)
    collection.pop("eodkit:geography", None)
    (copy / "collection.json").write_text(json.dumps(collection))
    db = tmp_path / "c.sqlite"
    world = shared / "boundaries/spData/world.gpkg"

    proc = cat(db, "register", copy, "--regions", world)
    assert "1 added" in proc.stdout
    assert "eodkit: note: Atlanta building footprints: collection.json lists no continents; " \
           f"'North America' is the continent under the footprint's centre" in proc.stderr
    d = json.loads(cat(db, "show", "atlanta-buildings", "--json").stdout)
    assert d["continent"] == ["North America"] and d["region"] == "USA"
    found = json.loads(cat(db, "search", "--continent", "North America", "atlanta",
                           "--json").stdout)["datasets"]
    assert "atlanta-buildings" in [x["id"] for x in found]

    proc = cat(db, "register", copy, "--regions", tmp_path / "missing.gpkg", check=False)
    assert proc.returncode == 2 and "missing.gpkg: no such region layer" in proc.stderr


def test_register_refuses_what_eodkit_did_not_build(tmp_path, shared):
    db = tmp_path / "c.sqlite"
    proc = cat(db, "register", tmp_path, check=False)
    assert proc.returncode == 2 and "not an eodkit dataset (no collection.json)" in proc.stderr
    shutil.copy(shared / "stac-schemas/stac-spec-v1.0.0/examples/collection.json", tmp_path)
    proc = cat(db, "register", tmp_path, check=False)
    assert proc.returncode == 2 and "not written by 'eodkit build'" in proc.stderr
    proc = cat(db, "register", tmp_path / "nowhere", check=False)
    assert proc.returncode == 3 and "no such dataset folder" in proc.stderr


def test_the_folder_is_kept_but_published_nowhere(tmp_path, atlanta):
    db = tmp_path / "c.sqlite"
    cat(db, "register", atlanta)
    folder = str(atlanta)
    # Its owner sees it, in the text of `catalog show` only.
    assert f"folder            {folder}\n" in cat(db, "show", "atlanta-buildings").stdout
    outputs = {"show --json": cat(db, "show", "atlanta-buildings", "--json").stdout,
               "search --json": cat(db, "search", "atlanta", "--json").stdout,
               "search --csv": cat(db, "search", "atlanta", "--csv").stdout,
               "search": cat(db, "search", "atlanta").stdout}
    cat(db, "export", "--json", tmp_path / "e.json")
    cat(db, "export", "--csv", tmp_path / "e.csv")
    cat(db, "export", "--stac", tmp_path / "stac")
    for path in [tmp_path / "e.json", tmp_path / "e.csv", *(tmp_path / "stac").rglob("*.json")]:
        outputs[str(path)] = path.read_text()
    assert (tmp_path / "stac/atlanta-buildings/collection.json").is_file()
    with Server(db) as server:
        for route in ["/", "/dataset", "/stats", "/map", "/app.js", "/api/datasets",
                      "/api/datasets?q=atlanta", "/api/datasets/atlanta-buildings",
                      "/api/datasets/" + urllib.parse.quote("Atlanta building footprints"),
                      "/api/map.svg", "/api/charts/groups.svg", "/api/charts/fair.svg",
                      *(f"/api/stats?by={by}" for by in ["year", "task", "platform",
                                                          "modality", "continent"])]:
            status, _, body = server.get(route)
            assert status == 200, route
            outputs[route] = body.decode()
        assert server.json("/api/datasets/atlanta-buildings")["name"] == \
            "Atlanta building footprints"
    for where, text in outputs.items():
        assert folder not in text and "file://" not in text, where
    assert "atlanta-buildings" in outputs["search --json"]  # what is searched is there

    # Registered again from elsewhere: the record is the same, the folder moved.
    moved = tmp_path / "moved"
    shutil.copytree(atlanta, moved)
    proc = cat(db, "register", moved)
    assert "0 added, 1 updated, 0 unchanged" in proc.stdout
    assert f"folder            {moved}\n" in cat(db, "show", "atlanta-buildings").stdout


def test_catalogs_written_before_are_cleaned(tmp_path, atlanta):
    """A catalog of schema 1, where `register` published the folder (url
    file://..., provenance, detail.path), loses it from those fields when
    opened and keeps it for `catalog show`."""
    db = tmp_path / "c.sqlite"
    cat(db, "register", atlanta)
    with sqlite3.connect(db) as con:  # as eodkit 1 wrote it
        con.execute("DROP TABLE dataset_folder")
        con.execute("UPDATE dataset SET url = ?, provenance = ?,"
                    " detail = json_set(detail, '$.path', ?) WHERE id = 'atlanta-buildings'",
                    (f"file://{atlanta}", f"registered from {atlanta}/collection.json "
                     "(eodkit build)", str(atlanta)))
        con.execute("PRAGMA user_version = 1")
    con.close()
    d = json.loads(cat(db, "show", "atlanta-buildings", "--json").stdout)
    assert d["url"] is None and "path" not in d["detail"]
    assert d["provenance"] == "registered from its collection.json (eodkit build)"
    assert f"folder            {atlanta}\n" in cat(db, "show", "atlanta-buildings").stdout
    # And registering it again finds nothing to change.
    assert "0 added, 0 updated, 1 unchanged" in cat(db, "register", atlanta).stdout
