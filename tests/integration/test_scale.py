"""Builds beyond one uninterrupted thread give the same bytes, with aligned
reads, warping and labels over many work units and shards: with 2 threads;
killed and resumed at any point (after planning, mid-shard, across a shard
boundary, during finishing, and at a random moment); in parts joined by
`eodkit merge`; and under `mpirun -n 2`."""
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EODKIT, SOURCE, run, same_tree

RECIPE = """
dataset: {{name: scale}}
grid: {{crs: EPSG:32724, resolution: 20, chip_size: 24, stride: 20}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif], resampling: bilinear, nodata: 0}}
labels: {{source: {demo}/olinda1.shp, attribute: TIPO}}
filters: {{max_nodata: 0.5}}
split: {{method: blocks, block_size: 1500, buffer: 1, ratios: {{train: 0.7, val: 0.1, test: 0.2}}}}
output: {{shard_size: 256KiB}}
"""
CHIP_BYTES = 24 * 24 * 6  # one optical chip: 6 bands of 24 x 24 bytes


@pytest.fixture(scope="module")
def recipe(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "recipe.yaml"
    path.write_text(RECIPE.format(demo=demo))
    return path


@pytest.fixture(scope="module")
def reference(recipe):
    """The dataset built in one uninterrupted process with one thread."""
    out = recipe.parent / "reference"
    summary = json.loads(run("build", recipe, "-o", out, "-j", "1").stdout)
    assert summary["chips"] > 200 and summary["splits"]["train"] > 100
    return out


def chips(dataset):
    return sum(json.loads((dataset / "collection.json").read_text())["eodkit:splits"][s]["chips"]
               for s in ("train", "val", "test"))


def crash(recipe, out, point, *extra):
    """Build with the fault injection hook set to POINT: killed by SIGKILL."""
    env = dict(os.environ, EODKIT_CRASH_AT=point)
    proc = subprocess.run([EODKIT, "build", str(recipe), "-o", str(out), *extra], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not out.exists()
    return Path(f"{out}.partial")


def chips_on_disk(partial, split):
    """Chips the optical shards of SPLIT hold, whatever the checkpoint says."""
    files = sorted((partial / split).glob("optical-*.npy"))
    return sum((f.stat().st_size - 128) // CHIP_BYTES for f in files), len(files)


def test_threads_give_identical_bytes(recipe, reference, tmp_path):
    out = tmp_path / "out"
    run("build", recipe, "-o", out, "-j", "2")
    assert same_tree(reference, out) > 10
    # With 2 threads the input checksums are hashed beside the workers; the
    # same provenance says so (same_tree), and each checksum is the file's.
    inputs = json.loads((out / "provenance.json").read_text())["inputs"]
    paths = {Path(i["path"]).name: i for i in inputs}
    assert {"L7_ETMs.tif", "olinda1.shp", "olinda1.shx", "olinda1.dbf",
            "olinda1.prj"} <= set(paths)
    assert [i["role"] for i in inputs][:2] == ["modality", "labels"]
    assert any(i["role"] == "regions" for i in inputs)
    for item in inputs:
        data = Path(item["path"]).read_bytes()
        assert item["bytes"] == len(data)
        assert item["sha256"] == hashlib.sha256(data).hexdigest(), item["path"]


@pytest.mark.parametrize("point", ["planned", "unit:1", "unit:4", "finish"])
def test_killed_build_resumes_to_the_same_bytes(recipe, reference, tmp_path, point):
    out = tmp_path / "out"
    partial = crash(recipe, out, point, "-j", "2")
    assert (partial / ".eodkit-partial").exists()
    # a killed build is never taken for a dataset
    proc = run("info", partial, check=False)
    assert proc.returncode == 2 and "unfinished build" in proc.stderr
    if point.startswith("unit:"):
        # killed after the unit's chips reached the shards, before a
        # checkpoint could record them (one is written after the first unit,
        # then at most once a second): the files hold more chips than the
        # checkpoint says
        checkpoint = json.loads((partial / ".eodkit-checkpoint.json").read_text())
        assert 1 <= checkpoint["next_unit"] <= int(point[5:])
        on_disk, shards = chips_on_disk(partial, "train")
        assert on_disk > checkpoint["rows"]["train"]
        if point == "unit:1":  # a new shard was begun after the checkpoint
            assert shards > 1 and checkpoint["rows"]["train"] < 256 * 1024 // CHIP_BYTES
    if point == "finish":
        assert (partial / "index.gpkg").exists()
    summary = json.loads(run("build", recipe, "-o", out, "--resume", "-j", "1").stdout)
    assert not partial.exists()
    assert same_tree(reference, out) > 10
    assert summary["chips"] == chips(reference)


def test_killed_at_a_random_moment_resumes(recipe, reference, tmp_path):
    """A real SIGKILL from outside, while units are being written."""
    out = tmp_path / "out"
    checkpoint = Path(f"{out}.partial") / ".eodkit-checkpoint.json"
    proc = subprocess.Popen([EODKIT, "build", str(recipe), "-o", str(out), "-j", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    if out.exists():
        pytest.fail("the build finished before it could be killed: use a bigger recipe")
    run("build", recipe, "-o", out, "--resume", "-j", "2")
    assert same_tree(reference, out) > 10


def test_without_resume_a_killed_build_starts_afresh(recipe, reference, tmp_path):
    out = tmp_path / "out"
    partial = crash(recipe, out, "unit:4")
    # without --resume a stale partial build is cleared, never reused
    (partial / "train" / "optical-00000.npy").write_bytes(b"garbage")
    run("build", recipe, "-o", out)
    assert same_tree(reference, out) > 10


def test_resume_refuses_another_recipe(recipe, tmp_path):
    out = tmp_path / "out"
    crash(recipe, out, "unit:4")
    other = tmp_path / "other.yaml"
    other.write_text(recipe.read_text().replace("max_nodata: 0.5", "max_nodata: 0.4"))
    proc = run("build", other, "-o", out, "--resume", check=False)
    assert proc.returncode == 2
    assert ".eodkit-checkpoint.json: was left by a build of another recipe" in proc.stderr


@pytest.mark.parametrize("parts", [2, 3])
def test_parts_merge_to_the_same_bytes(recipe, reference, tmp_path, parts):
    out = tmp_path / "out"
    chips = 0
    for i in range(parts):
        summary = json.loads(run("build", recipe, "-o", out, "--part", f"{i}/{parts}",
                                 "-j", str(1 + i % 2)).stdout)
        assert summary["part"] == f"{i}/{parts}" and not out.exists()
        chips += summary["chips"]
    merged = json.loads(run("merge", recipe, "-o", out, "-j", "2").stdout)
    assert merged["chips"] == chips
    assert same_tree(reference, out) > 10
    assert not Path(f"{out}.parts").exists()


def test_parts_merge_with_the_region_layer_they_were_built_with(recipe, tmp_path):
    """Parts built with --region-field merge (and audit) with the same field;
    the parts' inputs are checked, so the merge must be told it too."""
    single, out = tmp_path / "single", tmp_path / "out"
    run("build", recipe, "-o", single, "--region-field", "SUBREGION")
    for i in range(2):
        run("build", recipe, "-o", out, "--part", f"{i}/2", "--region-field", "SUBREGION")
    proc = run("merge", recipe, "-o", out, check=False)
    assert proc.returncode == 2 and "another recipe or other inputs" in proc.stderr
    proc = run("merge", recipe, "-o", out, "--region-field", "SUBREGION")
    assert json.loads(proc.stdout)["chips"] > 200
    assert same_tree(single, out) > 10


def test_merge_needs_every_part_finished(recipe, reference, tmp_path):
    out = tmp_path / "out"
    run("build", recipe, "-o", out, "--part", "0/2")
    proc = run("merge", recipe, "-o", out, check=False)
    assert proc.returncode == 2 and "part 1/2 is missing" in proc.stderr
    env = dict(os.environ, EODKIT_CRASH_AT="unit:7")
    killed = subprocess.run([EODKIT, "build", str(recipe), "-o", str(out), "--part", "1/2"],
                            env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    proc = run("merge", recipe, "-o", out, check=False)
    assert proc.returncode == 2 and "part 1/2 is not finished" in proc.stderr
    assert "--part 1/2 --resume" in proc.stderr
    run("build", recipe, "-o", out, "--part", "1/2", "--resume")
    run("merge", recipe, "-o", out)
    assert same_tree(reference, out) > 10


def test_mpirun_gives_the_same_bytes(recipe, reference, tmp_path):
    mpirun = shutil.which("mpirun")
    assert mpirun, "OpenMPI is missing: scripts/setup-deps.sh test installs it"
    out = tmp_path / "out"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # OpenMPI's plugins keep memory to the end (LeakSanitizer cannot name
    # them to suppress); the same part and merge code runs leak-checked in
    # the tests above
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    proc = subprocess.run([mpirun, "--oversubscribe", "-n", "2", EODKIT, "build",
                           str(recipe), "-o", str(out)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # rank 0 alone prints the summary
    assert summary["chips"] > 200
    assert same_tree(reference, out) > 10
    assert not Path(f"{out}.parts").exists()


def doc_examples(page, prefix):
    return re.findall(rf"^    ({prefix}.*)$", page.read_text(), re.M)


def test_the_scaling_page_examples_run(tmp_path, demo):
    """doc/scaling.md's (and doc/cmd/merge.md's) demo commands, and the
    Slurm script run as a job array of two tasks, give the dataset of a
    plain build."""
    work = tmp_path / "work"
    (work / "examples").mkdir(parents=True)
    shutil.copy(SOURCE / "examples/olinda.yaml", work / "examples")
    (work / "examples/data").symlink_to(demo)
    lines = doc_examples(SOURCE / "doc/scaling.md", "eodkit (?:build|merge) examples/olinda")
    assert len(lines) == 3
    # `eodkit merge --help` shows the same three commands
    assert doc_examples(SOURCE / "doc/cmd/merge.md", "eodkit (?:build|merge) examples") == lines
    for line in lines:
        run(*shlex.split(line.split("#")[0])[1:], cwd=work)
    run("build", "examples/olinda.yaml", "-o", "out/plain", cwd=work)
    assert same_tree(work / "out/olinda-parts", work / "out/plain") > 10
    env = dict(os.environ, PATH=f"{Path(EODKIT).parent}:{os.environ['PATH']}",
               SLURM_ARRAY_TASK_COUNT="2", SLURM_ARRAY_TASK_MIN="0",
               SLURM_ARRAY_TASK_MAX="1", SLURM_ARRAY_TASK_STEP="1",
               SLURM_CPUS_PER_TASK="2")
    for task in ("0", "1"):
        subprocess.run(["sh", str(SOURCE / "examples/slurm_build.sh"), "examples/olinda.yaml",
                        "out/slurm"], cwd=work, env=dict(env, SLURM_ARRAY_TASK_ID=task),
                       check=True, capture_output=True)
    run("merge", "examples/olinda.yaml", "-o", "out/slurm", cwd=work)
    assert same_tree(work / "out/slurm", work / "out/plain") > 10
