"""`eodkit preview` (doc/cmd/preview.md): the PNG decodes (GDAL's PNG
driver) at the size the summary gives and is not uniform; each chip's tile
is its bands stretched as NumPy computes it from the shards and stats.json,
enlarged; the label overlay is the documented blend; chip-level labels get
a bar in their class's colour; bad input gets one line and leaves an
earlier sheet alone; the page's examples run."""
import json
import re

import numpy as np
import pytest
from osgeo import gdal

from conftest import (SOURCE, Dataset, build, demo_workdir, help_text, run,
                      run_page_examples)
from test_tasks import RECIPE as TASKS_RECIPE

PAGE = SOURCE / "doc/cmd/preview.md"
PALETTE = [(78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79)]


@pytest.fixture(scope="module")
def olinda(demo_dataset):
    return Dataset(demo_dataset)


def preview(ds, out, *args):
    return json.loads(run("preview", ds.path, "-o", out, "--json", *args).stdout)


def read_png(path):
    png = gdal.Open(str(path))
    assert png.GetDriver().ShortName == "PNG"
    return png.ReadAsArray().transpose(1, 2, 0)


def stretched(ds, row, bands, modality):
    """The chip's bands as the page says: 2-98 percentile stretch from
    stats.json, rounded half up, nodata black; then enlarged."""
    chip = ds.chip(row, modality).astype(float)
    meta = next(m for m in ds.collection["eodkit:modalities"] if m["name"] == modality)
    stats = ds.stats["modalities"][modality]["bands"]
    planes = []
    for b in bands:
        lo, hi = stats[b]["percentiles"]["2"], stats[b]["percentiles"]["98"]
        planes.append(np.floor(255 * np.clip((chip[b] - lo) / (hi - lo), 0, 1) + 0.5))
    rgb = np.stack(planes if len(planes) == 3 else planes * 3, axis=-1)
    rgb[(chip[bands] == meta["nodata"]).any(0)] = 0
    scale = 128 // max(chip.shape[1:])
    return np.repeat(np.repeat(rgb.astype(np.uint8), scale, 0), scale, 1)


