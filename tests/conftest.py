"""Shared fixtures for eodkit's pytest suites (integration and cli).

Tests run the real `eodkit` binary (EODKIT_BIN, set by ctest) on real data
from ../shared/data (EODKIT_SHARED_DATA) and the demo data in
examples/data (fetched by `make demo` / `make check`)."""
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SOURCE = Path(os.environ.get("EODKIT_SOURCE_DIR", Path(__file__).resolve().parents[1]))
SHARED = Path(os.environ.get("EODKIT_SHARED_DATA", SOURCE.parent / "shared" / "data")).resolve()
EODKIT = os.environ.get("EODKIT_BIN", str(SOURCE / "build" / "eodkit"))
DEMO = SOURCE / "examples" / "data"
BUILD_DIR = Path(os.environ.get("EODKIT_BUILD_DIR", Path(EODKIT).parent))


def sanitized():
    """Whether EODKIT is an AddressSanitizer build: its memory and time
    say nothing about eodkit's (shadow memory, quarantine, checks), so
    tests bound them on optimised builds only."""
    return b"__asan_init" in Path(EODKIT).read_bytes()


def run(*args, check=True, **kw):
    """Run eodkit with ARGS; return the CompletedProcess (text mode)."""
    proc = subprocess.run([EODKIT, *map(str, args)], capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"eodkit {' '.join(map(str, args))} failed "
                             f"({proc.returncode}):\n{proc.stderr}")
    return proc


def help_text(page):
    """What `eodkit <command> --help` prints for command page PAGE
    (doc/cmd/<command>.md): the page as plain text, rendered by
    scripts/cmdpage.py as the build does."""
    return subprocess.run([sys.executable, str(SOURCE / "scripts/cmdpage.py"), "text",
                           str(page)], capture_output=True, text=True, check=True).stdout


def npm_package(folder, package):
    """FOLDER/node_modules/PACKAGE, installed by `npm ci` from FOLDER's
    package-lock.json on first use."""
    path = Path(folder) / "node_modules" / package
    if not path.is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is missing: run scripts/setup-deps.sh test"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True,
                       timeout=300)
    return path


