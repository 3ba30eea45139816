"""Leave-region-out, time and class-stratified splits: held-out regions
never reach train, time periods follow acquisition dates, stratified blocks
keep every split's class shares within the tolerance."""
import json

import numpy as np
import pytest

from conftest import SOURCE, Dataset, build, run

BEN = "samples/bigearthnet/s2"


def regions_recipe(shared, hold_out, extra=""):
    return f"""
dataset: {{name: ben-regions}}
grid: {{crs: utm, resolution: 10, chip_size: 60}}
modalities:
  - {{name: s2, files: ["{shared / BEN}/*/*_B02.tif"], resampling: nearest}}
{extra}
split:
  method: regions
  hold_out: {hold_out}
  ratios: {{train: 0.75, val: 0.25}}
  block_size: 1200
  buffer: 1
  seed: 4
"""


def test_held_out_country_never_reaches_train(tmp_path, shared):
    out, summary = build(regions_recipe(shared, "{test: {country: [FIN]}}"), tmp_path)
    rows = Dataset(out).chips()
    by_split = {}
    for row in rows:
        by_split.setdefault(row["split"], set()).add(row["country"])
    assert by_split["test"] == {"FIN"}
    assert "FIN" not in by_split["train"] | by_split.get("val", set())
    assert summary["splits"]["test"] == sum(r["country"] == "FIN" for r in rows) > 0


def test_held_out_region_of_another_field(tmp_path, shared):
    """With regions.field: subregion, Portugal (Southern Europe) is held out."""
    out, _ = build(regions_recipe(shared, "{test: {region: [Southern Europe]}}",
                                  "regions: {field: subregion}"), tmp_path)
    rows = Dataset(out).chips()
    assert {r["country"] for r in rows if r["split"] == "test"} == {"PRT"}
    assert all(r["region"] != "Southern Europe" for r in rows if r["split"] != "test")


