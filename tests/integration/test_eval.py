"""`eodkit eval` (doc/cmd/eval.md): the metrics equal scikit-learn's on
random predictions (segmentation ids and scores, classification,
multilabel), the ignore index is left out, groups equal the metrics of
their own chips, the bootstrap is the documented block resampling, holds
the point estimate and narrows with more blocks; bad predictions get one
line naming the file and a documented exit code; the page's examples run."""
import json
import re
import subprocess

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, cohen_kappa_score,
                             confusion_matrix, jaccard_score,
                             precision_recall_fscore_support)

from conftest import (SOURCE, Dataset, build, demo_workdir, help_text, run,
                      run_page_examples)
from test_tasks import RECIPE as TASKS_RECIPE

PAGE = SOURCE / "doc/cmd/eval.md"
# scikit-learn warns when a group's predictions hold a class its truth lacks
pytestmark = pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
SPLITS = ["train", "val", "test"]
MASK64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def olinda(demo_dataset):
    """The demo dataset: 41 chips of 32 x 32 pixels in 10 split blocks."""
    return Dataset(demo_dataset)


def labels_of(ds, splits):
    return np.concatenate([ds.split_arrays(s, "label") for s in splits])


def evaluate(ds, pred, tmp_path, *args, name="pred.npy"):
    path = tmp_path / name
    np.save(path, pred)
    return json.loads(run("eval", ds.path, path, "--json", *args).stdout)


