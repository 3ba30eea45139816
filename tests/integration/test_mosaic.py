"""`eodkit mosaic` (doc/cmd/mosaic.md): label chips fed back as predictions
give back gdal_rasterize of the label polygons on the grid; the COG's CRS,
pixel size and origin are the grid's; overlapping chips are averaged or
voted (ties to the smaller id) exactly as NumPy does it; per-chip values
fill their windows; a `crs: utm` dataset gives one file per zone; bad input
leaves an existing output untouched; the page's examples run."""
import json
import re

import numpy as np
import pytest
import rasterio
from osgeo import gdal

from conftest import (SOURCE, Dataset, build, demo_workdir, grid_window, help_text, run,
                      run_page_examples)
from test_labels import rasterize_reference
from test_multisensor import bigearthnet_recipe

PAGE = SOURCE / "doc/cmd/mosaic.md"
SPLITS = ["train", "val", "test"]
OLINDA_SQL = ("SELECT CASE TIPO WHEN 'URBANO' THEN 1 WHEN 'RURAL' THEN 2 END AS cls, "
              "geometry FROM olinda1")


def demo_recipe(demo, stride=32):
    recipe = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    return recipe.replace("stride: 32", f"stride: {stride}")


@pytest.fixture(scope="module")
def olinda(demo_dataset):
    return Dataset(demo_dataset)


def mosaic(ds, pred, out, *args, name="pred.npy"):
    path = out.parent / name
    np.save(path, pred)
    return json.loads(run("mosaic", ds.path, path, "-o", out, "--json", *args).stdout)


def chips_of(ds, splits):
    return [row for s in splits for row in ds.chips(f"split = '{s}'")]


def test_labels_come_back_on_the_grid(olinda, tmp_path, demo):
    labels = np.concatenate([olinda.split_arrays(s, "label") for s in SPLITS])
    out = tmp_path / "labels.tif"
    summary = mosaic(olinda, labels, out, "--split", "train,val,test")
    grid = olinda.provenance["grid"]["grids"][0]
    (f,) = summary["files"]
    assert summary["mode"] == "vote" and f["path"] == str(out) and f["chips"] == 41
    with rasterio.open(out) as src:
        # the grid's CRS and pixels; the origin moved by whole pixels
        assert src.crs.to_epsg() == 31985 and src.res == (grid["geotransform"][1],) * 2
        gt = src.transform.to_gdal()
        assert gt[0] == grid["geotransform"][0] + f["grid_x"] * gt[1]
        assert gt[3] == grid["geotransform"][3] + f["grid_y"] * gt[5]
        assert (src.width, src.height) == (f["width"], f["height"]) == (320, 352)
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.profile["compress"] == "deflate" and src.profile["tiled"]
        assert src.colormap(1)[1] == (78, 121, 167, 255)
        data = src.read(1)
        # each label chip sits where its own geotransform says
        want = np.full_like(data, 255)
        for row in olinda.chips():
            col, line = grid_window(src, row)
            want[line:line + 32, col:col + 32] = olinda.chip(row, "label")
    assert np.array_equal(data, want)
    assert "LAYOUT=COG" in gdal.Info(str(out))
    # ... which is gdal_rasterize of the census tracts on the same grid
    ref = rasterize_reference(olinda, demo / "olinda1.shp", OLINDA_SQL, tmp_path)
    ref = ref[f["grid_y"]:f["grid_y"] + f["height"], f["grid_x"]:f["grid_x"] + f["width"]]
    covered = data != 255
    assert covered.sum() == 41 * 32 * 32
    assert np.array_equal(data[covered], ref[covered])