def test_held_out_region_without_chips(tmp_path, shared):
    (tmp_path / "r.yaml").write_text(regions_recipe(shared, "{test: {continent: [Africa]}}"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "r.yaml:9:20: split.hold_out.test: no chip lies in continent Africa" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture
def strips(tmp_path, shared):
    """Three acquisitions of different 24-pixel strips of the Slovenian scene,
    as an archive of scenes taken at different places and dates."""
    import subprocess
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    for col, date in [(0, "20150711"), (24, "20160206"), (48, "20170317")]:
        subprocess.run(["gdal_translate", "-q", "-srcwin", str(col), "0", "24", "72",
                        str(source), str(tmp_path / f"slo_{date}.tif")], check=True)
    return tmp_path


def time_recipe(folder, periods):
    return f"""
dataset: {{name: slovenia-periods}}
grid: {{crs: {{like: s}}, chip_size: 24}}
modalities:
  - name: s
    files: ["{folder}/slo_*.tif"]
    time: {{mode: mosaic, pattern: "_([0-9]{{8}})[.]"}}
split: {{method: time, periods: {periods}}}
"""


def test_time_split_follows_acquisition_dates(strips):
    out, summary = build(time_recipe(strips, "{train: 2015-01-01, val: 2016-01-01, "
                                             "test: 2017-01-01}"), strips / "out")
    assert summary["splits"] == {"train": 3, "val": 3, "test": 3}
    for row in Dataset(out).chips():
        date = json.loads(row["datetimes"])["s"][-1]
        assert row["split"] == {"2015": "train", "2016": "val", "2017": "test"}[date[:4]]
        assert row["grid_x"] == {"2015": 0, "2016": 24, "2017": 48}[date[:4]]


def test_time_split_of_bigearthnet_patches(tmp_path, shared):
    """BigEarthNet patches carry their acquisition date in their names: the
    2018 ones (Finland, Ireland) go to test."""
    out, summary = build(f"""
dataset: {{name: ben-time}}
grid: {{crs: utm, resolution: 10, chip_size: 60}}
modalities:
  - name: s2
    files: ["{shared / BEN}/*/*_B02.tif"]
    resampling: nearest
    time: {{mode: mosaic, pattern: "_MSIL2A_([0-9]{{8}})T"}}
split: {{method: time, periods: {{train: 2017-01-01, test: 2018-01-01}}}}
""", tmp_path)
    rows = Dataset(out).chips()
    for row in rows:
        year = json.loads(row["datetimes"])["s2"][-1][:4]
        assert row["split"] == ("test" if year == "2018" else "train")
    assert {r["country"] for r in rows if r["split"] == "test"} == {"FIN", "IRL"}
    assert summary["splits"]["train"] > 0 and summary["splits"]["test"] > 0


def test_time_period_outside_the_data(strips):
    (strips / "r.yaml").write_text(time_recipe(strips, "{train: 2015-01-01, test: 2030-01-01}"))
    proc = run("build", strips / "r.yaml", "-o", strips / "out", check=False)
    assert proc.returncode == 2
    assert "split.periods.test: no chip falls in the period from 2030-01-01T00:00:00Z " \
           "(the acquisitions span 2015-07-11T00:00:00Z to 2017-03-17T00:00:00Z)" in proc.stderr
    assert not (strips / "out").exists()


def stratify_recipe(shared, extra):
    return f"""
dataset: {{name: slovenia-strata}}
grid: {{crs: {{like: l}}, chip_size: 8}}
modalities: [{{name: l, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels: {{source: {shared}/vector/eo-learn/LULC.gpkg, attribute: LULC_ID}}
split: {{method: blocks, block_size: 240, ratios: {{train: 0.6, val: 0.2, test: 0.2}},
        seed: 3 {extra}}}
"""


def class_deviation(ds):
    """Largest |share of a class in a split - its share overall|, labelled
    pixels only, from the label shards themselves."""
    splits = {s: ds.split_arrays(s, "label") for s in ds.collection["eodkit:splits"]}
    counts = {s: np.bincount(a.ravel(), minlength=9)[1:] for s, a in splits.items()}
    whole = sum(counts.values())
    whole = whole / whole.sum()
    return max(np.abs(c / c.sum() - whole).max() for c in counts.values())


def test_stratified_blocks_meet_the_tolerance(tmp_path, shared):
    out, _ = build(stratify_recipe(shared, ", stratify: class, tolerance: 0.02"),
                   tmp_path / "strat")
    plain, _ = build(stratify_recipe(shared, ""), tmp_path / "plain")
    assert class_deviation(Dataset(out)) <= 0.02 < class_deviation(Dataset(plain))
    assert Dataset(out).provenance["split"]["class_deviation"] <= 0.02
    # swapping blocks keeps every split near its ratio of the labelled pixels
    labelled = {s: np.count_nonzero(Dataset(out).split_arrays(s, "label"))
                for s in ("train", "val", "test")}
    total = sum(labelled.values())
    for split, ratio in {"train": 0.6, "val": 0.2, "test": 0.2}.items():
        assert abs(labelled[split] / total - ratio) < 0.1, labelled


def test_unreachable_tolerance_is_reported(tmp_path, shared):
    (tmp_path / "r.yaml").write_text(stratify_recipe(shared, ", stratify: class, tolerance: 0.0001")
                                     .replace("block_size: 240", "block_size: 1200"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "split.stratify: the best assignment of blocks found leaves a class share" in proc.stderr


def test_stratified_blocks_never_empty_a_split(tmp_path, demo):
    """On the small demo scene the unstratified seed-42 split puts no RURAL
    pixel in train; stratifying must fix that without emptying a split."""
    text = (SOURCE / "examples" / "olinda.yaml").read_text().replace("data/", f"{demo}/")
    text = text.replace("seed: 4 ", "seed: 42\n  stratify: class\n  tolerance: 0.2\n  #")
    out, summary = build(text, tmp_path)
    assert all(n > 0 for n in summary["splits"].values()), summary["splits"]
    ds = Dataset(out)
    for split in summary["splits"]:
        classes = np.bincount(ds.split_arrays(split, "label").ravel(), minlength=3)
        assert classes[1] > 0 and classes[2] > 0, (split, classes)
    assert summary["audit"]["warnings"] == []