def noisy(y, ids, keep, seed):
    """Y with a share 1 - KEEP of its values replaced by random ids."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(y.shape) < keep, y, rng.choice(ids, y.shape)).astype(y.dtype)


def assert_matches_sklearn(result, y, p, ids):
    """RESULT (a group of the report) holds scikit-learn's numbers for truth Y
    and predictions P over class ids IDS."""
    y, p = np.ravel(y), np.ravel(p)
    approx = lambda v: pytest.approx(v, rel=1e-9, abs=1e-12)  # noqa: E731
    assert result["scored"] == y.size
    assert result["accuracy"]["value"] == approx(accuracy_score(y, p))
    assert result["balanced_accuracy"]["value"] == approx(balanced_accuracy_score(y, p))
    assert result["kappa"]["value"] == approx(cohen_kappa_score(y, p))
    assert result["confusion"] == confusion_matrix(y, p, labels=ids).tolist()
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=ids, zero_division=0)
    iou = jaccard_score(y, p, labels=ids, average=None, zero_division=0)
    predicted = np.array([(p == i).sum() for i in ids])
    present = (support + predicted) > 0
    for k, c in enumerate(result["classes"]):
        assert c["id"] == ids[k] and c["support"] == support[k]
        assert c["predicted"] == predicted[k]
        assert c["precision"] == (approx(prec[k]) if predicted[k] else None)
        assert c["recall"] == (approx(rec[k]) if support[k] else None)
        assert c["f1"] == (approx(f1[k]) if present[k] else None)
        assert c["iou"] == (approx(iou[k]) if present[k] else None)
    assert result["mean_iou"]["value"] == approx(iou[present].mean())
    assert result["mean_f1"]["value"] == approx(f1[present].mean())


def test_segmentation_equals_sklearn(olinda, tmp_path):
    y = labels_of(olinda, SPLITS)
    assert y.shape == (41, 32, 32)
    p = noisy(y, [0, 1, 2], 0.6, seed=1).astype(np.int16)
    report = evaluate(olinda, p, tmp_path, "--split", "train,val,test", "--by", "split")
    assert report["task"] == "segmentation" and report["unit"] == "pixel"
    assert [c["id"] for c in report["classes"]] == [0, 1, 2]
    assert report["ignored"] == 0 and report["ignore_index"] is None
    assert_matches_sklearn(report["overall"], y, p, [0, 1, 2])
    start = 0
    for group, split in zip(report["groups"], SPLITS):
        n = olinda.collection["eodkit:splits"][split]["chips"]
        assert group["name"] == split and group["chips"] == n
        assert_matches_sklearn(group, y[start:start + n], p[start:start + n], [0, 1, 2])
        start += n
    # (n, 1, H, W) int64 ids, and float scores whose highest channel is the
    # id, say the same
    same = evaluate(olinda, p[:, None].astype(np.int64), tmp_path, "--split",
                    "train,val,test", "--by", "split", name="ids4.npy")
    rng = np.random.default_rng(2)
    scores = rng.random((41, 3, 32, 32), dtype=np.float32) * 0.5
    np.put_along_axis(scores, p[:, None].astype(np.int64), 1.0, axis=1)
    from_scores = evaluate(olinda, scores, tmp_path, "--split", "train,val,test", "--by",
                           "split", name="scores.npy")
    for other in (same, from_scores):
        assert other["overall"] == report["overall"] and other["groups"] == report["groups"]


def test_groups_of_blocks_and_continents(olinda, tmp_path):
    y = labels_of(olinda, ["train"])
    p = noisy(y, [0, 1, 2], 0.5, seed=3)
    rows = olinda.chips("split = 'train'")
    by_block = evaluate(olinda, p, tmp_path, "--split", "train", "--by", "block")
    blocks = sorted({r["block"] for r in rows})
    assert [g["name"] for g in by_block["groups"]] == [str(b) for b in blocks]
    for g in by_block["groups"]:
        mine = np.array([r["block"] == int(g["name"]) for r in rows])
        assert g["blocks"] == 1 and g["chips"] == mine.sum()
        assert_matches_sklearn(g, y[mine], p[mine], [0, 1, 2])
        # one block: no spread
        assert g["accuracy"]["ci"] == [g["accuracy"]["value"]] * 2
    by_continent = evaluate(olinda, p, tmp_path, "--split", "train", "--by", "continent")
    assert [g["name"] for g in by_continent["groups"]] == ["South America"]
    group, overall = by_continent["groups"][0], by_continent["overall"]
    for key, value in overall.items():
        if isinstance(value, dict):  # a metric: its interval has the group's own seed
            assert group[key]["value"] == value["value"], key
        else:
            assert group[key] == value, key
    assert by_continent["gap"] == {m: None for m in by_continent["gap"]}


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def fnv1a64(text):
    h = 1469598103934665603
    for byte in text.encode():
        h = ((h ^ byte) * 1099511628211) & MASK64
    return h


def bootstrap_accuracy(y, p, block_of_chip, replicates, seed):
    """The documented bootstrap, in NumPy: blocks numbered in order of their
    first chip; each replicate draws as many blocks with splitmix64 % m."""
    order = list(dict.fromkeys(block_of_chip))
    correct = np.array([sum((y[i] == p[i]).sum() for i in range(len(y))
                            if block_of_chip[i] == b) for b in order])
    total = np.array([sum(y[i].size for i in range(len(y)) if block_of_chip[i] == b)
                      for b in order])
    state, acc = seed, []
    for _ in range(replicates):
        picks = []
        for _ in order:
            state, v = splitmix64(state)
            picks.append(v % len(order))
        acc.append(correct[picks].sum() / total[picks].sum())
    return np.percentile(acc, [2.5, 97.5])


def test_bootstrap_resamples_blocks(olinda, tmp_path):
    y = labels_of(olinda, SPLITS)
    p = noisy(y, [0, 1, 2], 0.7, seed=4)
    args = ["--split", "train,val,test", "--by", "split", "--bootstrap", "300", "--seed", "5"]
    report = evaluate(olinda, p, tmp_path, *args)
    blocks = [r["block"] for s in SPLITS for r in olinda.chips(f"split = '{s}'")]
    assert report["bootstrap"] == {"replicates": 300, "seed": 5, "confidence": 0.95,
                                   "blocks": "index", "block_chips": 4}
    assert report["overall"]["blocks"] == len(set(blocks)) == 10
    want = bootstrap_accuracy(y, p, blocks, 300, 5)
    assert report["overall"]["accuracy"]["ci"] == pytest.approx(want, rel=1e-9)
    train = report["groups"][0]
    n = train["chips"]
    want = bootstrap_accuracy(y[:n], p[:n], blocks[:n], 300, (5 + fnv1a64("train")) & MASK64)
    assert train["accuracy"]["ci"] == pytest.approx(want, rel=1e-9)
    # every interval holds its estimate; the gap is the best minus the worst
    for result in [report["overall"], *report["groups"]]:
        for metric in ["accuracy", "balanced_accuracy", "kappa", "mean_iou", "mean_f1"]:
            lo, hi = result[metric]["ci"]
            assert lo - 1e-12 <= result[metric]["value"] <= hi + 1e-12, (result.get("name"),
                                                                        metric)
    values = {g["name"]: g["accuracy"]["value"] for g in report["groups"]}
    gap = report["gap"]["accuracy"]
    assert gap["best"] == max(values, key=values.get)
    assert gap["worst"] == min(values, key=values.get)
    assert gap["value"] == pytest.approx(max(values.values()) - min(values.values()))
    # the same seed gives the same report, another seed other intervals
    assert evaluate(olinda, p, tmp_path, *args) == report
    other = evaluate(olinda, p, tmp_path, *args[:-1], "6")
    assert other["overall"]["accuracy"]["value"] == report["overall"]["accuracy"]["value"]
    assert other["overall"]["accuracy"]["ci"] != report["overall"]["accuracy"]["ci"]
    plain = evaluate(olinda, p, tmp_path, *args[:-4], "--bootstrap", "0")
    assert plain["overall"]["accuracy"]["ci"] is None and plain["bootstrap"]["replicates"] == 0


def small_chips(demo, split):
    """The demo recipe with 16-pixel chips and split SPLIT."""
    recipe = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    recipe = recipe.replace("chip_size: 32\n  stride: 32", "chip_size: 16\n  stride: 16")
    return re.sub(r"split:\n(  .*\n)+", f"split: {split}\n", recipe)


def test_intervals_narrow_with_more_blocks(tmp_path, demo):
    """Blocks of 2 x 2 chips, a quarter of them in the test split, and
    predictions whose quality varies from block to block: the test split
    alone has a wider interval than train and test together."""
    out, _ = build(small_chips(demo, "{method: blocks, block_size: 912, buffer: 0, "
                                     "ratios: {train: 0.75, test: 0.25}, seed: 1}"), tmp_path)
    ds = Dataset(out)
    rows = ds.chips("split = 'train'") + ds.chips("split = 'test'")
    y = labels_of(ds, ["train", "test"])
    keep = [0.2, 0.6, 1.0]  # by block: the same spread of quality in every split
    p = np.stack([noisy(y[i], [0, 1, 2], keep[r["block"] % 3], seed=i)
                  for i, r in enumerate(rows)])
    both = evaluate(ds, p, tmp_path, "--split", "train,test")
    n_train = len(ds.chips("split = 'train'"))
    test = evaluate(ds, p[n_train:], tmp_path, "--split", "test", name="test.npy")
    width = lambda r: np.diff(r["overall"]["accuracy"]["ci"])[0]  # noqa: E731
    assert both["overall"]["blocks"] > 3 * test["overall"]["blocks"] >= 15
    assert 0 < width(both) < 0.75 * width(test)


def test_lattice_blocks_without_index_blocks(tmp_path, demo):
    """A random split leaves the index's block NULL: the bootstrap resamples
    squares of N x N chip positions, named G:BX,BY."""
    out, _ = build(small_chips(demo, "{method: random, ratios: {train: 1.0}}"), tmp_path)
    ds = Dataset(out)
    rows = ds.chips()
    assert {r["block"] for r in rows} == {None}
    y = labels_of(ds, ["train"])
    report = evaluate(ds, noisy(y, [0, 1, 2], 0.5, seed=10), tmp_path, "--split", "train",
                      "--by", "block", "--block-chips", "3")
    cells = {f"0:{r['grid_x'] // 48},{r['grid_y'] // 48}" for r in rows}
    assert report["bootstrap"]["blocks"] == "lattice"
    assert report["bootstrap"]["block_chips"] == 3
    assert report["overall"]["blocks"] == len(cells) > 20
    assert {g["name"] for g in report["groups"]} == cells


def test_ignore_index_is_left_out(tmp_path, shared):
    """Label raster values outside the classes and its nodata become the
    ignore index: those pixels are not scored, whatever is predicted."""
    lulc = tmp_path / "lulc.tif"
    subprocess.run(["gdal_rasterize", "-q", "-a", "LULC_ID", "-tr", "10", "10", "-ot", "Byte",
                    "-a_nodata", "0", str(shared / "vector/eo-learn/LULC.gpkg"), str(lulc)],
                   check=True)
    out, _ = build(f"""
