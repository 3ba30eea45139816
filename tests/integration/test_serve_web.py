"""The catalog's web pages in a real browser: tests/web/catalog_web.mjs drives
Debian's Chromium with playwright-core (installed from npm into
tests/web/node_modules by `npm ci` on first use) against `eodkit serve`:
search, a facet, a dataset page, the statistics charts and the map, with no
console error. tests/web/catalog_facets.mjs reads the facets and the
statistics table off the pages, which must show what the command line
computes and what Python counts in the shipped CSV."""
import csv
import json
import shutil
import subprocess
import urllib.parse

import pytest

from conftest import SHARED, SOURCE, build, npm_package, run
from test_catalog_register import RECIPE
from test_serve import Server

WEB = SOURCE / "tests" / "web"


def ensure_playwright():
    npm_package(WEB, "playwright-core")


def ensure_browser():
    assert shutil.which("node") and shutil.which("/usr/bin/chromium"), \
        "node and chromium are needed: run scripts/setup-deps.sh test"
    ensure_playwright()


def test_pages_in_chromium(tmp_path):
    ensure_browser()
    db = tmp_path / "c.sqlite"
    run("catalog", "--db", db, "import",
        SHARED / "stac-schemas/stac-spec-v1.0.0/examples/collection.json")
    atlanta, _ = build(RECIPE.format(shared=SHARED), tmp_path / "atlanta", "--regions",
                       SHARED / "boundaries/spData/world.gpkg")
    run("catalog", "--db", db, "register", atlanta)
    with Server(db, "--regions", SHARED / "boundaries/spData/world.gpkg") as server:
        proc = subprocess.run(["node", WEB / "catalog_web.mjs", f"http://127.0.0.1:{server.port}"],
                              capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "web pages ok" in proc.stdout


FACETS = ["task", "platform", "modality", "continent"]
with open(SHARED / "catalog" / "eo-datasets.csv", newline="", encoding="utf-8") as _f:
    ROWS = list(csv.DictReader(_f))


def values(row, field):
    return [v.strip() for v in row[field].split(";") if v.strip()]


def counts(rows, field):
    out = {}
    for r in rows:
        for v in values(r, field):
            out[v] = out.get(v, 0) + 1
    return out


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """What the pages show over the shipped catalog, with the CLI's answers
    for the same questions: ({query: (page, cli)}, {by: (page, cli)})."""
    ensure_browser()
    db = tmp_path_factory.mktemp("facets") / "c.sqlite"
    run("catalog", "--db", db, "search", "--limit", "1")  # creates it
    queries = {"": [], "task=segmentation": ["--task", "segmentation"],
               "task=OD&platform=satellite": ["--task", "OD", "--platform", "satellite"],
               "platform=aerial": ["--platform", "aerial"]}
    groupings = ["task-combination", "task", "modality-combination"]
    with Server(db) as server:
        proc = subprocess.run(["node", WEB / "catalog_facets.mjs",
                               f"http://127.0.0.1:{server.port}", *queries,
                               *(f"stats:{by}" for by in groupings)],
                              capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    page = json.loads(proc.stdout)
    search = {q: (page["search"][q],
                  json.loads(run("catalog", "--db", db, "search", "--json", *args).stdout))
              for q, args in queries.items()}
    stats = {by: (page["stats"][by],
                  json.loads(run("catalog", "--db", db, "stats", "--by", by, "--json").stdout))
             for by in groupings}
    return search, stats


def test_search_facets_agree_with_cli(shown):
    """Each facet button shows the value and count of `catalog search --json`
    (the active one marked); a filter that is no value itself (the task
    prefix "segmentation", the synonym "OD") is shown first with the
    datasets it found."""
    search, _ = shown
    for query, (page, cli) in search.items():
        assert page["total"] == cli["total"], query
        params = dict(urllib.parse.parse_qsl(query))
        for name in FACETS:
            active = params.get(name)
            expected = [[v, n, active is not None and v.lower() == active.lower()]
                        for v, n in cli["facets"][name]]
            if active and not any(v.lower() == active.lower() for v, _ in cli["facets"][name]):
                expected.insert(0, [active, cli["total"], True])
            assert page["facets"].get(name, []) == expected, (query, name)


def test_search_facets_equal_python(shown):
    """The counts the page shows equal an independent count over the CSV:
    "segmentation" finds the semantic and instance segmentation datasets,
    "OD" the object detection ones."""
    search, _ = shown
    found = {
        "": ROWS,
        "task=segmentation": [r for r in ROWS if {"semantic segmentation",
                                                  "instance segmentation"} & set(values(r, "task"))],
        "task=OD&platform=satellite": [r for r in ROWS if "object detection" in values(r, "task")
                                       and "satellite" in values(r, "platform")],
        "platform=aerial": [r for r in ROWS if "aerial" in values(r, "platform")],
    }
    for query, rows in found.items():
        page, _ = search[query]
        assert page["total"] == len(rows) > 0, query
        for name in FACETS:
            got = {v: n for v, n, active in page["facets"].get(name, [])
                   if not (active and v not in counts(rows, name))}
            assert got == counts(rows, name), (query, name)


def test_stats_page_agrees_with_cli(shown):
    """The statistics table shows `catalog stats --json`, per task
    combination too, with the review's shares of size; the chart's group
    names, long as combinations are, are drawn whole."""
    _, stats = shown
    for by, (page, cli) in stats.items():
        assert page["chart_left"] >= 0, by
        assert [row[0] for row in page["rows"]] == [
            g["value"] if g["value"] is not None else "(unknown)" for g in cli["groups"]], by
        for row, g in zip(page["rows"], cli["groups"]):
            assert row[1] == str(g["datasets"])
            assert row[2] == f"{100 * g['share']:.2f} %"
            assert row[4] == ("" if g["size_share"] is None else f"{100 * g['size_share']:.2f} %")
            assert row[6] == ("" if g["volume_share"] is None
                              else f"{100 * g['volume_share']:.2f} %")
    page, cli = stats["task-combination"]
    sizes = {row[0]: row[4] for row in page["rows"]}
    assert [sizes["object detection"], sizes["classification"], sizes["other"]] == [
        "34.94 %", "32.06 %", "20.64 %"]
    assert "add up to 100 %" in page["summary"]
    assert "counts in each group" in stats["task"][0]["summary"]