def run_interrupted(*args, after, sig=signal.SIGINT, before_signal=None):
    """Run eodkit with ARGS and send it SIG AFTER seconds in (it must still
    run then; BEFORE_SIGNAL(), when given, checks it first); wait at most
    30 s for it to end. Return (returncode, stdout, stderr, seconds from the
    signal to the end)."""
    proc = subprocess.Popen([EODKIT, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(after)
        assert proc.poll() is None, proc.communicate()
        if before_signal is not None:
            before_signal()
        proc.send_signal(sig)
        t0 = time.monotonic()
        stdout, stderr = proc.communicate(timeout=30)
        seconds = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr, seconds


def build(recipe_text, folder, *extra, name="recipe.yaml"):
    """Write RECIPE_TEXT to FOLDER/NAME, build it into FOLDER/out; return
    (dataset path, summary dict)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recipe = folder / name
    recipe.write_text(recipe_text)
    out = folder / "out"
    proc = run("build", recipe, "-o", out, "--overwrite", *extra)
    return out, json.loads(proc.stdout)


class Dataset:
    """A built dataset, read with NumPy and sqlite3 only."""

    def __init__(self, path):
        self.path = Path(path)
        self.collection = json.loads((self.path / "collection.json").read_text())
        self.stats = json.loads((self.path / "stats.json").read_text())
        self.provenance = json.loads((self.path / "provenance.json").read_text())

    def chips(self, where="1=1"):
        """Rows of the index as dicts."""
        con = sqlite3.connect(self.path / "index.gpkg")
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute(f"select * from chips where {where} order by fid")]
        con.close()
        return rows

    def array(self, split, name, shard):
        return np.load(self.path / split / f"{name}-{shard:05d}.npy", mmap_mode="r")

    def chip(self, row, name):
        return self.array(row["split"], name, row["shard"])[row["row"]]

    def split_arrays(self, split, name):
        """All shards of one array of a split, concatenated."""
        files = sorted((self.path / split).glob(f"{name}-*.npy"))
        return np.concatenate([np.load(f) for f in files]) if files else None


@pytest.fixture(scope="session")
def shared():
    if not SHARED.is_dir():
        pytest.fail(f"shared test data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def demo():
    if not (DEMO / "L7_ETMs.tif").exists():
        pytest.fail(f"demo data missing in {DEMO}: run scripts/fetch-demo-data.sh")
    return DEMO


@pytest.fixture(scope="session")
def demo_dataset(demo, tmp_path_factory):
    """The demo recipe (examples/olinda.yaml) built once per session on the
    demo data: the dataset folder."""
    text = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    out, _ = build(text, tmp_path_factory.mktemp("demo"))
    return out


@pytest.fixture(scope="session")
def prefix(tmp_path_factory):
    """The build installed into a new prefix as `make install PREFIX=...`
    installs it (`cmake --install`): bin/eodkit, lib/libeodkit.so*,
    lib/pkgconfig/eodkit.pc, include/eodkit, share/man/man1, share/eodkit."""
    dest = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(dest)],
                   check=True, capture_output=True, timeout=300)
    return dest


def grid_window(ds, row):
    """(column, row) of a chip's top-left pixel on raster DS, from the chip's
    geotransform in the index."""
    gt = json.loads(row["geotransform"])
    t = ds.transform
    col = (gt[0] - t.c) / t.a
    line = (gt[3] - t.f) / t.e
    assert abs(col - round(col)) < 1e-6 and abs(line - round(line)) < 1e-6
    return round(col), round(line)


GDAL_RESAMPLING = {"nearest": "near", "median": "med"}


def gdalwarp_options(ds, modality, source=0, grid=0):
    """The gdalwarp options doc/format.md gives to reproduce MODALITY's
    pixels from its file SOURCE on grid GRID of dataset DS, filled in from
    provenance.json: the argument list between `gdalwarp` and `<file>`."""
    command = re.search(r"```sh\n(gdalwarp .*?)\n```",
                        (SOURCE / "doc/format.md").read_text(), re.S).group(1)
    g = ds.provenance["grid"]["grids"][grid]
    read = ds.provenance["read"][modality]
    placed = next(p for p in read["sources"][source]["placements"] if p["grid"] == grid)
    gt, w, h = g["geotransform"], g["width"], g["height"]
    values = {"wkt": g["wkt"], "xmin": gt[0], "ymin": gt[3] + h * gt[5],
              "xmax": gt[0] + w * gt[1], "ymax": gt[3], "width": w, "height": h,
              "resampling": GDAL_RESAMPLING.get(read["resampling"], read["resampling"]),
              "error_threshold": read["error_threshold"], "xscale": placed["xscale"],
              "yscale": placed["yscale"]}

    def fill(match):
        v = values[match.group(1)]
        return repr(v) if isinstance(v, float) else str(v)

    args = shlex.split(command)
    assert args[0] == "gdalwarp" and args[-2:] == ["<file>", "out.tif"]
    return [re.sub(r"<(\w+)>", fill, a) for a in args[1:-2]]


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)


def same_tree(a, b):
    """Assert folders A and B hold the same files with the same bytes; return
    how many files."""
    import filecmp
    a, b = Path(a), Path(b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), f"{rel} differs"
    return len(files_a)


# Files of a dataset that name its inputs (paths, checksums, ETags).
NAMING_INPUTS = {"provenance.json", "recipe.yaml", "datasheet.md"}


def same_data(a, b):
    """Assert datasets A and B hold the same files with the same bytes, but
    for the files that name the inputs (NAMING_INPUTS); return how many
    files were compared."""
    import filecmp
    a, b = Path(a), Path(b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    compared = [rel for rel in files_a if rel.name not in NAMING_INPUTS]
    for rel in compared:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), f"{rel} differs"
    return len(compared)


def build_spacenet_recipe(folder, shared):
    """Build the detection recipe of doc/recipe.md (the SpaceNet buildings)
    in FOLDER as the page says: data/solaris and data/solaris-labels link to
    the shared data, FOLDER/spacenet.yaml holds the recipe and the dataset
    lands in FOLDER/out/spacenet-buildings."""
    blocks = (SOURCE / "doc/recipe.md").read_text().split("```yaml\n")
    recipe = next(b.split("```")[0] for b in blocks if "task: detection" in b)
    (folder / "data").mkdir()
    (folder / "data/solaris").symlink_to(shared / "optical/solaris")
    (folder / "data/solaris-labels").symlink_to(shared / "vector/solaris")
    (folder / "spacenet.yaml").write_text(recipe)
    run("build", "spacenet.yaml", cwd=folder)


def demo_workdir(folder, demo):
    """FOLDER laid out as the repository for the examples of a command page:
    examples/olinda.yaml, examples/data (the demo data) and the demo dataset
    built from them in examples/out/olinda. Returns FOLDER."""
    (folder / "examples").mkdir()
    shutil.copy(SOURCE / "examples/olinda.yaml", folder / "examples/olinda.yaml")
    (folder / "examples/data").symlink_to(demo)
    run("build", "examples/olinda.yaml", "--overwrite", cwd=folder)
    return folder


def run_page_examples(page, folder):
    """Run the examples of command page PAGE (its indented `python3 ...` and
    `eodkit ...` lines after "Examples") in FOLDER, in order; return what
    each eodkit line printed (each must succeed without a word on stderr)."""
    section = page.read_text().split("Examples", 1)[1]
    outputs = []
    for line in re.findall(r"^    ((?:python3|eodkit) .*)$", section, re.M):
        if line.startswith("python3"):
            subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=folder, check=True)
            continue
        proc = run(*shlex.split(line)[1:], cwd=folder)
        assert proc.stderr == "", line
        outputs.append(proc.stdout)
    return outputs


def _servers(make):
    """The body of a server fixture: yield a function that starts a server
    made by MAKE(*args) and returns it; stop every one when the test ends."""
    servers = []

    def start(*args):
        server = make(*args).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def http_server(tmp_path_factory):
    """Start nginx serving a folder: `http_server(folder)` returns a running
    httpfixtures.Nginx (its `url(name)`, `requests()`); every server is
    stopped when the test ends."""
    from httpfixtures import Nginx
    yield from _servers(lambda root: Nginx(root, tmp_path_factory.mktemp("nginx")))


@pytest.fixture
def fault_proxy():
    """Start a fault-injecting proxy in front of a server: `fault_proxy(server)`
    returns a running httpfixtures.FaultProxy, stopped when the test ends."""
    from httpfixtures import FaultProxy
    yield from _servers(lambda server: FaultProxy(server.port))


@pytest.fixture
def stac_api(tmp_path_factory):
    """Start the STAC API test double (tests/stac_api.py) over a list of STAC
    Items: `stac_api(items)` returns a running httpfixtures.StacApi (its
    `url(path)`, `requests()`), stopped when the test ends."""
    from httpfixtures import StacApi
    yield from _servers(lambda items: StacApi(items, tmp_path_factory.mktemp("stac-api")))