def test_sheet_shows_the_chips(olinda, tmp_path):
    out = tmp_path / "sheet.png"
    summary = preview(olinda, out, "--split", "test", "-n", "5")
    img = read_png(out)
    assert img.shape == (summary["height"], summary["width"], 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 100
    assert summary["bands"] == ["red", "green", "blue"] and summary["scale"] == 4
    assert (summary["columns"], summary["rows"]) == (3, 2)
    rows = olinda.chips("split = 'test'")
    picked = [rows[i * len(rows) // 5] for i in range(5)]
    assert [c["chip_id"] for c in summary["chips"]] == [r["chip_id"] for r in picked]
    overlaid = 0
    for chip, row in zip(summary["chips"], picked):
        want = stretched(olinda, row, [2, 1, 0], "optical")
        x, y, ox = chip["x"], chip["y"], chip["overlay_x"]
        assert np.array_equal(img[y:y + 128, x:x + 128], want)
        # the overlay: half class colour, half image; background untouched
        label = np.repeat(np.repeat(olinda.chip(row, "label"), 4, 0), 4, 1)
        blend = want.astype(int)
        for k in (1, 2):
            blend[label == k] = (blend[label == k] + PALETTE[k - 1]) // 2
        assert np.array_equal(img[y:y + 128, ox:ox + 128], blend)
        overlaid += (label > 0).sum()
    assert overlaid > 0
    # the legend swatches: URBANO's colour below the cells
    legend = img[summary["legend_y"]:]
    assert (legend == PALETTE[0]).all(-1).sum() >= 64


def test_band_choice(olinda, tmp_path):
    summary = preview(olinda, tmp_path / "nir.png", "--bands", "4", "-n", "4")
    img = read_png(tmp_path / "nir.png")
    chip = summary["chips"][1]
    row = olinda.chips("split = 'train'")[6]
    assert summary["bands"] == ["nir"] and chip["chip_id"] == row["chip_id"]
    tile = img[chip["y"]:chip["y"] + 128, chip["x"]:chip["x"] + 128]
    assert np.array_equal(tile, stretched(olinda, row, [3], "optical"))
    summary = preview(olinda, tmp_path / "false.png", "--bands", "nir,Red,green", "-n", "1")
    assert summary["bands"] == ["nir", "red", "green"]
    chip, row = summary["chips"][0], olinda.chips("split = 'train'")[0]
    tile = read_png(tmp_path / "false.png")[chip["y"]:chip["y"] + 128, chip["x"]:chip["x"] + 128]
    assert np.array_equal(tile, stretched(olinda, row, [3, 2, 1], "optical"))


def test_chip_labels_get_a_bar(tmp_path, shared):
    out, _ = build(TASKS_RECIPE.format(shared=shared, task="classification", extra=""),
                   tmp_path / "cls")
    ds = Dataset(out)
    summary = preview(ds, tmp_path / "cls.png", "-n", "9")
    img = read_png(tmp_path / "cls.png")
    rows = ds.chips("split = 'train'")
    assert summary["chips"][0]["overlay_x"] is None and summary["scale"] == 10
    seen = set()
    for chip in summary["chips"]:
        row = next(r for r in rows if r["chip_id"] == chip["chip_id"])
        bar = img[chip["y"] + 120 + 2:chip["y"] + 120 + 8, chip["x"]:chip["x"] + 120]
        colour = PALETTE[row["label"] - 1] if row["label"] else (0, 0, 0)
        assert (bar == colour).all(), row["label"]
        seen.add(row["label"])
    assert len(seen) >= 2


@pytest.mark.parametrize("args, code, pattern", [
    (["--modality", "sar"], 2, r"DATASET: no modality 'sar' \(its modalities: optical\)"),
    (["--bands", "red,green,violet"], 2, r"modality 'optical' has no band 'violet'"),
    (["--bands", "1,2"], 1, r"--bands takes one band or three"),
    (["--bands", "1,2,3,4"], 1, r"--bands takes one band or three"),
    (["--split", "nope"], 2, r"DATASET: no split 'nope'"),
    (["-n", "0"], 1, r"-n takes 1 to 1024 chips"),
    (["--split", "train,test"], 1, r"a sheet shows chips of one split"),
])
def test_bad_input(olinda, tmp_path, args, code, pattern):
    out = tmp_path / "sheet.png"
    out.write_bytes(b"an earlier sheet")
    proc = run("preview", olinda.path, "-o", out, *args, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code and len(lines) in (1, 2), proc.stderr
    assert re.search(pattern.replace("DATASET", re.escape(str(olinda.path))), lines[0])
    assert out.read_bytes() == b"an earlier sheet"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]


def test_not_a_dataset(tmp_path):
    proc = run("preview", tmp_path, "-o", tmp_path / "s.png", check=False)
    assert proc.returncode == 2
    assert proc.stderr == (f"eodkit: error: {tmp_path}: not an eodkit dataset "
                           "(no collection.json)\n")
    proc = run("preview", tmp_path / "nowhere", "-o", tmp_path / "s.png", check=False)
    assert proc.returncode == 2 and "no such dataset folder" in proc.stderr


def test_page_examples_run(tmp_path, demo):
    outputs = run_page_examples(PAGE, demo_workdir(tmp_path, demo))
    assert len(outputs) == 2
    shown = PAGE.read_text().split("The first prints:", 1)[1].split("Exit codes:", 1)[0].strip()
    assert outputs[0].strip() == shown
    width, height = map(int, re.search(r"(\d+) x (\d+) pixels", shown).groups())
    assert read_png(tmp_path / "sheet.png").shape == (height, width, 3)
    summary = json.loads(outputs[1])
    assert summary["bands"] == ["nir", "red", "green"] and len(summary["chips"]) == 8
    assert read_png(tmp_path / "false-colour.png").shape[:2] == (summary["height"],
                                                                 summary["width"])


def test_help_and_command_list():
    assert run("preview", "--help").stdout == help_text(PAGE)
    assert re.search(r"^  preview +", run(check=False).stderr, re.M)
