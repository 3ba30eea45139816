"""Task regression: a real DEM (Olinda, 90 m) as the target of the real
Landsat-7 scene (28.5 m): target chips equal gdalwarp of the DEM onto the
same grid with the same options, stats.json describes them, eval scores
them (RMSE 0 for the targets themselves) and mosaic averages overlaps."""
import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build, run

L7 = "optical/stars/L7_ETMs.tif"
DEM = "dem/stars/olinda_dem_utm25s.tif"


def recipe(shared, extra="", stride=32, labels=""):
    return f"""
dataset: {{name: olinda-elevation}}
grid: {{crs: {{like: optical}}, chip_size: 32, stride: {stride}}}
modalities:
  - name: optical
    files: [{shared / L7}]
labels:
  source: {shared / DEM}
  task: regression
  resampling: bilinear
  {labels}
filters: {{min_labeled: 0.99}}
split: {{method: blocks, block_size: 3000, ratios: {{train: 0.7, test: 0.3}}, seed: 4}}
{extra}
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, shared):
    folder = tmp_path_factory.mktemp("regression")
    out, summary = build(recipe(shared), folder)
    return Dataset(out), summary, folder


def gdalwarp_target(ds, shared, folder):
    """The DEM warped onto the dataset's grid by gdalwarp itself, with the
    resampling, error threshold and warp scales provenance.json records."""
    grid = ds.provenance["grid"]["grids"][0]
    read = ds.provenance["read"]["label"]
    place = read["sources"][0]["placements"][0]
    gt, w, h = grid["geotransform"], grid["width"], grid["height"]
    out = folder / "warped.tif"
    subprocess.run(["gdalwarp", "-q", "-overwrite", "-r", read["resampling"], "-et",
                    str(read["error_threshold"]), "-wo", f"XSCALE={place['xscale']!r}",
                    "-wo", f"YSCALE={place['yscale']!r}", "-ot", "Float32",
                    "-dstnodata", "nan", "-t_srs", grid["wkt"],
                    "-te", repr(gt[0]), repr(gt[3] + h * gt[5]), repr(gt[0] + w * gt[1]),
                    repr(gt[3]), "-ts", str(w), str(h), str(shared / DEM), str(out)],
                   check=True)
    return gdal.Open(str(out)).ReadAsArray()


def test_target_chips_equal_gdalwarp(dataset, shared):
    ds, summary, folder = dataset
    label = ds.collection["eodkit:label"]
    assert label == {"task": "regression", "dtype": "float32", "shape": [32, 32],
                     "arrays": {"label": {"per": "chip", "dtype": "float32",
                                          "shape": [32, 32]}},
                     "type": "raster", "nodata": "nan", "resampling": "bilinear",
                     "source_band": 1}
    want = gdalwarp_target(ds, shared, folder)
    rows = ds.chips()
    assert len(rows) == summary["chips"] > 50
    for row in rows:
        x, y = row["grid_x"], row["grid_y"]
        chip = ds.chip(row, "label")
        assert chip.dtype == np.float32
        np.testing.assert_allclose(chip, want[y:y + 32, x:x + 32], rtol=1e-6, atol=1e-5,
                                   equal_nan=True)
        # the filter on the valid target share
        assert row["labeled_frac"] == pytest.approx(np.mean(~np.isnan(chip)))
        assert row["labeled_frac"] >= 0.99
        assert row["class_hist"] is None
    # the filter kept exactly the chips of the lattice with 99% known target
    grid = ds.provenance["grid"]["grids"][0]
    share = {(x, y): np.mean(~np.isnan(want[y:y + 32, x:x + 32]))
             for y in range(0, grid["height"] - 31, 32) for x in range(0, grid["width"] - 31, 32)}
    assert {(r["grid_x"], r["grid_y"]) for r in rows} == {k for k, v in share.items() if v >= 0.99}
    assert summary["rejected"]["unlabeled"] == len(share) - len(rows) > 0


def test_target_statistics_of_the_train_split(dataset):
    ds, _, _ = dataset
    values = ds.split_arrays("train", "label").astype(np.float64)
    valid = values[~np.isnan(values)]
    target = ds.stats["target"]
    assert target["count"] == values.size and target["valid_count"] == valid.size
    assert target["mean"] == pytest.approx(valid.mean(), rel=1e-12)
    assert target["std"] == pytest.approx(valid.std(), rel=1e-9)
    assert target["min"] == valid.min() and target["max"] == valid.max()
    for q in ["1", "2", "50", "98", "99"]:
        assert target["percentiles"][q] == pytest.approx(np.percentile(valid, float(q)),
                                                         rel=1e-6, abs=1e-6)
    assert "classes" not in ds.stats
    assert "regression, float32 target (NaN: no value), bilinear" in run("info", ds.path).stdout
    overview = ds.collection["summaries"]["label:overviews"][0]
    assert {s["name"]: s["value"] for s in overview["statistics"]}["mean"] == \
        pytest.approx(valid.mean())


def evaluate(ds, folder, pred, *args):
    path = folder / "pred.npy"
    np.save(path, pred)
    return json.loads(run("eval", ds.path, path, "--json", *args).stdout)


def test_eval_scores_the_targets_themselves_perfectly(dataset):
    ds, _, folder = dataset
    truth = ds.split_arrays("test", "label")
    report = evaluate(ds, folder, np.nan_to_num(truth, nan=-1.0), "--by", "block")
    overall = report["overall"]
    assert report["task"] == "regression" and report["unit"] == "pixel"
    assert overall["scored"] == int((~np.isnan(truth)).sum())
    assert report["ignored"] == int(np.isnan(truth).sum())
    assert overall["rmse"]["value"] == 0 and overall["mae"]["value"] == 0
    assert overall["bias"]["value"] == 0 and overall["r2"]["value"] == 1
    assert overall["rmse"]["ci"] == [0, 0]
    assert len(report["groups"]) > 1
    centre = overall["residuals"]["bins"][len(overall["residuals"]["bins"]) // 2]
    assert centre["pixels"] == overall["scored"]


def test_eval_metrics_equal_numpy(dataset):
    """An honest residual: the target smoothed by a 3 x 3 mean, scored
    against NumPy's RMSE, MAE, bias and R^2 over the known pixels."""
    ds, _, folder = dataset
    truth = ds.split_arrays("test", "label").astype(np.float64)
    filled = np.where(np.isnan(truth), np.nanmean(truth), truth)
    padded = np.pad(filled, ((0, 0), (1, 1), (1, 1)), mode="edge")
    pred = sum(padded[:, dy:dy + 32, dx:dx + 32] for dy in range(3) for dx in range(3)) / 9
    report = evaluate(ds, folder, pred.astype(np.float32), "--bootstrap", "200")
    ok = ~np.isnan(truth)
    e = pred.astype(np.float32).astype(np.float64)[ok] - truth[ok]
    y = truth[ok]
    overall = report["overall"]
    assert overall["rmse"]["value"] == pytest.approx(np.sqrt(np.mean(e * e)), rel=1e-9)
    assert overall["mae"]["value"] == pytest.approx(np.mean(np.abs(e)), rel=1e-9)
    assert overall["bias"]["value"] == pytest.approx(np.mean(e), rel=1e-6, abs=1e-9)
    r2 = 1 - np.sum(e * e) / np.sum((y - y.mean()) ** 2)
    assert overall["r2"]["value"] == pytest.approx(r2, rel=1e-9)
    low, high = overall["rmse"]["ci"]
    assert low <= overall["rmse"]["value"] <= high and low < high
    counts = [b["pixels"] for b in overall["residuals"]["bins"]]
    assert sum(counts) == ok.sum()
    text = run("eval", ds.path, folder / "pred.npy", "--bootstrap", "0").stdout
    assert "RMSE" in text and "residuals (prediction - target)" in text


