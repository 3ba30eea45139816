"""Warnings a curator must not miss, said once and with the reason: a split
left without chips (in the build summary, the audit and `eodkit info`), and
classes missing from splits (one line however many classes)."""
import json

import pytest

from conftest import SOURCE, Dataset, build, run


def olinda(demo, split, labels="attribute: TIPO\n  classes: {URBANO: 1, RURAL: 2}"):
    """The demo recipe with another split and labels."""
    text = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    head, rest = text.split("split:\n", 1)
    tail = rest[rest.index("output:"):]
    head = head.replace("attribute: TIPO\n  classes: {URBANO: 1, RURAL: 2}", labels)
    return f"{head}split: {split}\n{tail}"


@pytest.mark.parametrize("case", ["no block", "ratio rounds to none"])
def test_empty_split_is_warned_with_why(tmp_path, demo, case):
    split, why = {
        "no block": ("{method: blocks, block_size: 5472, buffer: 1, "
                     "ratios: {train: 0.9, val: 0.05, test: 0.05}, seed: 4}",
                     "its ratio 0.05 of the 6 blocks of 5472 CRS units rounds to no block; "
                     "a smaller split.block_size makes more blocks"),
        "ratio rounds to none": ("{method: random, ratios: {train: 0.996, test: 0.004}}",
                                 "its ratio 0.004 of the 110 candidate chips rounds to none; "
                                 "raise its ratio or make more chips"),
    }[case]
    out, summary = build(olinda(demo, split), tmp_path)
    empty = [s for s, n in summary["splits"].items() if n == 0]
    assert empty == (["val", "test"] if case == "no block" else ["test"])
    warning = f"EMPTY SPLIT: split '{empty[-1]}' has no chips: {why}."
    assert warning in summary["audit"]["warnings"]
    audit = json.loads((out / "audit.json").read_text())
    assert warning in audit["warnings"]
    assert audit["dataset"]["empty_splits"] == {s: why for s in empty}
    # the classes are not also reported missing from the empty splits
    assert not any(w.startswith("MISSING CLASS") and f"'{empty[-1]}'" in w
                   for w in audit["warnings"])
    assert Dataset(out).provenance["split"]["assigned"][empty[-1]] == 0
    text = run("info", out).stdout
    assert f"warning: split '{empty[-1]}' has no chips: {why}\n" in text
    info = json.loads(run("info", out, "--json").stdout)
    assert info["empty_splits"] == {s: why for s in empty}


def test_filtered_out_split(tmp_path, demo):
    """A split whose chips the filters all reject: the reason says so."""
    out, summary = build(olinda(demo, "{method: random, ratios: {train: 0.97, val: 0.02, "
                                      "test: 0.01}, seed: 4}"), tmp_path)
    assert summary["splits"]["test"] == 0 and summary["rejected"]["unlabeled"] > 0
    assigned = Dataset(out).provenance["split"]["assigned"]["test"]
    assert assigned == 1
    assert ("EMPTY SPLIT: split 'test' has no chips: the filters rejected the 1 chip the "
            "split gave it (filters.max_nodata, min_labeled, max_cloud; the build "
            "summary's 'rejected' counts them).") in summary["audit"]["warnings"]


def test_many_missing_classes_are_one_line(tmp_path, demo):
    """The 32 neighbourhoods of Olinda as classes: 31 are missing from some
    split. One warning counts them and names the first three; audit.json
    lists them all."""
    out, summary = build(olinda(demo, "{method: blocks, block_size: 2736, buffer: 1, "
                                      "ratios: {train: 0.6, val: 0.2, test: 0.2}, seed: 4}",
                                labels="attribute: NM_BAIR"), tmp_path)
    audit = json.loads((out / "audit.json").read_text())
    missing = audit["classes"]["missing"]
    lines = [w for w in audit["warnings"] if w.startswith("MISSING CLASS")]
    assert len(missing) > 20 and len(lines) == 1
    assert lines[0].startswith(f"MISSING CLASS: {len(missing)} classes are missing from "
                               "some split, so they cannot be learnt or evaluated there: "
                               f"class '{missing[0]['name']}' ({missing[0]['id']}) has no "
                               "pixels in split")
    assert lines[0].endswith(f"; and {len(missing) - 3} more (audit.json classes.missing "
                             "lists them all).")
    pixels = audit["classes"]["pixels"]
    for m in missing:
        assert m["splits"] == [s for s in pixels if pixels[s].get(str(m["id"]), 0) == 0]
    assert summary["audit"]["warnings"] == audit["warnings"]
