"""Helpers shared by every benchmark in bench/: where things are, the sizes
of a full and a smoke run, running and timing commands (median of several
runs, peak RSS of the child), the machine and its load, recipes, opening an
eodkit dataset (through python/eodkit), comparing chips, and CPU profiles
with perf."""
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH.parent
SHARED = Path(os.environ.get("EODKIT_SHARED_DATA", SOURCE.parent / "shared" / "data")).resolve()
PYTHON = "/usr/bin/python3"  # Debian's Python, with Debian's rasterio, geopandas, torch

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402  (the source tree's reader, not an installed one)

# Sizes of a full run (`make bench`) and of a smoke run (`make bench-smoke`,
# CI). Scenes are square, in pixels.
SIZES = {
    "full": {
        "build_px": 4096,         # build benchmark scene (4 bands)
        "floor_px": 8192,         # uncompressed scene for the I/O floor
        "memory_px": [10000, 20000],
        "region_res": 0.1,        # degrees per pixel of the region-tagging grid
        "load_batches": 200,      # batches read per loader
        "repeat": 3,              # timed runs per measurement (median reported)
    },
    "smoke": {
        "build_px": 1024,
        "floor_px": 1024,
        "memory_px": [512, 1024],
        "region_res": 1.0,
        "load_batches": 4,
        "repeat": 1,
    },
}


@dataclass
class Config:
    """What one `bench/run` invocation measures, and where."""
    mode: str                 # "full" or "smoke"
    eodkit: str               # path of the eodkit binary under test
    work: Path                # scratch folder for inputs and outputs
    sizes: dict = field(init=False)

    def __post_init__(self):
        self.sizes = SIZES[self.mode]

    @property
    def repeat(self):
        return self.sizes["repeat"]


@dataclass
class Row:
    """One line of the results table (every cell already formatted)."""
    bench: str
    case: str
    inputs: str
    eodkit: str
    baseline: str
    ratio: str
    target: str
    met: bool | None          # None: informational, no target
    same: str                 # the same-output check
    command: str


def secs(s):
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def timed_row(bench, case, inputs, ours, theirs, baseline, target, minimum, same, command):
    """A row comparing times: ratio = THEIRS / OURS (seconds), met when it is
    at least MINIMUM."""
    ratio = theirs / ours
    return Row(bench, case, inputs, secs(ours), f"{secs(theirs)} ({baseline})", f"{ratio:.2f}x",
               target, ratio >= minimum if minimum is not None else None, same, command)


# ---------------------------------------------------------------- running


@dataclass
class Run:
    """One finished child process."""
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_command(cmd):
    """Run CMD (a list) and return its wall time, its peak RSS and its
    output. The peak RSS comes from GNU time (/usr/bin/time -f %M): the
    rusage of a child this Python process starts directly would count the
    memory of Python itself, which the child starts as a copy of. Raise on
    a non-zero exit, showing the end of stderr."""
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *map(str, cmd)],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        kib = rss.read().strip().splitlines()
    if proc.returncode != 0:
        raise RuntimeError(f"{show(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return Run(seconds, int(kib[-1]) / 1024.0, proc.stdout, proc.stderr)


def remove(path):
    """Remove file or folder PATH if it exists."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def medians(cfg, jobs):
    """JOBS: {key: (command, output path)}. Run the commands in turn,
    cfg.repeat rounds, removing each one's output before it runs (untimed):
    interleaved, a change in the machine's load hits every command alike.
    Return {key: the Run with the median wall time}."""
    runs = {key: [] for key in jobs}
    for _ in range(cfg.repeat):
        for key, (cmd, output) in jobs.items():
            remove(output)
            runs[key].append(run_command(cmd))
    return {key: sorted(r, key=lambda x: x.seconds)[len(r) // 2] for key, r in runs.items()}


def median_time(cfg, fn):
    """Call FN() cfg.repeat times; return (median seconds, last result)."""
    times, result = [], None
    for _ in range(cfg.repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def build_cmd(cfg, recipe, out, jobs, *extra):
    """The command building RECIPE into OUT with JOBS threads."""
    return [cfg.eodkit, "build", recipe, "-o", out, "-j", str(jobs), *extra]


def eodkit_build(cfg, recipe, out, jobs, *extra):
    """Build RECIPE into OUT with JOBS threads, cfg.repeat times; return
    (median Run, its JSON summary, the command). OUT stays."""
    cmd = build_cmd(cfg, recipe, out, jobs, *extra)
    best = medians(cfg, {"build": (cmd, out)})["build"]
    return best, json.loads(best.stdout), cmd


def show(cmd, work=None):
    """A command as shell text (for the results table): paths inside WORK
    written as $W/..., other paths inside the repository relative to it."""
    words = []
    for c in map(str, cmd):
        if work is not None:
            c = c.replace(str(work), "$W")
        words.append(c.replace(str(SOURCE) + "/", ""))
    return " ".join(f'"{w}"' if " " in w else w for w in words)


# ---------------------------------------------------------------- machine


def _memory_and_debian():
    """(total memory in GiB, Debian version), from /proc/meminfo and
    /etc/debian_version."""
    kib = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return kib / 2**20, Path("/etc/debian_version").read_text().strip()


def machine():
    """A one-line description of this machine, from /proc and /etc."""
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    gib, debian = _memory_and_debian()
    return f"{cpu.strip()}, {os.cpu_count()} cores, {gib:.0f} GiB, Debian {debian}"


def machine_short():
    """The machine in a few characters, for the results table."""
    gib, debian = _memory_and_debian()
    return f"{os.cpu_count()}c/{gib:.0f}GiB/Deb{debian.split('.')[0]}"


def load():
    """The 1-minute load average (other engineers use this machine too)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def versions(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", SOURCE, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", SOURCE, "status", "--porcelain", "--", "src", "cli",
                            "include", "python", "CMakeLists.txt"],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " plus uncommitted changes to src/, cli/, include/ or python/"
    return f"{out} (commit {commit}), Python {platform.python_version()}"


# ---------------------------------------------------------------- recipes and datasets


def write_recipe(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def scene_recipe(work, name, optical, chip, dem=None, labels=None, max_nodata=0.05, stride=None):
    """Write WORK/NAME.yaml: the bench scene recipe. The grid is the optical
    scene's own (an aligned read); DEM is warped onto it (bilinear); LABELS
    are the mirrored census tracts (then chips need 10% labelled pixels);
    random split, so that no guard band drops chips. STRIDE (default CHIP)
    below CHIP makes overlapping chips."""
    mods = [f"  - {{name: optical, files: [{optical}], band_names: [blue, green, red, nir], nodata: 0}}"]
    if dem is not None:
        mods.append(f"  - {{name: dem, kind: dem, files: [{dem}], resampling: bilinear}}")
    text = f"""dataset: {{name: {name}}}
grid: {{crs: {{like: optical}}, chip_size: {chip}, stride: {stride or chip}}}
modalities:
""" + "\n".join(mods) + "\n"
    filters = f"max_nodata: {max_nodata}"
    if labels is not None:
        text += f"labels: {{source: {labels}, attribute: TIPO, classes: {{URBANO: 1, RURAL: 2}}}}\n"
        filters += ", min_labeled: 0.1"
    text += f"""filters: {{{filters}}}
split: {{method: random, ratios: {{train: 0.8, val: 0.1, test: 0.1}}, seed: 1}}
"""
    return write_recipe(Path(work) / f"{name}.yaml", text)


def describe(path):
    """Short text for an input file: raster size, bands, type, compression
    and CRS, or a vector's feature count; and its size on disk."""
    import rasterio

    path = Path(path)
    mb = f"{path.stat().st_size / 2**20:.0f} MB"
    if path.suffix == ".gpkg":
        import fiona
        with fiona.open(path) as layer:
            return f"{path.name} ({len(layer)} polygons, {mb})"
    with rasterio.open(path) as r:
        comp = (r.compression.value if r.compression else "uncompressed")
        return (f"{path.name} ({r.width}x{r.height} px x{r.count} {r.dtypes[0]}, {comp} "
                f"tiled {r.block_shapes[0][0]}, EPSG:{r.crs.to_epsg()}, {mb})")


def split_arrays(dataset, split, name):
    """Every shard of array NAME of SPLIT of DATASET (a folder), memory-mapped
    through eodkit, in shard order."""
    part = eodkit.open(dataset).split(split)
    return [part.shard(name, k) for k in np.unique(part.column("shard"))]


def tree_digest(folder):
    """SHA-256 over the relative paths and bytes of every file under FOLDER."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def dataset_bytes(dataset, pattern="*"):
    return sum(f.stat().st_size for f in Path(dataset).rglob(pattern) if f.is_file())


class Diff:
    """Running comparison of pairs of arrays: exact, or the largest absolute
    difference and how many values differ."""

    def __init__(self):
        self.arrays = 0
        self.values = 0
        self.differing = 0
        self.max_abs = 0.0

    def add(self, a, b):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape:
            raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
        self.arrays += 1
        self.values += a.size
        if not np.array_equal(a, b):
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            self.differing += int(np.count_nonzero(d))
            self.max_abs = max(self.max_abs, float(d.max()))

    def text(self, what="chips"):
        if self.differing == 0:
            return f"identical ({self.arrays} {what})"
        return (f"{self.differing} of {self.values} values differ, max abs diff "
                f"{self.max_abs:g} ({self.arrays} {what})")


# ---------------------------------------------------------------- perf profiles


# Where a build spends its time: a perf sample belongs to a stage when one
# of these eodkit (or GDAL/PROJ) functions is on its stack. Some stages are
# parts of others ("nodata check", "warp" and "PROJ transforms" of "read +
# align", "audit histograms" of "audit"); "pool work" is what the worker
# threads run (work units, then statistics groups): the rest is serial.
STAGES = {
    "plan": {"ek_plan_make"},
    "labels: load": {"ek_labels_open"},
    "regions: tag": {"ek_regions_open", "ek_regions_tag_plan"},
    "read + align": {"ek_read_modality"},
    "nodata check": {"drop_nodata"},
    "warp": {"GDALWarpOperation::ChunkAndWarpImage"},
    "PROJ transforms": {"proj_trans"},
    "labels: burn": {"ek_labels_render"},
    "chip copy": {"take_chip"},
    "write shards": {"ek_shards_append", "ek_shards_close", "ek_shards_flush"},
    "checkpoints": {"save_checkpoint"},
    "statistics": {"stats_group", "reread_train", "ek_moments_of", "ek_moments_of_hist",
                   "ek_hist_add", "ek_hist_add_all", "ek_stats_mask", "ek_refiner_add",
                   "ek_refiner_new", "ek_refiner_result"},
    "index.gpkg": {"ek_index_create", "ek_index_add", "ek_index_close"},
    "provenance (sha256)": {"ek_provenance_inputs"},
    "audit": {"eodkit_audit"},
    "audit histograms": {"ek_audit_histograms"},
    "pool work": {"ek_unit_run", "stats_group"},
}


def stage_profile(cmd, workdir):
    """Profile CMD (an eodkit build) with perf; return ({stage: CPU
    seconds}, total CPU seconds, text). The text lists the stages and the
    best speed-up two threads could give (Amdahl: pool work halves, the
    rest does not)."""
    shares, total = perf_share(cmd, STAGES, workdir)
    parts = ", ".join(f"{k} {v:.2f}" for k, v in shares.items() if v >= 0.01)
    pool = shares["pool work"]
    bound = total / (total - pool / 2)
    text = f"CPU {total:.2f} s: {parts} s; at best {bound:.2f}x with 2 threads"
    return shares, total, text


def perf_share(cmd, groups, workdir):
    """Run CMD under `perf record` (software cpu-clock, DWARF call stacks) and
    return ({group: seconds}, total CPU seconds): a sample counts for a group
    when any frame of its stack is one of the group's function names. Each
    sample is counted once per group. Where perf cannot record, every figure
    is NaN."""
    data = Path(workdir) / "perf.data"
    hz = 499
    record = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz),
                             "--call-graph", "dwarf,16384", "-o", data, "--", *map(str, cmd)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if record.returncode != 0:
        # e.g. perf events not allowed here: the shares are unknown (NaN), the
        # benchmark's other figures and checks stand
        log(f"perf record failed ({record.stderr.strip()[:200]}); CPU shares are n/a")
        return {g: float("nan") for g in groups}, float("nan")
    script = subprocess.run(["perf", "script", "--no-inline", "-i", data, "-F", "ip,sym"],
                            capture_output=True, text=True, check=True).stdout
    data.unlink()
    counts = {g: 0 for g in groups}
    total = 0
    for sample in script.split("\n\n"):
        # each line: "<address> <symbol>"
        frames = {line.split()[1] for line in sample.strip().splitlines() if len(line.split()) > 1}
        if not sample.strip():
            continue
        total += 1
        for g, names in groups.items():
            if frames & names:
                counts[g] += 1
    return {g: n / hz for g, n in counts.items()}, total / hz


def log(*args):
    print(*args, file=sys.stderr, flush=True)
