"""Catalog import and export: the shipped CSV goes CSV -> database -> CSV byte
for byte and value for value (also through JSON and STAC, whose collections
validate against the STAC 1.0 schema); importing again changes nothing;
datasets are matched by id or name; bad input is reported with its file and
line and never leaves anything half-imported."""
import csv
import hashlib
import json
import os

import pytest

from conftest import SHARED, SOURCE, run
from test_stac import local_store, validate

SHIPPED = SHARED / "catalog" / "eo-datasets.csv"


def cat(db, *args, check=True):
    return run("catalog", "--db", db, *args, check=check)


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(path, records):
    """Write RECORDS (dicts of some columns) as a CSV in the shipped format."""
    with open(SHIPPED, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(records)


def by_name(export):
    return sorted(export["datasets"], key=lambda d: d["name"])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_project_ships_the_shared_csv():
    assert (SOURCE / "share/catalog/eo-datasets.csv").read_bytes() == SHIPPED.read_bytes()


def test_new_catalog_exports_the_shipped_csv(tmp_path):
    out = tmp_path / "out.csv"
    cat(tmp_path / "c.sqlite", "export", "--csv", out)
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert rows(out) == rows(SHIPPED)


def test_csv_round_trip_and_reimport_is_a_no_op(tmp_path):
    db, out = tmp_path / "c.sqlite", tmp_path / "out.csv"
    proc = cat(db, "--empty", "import", SHIPPED)
    assert proc.stdout.strip().endswith("285 added, 0 updated, 0 unchanged, 0 rejected")
    cat(db, "export", "--csv", out)
    assert rows(out) == rows(SHIPPED)
    assert out.read_bytes() == SHIPPED.read_bytes()

    before = digest(db)
    proc = cat(db, "import", SHIPPED)
    assert proc.stdout.strip().endswith("0 added, 0 updated, 285 unchanged, 0 rejected")
    assert digest(db) == before  # not one byte written


def test_json_and_stac_round_trips(tmp_path, shared):
    db = tmp_path / "c.sqlite"
    # A footprint and a description too, from a real third-party collection.
    cat(db, "import", shared / "stac-schemas/stac-spec-v1.0.0/examples/collection.json")
    cat(db, "export", "--json", tmp_path / "all.json")
    everything = json.loads((tmp_path / "all.json").read_text())
    assert len(everything["datasets"]) == 286

    cat(tmp_path / "j.sqlite", "--empty", "import", tmp_path / "all.json")
    cat(tmp_path / "j.sqlite", "export", "--json", tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == everything

    cat(db, "export", "--stac", tmp_path / "stac")
    store = local_store(shared / "stac-schemas")
    collections = sorted((tmp_path / "stac").glob("*/collection.json"))
    assert len(collections) == 286
    for path in collections:
        validate(json.loads(path.read_text()), store)
    root = json.loads((tmp_path / "stac/catalog.json").read_text())
    assert sum(link["rel"] == "child" for link in root["links"]) == 286

    # The folder is imported in name order, so compare dataset by dataset.
    cat(tmp_path / "s.sqlite", "--empty", "import", tmp_path / "stac")
    cat(tmp_path / "s.sqlite", "export", "--json", tmp_path / "from-stac.json")
    assert by_name(json.loads((tmp_path / "from-stac.json").read_text())) == by_name(everything)

    # Exporting into an existing folder is refused.
    proc = cat(db, "export", "--stac", tmp_path / "stac", check=False)
    assert proc.returncode == 6 and "exists" in proc.stderr


def test_foreign_stac_collection(tmp_path, shared):
    db = tmp_path / "c.sqlite"
    cat(db, "import", shared / "stac-schemas/stac-spec-v1.0.0/examples/collection.json")
    d = json.loads(cat(db, "show", "simple-collection", "--json").stdout)
    assert d["name"] == "Simple Example Collection"
    assert d["license"] == "CC-BY-4.0"
    assert d["sensor"] == "cool_sensor_v1; cool_sensor_v2"
    assert d["bbox"] == pytest.approx([172.91173669923782, 1.3438851951615003,
                                       172.95469614953714, 1.3690476620161975])
    assert d["provenance"] == "STAC providers: Remote Data, Inc (producer, processor)"


def test_rows_match_by_id_or_name(tmp_path):
    db, update = tmp_path / "c.sqlite", tmp_path / "update.csv"
    update.write_text("id,name,volume_mb\n"
                      "4,BigEarthNet,66000\n"          # by id and name
                      ",eurosat,2000\n"                 # by name, any case
                      "1,BigEarthNet,1\n",              # id of AID, name of BigEarthNet
                      encoding="utf-8")
    proc = cat(db, "import", update, check=False)
    assert proc.returncode == 2
    assert "2 updated" in proc.stdout and "0 added" in proc.stdout
    assert f"{update}:4: id '1' and name 'BigEarthNet' belong to two different datasets" \
        in proc.stderr
    big = json.loads(cat(db, "show", "4", "--json").stdout)
    assert big["volume_mb"] == 66000 and big["num_images"] == 590326  # others kept
    assert json.loads(cat(db, "show", "EuroSAT", "--json").stdout)["volume_mb"] == 2000


def test_bad_number_rejects_that_row_only(tmp_path):
    db, bad = tmp_path / "c.sqlite", tmp_path / "bad.csv"
    write_rows(bad, [{"id": "1001", "name": "Good One", "year": "2020"},
                     {"id": "1002", "name": "Bad Year", "year": "20x0"},
                     {"id": "1003", "name": "Good Two", "year": "2021"}])
    cat(db, "search")  # create it
    before = digest(db)
    proc = cat(db, "import", "--strict", bad, check=False)
    assert proc.returncode == 2 and "nothing was imported" in proc.stderr
    assert digest(db) == before

    proc = cat(db, "import", bad, check=False)
    assert proc.returncode == 2
    assert f"{bad}:3: bad number '20x0' in year" in proc.stderr
    assert "2 added" in proc.stdout and "1 rejected" in proc.stdout
    found = json.loads(cat(db, "search", "--year-from", "2020", "--json").stdout)
    names = {d["name"] for d in found["datasets"]}
    assert {"Good One", "Good Two"} <= names and "Bad Year" not in names
    assert cat(db, "show", "Bad Year", check=False).returncode == 2


@pytest.mark.parametrize("name, content, message", [
    ("colour.csv", "id,name,colour\n1,A,red\n", ":1: unknown column 'colour'"),
    ("quote.csv", "id,name,year\n9001,A,2001\n9002,\"B,2002\n9003,C,2003\n",
     ":3: broken quoting"),
    ("stray.csv", "id,name,year\n9001,A,2001\n9002,B\"x,2002\n", ":3: broken quoting"),
    ("other.json", '{"type": "FeatureCollection", "features": []}',
     "neither a STAC Collection"),
    ("broken.json", '{"type": "Collection", ', "broken.json:1:"),
])
def test_broken_files_import_nothing(tmp_path, name, content, message):
    db, path = tmp_path / "c.sqlite", tmp_path / name
    path.write_text(content, encoding="utf-8")
    cat(db, "search")
    before = digest(db)
    proc = cat(db, "import", path, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eodkit: error: ")
    assert str(path) in lines[0] and message in lines[0]
    assert digest(db) == before


def test_a_file_that_is_not_a_database(tmp_path):
    db = tmp_path / "notes.sqlite"
    db.write_text("these are my notes, not a database\n" * 10)
    before = digest(db)
    for args in (["search"], ["import", SHIPPED]):
        proc = cat(db, *args, check=False)
        assert proc.returncode == 2
        assert proc.stderr.strip() == \
            f"eodkit: error: {db}: not a SQLite database (file is not a database)"
    assert digest(db) == before


def test_a_read_only_catalog(tmp_path):
    db = tmp_path / "c.sqlite"
    cat(db, "search", "--limit", "1")
    os.chmod(db, 0o444)
    before = digest(db)
    proc = cat(db, "import", SHIPPED, check=False)
    assert proc.returncode == 3
    assert proc.stderr.strip() == \
        f"eodkit: error: {db}: the catalog file is read-only: nothing was changed"
    assert digest(db) == before
    # Reading still works.
    assert "BigEarthNet" in cat(db, "show", "BigEarthNet").stdout
    assert digest(db) == before


def test_default_path(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME="")
    env.pop("EODKIT_CATALOG", None)
    expected = tmp_path / ".local/share/eodkit/catalog.sqlite"
    assert run("catalog", "path", env=env).stdout.strip() == str(expected)
    run("catalog", "search", "--limit", "1", env=env)
    assert expected.is_file()
    env["EODKIT_CATALOG"] = str(tmp_path / "elsewhere.sqlite")
    assert run("catalog", "path", env=env).stdout.strip() == env["EODKIT_CATALOG"]
