"""Sampling at build time (recipe `sample`): chips are chosen per group
before any pixel is read. Counts per group are checked against a Python
computation over an unsampled build of the same recipe (its index.gpkg:
region tags, class histograms, chip centres) with the rules doc/recipe.md
gives (quotas, draws), never against numbers written here; the chosen chips
are the same for -j 1, -j 2, --part and mpirun; splits are made on the
sampled chips; the audit shows the groups before and after."""
import json
import math
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import EODKIT, SOURCE, Dataset, build, run, same_tree
from test_audit_html import Numbers, at, chromium, shown

BEN = "samples/bigearthnet/s2"
R_KM = 6378.137
M64 = (1 << 64) - 1


def world_recipe(demo, shared, sample="", split="{method: random, ratios: {train: 1.0}}",
                 regions="{field: subregion}"):
    """Real scenes of three continents on their UTM zones: Landsat-7 over
    Olinda (Brazil), the BigEarthNet Sentinel-2 patches (Ireland, Portugal,
    Finland) and the WorldView chip of Atlanta (USA), band 1 of each at 60 m
    in 8 x 8 chips."""
    files = [demo / "L7_ETMs.tif", shared / BEN / "*/*_B02.tif",
             shared / "optical/solaris/sample_geotiff.tif"]
    return f"""dataset: {{name: world}}
grid: {{crs: utm, resolution: 60, chip_size: 8}}
modalities:
  - name: image
    files: [{", ".join(f'"{f}"' for f in files)}]
    bands: [1]
    resampling: nearest
regions: {regions}
{sample}
split: {split}
"""


def olinda_recipe(demo, sample=""):
    """The Olinda scene with its census tracts as classes (classification)."""
    return f"""dataset: {{name: olinda-classes}}
grid: {{crs: EPSG:31985, resolution: 30, chip_size: 16}}
modalities: [{{name: optical, files: ["{demo}/L7_ETMs.tif"], bands: [1, 2, 3],
               resampling: bilinear}}]
labels: {{source: "{demo}/olinda1.shp", attribute: TIPO, classes: {{URBANO: 1, RURAL: 2}},
          task: classification}}
{sample}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def ben_recipe(shared, sample=""):
    return f"""dataset: {{name: ben-cells}}
grid: {{crs: utm, resolution: 10, chip_size: 20}}
modalities: [{{name: s2, files: ["{shared / BEN}/*/*_B02.tif"], resampling: nearest}}]
{sample}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


# ---- the rules of doc/recipe.md, in Python ----