def test_mosaic_averages_overlapping_chips(tmp_path, shared):
    out, _ = build(recipe(shared, stride=16), tmp_path)
    ds = Dataset(out)
    truth = ds.split_arrays("test", "label")
    rows = ds.chips("split = 'test'")
    # each chip predicts the target plus its own position in the split:
    # where chips overlap the mosaic must hold the mean
    pred = truth + np.arange(len(truth), dtype=np.float32)[:, None, None]
    np.save(tmp_path / "pred.npy", pred)
    summary = json.loads(run("mosaic", out, tmp_path / "pred.npy", "-o",
                             tmp_path / "m.tif", "--json").stdout)
    assert summary["mode"] == "mean" and summary["nodata"] == "nan"
    f = summary["files"][0]
    mosaic = gdal.Open(str(tmp_path / "m.tif"))
    got = mosaic.ReadAsArray()
    total = np.zeros((f["height"], f["width"]))
    added = np.zeros_like(total)
    for k, row in enumerate(rows):
        y, x = row["grid_y"] - f["grid_y"], row["grid_x"] - f["grid_x"]
        ok = ~np.isnan(pred[k])
        total[y:y + 32, x:x + 32] += np.where(ok, pred[k], 0)
        added[y:y + 32, x:x + 32] += ok
    want = np.where(added > 0, total / np.maximum(added, 1), np.nan)
    assert (added > 1).sum() > 1000
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert mosaic.GetRasterBand(1).GetDescription() == "target"


@pytest.mark.parametrize("labels, message", [
    ("classes: {1: 1}", "labels.classes: not used with 'task: regression' (a regression "
                        "target holds values, not classes"),
    ("ignore_index: 255", "labels.ignore_index: not used with 'task: regression'"),
])
def test_class_keys_are_refused(tmp_path, shared, labels, message):
    (tmp_path / "r.yaml").write_text(recipe(shared, labels=labels))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "r.yaml:11:" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_a_target_needing_resampling_must_say_how(tmp_path, shared):
    (tmp_path / "r.yaml").write_text(recipe(shared).replace("  resampling: bilinear\n", ""))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "labels.resampling" in proc.stderr and "olinda_dem_utm25s.tif" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_vector_target_is_refused(tmp_path, shared):
    text = recipe(shared).replace(str(shared / DEM), str(shared / "vector/sf/olinda1.shp"))
    (tmp_path / "r.yaml").write_text(text)
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "not a vector layer" in proc.stderr
