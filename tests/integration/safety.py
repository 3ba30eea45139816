"""What the safety suites (test_safety_*.py: kills, locks, full disks) share:
a build of the demo scene over nine work units from private copies of its
inputs (so a test may touch them), the dataset it gives and the one it
replaces, built once in one go, and the checks every outcome must pass: a
dataset is byte-identical to one of those, its index and shards agree, the
files a user put beside the output are untouched, nothing else is left."""
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np

from conftest import EODKIT, run

RECIPE = """
dataset: {{name: safety}}
grid: {{crs: EPSG:32724, resolution: 20, chip_size: 24, stride: 20}}
modalities:
  - {{name: optical, files: [{data}/L7_ETMs.tif], resampling: bilinear, nodata: 0}}
labels: {{source: {data}/olinda1.shp, attribute: TIPO}}
filters: {{max_nodata: {max_nodata}}}
split: {{method: blocks, block_size: 1500, buffer: 1, ratios: {{train: 0.7, val: 0.1, test: 0.2}}}}
output: {{shard_size: 256KiB}}
"""

# Random moments are drawn from this seed (printed in every failure), so a
# failing run can be repeated with EODKIT_SAFETY_SEED=<seed>.
SEED = int(os.environ.get("EODKIT_SAFETY_SEED", "0")) or int(time.time() * 1000) % 100000


def rng(name):
    """A random generator for test NAME, from SEED."""
    return random.Random(f"{SEED}:{name}")


class Setup:
    """The recipe (new) and the other recipe (old, the dataset a build
    replaces), their datasets built in one go, and how long a build takes."""

    def __init__(self, folder, demo):
        self.folder = Path(folder)
        data = self.folder / "data"
        data.mkdir()
        for name in ("L7_ETMs.tif", "olinda1.shp", "olinda1.shx", "olinda1.dbf",
                     "olinda1.prj"):
            shutil.copy2(demo / name, data / name)
        self.image = data / "L7_ETMs.tif"
        self.recipe = self.folder / "recipe.yaml"
        self.recipe.write_text(RECIPE.format(data=data, max_nodata=0.5))
        self.other = self.folder / "other.yaml"
        self.other.write_text(RECIPE.format(data=data, max_nodata=0.2))
        t0 = time.time()
        self.new = self.folder / "new"
        run("build", self.recipe, "-o", self.new, "-j", "1")
        self.seconds = time.time() - t0
        self.old = self.folder / "old"
        run("build", self.other, "-o", self.old, "-j", "1")
        self.hashes = {"new": tree_hashes(self.new), "old": tree_hashes(self.old)}
        assert self.hashes["new"] != self.hashes["old"]

    def which(self, dataset):
        """"new" or "old": the reference DATASET is byte-identical to."""
        hashes = tree_hashes(dataset)
        for name, ref in self.hashes.items():
            if hashes == ref:
                check_consistent(dataset)
                return name
        raise AssertionError(f"{dataset} is neither dataset (seed {SEED}): "
                             f"{sorted(set(hashes.items()) ^ set(self.hashes['new'].items()))[:6]}")


def tree_hashes(folder):
    """{relative path: SHA-256} of every file under FOLDER."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def check_consistent(dataset):
    """The index and the shards agree: every index row points at a row of
    its shard, and every shard row is indexed exactly once."""
    dataset = Path(dataset)
    con = sqlite3.connect(dataset / "index.gpkg")
    indexed = {}
    for split, shard, rows, last in con.execute(
            "select split, shard, count(*), max(row) from chips group by split, shard"):
        indexed[(split, shard)] = rows
        assert last == rows - 1, (split, shard)
    con.close()
    on_disk = {}
    for path in dataset.glob("*/optical-*.npy"):
        shard = int(path.stem.split("-")[1])
        on_disk[(path.parent.name, shard)] = np.load(path, mmap_mode="r").shape[0]
        labels = np.load(path.parent / f"label-{shard:05d}.npy", mmap_mode="r")
        assert labels.shape[0] == on_disk[(path.parent.name, shard)]
    assert indexed == on_disk, (indexed, on_disk)
    splits = json.loads((dataset / "collection.json").read_text())["eodkit:splits"]
    assert sum(s["chips"] for s in splits.values()) == sum(indexed.values())


def place_user_files(out):
    """Files a user keeps beside output folder OUT, among them one named
    like the swap folder older eodkit versions removed (OUT.old). Returns
    them for check_user_files."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = {Path(f"{out}.old") / "mine.txt": "the user's, not eodkit's\n",
             out.parent / "notes.txt": "notes\n",
             Path(f"{out}.backup") / "copy.txt": "backup\n"}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def check_user_files(files):
    for path, text in files.items():
        assert path.read_text() == text, f"{path} was changed or removed (seed {SEED})"


def check_no_leftovers(out, files, allowed=()):
    """Beside OUT: only OUT, the user's FILES and the ALLOWED suffixes."""
    out = Path(out)
    user = {p.relative_to(out.parent).parts[0] for p in files}
    names = {p.name for p in out.parent.iterdir()} - user - {out.name}
    assert names <= {out.name + s for s in allowed}, f"left beside {out}: {names}"


def start(*args, env=None):
    """Start eodkit with ARGS; a Popen with text stdout and stderr."""
    return subprocess.Popen([EODKIT, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))


def holder(stderr):
    """The pid a refusal names as the holder of a lock, or None."""
    found = re.search(r"in use by another eodkit process \(pid (\d+) on ", stderr)
    return int(found.group(1)) if found else None


def lock_pid(folder):
    """The pid written in FOLDER's lock file, or None."""
    try:
        text = (Path(folder) / ".eodkit-lock").read_text().split()
    except FileNotFoundError:
        return None
    return int(text[0]) if text else None


def wait_for(predicate, timeout=60, proc=None):
    """Poll PREDICATE until it holds (or PROC ends, or TIMEOUT); its value."""
    deadline = time.time() + timeout
    while time.time() < deadline and (proc is None or proc.poll() is None):
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    return predicate()
