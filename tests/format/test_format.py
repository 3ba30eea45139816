"""Conformance of both dataset readers to doc/format.md ("What readers
check"): a real small build (the demo recipe, shards of 3 chips) and copies
of it changed one way each. The eodkit commands (`info`, `eval` with
perfect predictions for every split, `preview`) and python/eodkit (open,
then every split read whole) must agree on each: both accept a valid
dataset (eval scores the perfect predictions 1.0, Python reads the same
labels), both refuse a damaged one, the commands with exit code 2 and one
line, Python with DatasetError, each naming the damaged file."""
import json
import shutil
import sqlite3
import sys

import numpy as np
import pytest

from conftest import SOURCE, build, run

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402

SPLITS = ["train", "val", "test"]


@pytest.fixture(scope="module")
def valid(demo, tmp_path_factory):
    """The demo dataset in shards of 3 chips (train: 24 chips in 8 shards,
    val: 9 in 3, test: 8 in 3), and perfect predictions for all splits."""
    text = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    text = text.replace("  dir: out/olinda", "  dir: out/olinda\n  shard_size: 20KiB")
    folder = tmp_path_factory.mktemp("format")
    out, summary = build(text, folder)
    assert summary["splits"] == {"train": 24, "val": 9, "test": 8}
    collection = json.loads((out / "collection.json").read_text())
    assert {s: v["shards"] for s, v in collection["eodkit:splits"].items()} == \
        {"train": 8, "val": 3, "test": 3}
    labels = []
    con = sqlite3.connect(out / "index.gpkg")
    for split in SPLITS:
        for shard, row in con.execute("select shard, row from chips where split = ? "
                                      "order by fid", (split,)):
            labels.append(np.load(out / split / f"label-{shard:05d}.npy")[row])
    con.close()
    pred = folder / "pred.npy"
    np.save(pred, np.stack(labels))
    return out, pred


# ---- ways to change a dataset: each changes folder D in place ----

def sql(d, script):
    """Run SCRIPT on D's index with plain sqlite3 (stubs stand in for the
    GeoPackage functions its triggers call)."""
    con = sqlite3.connect(d / "index.gpkg")
    con.create_function("ST_IsEmpty", 1, lambda g: 0)
    for name in ["ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"]:
        con.create_function(name, 1, lambda g: 0.0)
    con.executescript(script)
    con.commit()
    con.close()


def edit_json(d, name, change):
    path = d / name
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def resave(d, rel, change):
    """Replace shard REL of D by CHANGE(its array), saved with numpy.save."""
    path = d / rel
    array = np.load(path)
    np.save(path, change(array))


def edit_header(d, rel, old, new):
    """Replace text OLD by NEW (as long) in the header of shard REL."""
    path = d / rel
    data = path.read_bytes()
    assert len(old) == len(new) and data.index(old.encode()) < 128
    path.write_bytes(data.replace(old.encode(), new.encode(), 1))


def save_version_2(d, rel):
    """Save shard REL of D again in .npy format 2.0."""
    array = np.load(d / rel)
    with open(d / rel, "wb") as f:
        np.lib.format.write_array(f, array, version=(2, 0))


def fid(d, split, k):
    """The fid of chip K of SPLIT."""
    con = sqlite3.connect(d / "index.gpkg")
    fids = [r[0] for r in con.execute("select fid from chips where split = ? order by fid",
                                      (split,))]
    con.close()
    return fids[k]


def swap_rows(d):
    a, b = fid(d, "train", 0), fid(d, "train", 1)
    sql(d, f"update chips set row = 1 - row where fid in ({a}, {b})")


def swap_across_shards(d):
    a, b = fid(d, "test", 0), fid(d, "test", 3)  # shard 0 row 0, shard 1 row 0
    sql(d, f"update chips set shard = 1 - shard where fid in ({a}, {b})")


def rename_split_key(d, old, new):
    def change(c):
        c["eodkit:splits"] = {new if k == old else k: v for k, v in c["eodkit:splits"].items()}
    edit_json(d, "collection.json", change)


def remove(d, rel):
    (d / rel).unlink()


