"""examples/pretrain_finetune.py runs end to end in its quick mode: it
builds an unlabelled pre-training dataset over two continents (Landsat-7
over Brazil, Sentinel-2 over Europe) and a labelled one with few training
chips, pre-trains an encoder by masked reconstruction (the loss falls),
fine-tunes it and trains the same network from scratch, and prints the
per-region comparison exactly as the two `eodkit eval --by region` reports
it saved say (whichever model wins)."""
import json
import re
import subprocess
import sys

import numpy as np

from conftest import EODKIT, SOURCE, Dataset

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402

PYTHON = "/usr/bin/python3"
MODELS = ("from scratch", "pre-trained")


def cells(line):
    """The (value, low, high) triples of a printed table row."""
    number = r"(-?\d\.\d{3})"
    return [tuple(map(float, m)) for m in re.findall(rf"{number} \({number}-{number}\)", line)]


def triple(metric):
    return tuple(round(x, 3) for x in (metric["value"], *metric["ci"]))


def test_pretrain_finetune_quick(tmp_path, demo, shared):
    out = tmp_path / "ssl"
    proc = subprocess.run([PYTHON, str(SOURCE / "examples/pretrain_finetune.py"), "--quick",
                           "--data", demo, "--shared", shared, "--out", out, "--eodkit", EODKIT],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout

    # the pre-training dataset: no labels, chips on two continents, both sensors
    pre = eodkit.open(out / "pretrain")
    assert pre.label is None and pre.splits == ["train", "val"]
    assert "labels:" not in (out / "pretrain.yaml").read_text()
    audit = json.loads((out / "pretrain/audit.json").read_text())
    continents = {k: v["chips"] for k, v in audit["geography"]["continents"].items() if v["chips"]}
    # chips mostly over the sea off Olinda are tagged "none" (footprint tagging)
    assert set(continents) - {"none"} == {"Europe", "South America"}
    countries = {r["country"] for r in Dataset(out / "pretrain").chips()}
    assert countries - {None, "none"} == {"BRA", "IRL", "PRT", "FIN"}
    assert audit["classes"] is None and audit["nodata"]["with_nodata"] == 0  # max_nodata: 0
    sensors = re.search(r"^pre-training chips per sensor: Landsat-7 (\d+), Sentinel-2 (\d+)$",
                        text, re.M)
    assert sensors and int(sensors[1]) + int(sensors[2]) == len(pre.split("train"))
    assert int(sensors[2]) == audit["geography"]["by_split"]["train"]["Europe"]

    # the fine-tuning dataset: labelled, few training chips, regions tagged
    ft = eodkit.open(out / "finetune")
    assert ft.label["task"] == "segmentation" and len(ft.split("train")) <= 12
    test = ft.split("test")
    regions = set(test.column("region"))
    assert len(regions) > 5

    # masked reconstruction learns: the training loss falls
    epochs = re.findall(r"^pre-train epoch +\d+ +loss ([0-9.]+) +val loss ([0-9.]+)$", text, re.M)
    losses = [float(loss) for loss, _ in epochs]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert all(np.isfinite(float(v)) for _, v in epochs)
    for model in MODELS:
        trained = re.search(rf"^{model}: trained 15 epochs on {len(ft.split('train'))} chips, "
                            r"loss ([0-9.]+) -> ([0-9.]+)$", text, re.M)
        assert float(trained[2]) < float(trained[1])

    # both models' predictions and eval reports, per region
    reports = {}
    for model in MODELS:
        tag = model.replace(" ", "-")
        pred = np.load(out / f"pred-{tag}.npy")
        assert pred.shape == (len(test), 16, 16) and pred.dtype == np.uint8 and pred.max() <= 2
        report = json.loads((out / f"eval-{tag}.json").read_text())
        assert report["by"] == "region" and report["overall"]["chips"] == len(test)
        assert {g["name"] for g in report["groups"]} == {r or "unknown" for r in regions}
        assert sum(g["chips"] for g in report["groups"]) == len(test)
        reports[model] = report

    # the printed table is the reports': overall rows, then one row per region
    scratch, pretrained = reports["from scratch"], reports["pre-trained"]
    for key, name in [("accuracy", "accuracy"), ("mean_iou", "mean IoU"), ("kappa", "kappa")]:
        line = re.search(rf"^{name} +(.*)$", text, re.M)[1]
        assert cells(line) == [triple(scratch["overall"][key]), triple(pretrained["overall"][key])]
        diff = pretrained["overall"][key]["value"] - scratch["overall"][key]["value"]
        assert line.endswith(f"{diff:+.3f}")
    theirs = {g["name"]: g for g in pretrained["groups"]}
    wins = 0
    for group in scratch["groups"]:
        line = re.search(rf"^{re.escape(group['name'])} +{group['chips']} +(.*)$", text, re.M)[1]
        assert cells(line) == [triple(group["mean_iou"]), triple(theirs[group["name"]]["mean_iou"])]
        wins += theirs[group["name"]]["mean_iou"]["value"] - group["mean_iou"]["value"] >= 5e-4
    assert re.search(rf"^higher mean IoU: pre-trained in {wins} regions, from scratch in \d+, "
                     r"tied in \d+; the overall intervals (overlap|do not overlap)", text, re.M)
