"""Unlabelled datasets (a recipe without `labels:`, for self-supervised
pre-training) are first-class: the recipe of doc/recipe.md ("Unlabelled
recipes") builds from the BigEarthNet Sentinel-2 samples, and every
command and the Python reader say what matters about it and nothing about
labels it does not have: info says `labels none`, the audit measures the
nodata per split (equal to the nodata pixels of the shards), the
geography, the band histograms and the split sizes without class warnings,
the datasheet names pre-training as the use, eval and export refuse it
with a message, preview and mosaic work."""
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from conftest import SOURCE, Dataset, build, grid_window, run
from test_docs import docs_data, yaml_blocks
from test_stac import local_store, validate

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402
from eodkit.torch import ChipDataset  # noqa: E402

NAME = "bigearthnet-unlabelled"


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory, demo, shared):
    """The unlabelled recipe of doc/recipe.md built in a scratch folder with
    its data/: (dataset folder, build summary, recipe text)."""
    work = tmp_path_factory.mktemp("unlabelled")
    docs_data(work, demo, shared)
    recipe = next(b for b in yaml_blocks(SOURCE / "doc/recipe.md") if f"name: {NAME}" in b)
    assert "labels:" not in recipe
    (work / "recipe.yaml").write_text(recipe)
    summary = json.loads(run("build", work / "recipe.yaml").stdout)
    return work / "out" / NAME, summary, recipe


def nodata_shares(out, split):
    """Per chip of SPLIT (index order), the share of its pixels where any
    band holds the nodata value 0, from the .npy shards."""
    files = sorted((out / split).glob("s2-*.npy"))
    chips = np.concatenate([np.load(f) for f in files])
    return (chips == 0).any(axis=1).mean(axis=(1, 2))


def test_build_writes_images_only(unlabelled, shared):
    out, summary, _ = unlabelled
    ds = Dataset(out)
    assert summary["splits"]["train"] > 50 and summary["splits"]["val"] > 20
    assert summary["rejected"]["unlabeled"] == 0 and summary["audit"]["class_entropy"] is None
    assert summary["audit"]["warnings"] == []
    assert sorted(p.name for p in (out / "train").iterdir()) == ["s2-00000.npy"]
    assert "classes" not in ds.stats and "target" not in ds.stats
    assert [b["name"] for b in ds.stats["modalities"]["s2"]["bands"]] == \
        ["B02", "B03", "B04", "B08", "B11", "B12"]
    assert "eodkit:label" not in ds.collection
    assert not any("label" in url for url in ds.collection["stac_extensions"])
    assert validate(ds.collection, local_store(shared / "stac-schemas")) == 4
    rows = ds.chips()
    assert len(rows) == summary["chips"]
    assert {(r["labeled_frac"], r["class_hist"], r["label"]) for r in rows} == {(None, None, None)}
    assert {r["country"] for r in rows} == {"IRL", "PRT", "FIN"}


def test_info_says_there_are_no_labels(unlabelled):
    out, summary, _ = unlabelled
    text = run("info", out).stdout
    assert "\nlabels         none: images only (e.g. for self-supervised pre-training)\n" in text
    assert not re.search(r"^class ", text, re.M)
    assert re.search(rf"^train +{summary['splits']['train']} +1$", text, re.M)
    info = json.loads(run("info", out, "--json").stdout)
    assert info["label"] is None and "class_pixels" not in info


def test_audit_measures_nodata_per_split(unlabelled):
    """audit.json `nodata` equals the nodata pixels counted in the shards
    (and the index's nodata_frac): chips holding some, their mean share and
    the largest, per split and over all chips."""
    out, summary, _ = unlabelled
    doc = json.loads((out / "audit.json").read_text())
    index = Dataset(out).chips()
    everything = []
    for split, chips in summary["splits"].items():
        shares = nodata_shares(out, split)
        assert len(shares) == chips
        assert np.allclose(shares, [r["nodata_frac"] for r in index if r["split"] == split])
        got = doc["nodata"]["by_split"][split]
        assert got["chips"] == chips and got["with_nodata"] == int((shares > 0).sum())
        assert got["share"] == pytest.approx(shares.mean())
        assert got["max"] == pytest.approx(shares.max())
        everything.append(shares)
    shares = np.concatenate(everything)
    assert 0 < (shares > 0).sum() < len(shares) and shares.max() <= 0.25  # filters.max_nodata
    assert doc["nodata"]["chips"] == len(shares)
    assert doc["nodata"]["with_nodata"] == int((shares > 0).sum())
    assert doc["nodata"]["share"] == pytest.approx(shares.mean())
    assert doc["nodata"]["max"] == pytest.approx(shares.max())


class Cells(HTMLParser):
    """{data-k: text} of the numbers of the report's nodata section."""

    def __init__(self):
        super().__init__()
        self.cells, self.key, self.inside = {}, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.inside |= a.get("id") == "nodata"
        if self.inside and "data-k" in a:
            self.key = a["data-k"]
            self.cells[self.key] = ""

    def handle_endtag(self, tag):
        self.key = None
        self.inside &= tag != "section"

    def handle_data(self, data):
        if self.key is not None:
            self.cells[self.key] += data