# name: (change, the file a refusal must name; None: a valid dataset)
CASES = {
    # valid variants: nothing a reader may rely on changes
    "valid": (lambda d: None, None),
    "fids with gaps": (lambda d: sql(d, "update chips set fid = -fid; "
                                       "update chips set fid = -fid * 10 + 5"), None),
    "npy format 2.0": (lambda d: save_version_2(d, "val/optical-00001.npy"), None),
    "byte order of 1-byte elements": (lambda d: edit_header(
        d, "train/label-00000.npy", "'|u1'", "'>u1'"), None),
    # index rows
    "rows swapped": (swap_rows, "index.gpkg"),
    "rows swapped across shards": (swap_across_shards, "index.gpkg"),
    "rows shifted": (lambda d: sql(d, "update chips set row = row + 1 where split = 'train'"),
                     "index.gpkg"),
    "shards shifted": (lambda d: sql(d, "update chips set shard = shard + 1 where split = 'val'"),
                       "index.gpkg"),
    "row NULL": (lambda d: sql(d, f"update chips set row = NULL where fid = {fid(d, 'val', 4)}"),
                 "index.gpkg"),
    "shard NULL": (lambda d: sql(d, f"update chips set shard = NULL where fid = "
                                    f"{fid(d, 'test', 7)}"), "index.gpkg"),
    "split NULL": (lambda d: sql(d, f"update chips set split = NULL where fid = "
                                    f"{fid(d, 'train', 23)}"), "index.gpkg"),
    "row text": (lambda d: sql(d, f"update chips set row = 'first' where fid = "
                                  f"{fid(d, 'train', 0)}"), "index.gpkg"),
    "shard text": (lambda d: sql(d, f"update chips set shard = 'zero' where fid = "
                                    f"{fid(d, 'val', 0)}"), "index.gpkg"),
    "row real": (lambda d: sql(d, f"update chips set row = row + 0.5 where fid = "
                                  f"{fid(d, 'train', 5)}"), "index.gpkg"),
    "split blob": (lambda d: sql(d, f"update chips set split = cast('train' as blob) where "
                                    f"fid = {fid(d, 'train', 2)}"), "index.gpkg"),
    "row out of range": (lambda d: sql(d, f"update chips set row = 99 where fid = "
                                          f"{fid(d, 'train', 23)}"), "index.gpkg"),
    "shard out of range": (lambda d: sql(d, f"update chips set shard = 99, row = 0 where fid = "
                                            f"{fid(d, 'test', 7)}"), "index.gpkg"),
    "row negative": (lambda d: sql(d, f"update chips set row = -1 where fid = "
                                      f"{fid(d, 'val', 0)}"), "index.gpkg"),
    "row repeated": (lambda d: sql(d, f"update chips set row = 0 where fid = "
                                      f"{fid(d, 'train', 1)}"), "index.gpkg"),
    "last chip deleted": (lambda d: sql(d, f"delete from chips where fid = "
                                           f"{fid(d, 'train', 23)}"), "index.gpkg"),
    "chip deleted": (lambda d: sql(d, f"delete from chips where fid = {fid(d, 'val', 4)}"),
                     "index.gpkg"),
    "chip added": (lambda d: sql(d, "insert into chips (split, shard, row) values "
                                    "('test', 2, 2)"), "index.gpkg"),
    "split renamed in the index": (lambda d: sql(d, "update chips set split = 'training' "
                                                    "where split = 'train'"), "index.gpkg"),
    "split renamed in collection.json": (lambda d: rename_split_key(d, "val", "validation"),
                                         "index.gpkg"),
    "index not SQLite": (lambda d: (d / "index.gpkg").write_text("not a geopackage\n" * 50),
                         "index.gpkg"),
    "index empty": (lambda d: (d / "index.gpkg").write_bytes(b""), "index.gpkg"),
    "index truncated": (lambda d: (d / "index.gpkg").write_bytes(
        (d / "index.gpkg").read_bytes()[:4096]), "index.gpkg"),
    "index without table chips": (lambda d: sql(d, "alter table chips rename to chip"),
                                  "index.gpkg"),
    "index without column row": (lambda d: sql(d, "alter table chips rename column row "
                                                  "to position"), "index.gpkg"),
    "index missing": (lambda d: remove(d, "index.gpkg"), "index.gpkg"),
    # shards
    "shard empty": (lambda d: (d / "train/optical-00001.npy").write_bytes(b""),
                    "train/optical-00001.npy"),
    "shard truncated": (lambda d: (d / "train/label-00002.npy").write_bytes(
        (d / "train/label-00002.npy").read_bytes()[:-100]), "train/label-00002.npy"),
    "shard not npy": (lambda d: (d / "val/label-00000.npy").write_text("0 1 2\n" * 100),
                      "val/label-00000.npy"),
    "shard missing": (lambda d: remove(d, "test/optical-00002.npy"), "test/optical-00002.npy"),
    "shard dtype": (lambda d: resave(d, "train/optical-00003.npy",
                                     lambda a: a.astype(np.uint16)), "train/optical-00003.npy"),
    "shard float": (lambda d: resave(d, "train/label-00003.npy",
                                     lambda a: a.astype(np.float32)), "train/label-00003.npy"),
    "shard fewer rows": (lambda d: resave(d, "val/optical-00002.npy", lambda a: a[:-1]),
                         "val/optical-00002.npy"),
    "shard more rows": (lambda d: resave(d, "val/label-00001.npy",
                                         lambda a: np.concatenate([a, a[:1]])),
                        "val/label-00001.npy"),
    "shard chip shape": (lambda d: resave(d, "test/optical-00000.npy",
                                          lambda a: np.ascontiguousarray(a[..., :31])),
                         "test/optical-00000.npy"),
    "shard Fortran order": (lambda d: resave(d, "train/optical-00004.npy", np.asfortranarray),
                            "train/optical-00004.npy"),
    "shard of objects": (lambda d: np.save(d / "test/label-00001.npy", np.array(
        [None, 1, 2], dtype=object), allow_pickle=True), "test/label-00001.npy"),
    "shard header without shape": (lambda d: edit_header(
        d, "train/label-00005.npy", "'shape': (3, 32, 32), ", "'shap3': (3, 32, 32), "),
        "train/label-00005.npy"),
    "shard header extra key": (lambda d: edit_header(
        d, "train/label-00006.npy", "'shape': (3, 32, 32), }      ",
        "'shape': (3, 32, 32), 'x': 0}"),
        "train/label-00006.npy"),
    "shard header bad tuple": (lambda d: edit_header(
        d, "train/label-00007.npy", "(3, 32, 32)", "(3; 32, 32)"), "train/label-00007.npy"),
    # the JSON files
    "collection.json missing": (lambda d: remove(d, "collection.json"), "collection.json"),
    "stats.json missing": (lambda d: remove(d, "stats.json"), "stats.json"),
    "provenance.json missing": (lambda d: remove(d, "provenance.json"), "provenance.json"),
    "collection.json truncated": (lambda d: (d / "collection.json").write_text(
        (d / "collection.json").read_text()[:500]), "collection.json"),
    "collection.json a list": (lambda d: (d / "collection.json").write_text("[]"),
                               "collection.json"),
    "stats.json not UTF-8": (lambda d: (d / "stats.json").write_bytes(b'{"split": "\xff"}'),
                             "stats.json"),
    "provenance.json a number": (lambda d: (d / "provenance.json").write_text("7"),
                                 "provenance.json"),
    "collection chips": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:splits"]["train"].update(chips=25)), "collection.json"),
    "collection shards": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:splits"]["test"].update(shards=2)), "collection.json"),
    "collection dtype": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:modalities"][0].update(dtype="uint16")), "collection.json"),
    "collection unknown dtype": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:label"].update(dtype="complex64")), "collection.json"),
    "collection chip shape": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:modalities"][0].update(shape=[6, 32, 31])), "collection.json"),
    "collection chip shape text": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:label"].update(shape=["32", 32])), "collection.json"),
    "collection without modalities": (lambda d: edit_json(d, "collection.json", lambda c: c.pop(
        "eodkit:modalities")), "collection.json"),
    "collection without splits": (lambda d: edit_json(d, "collection.json", lambda c: c.pop(
        "eodkit:splits")), "collection.json"),
    "collection split chips text": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:splits"]["val"].update(chips="9")), "collection.json"),
    "collection split outside the folder": (
        lambda d: rename_split_key(d, "train", "../train"), "collection.json"),
    "collection modality without name": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:modalities"][0].pop("name")), "collection.json"),
    "collection classes": (lambda d: edit_json(d, "collection.json", lambda c: c[
        "eodkit:label"].update(classes="URBANO, RURAL")), "collection.json"),
    "unfinished build": (lambda d: (d / ".eodkit-partial").write_text(""), ".eodkit-partial"),
}