def draw(seed, chip_id):
    """splitmix64 of the state seed ^ (chip_id * 0xd1b54a32d192ed03)."""
    z = ((seed ^ (chip_id * 0xD1B54A32D192ED03)) + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def quotas(n, max_per_group=None, total=None, allocation=None):
    """Chips per group for candidates N ({group: count}), as doc/recipe.md
    says: caps, then a total shared in proportion (or evenly), a group's
    share beyond its cap going to the others, round by round; whole chips
    by largest remainder, ties to more candidates, then group name."""
    cap = {g: min(c, max_per_group) if max_per_group else c for g, c in n.items()}
    if not total or total >= sum(cap.values()):
        return cap
    weight = {g: 1 if allocation == "equal" else c for g, c in n.items()}
    quota, active, rest = {}, set(n), total
    while True:
        w = sum(weight[g] for g in active)
        capped = [g for g in active if cap[g] * w <= rest * weight[g]]
        if not capped:
            break
        for g in capped:
            quota[g] = cap[g]
            active.remove(g)
        rest -= sum(cap[g] for g in capped)
    w = sum(weight[g] for g in active)
    for g in active:
        quota[g] = rest * weight[g] // w
    left = rest - sum(quota[g] for g in active)
    for g in sorted(active, key=lambda g: (-(rest * weight[g] % w), -n[g], g))[:left]:
        quota[g] += 1
    return quota


def chosen_ids(rows, group_of, seed, quota):
    """The chip ids of ROWS each group keeps: its QUOTA smallest draws."""
    by_group = {}
    for r in rows:
        by_group.setdefault(group_of(r), []).append(r["chip_id"])
    return {c for g, ids in by_group.items()
            for c in sorted(ids, key=lambda c: draw(seed, c))[:quota[g]]}


def majority_class(hist, background=0):
    """A chip's class: its most frequent labelled class (lowest id on ties),
    else the background."""
    counts = {int(k): v for k, v in json.loads(hist).items() if int(k) != background and v > 0}
    if not counts:
        return background
    return min(counts, key=lambda c: (-counts[c], c))


def majortom_cell(lon, lat, d):
    """Name of the Major TOM cell (spacing D km) holding LON, LAT
    (doc/format.md, Cell ids)."""
    rows = math.ceil(math.pi * R_KM / d)
    row = math.floor(lat / (180.0 / rows))
    n = max(math.ceil(2 * math.pi * R_KM * math.cos(row * (180.0 / rows) * math.pi / 180.0)
                      / d), 1)
    col = (math.floor(lon / (360.0 / n)) + n // 2) % n - n // 2
    return f"{abs(row)}{'U' if row >= 0 else 'D'}_{abs(col)}{'R' if col >= 0 else 'L'}"


# ---- the unsampled builds every count is computed from ----

@pytest.fixture(scope="module")
def world(tmp_path_factory, demo, shared):
    out, summary = build(world_recipe(demo, shared), tmp_path_factory.mktemp("world"))
    rows = Dataset(out).chips()
    assert summary["chips"] == summary["candidates"] == len(rows)  # nothing filtered
    # "none": chips mostly over the sea off Olinda (tags follow footprints)
    assert {r["continent"] for r in rows} - {"none"} == {"South America", "Europe",
                                                          "North America"}
    return rows


@pytest.fixture(scope="module")
def olinda(tmp_path_factory, demo):
    out, summary = build(olinda_recipe(demo), tmp_path_factory.mktemp("olinda"))
    rows = Dataset(out).chips()
    assert summary["chips"] == summary["candidates"] == len(rows)
    return rows


def sampled(tmp_path, text, *extra):
    out, summary = build(text, tmp_path, *extra)
    return Dataset(out), summary


def check_groups(ds, summary, reference, key, group_of, want):
    """The sampled dataset DS holds WANT[g] chips of each group g (by
    GROUP_OF over the index), exactly the chips of REFERENCE the draws
    choose, tagged as there; provenance, audit.json and the summary agree."""
    rows = ds.chips()
    seed = ds.provenance["sample"]["seed"]
    assert Counter(group_of(r) for r in rows) == +Counter(want)
    assert {r["chip_id"] for r in rows} == chosen_ids(reference, group_of, seed, want)
    before = {r["chip_id"]: r for r in reference}
    for r in rows:
        assert group_of(before[r["chip_id"]]) == group_of(r)
        assert r["geotransform"] == before[r["chip_id"]]["geotransform"]
    n = Counter(group_of(r) for r in reference)
    s = ds.provenance["sample"]
    assert s["by"] == key and s["candidates"] == len(reference)
    assert s["chosen"] == s["kept"] == len(rows) == summary["chips"]
    assert s["groups"] == {g: {"candidates": n[g], "chosen": want[g], "kept": want[g]}
                           for g in n}
    assert summary["sample"] == {"by": key, "candidates": len(reference),
                                 "chosen": len(rows)}
    assert summary["candidates"] == len(rows)  # the build's candidates are the sampled ones
    doc = json.loads((ds.path / "audit.json").read_text())["sample"]
    assert list(doc["groups"]) == sorted(n, key=lambda g: (-n[g], g))
    for g, e in doc["groups"].items():
        assert (e["candidates"], e["chosen"], e["kept"]) == (n[g], want[g], want[g])
        assert e["candidate_share"] == pytest.approx(n[g] / len(reference))
        assert e["chosen_share"] == pytest.approx(want[g] / len(rows))


REGION_KEYS = {"continent": "continent", "country": "country", "region": "region"}


@pytest.mark.parametrize("key", sorted(REGION_KEYS))
def test_max_per_group_by_region_tags(tmp_path, demo, shared, world, key):
    """by continent, country and region (here the layer's subregion): every
    group keeps min(its chips, max_per_group), the chips with the smallest
    draws."""
    def group_of(r):
        return r[REGION_KEYS[key]]

    ds, summary = sampled(tmp_path, world_recipe(
        demo, shared, f"sample: {{by: {key}, max_per_group: 20, seed: 11}}"))
    n = Counter(group_of(r) for r in world)
    assert len(n) >= 3 and max(n.values()) > 20 > min(n.values())
    check_groups(ds, summary, world, key, group_of, quotas(n, max_per_group=20))


@pytest.mark.parametrize("allocation,total,cap", [("proportional", 100, None),
                                                  ("equal", 100, None),
                                                  ("equal", 61, 15),
                                                  ("proportional", 50, 30)])
def test_total_allocation(tmp_path, demo, shared, world, allocation, total, cap):
    """total with proportional and equal allocation, with and without a cap:
    the quotas of doc/recipe.md, and exactly TOTAL chips."""
    def group_of(r):
        return r["country"]

    text = f"total: {total}, allocation: {allocation}" + (f", max_per_group: {cap}" if cap else "")
    ds, summary = sampled(tmp_path, world_recipe(demo, shared,
                                                 f"sample: {{by: country, {text}, seed: 2}}"))
    n = Counter(group_of(r) for r in world)
    want = quotas(n, cap, total, allocation)
    assert sum(want.values()) == total
    if allocation == "equal":  # evened out: a group short of its share gives way
        full = [q for g, q in want.items() if q < n[g] and q < (cap or total)]
        assert max(full) - min(full) <= 1
    check_groups(ds, summary, world, "country", group_of, want)


def test_by_class_from_the_labels(tmp_path, demo, olinda):
    """by class: a chip's class is its majority class (the label a
    classification chip gets), chips without labelled pixels the background."""
    def group_of(r):
        return str(majority_class(r["class_hist"]))

    ds, summary = sampled(tmp_path, olinda_recipe(demo, "sample: {by: class, max_per_group: 25, seed: 4}"))
    n = Counter(group_of(r) for r in olinda)
    assert set(n) == {"0", "1", "2"} and min(n.values()) > 25
    check_groups(ds, summary, olinda, "class", group_of, quotas(n, max_per_group=25))
    for r in ds.chips():  # the label array holds the class the chip was grouped by
        assert int(ds.chip(r, "label")) == majority_class(r["class_hist"])
    text = run("audit", ds.path).stdout
    assert "sample         by class: " in text and "URBANO " in text


def test_by_cell(tmp_path, shared):
    """by cell: Major TOM cells of cell_size km holding each chip's centre."""
    out, _ = build(ben_recipe(shared), tmp_path / "all")
    reference = Dataset(out).chips()

    def group_of(r):
        return majortom_cell(r["center_lon"], r["center_lat"], 0.5)

    ds, summary = sampled(tmp_path / "sampled", ben_recipe(
        shared, "sample: {by: cell, cell_size: 0.5, max_per_group: 3, seed: 9}"))
    n = Counter(group_of(r) for r in reference)
    assert len(n) > 20 and max(n.values()) > 3
    check_groups(ds, summary, reference, "cell", group_of, quotas(n, max_per_group=3))
    assert ds.provenance["sample"]["cell_size_km"] == 0.5


def test_another_seed_chooses_other_chips(tmp_path, demo, shared, world):
    chips = {}
    for seed in (1, 2):
        ds, _ = sampled(tmp_path / str(seed), world_recipe(
            demo, shared, f"sample: {{by: continent, max_per_group: 30, seed: {seed}}}"))
        chips[seed] = {r["chip_id"] for r in ds.chips()}
    assert len(chips[1]) == len(chips[2]) and chips[1] != chips[2]


SPLIT = """{method: regions, hold_out: {test: {continent: [South America]}},
        block_size: 960, buffer: 1, ratios: {train: 0.7, val: 0.3}}"""


def test_splits_are_made_on_the_sampled_chips(tmp_path, demo, shared, world):
    """Splits, hold-outs and guard bands see only the chosen chips: held-out
    chips all go to their split, the guard band drops only chosen chips, and
    provenance's kept counts are the index's."""
    ds, summary = sampled(tmp_path, world_recipe(
        demo, shared, "sample: {by: continent, max_per_group: 40, seed: 5}", SPLIT))
    rows = ds.chips()
    s, split = ds.provenance["sample"], ds.provenance["split"]
    assert {r["split"] for r in rows if r["continent"] == "South America"} == {"test"}
    assert {r["split"] for r in rows if r["continent"] != "South America"} <= {"train", "val"}
    assert sum(split["assigned"].values()) + split["guard_dropped"] == s["chosen"]
    assert summary["rejected"]["guard"] == split["guard_dropped"]
    kept = Counter(r["continent"] for r in rows)
    assert {g: e["kept"] for g, e in s["groups"].items()} == {g: kept[g] for g in s["groups"]}
    assert s["kept"] == len(rows) == s["chosen"] - split["guard_dropped"]


def test_random_split_ratios_apply_to_the_sampled_chips(tmp_path, demo, shared, world):
    ds, summary = sampled(tmp_path, world_recipe(
        demo, shared, "sample: {by: continent, max_per_group: 30, seed: 5}",
        "{method: random, ratios: {train: 0.5, test: 0.5}}"))
    chosen = ds.provenance["sample"]["chosen"]
    assert summary["splits"] == {"train": chosen // 2 + chosen % 2, "test": chosen // 2}


def test_same_chips_whatever_the_threads_parts_or_processes(tmp_path, demo, shared):
    """-j 1, -j 2, two --part builds merged and mpirun -n 2 write the same
    bytes."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(world_recipe(demo, shared,
                                   "sample: {by: country, total: 70, allocation: equal, seed: 8}",
                                   SPLIT))
    one, two, parts, mpi = (tmp_path / n for n in ("one", "two", "parts", "mpi"))
    run("build", recipe, "-o", one, "-j", "1")
    run("build", recipe, "-o", two, "-j", "2")
    for i in range(2):
        run("build", recipe, "-o", parts, "--part", f"{i}/2")
    run("merge", recipe, "-o", parts)
    mpirun = shutil.which("mpirun")
    assert mpirun, "OpenMPI is missing: scripts/setup-deps.sh test installs it"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # OpenMPI's plugins keep memory to the end (see test_scale.py)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    proc = subprocess.run([mpirun, "--oversubscribe", "-n", "2", EODKIT, "build", recipe,
                           "-o", mpi], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert Dataset(one).provenance["sample"]["chosen"] == 70
    for other in (two, parts, mpi):
        assert same_tree(one, other) > 5


def test_the_resolved_recipe_samples_the_same(tmp_path, demo, shared):
    ds, _ = sampled(tmp_path / "a", world_recipe(
        demo, shared, "sample: {by: country, total: 40, allocation: proportional, seed: 3}"))
    resolved = (ds.path / "recipe.yaml").read_text()
    assert "sample:" in resolved and 'allocation: "proportional"' in resolved
    again, _ = sampled(tmp_path / "b", resolved)
    assert [r["chip_id"] for r in again.chips()] == [r["chip_id"] for r in ds.chips()]


def test_the_report_shows_the_groups_before_and_after(tmp_path, demo, shared, world):
    """audit.html's sample section: every number is audit.json's, the page
    renders in Chromium without a console message; the text summary lists
    the largest groups before and after; the datasheet says it is a sample."""
    ds, _ = sampled(tmp_path, world_recipe(
        demo, shared, "sample: {by: continent, max_per_group: 30, seed: 6}"))
    doc = json.loads((ds.path / "audit.json").read_text())
    html = (ds.path / "audit.html").read_text()
    assert '<section id="sample">' in html and 'href="#sample"' in html
    parser = Numbers()
    parser.feed(html)
    keys = [k for k, _, _ in parser.found if k.startswith("/sample/")]
    for group in doc["sample"]["groups"]:
        for count in ("candidates", "chosen", "kept", "candidate_share", "chosen_share"):
            assert f"/sample/groups/{group}/{count}" in keys
    for k, fmt, text in parser.found:
        assert text == shown(at(doc, k), fmt), k
    _, console = chromium(ds.path / "audit.html", tmp_path, "--dump-dom")
    assert console == []
    n = Counter(r["continent"] for r in world)
    chosen = sum(min(c, 30) for c in n.values())
    groups = ", ".join(f"{g} {n[g]} -> {min(n[g], 30)}"
                       for g in sorted(n, key=lambda g: (-n[g], g)))
    text = run("audit", ds.path).stdout
    line = next(l for l in text.splitlines() if l.startswith("sample "))
    assert line == (f"sample         by continent: {len(world)} candidates -> {chosen} chosen "
                    f"-> {chosen} in the dataset, {len(n)} groups ({groups})")
    assert "No, a sample" in (ds.path / "datasheet.md").read_text()
    assert json.loads(run("audit", ds.path, "--json").stdout)["sample"]["chosen"] == chosen


def test_unsampled_audit_has_no_sample(tmp_path, demo_dataset):
    doc = json.loads((demo_dataset / "audit.json").read_text())
    assert doc["sample"] is None
    assert 'id="sample"' not in (demo_dataset / "audit.html").read_text()
    assert "sample" not in json.loads((demo_dataset / "provenance.json").read_text())


def test_recipe_page_example(tmp_path, demo, shared):
    """The sampled recipe of doc/recipe.md (its last) builds as the page says."""
    import re
    block = re.findall(r"```yaml\n(.*?)```", (SOURCE / "doc/recipe.md").read_text(), re.S)[-1]
    assert "sample:" in block
    data = tmp_path / "data"
    data.mkdir()
    for f in demo.iterdir():
        (data / f.name).symlink_to(f)
    (data / "bigearthnet").symlink_to(shared / "samples/bigearthnet")
    (data / "solaris").symlink_to(shared / "optical/solaris")
    (tmp_path / "sampled.yaml").write_text(block)
    summary = json.loads(run("build", tmp_path / "sampled.yaml", "-o", tmp_path / "out").stdout)
    ds = Dataset(tmp_path / "out")
    s = ds.provenance["sample"]
    assert summary["sample"]["chosen"] == s["chosen"] and s["by"] == "continent"
    assert {g: e["chosen"] for g, e in s["groups"].items()} == \
        {g: min(e["candidates"], 40) for g, e in s["groups"].items()}
    assert {r["split"] for r in ds.chips() if r["continent"] == "South America"} == {"test"}


@pytest.mark.parametrize("grid", ["{crs: utm, resolution: 10, chip_size: 20}",
                                  "{system: majortom, spacing: 1, resolution: 10, chip_size: 50}"])
def test_chosen_chips_hold_the_pixels_of_the_unsampled_build(tmp_path, shared, grid):
    """A chosen chip is the chip of the unsampled build: same id, window and
    pixels (on a lattice, and on the Major TOM grid, whose chips are listed
    one per work unit)."""
    text = ben_recipe(shared).replace("{crs: utm, resolution: 10, chip_size: 20}", grid)
    full, _ = build(text, tmp_path / "all")
    part, summary = build(ben_recipe(shared, "sample: {by: country, max_per_group: 4, seed: 1}")
                          .replace("{crs: utm, resolution: 10, chip_size: 20}", grid),
                          tmp_path / "sampled")
    full, part = Dataset(full), Dataset(part)
    before = {r["chip_id"]: r for r in full.chips()}
    rows = part.chips()
    assert 0 < len(rows) < len(before) and summary["sample"]["candidates"] == len(before)
    for r in rows:
        b = before[r["chip_id"]]
        assert (r["geotransform"], r.get("cell")) == (b["geotransform"], b.get("cell"))
        assert (part.chip(r, "s2") == full.chip(b, "s2")).all()
