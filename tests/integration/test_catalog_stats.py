"""Catalog statistics: per task, platform, modality, continent and year the
count and share of datasets, the total and share of size (pixels) and of
volume (GB), median and maximum, and the FAIR completeness per field and per
dataset, all equal an independent computation over the shipped CSV; the SVG
charts are well-formed and show the groups."""
import csv
import json
import re
import statistics
import xml.etree.ElementTree as ET

import pytest

from conftest import SHARED, run

SHIPPED = SHARED / "catalog" / "eo-datasets.csv"
with open(SHIPPED, newline="", encoding="utf-8") as _f:
    ROWS = list(csv.DictReader(_f))
SVG = "{http://www.w3.org/2000/svg}"


def values(row, field):
    if field == "year":
        return [row["year"]] if row["year"] else []
    seen = []
    for v in (v.strip() for v in row[field].split(";")):
        if v and v.lower() not in (s.lower() for s in seen):
            seen.append(v)
    return seen


def expected_groups(field):
    """{value: (count, share, size, size share, volume GB, volume share,
    median size, max size, median volume, max volume)} and the number of
    datasets with a value."""
    having = [r for r in ROWS if values(r, field)]
    size_total = sum(int(r["size_measure_px"]) for r in having if r["size_measure_px"])
    volume_total = sum(float(r["volume_mb"]) / 1000 for r in having if r["volume_mb"])
    out = {}
    for value in {v for r in having for v in values(r, field)}:
        members = [r for r in having if value in values(r, field)]
        sizes = [int(r["size_measure_px"]) for r in members if r["size_measure_px"]]
        volumes = [float(r["volume_mb"]) / 1000 for r in members if r["volume_mb"]]
        out[value] = (len(members), len(members) / len(having), sum(sizes),
                      sum(sizes) / size_total, sum(volumes), sum(volumes) / volume_total,
                      statistics.median(sizes) if sizes else None, max(sizes, default=None),
                      statistics.median(volumes) if volumes else None,
                      max(volumes, default=None))
    return out, len(having)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "c.sqlite"
    run("catalog", "--db", path, "search", "--limit", "1")  # creates it
    return path


@pytest.mark.parametrize("field", ["task", "continent", "year", "platform", "modality"])
def test_groups_equal_python(db, field):
    stats = json.loads(run("catalog", "--db", db, "stats", "--by", field, "--json").stdout)
    expected, having = expected_groups(field)
    assert stats["datasets"] == len(ROWS) and stats["with_value"] == having
    got = {g["value"]: g for g in stats["groups"]}
    assert set(got) == set(expected)
    for value, e in expected.items():
        g = got[value]
        assert g["datasets"] == e[0], value
        assert g["share"] == pytest.approx(e[1], rel=1e-12)
        assert g["size_px"] == pytest.approx(e[2], rel=1e-12)
        assert g["size_share"] == pytest.approx(e[3], rel=1e-12)
        assert g["volume_gb"] == pytest.approx(e[4], rel=1e-12)
        assert g["volume_share"] == pytest.approx(e[5], rel=1e-12)
        for key, want in zip(["median_size_px", "max_size_px", "median_volume_gb",
                              "max_volume_gb"], e[6:]):
            assert g[key] == (None if want is None else pytest.approx(want, rel=1e-12)), key
    order = [g["value"] for g in stats["groups"]]
    if field == "year":
        assert order == sorted(order, key=int)
    else:
        assert order == sorted(order, key=lambda v: (-expected[v][0], v.lower()))


def test_review_headline_numbers(db):
    """The geographic bias the review reports shows in the shipped catalog:
    Europe and North America hold the most datasets with a known continent."""
    stats = json.loads(run("catalog", "--db", db, "stats", "--by", "continent", "--json").stdout)
    top = [g["value"] for g in stats["groups"][:2]]
    assert top == ["Europe", "North America"]


def has_doi(text):
    return re.search(r"(?<![0-9])10\.[0-9]{4,9}/", text) is not None


def fair_fields(row):
    return {"identifier": has_doi(row["url"]) or has_doi(row["notes"]),
            "licence": bool(row["license"]), "url": bool(row["url"]),
            "provenance": bool(row["provenance"]),
            "size": bool(row["size_measure_px"] or row["volume_mb"]),
            "location": bool(row["continent"] or row["region"])}


def test_fair_completeness(db):
    stats = json.loads(run("catalog", "--db", db, "stats", "--by", "task", "--json").stdout)
    flags = [fair_fields(r) for r in ROWS]
    for field, share in stats["fair"]["fields"].items():
        assert share == pytest.approx(sum(f[field] for f in flags) / len(ROWS)), field
    assert stats["fair"]["mean_score"] == pytest.approx(
        sum(sum(f.values()) / 6 for f in flags) / len(ROWS))
    assert 0 < stats["fair"]["fields"]["identifier"] < 0.1  # few DOIs in the lists

    per = json.loads(run("catalog", "--db", db, "stats", "--fair", "--json").stdout)["datasets"]
    assert len(per) == len(ROWS)
    for d, row, f in zip(per, ROWS, flags):
        assert d["id"] == row["id"]
        assert d["score"] == pytest.approx(sum(f.values()) / 6)
        assert d["missing"] == [k for k, v in f.items() if not v]


def test_csv_and_text_output(db):
    out = run("catalog", "--db", db, "stats", "--by", "task", "--csv").stdout
    table = list(csv.DictReader(out.splitlines()))
    expected, _ = expected_groups("task")
    assert {r["task"]: int(r["datasets"]) for r in table} == {v: e[0] for v, e in
                                                               expected.items()}
    text = run("catalog", "--db", db, "stats").stdout  # by year
    assert text.startswith(f"{len(ROWS)} datasets, ")
    assert "FAIR completeness" in text


def test_svg_charts(db, tmp_path):
    run("catalog", "--db", db, "stats", "--by", "continent", "--svg", tmp_path / "charts")
    names = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert names == ["continent.svg", "fair.svg", "growth-size.svg", "growth-volume.svg"]
    for name in names:
        root = ET.parse(tmp_path / "charts" / name).getroot()
        assert root.tag == SVG + "svg"
    texts = [t.text for t in ET.parse(tmp_path / "charts/continent.svg").iter(SVG + "text")]
    expected, _ = expected_groups("continent")
    assert set(expected) <= set(texts)
    # One point per year with a known size on each growth line (median, max).
    years = {r["year"] for r in ROWS if r["year"] and r["size_measure_px"]}
    points = list(ET.parse(tmp_path / "charts/growth-size.svg").iter(SVG + "circle"))
    assert len(points) == 2 * len(years)