def commands_verdict(d, pred, tmp_path, splits=SPLITS, perfect=("accuracy", 1.0)):
    """What the eodkit commands say of dataset D: None when info, eval (of
    PRED for SPLITS) and preview all accept it, else their one-line
    messages (asserting they all refuse it the same way). When accepted,
    eval's PERFECT metric has its perfect value."""
    procs = [run("info", d, check=False),
             run("eval", d, pred, "--split", ",".join(splits), "--json", check=False),
             run("preview", d, "-o", tmp_path / "sheet.png", check=False)]
    if all(p.returncode == 0 for p in procs):
        report = json.loads(procs[1].stdout)
        assert report["overall"][perfect[0]]["value"] == perfect[1]
        assert (tmp_path / "sheet.png").stat().st_size > 0
        return None
    messages = []
    for p in procs:
        assert p.returncode == 2 and p.stdout == "", p.stderr
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("eodkit: error: "), p.stderr
        messages.append(lines[0][len("eodkit: error: "):])
    assert len(set(messages)) == 1, messages
    return messages[0]


def python_verdict(d, pred):
    """What python/eodkit says of dataset D: None when it opens it and reads
    every split (then the labels are the perfect predictions), else the
    DatasetError's message."""
    try:
        ds = eodkit.open(d)
        labels = [ds.split(s).read(slice(None)) for s in SPLITS]
    except eodkit.DatasetError as err:
        return str(err)
    assert np.array_equal(np.concatenate([b["label"] for b in labels]), np.load(pred))
    return None


