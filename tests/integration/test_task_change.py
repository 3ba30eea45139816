"""Task change: a time pair per chip (the newest acquisition of the before
period, then the newest of the after period, with their datetimes in the
index) and a change mask from two label rasters.

The data holds no real pair of images or label rasters of one place at two
dates, so both are derived from real data and the derivation is stated:
the images are copies of the real eo-learn Landsat-like scene of Slovenia
under three dates with recognisable values (as in test_time.py), and the
two label rasters are the real eo-learn cloud-mask polygons (CLM_VECTOR) of
two real acquisition times, 2016-02-06 and 2016-05-16, rasterised with
gdal_rasterize onto the scene's grid: cloud before -> cloud after."""
import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build, run

DATES = ["20160206T100203", "20160317T100659", "20160516T100647"]
ISO = ["2016-02-06T10:02:03Z", "2016-03-17T10:06:59Z", "2016-05-16T10:06:47Z"]
CLOUDS = {"before": "2016-02-06T10:02:03", "after": "2016-05-16T10:06:47"}


@pytest.fixture
def scene(tmp_path, shared):
    """Three dated copies of the scene (acquisition k: original + 1000 k)
    and the cloud masks of two dates as label rasters on its grid."""
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    base = gdal.Open(str(source)).ReadAsArray().astype(np.int32)
    for k, date in enumerate(DATES):
        path = tmp_path / f"slo_{date}_B1.tif"
        subprocess.run(["gdal_translate", "-q", "-ot", "UInt16", str(source), str(path)],
                       check=True)
        ds = gdal.Open(str(path), gdal.GA_Update)
        ds.GetRasterBand(1).WriteArray((base + 1000 * k).astype(np.uint16))
        ds = None
    masks = {}
    for when, stamp in CLOUDS.items():
        path = tmp_path / f"clouds_{when}.tif"
        subprocess.run(["gdal_rasterize", "-q", "-burn", "1", "-ot", "Byte", "-init", "0",
                        "-where", f"TIMESTAMP LIKE '{stamp}%'",
                        "-te", "464565", "5078685", "467085", "5080845", "-tr", "30", "30",
                        str(shared / "vector/eo-learn/CLM_VECTOR.gpkg"), str(path)],
                       check=True)
        masks[when] = gdal.Open(str(path)).ReadAsArray()
    # the two real masks differ: the test would be vacuous otherwise
    assert masks["before"].any() and masks["after"].any()
    assert (masks["before"] != masks["after"]).sum() > 100
    return tmp_path, base, masks


def recipe(folder, labels, time=None):
    time = time or ('{mode: pair, pattern: "_([0-9]{8}T[0-9]{6})_", '
                    'before: {to: 2016-03-31}, after: {from: 2016-05-01}}')
    return f"""
dataset: {{name: slovenia-change}}
grid: {{crs: {{like: s}}, chip_size: 24}}
modalities:
  - name: s
    files: ["{folder}/slo_*_B1.tif"]
    time: {time}
labels:
  task: change
  {labels}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 3}}
"""


def test_pair_order_datetimes_and_mask(scene):
    folder, base, masks = scene
    out, summary = build(recipe(folder, f"source: [{folder}/clouds_before.tif, "
                                        f"{folder}/clouds_after.tif]\n"
                                        "  classes: {1: 1}\n  class_names: {1: cloud}"),
                         folder / "pair")
    ds = Dataset(out)
    label = ds.collection["eodkit:label"]
    assert label["task"] == "change"
    assert label["classes"] == [{"id": 1, "name": "change"}]
    assert label["change"]["time_pairs"] == ["s"] and label["change"]["sources"] == 2
    assert label["change"]["classes"] == {"background": {"id": 0, "name": "background"},
                                          "classes": [{"id": 1, "name": "cloud"}]}
    assert label["arrays"] == {
        "label": {"per": "chip", "dtype": "uint8", "shape": [24, 24]},
        "label_classes": {"per": "chip", "dtype": "uint8", "shape": [2, 24, 24]}}
    assert ds.collection["eodkit:modalities"][0]["shape"] == [2, 1, 24, 24]
    assert ds.collection["eodkit:modalities"][0]["time"]["mode"] == "pair"
    rows = ds.chips()
    assert summary["chips"] == len(rows) == 3 * 3
    changed = 0
    for row in rows:
        x, y = row["grid_x"], row["grid_y"]
        window = np.s_[y:y + 24, x:x + 24]
        # before: the newest acquisition before 2016-03-31; after: after 2016-05-01
        chip = ds.chip(row, "s")
        assert np.array_equal(chip[0, 0], base[window] + 1000)
        assert np.array_equal(chip[1, 0], base[window] + 2000)
        assert json.loads(row["datetimes"]) == {"s": ISO[1:]}
        # the mask: an independent computation from the two label rasters
        want = (masks["before"][window] != masks["after"][window]).astype(np.uint8)
        assert np.array_equal(ds.chip(row, "label"), want)
        classes = ds.chip(row, "label_classes")
        assert np.array_equal(classes[0], masks["before"][window])
        assert np.array_equal(classes[1], masks["after"][window])
        assert json.loads(row["class_hist"]) == {
            str(k): int(n) for k, n in enumerate(np.bincount(want.ravel(), minlength=2)) if n}
        changed += int(want.sum())
    assert changed > 100
    # eodkit info shows the pair's four dimensions (it cut stacks to three)
    assert "(2, 1, 24, 24)" in run("info", out).stdout
    pixels = ds.stats["classes"]["pixels"]
    assert sum(p.get("1", 0) for p in pixels.values()) == changed


def test_change_layer_marks_its_classes(scene):
    """One change layer: the cloud mask after; every pixel it labels changed."""
    folder, _, masks = scene
    out, _ = build(recipe(folder, f"source: {folder}/clouds_after.tif"), folder / "layer")
    ds = Dataset(out)
    assert ds.collection["eodkit:label"]["change"]["sources"] == 1
    assert list(ds.collection["eodkit:label"]["arrays"]) == ["label"]
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        assert np.array_equal(ds.chip(row, "label"), masks["after"][y:y + 24, x:x + 24])
    assert not (out / "train" / "label_classes-00000.npy").exists()


def test_one_acquisition_is_refused(scene):
    """A change recipe whose files hold no acquisition in the after period:
    exit code 2, a message naming the period, nothing written."""
    folder, _, _ = scene
    (folder / f"slo_{DATES[2]}_B1.tif").unlink()
    text = recipe(folder, f"source: [{folder}/clouds_before.tif, {folder}/clouds_after.tif]")
    (folder / "one.yaml").write_text(text)
    proc = run("build", folder / "one.yaml", "-o", folder / "one", check=False)
    assert proc.returncode == 2
    assert "no acquisition in the after period" in proc.stderr
    assert "one.yaml:7:" in proc.stderr
    assert not (folder / "one").exists() and not (folder / "one.partial").exists()


def test_a_single_image_is_refused(scene):
    """A change recipe without a pair: refused at the recipe, exit code 2."""
    folder, _, _ = scene
    text = recipe(folder, f"source: {folder}/clouds_after.tif",
                  time='{mode: mosaic, pattern: "_([0-9]{8}T[0-9]{6})_"}')
    (folder / "single.yaml").write_text(text)
    proc = run("build", folder / "single.yaml", "-o", folder / "single", check=False)
    assert proc.returncode == 2
    assert "'task: change' needs two acquisitions per chip" in proc.stderr
    assert not (folder / "single").exists() and not (folder / "single.partial").exists()