def test_per_chip_values_fill_their_windows(olinda, tmp_path):
    rows = chips_of(olinda, ["test"])
    ids = np.arange(len(rows)) % 3
    out = tmp_path / "chips.tif"
    mosaic(olinda, ids.astype(np.int32), out)
    scores = np.random.default_rng(1).random((len(rows), 3), dtype=np.float32)
    mosaic(olinda, scores, tmp_path / "scores.tif", name="scores.npy")
    with rasterio.open(out) as src, rasterio.open(tmp_path / "scores.tif") as fs:
        data, values = src.read(1), fs.read()
        assert fs.descriptions == ("background", "URBANO", "RURAL")
        assert fs.dtypes[0] == "float32" and np.isnan(fs.nodata)
        for i, row in enumerate(rows):
            col, line = grid_window(src, row)
            assert (data[line:line + 32, col:col + 32] == ids[i]).all()
            assert (values[:, line:line + 32, col:col + 32] == scores[i][:, None, None]).all()
        assert (data == 255).sum() == data.size - len(rows) * 32 * 32


def test_overlaps_are_averaged_and_voted(tmp_path, demo):
    """Chips every 16 pixels overlap four to a pixel: scores are averaged,
    ids voted with ties to the smaller id, --argmax takes the mean's top."""
    text = demo_recipe(demo, stride=16)
    text = re.sub(r"split:\n(  .*\n)+", "split: {method: random, ratios: {train: 1.0}}\n", text)
    out, _ = build(text, tmp_path / "build")
    ds = Dataset(out)
    rows = ds.chips()
    n = len(rows)
    rng = np.random.default_rng(2)
    scores = rng.random((n, 3, 32, 32), dtype=np.float32)
    ids = rng.integers(0, 3, (n, 32, 32)).astype(np.uint8)
    mean = mosaic(ds, scores, tmp_path / "mean.tif", "--split", "train", name="s.npy")
    mosaic(ds, scores, tmp_path / "argmax.tif", "--split", "train", "--argmax", name="s.npy")
    mosaic(ds, ids, tmp_path / "vote.tif", "--split", "train", name="ids.npy")
    f = mean["files"][0]
    x0, y0, w, h = f["grid_x"], f["grid_y"], f["width"], f["height"]
    total = np.zeros((3, h, w))
    count = np.zeros((h, w), int)
    votes = np.zeros((3, h, w), int)
    for i, row in enumerate(rows):
        x, y = row["grid_x"] - x0, row["grid_y"] - y0
        total[:, y:y + 32, x:x + 32] += scores[i]
        count[y:y + 32, x:x + 32] += 1
        for k in range(3):
            votes[k, y:y + 32, x:x + 32] += ids[i] == k
    assert count.max() == 4
    covered = count > 0
    with rasterio.open(tmp_path / "mean.tif") as src:
        got = src.read()
    assert np.isnan(got[:, ~covered]).all()
    want = (total / np.maximum(count, 1)).astype(np.float32)
    assert np.array_equal(got[:, covered], want[:, covered])
    with rasterio.open(tmp_path / "argmax.tif") as src:
        got = src.read(1)
    assert np.array_equal(got, np.where(covered, total.argmax(0), 255))
    with rasterio.open(tmp_path / "vote.tif") as src:
        got = src.read(1)
    # np.argmax picks the first of equal counts: the smaller id
    top = np.sort(votes, axis=0)
    assert ((top[-1] == top[-2]) & covered).sum() > 1000  # ties do occur
    assert np.array_equal(got, np.where(covered, votes.argmax(0), 255))


