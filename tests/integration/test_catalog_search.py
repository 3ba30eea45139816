"""Catalog search: every filter, the free text, sorting, paging and the facet
counts equal an independent computation over the shipped CSV with Python's
csv module."""
import csv
import json
import re

import pytest

from conftest import SHARED, run

SHIPPED = SHARED / "catalog" / "eo-datasets.csv"
with open(SHIPPED, newline="", encoding="utf-8") as _f:
    ROWS = list(csv.DictReader(_f))


def values(row, field):
    """The ';'-separated values of FIELD, trimmed."""
    return [v.strip() for v in row[field].split(";") if v.strip()]


def distinct(field):
    return sorted({v for r in ROWS for v in values(r, field)})


def ids(rows):
    return sorted(r["id"] for r in rows)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "c.sqlite"
    run("catalog", "--db", path, "search", "--limit", "1")  # creates it
    return path


def search(db, *args):
    result = json.loads(run("catalog", "--db", db, "search", "--json", *args).stdout)
    assert result["total"] == len(result["datasets"]) or "--limit" in args
    return result


def found(db, *args):
    return sorted(d["id"] for d in search(db, *args)["datasets"])


@pytest.mark.parametrize("field", ["task", "platform", "modality", "continent"])
def test_list_filters(db, field):
    for value in distinct(field):
        expected = ids(r for r in ROWS if value.lower() in (v.lower() for v in values(r, field)))
        assert found(db, f"--{field}", value) == expected, value
        assert found(db, f"--{field}", value.upper()) == expected, value


def test_sensor_substring(db):
    for text in ["sentinel", "WorldView", "google", "-2", "landsat 8"]:
        expected = ids(r for r in ROWS if text.lower() in r["sensor"].lower())
        assert found(db, "--sensor", text) == expected, text


def test_license(db):
    for value in distinct("license"):
        expected = ids(r for r in ROWS if r["license"].lower() == value.lower())
        assert found(db, "--license", value) == expected, value


@pytest.mark.parametrize("low, high", [(2018, 2020), (None, 2015), (2021, None), (2019, 2019)])
def test_year_range(db, low, high):
    args = (["--year-from", str(low)] if low else []) + (["--year-to", str(high)] if high else [])
    expected = ids(r for r in ROWS if r["year"] and (low is None or int(r["year"]) >= low)
                   and (high is None or int(r["year"]) <= high))
    assert found(db, *args) == expected


@pytest.mark.parametrize("n", [1, 10000, 1000000])
def test_min_images(db, n):
    expected = ids(r for r in ROWS if r["num_images"] and int(r["num_images"]) >= n)
    assert found(db, "--min-images", str(n)) == expected


def words_match(row, query):
    """Every query word begins a word of the name, aliases, sensor or region
    (words as SQLite's unicode61 tokenizer splits them, for ASCII queries)."""
    text = " ".join(row[f] for f in ("name", "aliases", "sensor", "region"))
    tokens = [t.lower() for t in re.findall(r"[^\W_]+", text)]
    return all(any(t.startswith(w.lower()) for t in tokens)
               for w in re.findall(r"[A-Za-z0-9]+", query))


@pytest.mark.parametrize("query", ["sentinel", "build", "land cover", "SpaceNet 2", "urban",
                                   "sen12", "Google Earth", "aerial scene"])
def test_free_text(db, query):
    expected = ids(r for r in ROWS if words_match(r, query))
    assert expected, query  # the queries are chosen to find something
    assert found(db, *query.split()) == expected


def test_filters_combine(db):
    expected = ids(r for r in ROWS
                   if "satellite" in values(r, "platform")
                   and "semantic segmentation" in values(r, "task")
                   and r["year"] and int(r["year"]) >= 2019)
    assert found(db, "--platform", "satellite", "--task", "semantic segmentation",
                 "--year-from", "2019") == expected


def nocase(name):
    """SQLite's NOCASE: ASCII letters folded, the rest compared as is."""
    return "".join(c.lower() if c < "\x80" else c for c in name)


def test_sort_and_pages(db):
    result = search(db, "--sort", "size", "--desc")
    known = [r for r in ROWS if r["size_measure_px"]]
    unknown = [r for r in ROWS if not r["size_measure_px"]]
    expected = sorted(known, key=lambda r: (-int(r["size_measure_px"]), nocase(r["name"]),
                                            int(r["id"])))
    expected += sorted(unknown, key=lambda r: (nocase(r["name"]), int(r["id"])))
    assert [d["id"] for d in result["datasets"]] == [r["id"] for r in expected]

    pages = []
    for offset in range(0, len(ROWS), 100):
        page = search(db, "--sort", "size", "--desc", "--limit", "100", "--offset", str(offset))
        assert page["total"] == len(ROWS)
        pages += [d["id"] for d in page["datasets"]]
    assert pages == [r["id"] for r in expected]


