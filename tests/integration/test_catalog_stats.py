"""Catalog statistics: per task, platform, modality, continent and year, and
per combination of tasks, platforms and modalities (each dataset once, as
the review counts), the count and share of datasets, the total and share of
size (pixels) and of volume (GB), median and maximum, and the FAIR
completeness per field and per dataset, all equal an independent
computation over the shipped CSV; the review's shares of total size by task
are reproduced; the SVG charts are well-formed and show the groups."""
import csv
import json
import re
import statistics
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from conftest import SHARED, SOURCE, run

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


def combination(row, field):
    """The values of FIELD sorted without case and joined by " + "; None
    when the dataset has none."""
    return " + ".join(sorted(values(row, field), key=str.lower)) or None


@pytest.mark.parametrize("field", ["task", "platform", "modality"])
def test_combination_groups_equal_python(db, field):
    """Each dataset is in exactly one group; shares are of all datasets and
    each share column adds up to 1."""
    stats = json.loads(run("catalog", "--db", db, "stats", "--by", f"{field}-combination",
                           "--json").stdout)
    assert stats["by"] == f"{field}-combination" and stats["partition"] is True
    assert stats["datasets"] == stats["shares_of"] == len(ROWS)
    assert stats["with_value"] == sum(1 for r in ROWS if values(r, field))
    size_total = sum(int(r["size_measure_px"]) for r in ROWS if r["size_measure_px"])
    volume_total = sum(float(r["volume_mb"]) / 1000 for r in ROWS if r["volume_mb"])
    expected = {}
    for r in ROWS:
        expected.setdefault(combination(r, field), []).append(r)
    got = {g["value"]: g for g in stats["groups"]}
    assert set(got) == set(expected)
    for value, members in expected.items():
        g = got[value]
        sizes = [int(r["size_measure_px"]) for r in members if r["size_measure_px"]]
        volumes = [float(r["volume_mb"]) / 1000 for r in members if r["volume_mb"]]
        assert g["datasets"] == len(members), value
        assert g["share"] == pytest.approx(len(members) / len(ROWS), rel=1e-12)
        assert g["size_px"] == pytest.approx(sum(sizes), rel=1e-12)
        assert g["size_share"] == pytest.approx(sum(sizes) / size_total, rel=1e-12)
        assert g["volume_share"] == pytest.approx(sum(volumes) / volume_total, rel=1e-12)
        assert g["max_size_px"] == (max(sizes) if sizes else None)
    for key in ["share", "size_share", "volume_share"]:
        assert sum(g[key] for g in stats["groups"]) == pytest.approx(1, rel=1e-12), key
    # Most datasets first, by name on ties; the datasets without a value last.
    order = [g["value"] for g in stats["groups"]]
    assert order[-1] is None
    assert order[:-1] == sorted(order[:-1], key=lambda v: (-len(expected[v]), v.lower()))
    # The source's order of the values does not matter: "semantic
    # segmentation;classification" is in the group of the reverse order.
    if field == "task":
        both = [r["id"] for r in ROWS
                if set(values(r, "task")) == {"classification", "semantic segmentation"}]
        assert {r["task"] for r in ROWS if r["id"] in both} == {
            "classification;semantic segmentation", "semantic segmentation;classification"}
        assert got["classification + semantic segmentation"]["datasets"] == len(both)


def test_review_task_shares_of_size(db):
    """The review's notebook counts a dataset under its task combination and
    divides by the total size: object detection 34.94%, classification
    32.06%, other 20.64%. pandas computes them from the CSV independently,
    and `stats --by task-combination` prints the same."""
    published = {"object detection": 34.94, "classification": 32.06, "other": 20.64}
    df = pd.read_csv(SHIPPED, dtype=str, keep_default_na=False)
    df["size"] = pd.to_numeric(df["size_measure_px"])
    df["combination"] = df["task"].map(
        lambda t: "/".join(sorted({v.strip() for v in t.split(";") if v.strip()})))
    by_pandas = (100 * df.groupby("combination")["size"].sum() / df["size"].sum()).round(2)
    assert {k: by_pandas[k] for k in published} == published
    assert by_pandas.sum() == pytest.approx(100, abs=0.05)

    stats = json.loads(run("catalog", "--db", db, "stats", "--by", "task-combination",
                           "--json").stdout)
    got = {g["value"]: round(100 * g["size_share"], 2) for g in stats["groups"]}
    assert {k: got[k] for k in published} == published
    # Per task, the same datasets hold other shares that add up past 100%.
    per_task = json.loads(run("catalog", "--db", db, "stats", "--by", "task",
                              "--json").stdout)
    assert sum(g["size_share"] for g in per_task["groups"]) > 1.01

    text = run("catalog", "--db", db, "stats", "--by", "task-combination").stdout
    assert text.startswith(f"{len(ROWS)} datasets, each counted once under the combination "
                           "of its tasks")
    lines = {re.split(r"\s{2,}", line)[0]: line for line in text.splitlines()}
    for task, share in published.items():
        assert f" {share:.2f}% " in lines[task], lines[task]
    assert "(unknown)" in lines


def test_doc_says_which_sums_to_100(db):
    """doc/catalog.md gives the sums of the per-task shares and the review's
    figures, doc/cmd/catalog.md the figures; they are what `stats`
    computes."""
    doc = " ".join((SOURCE / "doc/catalog.md").read_text().split())
    per_task = json.loads(run("catalog", "--db", db, "stats", "--by", "task",
                              "--json").stdout)
    datasets = 100 * sum(g["share"] for g in per_task["groups"])
    size = 100 * sum(g["size_share"] for g in per_task["groups"])
    assert f"{datasets:.2f}% of the datasets" in doc
    assert f"{size:.2f}% of the size" in doc
    combos = json.loads(run("catalog", "--db", db, "stats", "--by", "task-combination",
                            "--json").stdout)
    share = {g["value"]: 100 * g["size_share"] for g in combos["groups"]}
    assert (f"object detection holds {share['object detection']:.2f}% of the total size, "
            f"classification {share['classification']:.2f}% and other (the lists' own task "
            f"\"other\") {share['other']:.2f}%") in doc
    page = " ".join((SOURCE / "doc/cmd/catalog.md").read_text().split())
    assert (f"object detection {share['object detection']:.2f}%, classification "
            f"{share['classification']:.2f}%, other {share['other']:.2f}%, are those of "
            "`stats --by task-combination`") in page


def test_combination_csv_and_charts(db, tmp_path):
    out = run("catalog", "--db", db, "stats", "--by", "modality-combination", "--csv").stdout
    table = list(csv.DictReader(out.splitlines()))
    expected = {}
    for r in ROWS:
        key = combination(r, "modality") or ""
        expected[key] = expected.get(key, 0) + 1
    assert {r["modality-combination"]: int(r["datasets"]) for r in table} == expected
    assert table[-1]["modality-combination"] == ""  # the datasets without a modality

    run("catalog", "--db", db, "stats", "--by", "platform-combination", "--svg",
        tmp_path / "charts")
    texts = [t.text for t in
             ET.parse(tmp_path / "charts/platform-combination.svg").iter(SVG + "text")]
    assert "aerial + satellite" in texts and "(unknown)" in texts


def test_bad_grouping(db):
    proc = run("catalog", "--db", db, "stats", "--by", "task-combinations", check=False)
    assert proc.returncode == 1
    assert "cannot group by 'task-combinations'" in proc.stderr
    assert "task-combination, platform-combination, modality-combination" in proc.stderr