dataset: {{name: ignored}}
grid: {{crs: {{like: landsat}}, chip_size: 16}}
modalities: [{{name: landsat, files: [{shared}/optical/eo-learn/import-tiff-test1.tiff]}}]
labels: {{source: {lulc}, classes: {{1: 1, 2: 2, 3: 3}}, ignore_index: 255}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 3}}
""", tmp_path)
    ds = Dataset(out)
    y = labels_of(ds, ["test"])
    ignored = y == 255
    assert 0.05 < ignored.mean() < 0.9
    p = noisy(np.where(ignored, 1, y), [0, 1, 2, 3], 0.5, seed=6)
    report = evaluate(ds, p, tmp_path)
    assert report["ignore_index"] == 255 and report["ignored"] == ignored.sum()
    assert_matches_sklearn(report["overall"], y[~ignored], p[~ignored], [0, 1, 2, 3])
    # whatever is predicted on ignored pixels changes nothing
    p[ignored] = 3
    again = evaluate(ds, p, tmp_path, name="again.npy")
    assert again["overall"] == report["overall"]


def test_classification_and_multilabel(tmp_path, shared):
    out, _ = build(TASKS_RECIPE.format(shared=shared, task="classification", extra=""),
                   tmp_path / "cls")
    ds = Dataset(out)
    ids = [0, 1, 2, 3, 4, 5]
    y = labels_of(ds, ["test"])
    p = noisy(y, ids, 0.5, seed=7).astype(np.uint8)
    report = evaluate(ds, p, tmp_path)
    assert report["unit"] == "chip" and report["overall"]["chips"] == len(y) > 20
    assert_matches_sklearn(report["overall"], y, p, ids)
    scores = np.random.default_rng(8).random((len(y), 6))
    scores[np.arange(len(y)), p] = 2
    assert evaluate(ds, scores, tmp_path, name="s.npy")["overall"] == report["overall"]

    out, _ = build(TASKS_RECIPE.format(shared=shared, task="multilabel",
                                       extra="min_class_share: 0.1"), tmp_path / "ml")
    ds = Dataset(out)
    y = labels_of(ds, ["test"]).astype(bool)
    scores = np.where(y, 0.3, 0) + np.random.default_rng(9).random(y.shape) * 0.6
    report = evaluate(ds, scores.astype(np.float32), tmp_path, name="ml.npy")
    p = scores.astype(np.float32) >= 0.5
    o = report["overall"]
    assert report["threshold"] == 0.5 and [c["id"] for c in report["classes"]] == ids[1:]
    assert o["accuracy"]["value"] == pytest.approx((y == p).mean())
    assert o["kappa"]["value"] == pytest.approx(cohen_kappa_score(y.ravel(), p.ravel()))
    tp, fp = (y & p).sum(0), (~y & p).sum(0)
    fn, tn = (y & ~p).sum(0), (~y & ~p).sum(0)
    assert o["confusion"] == [{"tn": int(a), "fp": int(b), "fn": int(c), "tp": int(d)}
                              for a, b, c, d in zip(tn, fp, fn, tp)]
    iou = jaccard_score(y, p, average=None, zero_division=0)
    union = (tp + fp + fn) > 0
    assert [c["iou"] for c in o["classes"]] == [pytest.approx(v) if u else None
                                               for v, u in zip(iou, union)]
    assert o["mean_iou"]["value"] == pytest.approx(iou[union].mean())
    balanced = [np.nanmean([a / b if b else np.nan for a, b in [(t, t + n), (u, u + f)]])
                for t, n, u, f in zip(tp, fn, tn, fp)]
    assert o["balanced_accuracy"]["value"] == pytest.approx(np.nanmean(balanced))
    # 0/1 integers mean the same as the thresholded scores
    assert evaluate(ds, p.astype(np.uint8), tmp_path, name="ml01.npy")["overall"] == o


@pytest.mark.parametrize("case, code, pattern", [
    ("rows", 2, r"PRED: 7 rows, but split test has 8 chips"),
    ("shape", 2, r"PRED: shape \(8, 32, 31\) uint8, but the chips are 32 x 32 pixels"),
    ("float ids", 2, r"PRED: \(8, 32, 32\) float32; class ids must be integers"),
    ("big-endian", 2, r"PRED: unsupported \.npy element type '>i4'"),
    ("out of range", 2, r"PRED: row 3 predicts 7, not a class id of the dataset \(0, 1, 2\)"),
    ("channels", 2, r"PRED: \(8, 4, 32, 32\) float32; scores need 3 channels"),
    ("not npy", 2, r"PRED: not a NumPy \.npy file"),
    ("missing", 3, r"PRED: cannot open"),
    ("split", 2, r"DATASET: no split 'nope' \(its splits: train, val, test\)"),
    ("not a dataset", 2, r"NOTDATASET: not an eodkit dataset \(no collection\.json\)"),
    ("by", 1, r"cannot break down by 'planet'"),
])
def test_bad_input(olinda, tmp_path, case, code, pattern):
    pred = tmp_path / "pred.npy"
    good = olinda.split_arrays("test", "label")
    dataset, args = olinda.path, []
    if case == "rows":
        np.save(pred, good[:7])
    elif case == "shape":
        np.save(pred, good[:, :, :31])
    elif case == "float ids":
        np.save(pred, good.astype(np.float32))
    elif case == "big-endian":
        np.save(pred, good.astype(">i4"))
    elif case == "out of range":
        bad = good.copy()
        bad[3, 5, 5] = 7
        np.save(pred, bad)
    elif case == "channels":
        np.save(pred, np.zeros((8, 4, 32, 32), np.float32))
    elif case == "not npy":
        pred.write_text("0 1 2\n")
    elif case == "split":
        np.save(pred, good)
        args = ["--split", "nope"]
    elif case == "not a dataset":
        np.save(pred, good)
        dataset = tmp_path / "empty"
        dataset.mkdir()
    elif case == "by":
        np.save(pred, good)
        args = ["--by", "planet"]
    if case == "missing":
        pred = tmp_path / "missing.npy"
    proc = run("eval", dataset, pred, *args, check=False)
    assert proc.returncode == code and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    expected = (pattern.replace("NOTDATASET", re.escape(str(dataset)))
                .replace("DATASET", re.escape(str(olinda.path)))
                .replace("PRED", re.escape(str(pred))))
    assert re.search(expected, lines[0]), lines[0]


def test_usage_errors(olinda):
    for args in [["eval"], ["eval", olinda.path], ["eval", olinda.path, "p.npy", "--bootstrap",
                                                    "many"], ["eval", olinda.path, "p.npy",
                                                              "--threshold", "2"]]:
        proc = run(*args, check=False)
        assert proc.returncode == 1 and "see 'eodkit eval --help'" in proc.stderr


def page_section(marker):
    return PAGE.read_text().split(marker, 1)[1]


def test_page_examples_run(tmp_path, demo):
    outputs = run_page_examples(PAGE, demo_workdir(tmp_path, demo))
    assert len(outputs) == 3
    shown = page_section("The first prints").split("\n", 1)[1].split("Exit codes:", 1)[0]
    shown = [line[4:] for line in shown.strip("\n").splitlines()]
    assert outputs[0].splitlines() == [line.rstrip() for line in shown]
    blocks = json.loads(outputs[1])
    assert blocks["by"] == "block" and blocks["bootstrap"]["seed"] == 7
    assert len(blocks["groups"]) == 10
    assert "accuracy           1.000\n" in outputs[2]


def test_help_and_command_list():
    assert run("eval", "--help").stdout == help_text(PAGE)
    assert re.search(r"^  eval +", run(check=False).stderr, re.M)