def test_utm_zones_give_one_file_each(tmp_path, shared):
    """One Irish (29N) and one Finnish (35N) BigEarthNet patch: two zones,
    two files named after their EPSG codes, each on its zone's grid."""
    recipe = bigearthnet_recipe(shared, "S2A_MSIL2A_201*_[13][69]_8[56]",
                                "{crs: utm, resolution: 10, chip_size: 60}", bands=["B02"])
    out, _ = build(recipe, tmp_path / "build")
    ds = Dataset(out)
    rows = ds.chips()
    values = np.concatenate([ds.split_arrays("train", "s2")[:, 0]]).astype(np.float32)
    summary = mosaic(ds, values, tmp_path / "zones.tif", "--split", "train")
    files = {f["crs"]: f for f in summary["files"]}
    assert sorted(files) == ["EPSG:32629", "EPSG:32635"]
    assert not (tmp_path / "zones.tif").exists()
    for code, f in files.items():
        path = tmp_path / f"zones_{code[5:]}.tif"
        assert f["path"] == str(path) and f["chips"] == sum(r["crs"] == code for r in rows) > 0
        grid = ds.provenance["grid"]["grids"][f["grid"]]
        with rasterio.open(path) as src:
            assert f"EPSG:{src.crs.to_epsg()}" == code == grid["crs"]
            gt = src.transform.to_gdal()
            assert gt[0] == grid["geotransform"][0] + f["grid_x"] * 10
            assert gt[3] == grid["geotransform"][3] - f["grid_y"] * 10
            data = src.read(1)
            for i, row in enumerate(rows):
                if row["crs"] == code:
                    col, line = grid_window(src, row)
                    assert np.array_equal(data[line:line + 60, col:col + 60], values[i])
            assert not np.isnan(data).any()  # a patch's chips tile their box


def test_bad_input_leaves_the_output_alone(olinda, tmp_path):
    out = tmp_path / "out.tif"
    out.write_bytes(b"an earlier mosaic")
    good = olinda.split_arrays("test", "label")
    cases = [(good[:5], [], 2, r"PRED: 5 rows, but split test has 8 chips"),
             (np.where(good == 2, 9, good), [], 2, r"PRED: row \d+ predicts 9, not a class id"),
             (good, ["--argmax"], 1, r"PRED: --argmax needs scores with several channels"),
             (good, ["--split", "nope"], 2, r"no split 'nope'")]
    for pred, args, code, pattern in cases:
        np.save(tmp_path / "pred.npy", pred)
        proc = run("mosaic", olinda.path, tmp_path / "pred.npy", "-o", out, *args, check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == code and len(lines) == 1, proc.stderr
        assert re.search(pattern.replace("PRED", re.escape(str(tmp_path / "pred.npy"))),
                         lines[0]), lines[0]
        assert out.read_bytes() == b"an earlier mosaic"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif", "pred.npy"]
    np.save(tmp_path / "pred.npy", good)
    proc = run("mosaic", olinda.path, tmp_path / "pred.npy", "-o",
               tmp_path / "missing/out.tif", check=False)
    assert proc.returncode == 4 and "missing/out.tif" in proc.stderr
    proc = run("mosaic", olinda.path, tmp_path / "pred.npy", check=False)
    assert proc.returncode == 1 and "-o OUT.tif is required" in proc.stderr
    # a good run replaces the earlier file whole
    run("mosaic", olinda.path, tmp_path / "pred.npy", "-o", out)
    assert gdal.Open(str(out)).RasterXSize == 96


def test_page_examples_run(tmp_path, demo):
    outputs = run_page_examples(PAGE, demo_workdir(tmp_path, demo))
    assert len(outputs) == 3
    shown = PAGE.read_text().split("The first prints:", 1)[1].split("Exit codes:", 1)[0].strip()
    assert outputs[0].strip() == shown
    summary = json.loads(outputs[2])
    assert summary["mode"] == "argmax" and summary["files"][0]["path"] == "classes.tif"
    with rasterio.open(tmp_path / "scores.tif") as src:
        assert src.count == 3 and src.descriptions == ("background", "URBANO", "RURAL")
    test = np.load(tmp_path / "test.npy")
    with rasterio.open(tmp_path / "test.tif") as src:
        assert np.isin(src.read(1), [0, 1, 2, 255]).all()
        assert (src.read(1) != 255).sum() == test.size


def test_help_and_command_list():
    assert run("mosaic", "--help").stdout == help_text(PAGE)
    assert re.search(r"^  mosaic +", run(check=False).stderr, re.M)