def test_audit_shows_what_matters_for_pretraining(unlabelled):
    """Geography, split sizes, band histograms over the training chips and
    nodata (in the report too); no class section, no class warning; every
    chip weighs 1 by class, continents are evened out by weight_continent."""
    out, summary, _ = unlabelled
    proc = run("audit", out)
    assert proc.stderr == "" and "warning" not in proc.stdout
    assert "1 continent, 3 countries" in proc.stdout and "classes n/a" in proc.stdout
    doc = json.loads((out / "audit.json").read_text())
    assert doc["dataset"]["task"] is None and doc["classes"] is None
    assert doc["dataset"]["splits"] == summary["splits"] and doc["warnings"] == []
    countries = doc["geography"]["countries"]
    assert set(countries) == {"IRL", "PRT", "FIN"}
    assert sum(c["chips"] for c in countries.values()) == summary["chips"]
    assert doc["geography"]["continents"]["Europe"]["chips"] == summary["chips"]
    train = np.load(out / "train/s2-00000.npy")
    for k, band in enumerate(doc["bands"]["modalities"]["s2"]):
        values = train[:, k][train[:, k] != 0]
        assert band["count"] == sum(band["counts"]) == values.size
        assert (band["min"], band["max"]) == (values.min(), values.max())
    for split, groups in doc["weights"]["class"].items():
        assert groups == {"none": {"chips": summary["splits"][split], "weight": 1.0}}
    assert doc["weights"]["class_basis"].startswith("none (no labels)")
    page = Cells()
    page.feed((out / "audit.html").read_text())
    assert page.cells["/nodata/with_nodata"] == f"{doc['nodata']['with_nodata']:,}"
    for split in summary["splits"]:
        got = doc["nodata"]["by_split"][split]
        assert page.cells[f"/nodata/by_split/{split}/chips"] == str(got["chips"])
        assert page.cells[f"/nodata/by_split/{split}/share"] == f"{got['share'] * 100:.1f}%"
        assert page.cells[f"/nodata/by_split/{split}/max"] == f"{got['max'] * 100:.1f}%"


def test_datasheet_names_pretraining(unlabelled):
    out, _, _ = unlabelled
    sheet = (out / "datasheet.md").read_text()
    assert ("**What tasks could the dataset be used for?** It has no labels: "
            "self-supervised pre-training") in sheet
    assert "(no labels)" not in sheet and "labelled share" not in sheet
    assert "of the labels" not in sheet and "label quality" not in sheet
    nodata = json.loads((out / "audit.json").read_text())["nodata"]
    assert (f"hold the nodata value: {nodata['with_nodata']} of {nodata['chips']} chips hold "
            f"some, {nodata['share'] * 100:.1f}% of all pixels (at most "
            f"{nodata['max'] * 100:.1f}% of one chip)") in sheet
    assert "**Is there a label associated with each instance?** No" in sheet


def test_python_reader(unlabelled):
    out, summary, _ = unlabelled
    ds = eodkit.open(out)
    assert ds.label is None and ds.classes == {} and ds.splits == ["train", "val"]
    train = ds.split("train")
    assert train.arrays == ["s2"] and len(train) == summary["splits"]["train"]
    data = ChipDataset(train, normalize="meanstd")
    batch = data[[0, 1, 2]]
    assert "label" not in batch and batch["s2"].shape == (3, 6, 32, 32)
    z = ds.normalizer("s2", "meanstd")(train.read([0, 1, 2])["s2"])
    assert np.array_equal(batch["s2"].numpy(), z)
    assert np.all(train.weights("class") == 1)


def test_commands_that_need_labels_refuse(unlabelled, tmp_path):
    out, summary, recipe = unlabelled
    pred = tmp_path / "pred.npy"
    np.save(pred, np.zeros((summary["splits"]["val"], 32, 32), np.uint8))
    proc = run("eval", out, pred, "--split", "val", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"eodkit: error: {out}: the dataset has no class labels (task: none)\n"
    proc = run("export", "coco", out, "-o", tmp_path / "coco", check=False)
    assert proc.returncode == 2 and "has no objects (task: none)" in proc.stderr
    assert not (tmp_path / "coco").exists()
    for key, value, message in [("filters", "  min_labeled: 0.5", "the recipe has no labels"),
                                ("split", "  stratify: class", "needs labels")]:
        text = recipe.replace(f"\n{key}:\n", f"\n{key}:\n{value}\n")
        line = text.splitlines().index(value) + 1
        (tmp_path / "bad.yaml").write_text(text)
        proc = run("build", tmp_path / "bad.yaml", "-o", tmp_path / "bad", check=False)
        assert proc.returncode == 2 and not (tmp_path / "bad").exists()
        assert re.search(rf"bad\.yaml:{line}:\d+: .*{message}", proc.stderr), proc.stderr


def test_preview_and_mosaic(unlabelled, demo, tmp_path):
    """A contact sheet of the chips, and a mosaic of per-pixel predictions
    (from the chips themselves: red above its median) that holds each
    chip's prediction where the chip lies, on an unlabelled build of the
    demo scene (a mosaic of the BigEarthNet chips would span Ireland to
    Portugal)."""
    out, _, _ = unlabelled
    proc = run("preview", out, "-o", tmp_path / "sheet.png")
    assert "16 chips of split train" in proc.stdout and (tmp_path / "sheet.png").stat().st_size > 0
    scene, _ = build(f"""
dataset: {{name: olinda-images}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, files: ["{demo}/L7_ETMs.tif"], nodata: 0}}
split: {{method: blocks, block_size: 2736, buffer: 1, ratios: {{train: 0.6, test: 0.4}}, seed: 4}}
""", tmp_path / "olinda")
    test = eodkit.open(scene).split("test")
    red = test.read(slice(None))["optical"][:, 2]
    pred = (red > np.median(red)).astype(np.uint8)
    np.save(tmp_path / "pred.npy", pred)
    run("mosaic", scene, tmp_path / "pred.npy", "-o", tmp_path / "m.tif")
    with rasterio.open(tmp_path / "m.tif") as tif:
        assert tif.crs.to_epsg() == 31985
        for i in range(len(test)):
            col, line = grid_window(tif, test.row(i))
            assert np.array_equal(tif.read(1, window=Window(col, line, 32, 32)), pred[i]), i
    assert 0 < pred.mean() < 1 and len(test) > 10