def with_task(*tasks):
    return ids(r for r in ROWS if set(tasks) & set(values(r, "task")))


SEGMENTATION = ("semantic segmentation", "instance segmentation")


@pytest.mark.parametrize("query, tasks", [
    # A generic word finds every task it ends or begins a word of.
    ("segmentation", SEGMENTATION), ("Segmentation", SEGMENTATION), ("seg", SEGMENTATION),
    ("sem", ("semantic segmentation",)), ("instance", ("instance segmentation",)),
    ("object", ("object detection",)), ("change", ("change detection",)),
    ("class", ("classification",)), ("series", ("time series",)),
    ("super res", ("super-resolution",)), ("resolution", ("super-resolution",)),
    ("captioning", ("image captioning",)),
    # The table of other names: exactly the one task.
    ("OD", ("object detection",)), ("detection", ("object detection",)),
    ("od", ("object detection",)), ("CD", ("change detection",)),
    ("SS", ("semantic segmentation",)), ("SemSeg", ("semantic segmentation",)),
    ("InstSeg", ("instance segmentation",)), ("scene classification", ("classification",)),
    ("multilabel", ("classification",)), ("SR", ("super-resolution",)),
])
def test_task_synonyms_and_prefixes(db, query, tasks):
    expected = with_task(*tasks)
    assert expected, query  # every query finds something in the shipped catalog
    assert found(db, "--task", query) == expected, query


def test_task_words_are_literal(db):
    """The user's % and _ are no wildcards, and a word must begin a word."""
    for query in ["%", "_", "%segmentation", "egmentation", "detect ion"]:
        assert found(db, "--task", query) == [], query


def test_facets_of_a_task_prefix(db):
    """--task segmentation: the facets count the datasets found, per value."""
    result = search(db, "--task", "segmentation")
    matching = [r for r in ROWS if set(SEGMENTATION) & set(values(r, "task"))]
    assert result["total"] == len(matching) > 0
    for field in ["task", "platform", "modality", "continent"]:
        counts = {}
        for r in matching:
            for v in values(r, field):
                counts[v] = counts.get(v, 0) + 1
        assert {v: n for v, n in result["facets"][field]} == counts, field


def test_facets_count_as_stats_does(db):
    """Without a filter the facets are the group counts of `stats --by`."""
    facets = search(db)["facets"]
    for field in ["task", "platform", "modality", "continent"]:
        stats = json.loads(run("catalog", "--db", db, "stats", "--by", field,
                               "--json").stdout)
        assert dict(facets[field]) == {g["value"]: g["datasets"] for g in stats["groups"]}


def test_facets_count_the_results(db):
    result = search(db, "--platform", "satellite")
    matching = [r for r in ROWS if "satellite" in values(r, "platform")]
    for field in ["task", "modality", "continent"]:
        counts = {}
        for r in matching:
            for v in values(r, field):
                counts[v] = counts.get(v, 0) + 1
        assert {v: n for v, n in result["facets"][field]} == counts, field


def test_csv_output_and_show(db):
    proc = run("catalog", "--db", db, "search", "--csv", "--continent", "Africa")
    got = list(csv.DictReader(proc.stdout.splitlines()))
    assert got == [r for r in sorted(ROWS, key=lambda r: nocase(r["name"]))
                   if "Africa" in values(r, "continent")]

    row = next(r for r in ROWS if r["name"] == "BigEarthNet")
    d = json.loads(run("catalog", "--db", db, "show", "bigearthnet", "--json").stdout)
    assert d["id"] == row["id"] and d["year"] == int(row["year"])
    assert d["modality"] == values(row, "modality")
    assert d["volume_mb"] == float(row["volume_mb"])
    assert d["notes"] == row["notes"]
    assert d["fair"]["missing"] == ["identifier"]

    text = run("catalog", "--db", db, "search", "--task", "regression").stdout
    n = sum("regression" in values(r, "task") for r in ROWS)
    assert text.splitlines()[-1] == f"{n} of {n} matching datasets"


def test_bad_search_options(db):
    for args, message in [(["--sort", "colour"], "unknown sort key 'colour'"),
                          (["--year-from", "20x0"], "--year-from wants a whole number"),
                          (["--by", "task"], "unknown option '--by' for search")]:
        proc = run("catalog", "--db", db, "search", *args, check=False)
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    proc = run("catalog", "--db", db, "show", "No Such Dataset", check=False)
    assert proc.returncode == 2 and "no dataset with id or name 'No Such Dataset'" in proc.stderr