@pytest.mark.parametrize("case", CASES)
def test_both_readers_agree(valid, tmp_path, case):
    change, damaged = CASES[case]
    out, pred = valid
    d = tmp_path / "ds"
    shutil.copytree(out, d)
    change(d)
    from_commands = commands_verdict(d, pred, tmp_path)
    from_python = python_verdict(d, pred)
    if damaged is None:
        assert from_commands is None and from_python is None
        return
    assert from_commands is not None, "the eodkit commands accept it"
    assert from_python is not None, "python/eodkit accepts it"
    for message in [from_commands, from_python]:
        assert str(d) in message and damaged in message, message


def test_every_command_refuses_a_damaged_index(valid, tmp_path):
    """mosaic, audit and catalog register read datasets through the same
    checks as info, eval and preview; audit leaves the dataset as it was."""
    out, pred = valid
    d = tmp_path / "ds"
    shutil.copytree(out, d)
    swap_rows(d)
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    first = pred.parent / "first.npy"
    np.save(first, np.load(pred)[:24])
    want = (f"{d}/index.gpkg: chips of split 'train' are not in (shard, row) order: its "
            f"first chip {fid(d, 'train', 0)} is at shard 0, row 1, not shard 0, row 0")
    for args in [("info", d), ("eval", d, first, "--split", "train"), ("preview", d, "-o",
                 tmp_path / "sheet.png"), ("mosaic", d, first, "--split", "train", "-o",
                 tmp_path / "m.tif"), ("audit", d),
                 ("catalog", "--db", tmp_path / "c.sqlite", "register", d)]:
        proc = run(*args, check=False)
        assert proc.returncode == 2 and proc.stderr == f"eodkit: error: {want}\n", args
    with pytest.raises(eodkit.DatasetError) as err:
        eodkit.open(d)
    assert str(err.value) == want
    assert before == {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    assert not (tmp_path / "sheet.png").exists() and not (tmp_path / "m.tif").exists()
