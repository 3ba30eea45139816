"""A build as the tasks of a job array (`eodkit build --part auto`), with the
example job files of each batch system: examples/slurm_build.sh,
examples/aws_batch/, examples/gcp_batch/ and examples/kubernetes/. Each
file is checked for what the batch system needs, then its commands run as
local processes with the variables the system sets in each task: tasks at
once, a task killed and retried, a task run twice at once, a task run again
once its part is built. The merge its example gives then makes a dataset
byte-identical to a build in one process. And: what --part auto refuses,
the parts' completion markers, and what a merge says of parts not ready."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import EODKIT, SOURCE, run, same_tree

RECIPE = """
dataset: {{name: arrays}}
grid: {{crs: EPSG:32724, resolution: 20, chip_size: 24, stride: 20}}
modalities:
  - {{name: optical, files: [{data}/L7_ETMs.tif], resampling: bilinear, nodata: 0}}
labels: {{source: {data}/olinda1.shp, attribute: TIPO}}
filters: {{max_nodata: {max_nodata}}}
split: {{method: blocks, block_size: 1500, buffer: 1, ratios: {{train: 0.7, val: 0.1, test: 0.2}}}}
output: {{shard_size: 256KiB}}
"""
EXAMPLES = SOURCE / "examples"

# The variables each batch system sets in the tasks of an array, as
# doc/scaling.md lists them; cli/job_array.c must read exactly these.
SYSTEMS = {
    "Slurm": ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"),
    "AWS Batch": ("AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE"),
    "Google Cloud Batch": ("BATCH_TASK_INDEX", "BATCH_TASK_COUNT"),
    "a Kubernetes Indexed Job": ("JOB_COMPLETION_INDEX", None),
}
SLURM_RANGE = ("SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP")
ALL_VARIABLES = {v for pair in SYSTEMS.values() for v in pair if v} | set(SLURM_RANGE)


@pytest.fixture(scope="module")
def recipe(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("arrays") / "recipe.yaml"
    path.write_text(RECIPE.format(data=demo, max_nodata=0.5))
    return path


@pytest.fixture(scope="module")
def reference(recipe):
    """The dataset built in one process with one thread."""
    out = recipe.parent / "reference"
    run("build", recipe, "-o", out, "-j", "1")
    return out


def task_env(variables):
    """The environment of a task: ours without any job array's variables
    (the tests may run inside one), plus VARIABLES, and eodkit on the PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ALL_VARIABLES}
    env["PATH"] = f"{Path(EODKIT).parent}:{env['PATH']}"
    env.update({k: str(v) for k, v in variables.items()})
    return env


def start(argv, variables, **kw):
    """Start task ARGV (its "eodkit" is the binary under test) with the job
    array VARIABLES: a Popen with text output."""
    argv = [EODKIT if a == "eodkit" else str(a) for a in argv]
    return subprocess.Popen(argv, env=task_env(variables), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finish(proc, timeout=300):
    """Wait for PROC: (return code, summary dict or None, stderr)."""
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, json.loads(stdout) if proc.returncode == 0 else None, stderr


def run_tasks(argv, variables_of, tasks):
    """Run TASKS (indices) of an array at once, task I with the variables
    VARIABLES_OF(I); each must succeed. Their summaries, by task."""
    procs = {i: start(argv, variables_of(i)) for i in tasks}
    summaries = {}
    for i, proc in procs.items():
        rc, summaries[i], stderr = finish(proc)
        assert rc == 0, f"task {i}: {stderr}"
    return summaries


def snapshot(folder):
    """Every path under FOLDER with its bytes and modification time (lock
    files: bytes only, as taking a lock stamps them)."""
    return {p: (None if p.is_dir() else p.read_bytes(),
                None if p.name == ".eodkit-lock" else p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*"))}


def lock_pid(folder):
    """The pid written in FOLDER's lock file, or None."""
    try:
        text = (Path(folder) / ".eodkit-lock").read_text().split()
    except FileNotFoundError:
        return None
    return int(text[0]) if text else None


def wait_for(probe, proc, seconds=120):
    """Poll PROBE until it returns something true (or PROC ends): its value."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        value = probe()
        if value:
            return value
        time.sleep(0.01)
    return None


def check_merged(out, reference):
    assert same_tree(reference, out) > 10
    assert not Path(f"{out}.parts").exists()


def test_the_code_reads_the_documented_variables():
    """cli/job_array.c reads each system's variables as documented, and
    doc/scaling.md names every one of them."""
    code = (SOURCE / "cli/job_array.c").read_text()
    table = re.findall(r'\{"([^"]+)", "([A-Z_]+)", (?:"([A-Z_]+)"|NULL)\}', code)
    assert {name: (index, count or None) for name, index, count in table} == SYSTEMS
    for name in SLURM_RANGE:
        assert f'"{name}"' in code
    page = (SOURCE / "doc/scaling.md").read_text()
    for name in ALL_VARIABLES:
        assert f"`{name}`" in page, name


# ---- Slurm ----

def slurm(task_id, first, last, step=1):
    """The variables of task TASK_ID of `sbatch --array=FIRST-LAST:STEP`."""
    return {"SLURM_ARRAY_TASK_ID": task_id, "SLURM_ARRAY_TASK_MIN": first,
            "SLURM_ARRAY_TASK_MAX": last, "SLURM_ARRAY_TASK_STEP": step,
            "SLURM_ARRAY_TASK_COUNT": len(range(first, last + 1, step)),
            "SLURM_ARRAY_JOB_ID": 4242, "SLURM_CPUS_PER_TASK": 2}


def test_slurm_array(recipe, reference, tmp_path):
    """examples/slurm_build.sh as `sbatch --array=1-4` (Slurm numbers the
    tasks 1 to 4: parts 0 to 3), tasks at once; a requeued task whose part
    is built ends at once, touching nothing; the merge its header gives
    makes the dataset of a build in one process."""
    script = EXAMPLES / "slurm_build.sh"
    text = script.read_text()
    assert re.search(r"sbatch --parsable --array=0-7 examples/slurm_build.sh RECIPE OUT",
                     text)
    merge = re.search(r'--wrap "eodkit (merge RECIPE -o OUT -j 4)"', text).group(1)
    out = tmp_path / "out"
    argv = ["sh", script, recipe, out]
    summaries = run_tasks(argv, lambda i: slurm(i, 1, 4), range(1, 5))
    assert sorted(s["part"] for s in summaries.values()) == ["0/4", "1/4", "2/4", "3/4"]
    assert summaries[3]["part"] == "2/4" and summaries[3]["threads"] == 2
    parts = Path(f"{out}.parts")
    before = snapshot(parts)
    # requeued (preempted after it finished), and the same task in an array
    # submitted again with a step (--array=0-6:2: task 4 is part 2 of 4)
    for variables in (slurm(3, 1, 4), slurm(4, 0, 6, 2)):
        rc, summary, stderr = finish(start(argv, variables))
        assert rc == 0, stderr
        assert "part 2/4 (Slurm: SLURM_ARRAY_TASK_ID=" in stderr
        assert f"part 2/4 is already built in {parts}/2-of-4" in stderr
        assert summary.pop("already_built") is True and summary == summaries[3]
        assert snapshot(parts) == before
    run(*merge.replace("RECIPE", str(recipe)).replace("OUT", str(out)).split())
    check_merged(out, reference)


# ---- AWS Batch ----

def substitute(command, parameters):
    """COMMAND with AWS Batch's Ref::NAME placeholders replaced from
    PARAMETERS, as AWS Batch does."""
    return [parameters[a[5:]] if a.startswith("Ref::") else a for a in command]


def check_aws_definition(job, verb):
    container = job["containerProperties"]
    command = container["command"]
    assert job["type"] == "container" and command[:2] == ["eodkit", verb]
    for arg in command:
        if arg.startswith("Ref::"):
            assert arg[5:] in job["parameters"], arg
    mounted = [m["containerPath"] for m in container["mountPoints"]]
    volumes = {v["name"] for v in container["volumes"]}
    assert {m["sourceVolume"] for m in container["mountPoints"]} <= volumes
    for name in ("recipe", "output"):
        assert any(job["parameters"][name].startswith(f"{m}/") for m in mounted)
    # recipe and usage errors end the job; others (a reclaimed instance, a
    # full disk, a lock still held) are retried
    assert job["retryStrategy"]["attempts"] >= 2
    assert {(e.get("onExitCode"), e["action"])
            for e in job["retryStrategy"]["evaluateOnExit"]} == {("1", "EXIT"), ("2", "EXIT")}
    return command


def test_aws_batch_array(recipe, reference, tmp_path):
    """examples/aws_batch: the build job definition's command as the four
    children of an array job; a child killed once its units were written
    (before its part was marked done) is not taken as built, and its second
    attempt finishes it; then the merge job definition's command."""
    build = json.loads((EXAMPLES / "aws_batch/build.json").read_text())
    merge = json.loads((EXAMPLES / "aws_batch/merge.json").read_text())
    command = check_aws_definition(build, "build")
    assert command[command.index("--part") + 1] == "auto" and "--resume" in command
    check_aws_definition(merge, "merge")
    submit = (EXAMPLES / "aws_batch/submit.sh").read_text()
    for needed in ('--job-definition eodkit-build --array-properties "size=$parts"',
                   '--job-definition eodkit-merge --depends-on "jobId=$array"',
                   "file://$here/build.json", "file://$here/merge.json"):
        assert needed in submit
    assert submit.count('--parameters "recipe=$recipe,output=$out"') == 2
    out = tmp_path / "out"
    parameters = dict(build["parameters"], recipe=str(recipe), output=str(out), threads="2")
    argv = substitute(command, parameters)

    def child(i, attempt=1):
        return {"AWS_BATCH_JOB_ARRAY_INDEX": i, "AWS_BATCH_JOB_ARRAY_SIZE": 4,
                "AWS_BATCH_JOB_ATTEMPT": attempt, "AWS_BATCH_JOB_ID": f"abc:{i}"}

    run_tasks(argv, child, (0, 1, 3))
    rc, _, stderr = finish(start(argv, dict(child(2), EODKIT_CRASH_AT="done")))
    assert rc == -signal.SIGKILL, stderr
    proc = run(*substitute(merge["containerProperties"]["command"], parameters)[1:],
               check=False)
    assert proc.returncode == 2 and "part 2/4 is not finished" in proc.stderr
    rc, summary, stderr = finish(start(argv, child(2, attempt=2)))
    assert rc == 0 and "already_built" not in summary, stderr
    run(*substitute(merge["containerProperties"]["command"], parameters)[1:])
    check_merged(out, reference)


# ---- Google Cloud Batch ----

def mapped(argv, mount, folder):
    """ARGV with the paths under MOUNT (the job's shared volume) moved to
    FOLDER."""
    return [str(folder) + a[len(mount):] if a.startswith(mount + "/") else a for a in argv]


def test_gcp_batch_array(recipe, reference, tmp_path):
    """examples/gcp_batch: build.json's command as its taskCount tasks (more
    tasks than work units: some parts are empty), one of them started twice
    at once (the second exits 6 naming the first, touching nothing); then
    merge.json's command."""
    job = json.loads((EXAMPLES / "gcp_batch/build.json").read_text())
    merge = json.loads((EXAMPLES / "gcp_batch/merge.json").read_text())
    group, = job["taskGroups"]
    spec = group["taskSpec"]
    tasks = int(group["taskCount"])
    assert int(group["parallelism"]) == tasks and spec["maxRetryCount"] >= 1
    assert spec["lifecyclePolicies"] == [
        {"action": "FAIL_TASK", "actionCondition": {"exitCodes": [1, 2]}}]
    volume, = spec["volumes"]
    mount = volume["mountPath"]
    container = spec["runnables"][0]["container"]
    argv = [container["entrypoint"], *container["commands"]]
    assert argv[:2] == ["eodkit", "build"] and argv[argv.index("--part") + 1] == "auto"
    assert "--resume" in argv and argv[2].startswith(mount + "/")
    merge_group, = merge["taskGroups"]
    assert int(merge_group["taskCount"]) == 1 and merge_group["taskSpec"]["volumes"] == [volume]
    merge_container = merge_group["taskSpec"]["runnables"][0]["container"]
    merge_argv = [merge_container["entrypoint"], *merge_container["commands"]]
    assert merge_argv[:3] == ["eodkit", "merge", argv[2]]
    assert merge_argv[merge_argv.index("-o") + 1] == argv[argv.index("-o") + 1]

    shared = tmp_path / "share"
    shared.mkdir()
    shutil.copy(recipe, shared / Path(argv[2]).name)
    argv, merge_argv = mapped(argv, mount, shared), mapped(merge_argv, mount, shared)
    out = Path(argv[argv.index("-o") + 1])

    def task(i, attempt=0):
        return {"BATCH_TASK_INDEX": i, "BATCH_TASK_COUNT": tasks,
                "BATCH_TASK_RETRY_ATTEMPT": attempt, "BATCH_JOB_ID": "eodkit-parts"}

    first = start(argv, task(1))
    folder = Path(f"{out}.parts/1-of-{tasks}")
    pid = wait_for(lambda: lock_pid(folder), first)
    assert pid == first.pid, first.communicate()
    first.send_signal(signal.SIGSTOP)
    try:
        before = snapshot(shared)
        rc, _, stderr = finish(start(argv, task(1)))
        assert rc == 6, stderr
        assert f"1-of-{tasks}: in use by another eodkit process (pid {pid} on " in stderr
        assert snapshot(shared) == before
    finally:
        first.send_signal(signal.SIGCONT)
    rc, summary, stderr = finish(first)
    assert rc == 0, stderr
    summaries = run_tasks(argv, task, [i for i in range(tasks) if i != 1])
    assert any(s["units"][0] == s["units"][1] for s in summaries.values())
    run(*merge_argv[1:])
    check_merged(out, reference)


# ---- Kubernetes Indexed Job ----

def test_kubernetes_indexed_job(recipe, reference, tmp_path):
    """examples/kubernetes: build.yaml's pods (JOB_COMPLETION_INDEX, the
    count in --part auto/N equal to the Job's completions), one pod killed
    at a random moment and replaced; then merge.yaml's command."""
    job = yaml.safe_load((EXAMPLES / "kubernetes/build.yaml").read_text())
    merge = yaml.safe_load((EXAMPLES / "kubernetes/merge.yaml").read_text())
    spec = job["spec"]
    pods = spec["completions"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == pods and spec["podReplacementPolicy"] == "Failed"
    rule, = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex" and rule["onExitCodes"]["values"] == [1, 2]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container, = pod["containers"]
    assert rule["onExitCodes"]["containerName"] == container["name"]
    argv = container["command"]
    assert argv[:2] == ["eodkit", "build"] and "--resume" in argv
    assert argv[argv.index("--part") + 1] == f"auto/{pods}"
    mount, = container["volumeMounts"]
    claim = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    merge_pod = merge["spec"]["template"]["spec"]
    merge_argv = merge_pod["containers"][0]["command"]
    assert merge_argv[:3] == ["eodkit", "merge", argv[2]]
    assert merge_pod["containers"][0]["volumeMounts"] == [mount]
    assert {v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in merge_pod["volumes"]} == claim

    shared = tmp_path / "claim"
    shared.mkdir()
    shutil.copy(recipe, shared / Path(argv[2]).name)
    argv = mapped(argv, mount["mountPath"], shared)
    merge_argv = mapped(merge_argv, mount["mountPath"], shared)
    out = Path(argv[argv.index("-o") + 1])

    def pod_of(i):
        return {"JOB_COMPLETION_INDEX": i, "HOSTNAME": f"eodkit-parts-{i}-x7k2p"}

    killed = start(argv, pod_of(3))
    time.sleep(random.Random(3).uniform(0.2, 1.5))
    killed.kill()
    killed.communicate()
    summaries = run_tasks(argv, pod_of, range(pods))
    assert summaries[3]["part"] == f"3/{pods}"
    run(*merge_argv[1:])
    check_merged(out, reference)


# ---- tasks starting at once ----

def test_tasks_starting_at_once_share_the_parts_folder(recipe, reference, tmp_path):
    """Two tasks start at once on a parts folder the first task to arrive
    has just made (empty): the second, held by strace while it lists the
    folder, sees the first's mark and part folder appear meanwhile and
    builds its part all the same (it took the folder for a stranger's,
    exit 6)."""
    out = tmp_path / "out"
    parts = Path(f"{out}.parts")
    parts.mkdir()
    log = tmp_path / "strace.log"
    second = start(["strace", "-f", "-qq", "-o", log, "-P", parts,
                    "-e", "trace=getdents64",
                    "-e", "inject=getdents64:delay_enter=3000000",
                    "eodkit", "build", recipe, "-o", out, "--part", "auto"],
                   {"BATCH_TASK_INDEX": 1, "BATCH_TASK_COUNT": 2,
                    # LeakSanitizer cannot run under ptrace (ASan builds)
                    "ASAN_OPTIONS": ":".join(filter(None, [
                        os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))})
    assert wait_for(lambda: log.exists() and "getdents64(" in log.read_text(), second)
    first = start(["eodkit", "build", recipe, "-o", out, "--part", "auto"],
                  {"BATCH_TASK_INDEX": 0, "BATCH_TASK_COUNT": 2})
    assert wait_for(lambda: (parts / "0-of-2").exists(), first)
    # the first made its part while the second was still listing the folder
    assert "(DELAYED)" not in log.read_text()
    rc, _, stderr = finish(first)
    assert rc == 0, stderr
    rc, _, stderr = finish(second)
    assert rc == 0, stderr
    run("merge", recipe, "-o", out)
    check_merged(out, reference)


# ---- an array of one task ----

def test_an_array_of_one_task(recipe, reference, tmp_path):
    """A job array of one task (Google Cloud Batch's taskCount: 1) builds
    part 0/1 like any other part: retried, it ends at once touching
    nothing, and the merge that follows the array makes the dataset."""
    out = tmp_path / "out"
    argv = ["eodkit", "build", recipe, "-o", out, "--part", "auto", "--resume"]
    task = {"BATCH_TASK_INDEX": 0, "BATCH_TASK_COUNT": 1}
    rc, built, stderr = finish(start(argv, task))
    assert rc == 0 and built["part"] == "0/1", stderr
    assert not out.exists()
    parts = Path(f"{out}.parts")
    before = snapshot(parts)
    rc, summary, stderr = finish(start(argv, task))
    assert rc == 0, stderr
    assert summary.pop("already_built") is True and summary == built
    assert snapshot(parts) == before
    run("merge", recipe, "-o", out)
    check_merged(out, reference)


# ---- what --part auto takes from the environment, and refuses ----

@pytest.mark.parametrize("spec, variables, part", [
    ("auto", slurm(3, 1, 4), "2/4"),
    ("auto", slurm(6, 0, 6, 2), "3/4"),
    # a Slurm array submitted again for some of its tasks: their ids are parts
    ("auto/16", slurm(7, 3, 7, 4), "7/16"),
    ("auto", {"AWS_BATCH_JOB_ARRAY_INDEX": 5, "AWS_BATCH_JOB_ARRAY_SIZE": 6}, "5/6"),
    ("auto", {"BATCH_TASK_INDEX": 0, "BATCH_TASK_COUNT": 3}, "0/3"),
    ("auto/8", {"JOB_COMPLETION_INDEX": 7}, "7/8"),
])
def test_part_auto_finds_the_part(tmp_path, spec, variables, part):
    """The part a task builds (the note names it and the variables); the
    recipe is missing, so nothing is built."""
    proc = start(["eodkit", "build", tmp_path / "missing.yaml", "--part", spec], variables)
    rc, _, stderr = finish(proc)
    assert rc == 2 and f"eodkit: note: --part auto: part {part} (" in stderr, stderr
    assert "missing.yaml" in stderr


@pytest.mark.parametrize("spec, variables, message", [
    ("auto", {}, "none of SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX, "
                 "BATCH_TASK_INDEX, JOB_COMPLETION_INDEX is set; give --part I/N"),
    ("auto", {"SLURM_ARRAY_TASK_ID": 1, "SLURM_ARRAY_TASK_COUNT": 4},
     "SLURM_ARRAY_TASK_MIN is not set"),
    # --array=1,2,7: no part numbering from the ids
    ("auto", dict(slurm(2, 1, 7), SLURM_ARRAY_TASK_COUNT=3),
     "SLURM_ARRAY_TASK_ID=2 is not a task of one range with one step"),
    ("auto", dict(slurm(1, 0, 3), BATCH_TASK_INDEX=1, BATCH_TASK_COUNT=4),
     "both SLURM_ARRAY_TASK_ID (Slurm) and BATCH_TASK_INDEX (Google Cloud Batch) are set"),
    ("auto", {"JOB_COMPLETION_INDEX": 1},
     "a Kubernetes Indexed Job sets only JOB_COMPLETION_INDEX: give the number of "
     "parts, --part auto/N"),
    ("auto/4", {"JOB_COMPLETION_INDEX": 4}, "JOB_COMPLETION_INDEX=4 is not a part of 4"),
    ("auto", {"AWS_BATCH_JOB_ARRAY_INDEX": 0}, "AWS_BATCH_JOB_ARRAY_SIZE is not set"),
    ("auto/4", {"AWS_BATCH_JOB_ARRAY_INDEX": 0, "AWS_BATCH_JOB_ARRAY_SIZE": 8},
     "AWS_BATCH_JOB_ARRAY_SIZE=8: the array has more tasks than parts"),
    ("auto", {"BATCH_TASK_INDEX": "one", "BATCH_TASK_COUNT": 4},
     "BATCH_TASK_INDEX=one is not a whole number"),
    ("auto", {"BATCH_TASK_INDEX": 4, "BATCH_TASK_COUNT": 4},
     "BATCH_TASK_INDEX=4 is not a part of 4 (0 to 3)"),
    ("auto/0", {"BATCH_TASK_INDEX": 0}, "--part needs I/N"),
])
def test_part_auto_refuses(recipe, tmp_path, spec, variables, message):
    """No array, another system's variables too, or variables that do not
    make a part: a usage error (exit 1) naming them; nothing is made."""
    out = tmp_path / "out"
    rc, _, stderr = finish(start(["eodkit", "build", recipe, "-o", out, "--part", spec],
                                 variables))
    assert rc == 1 and message in stderr, stderr
    assert list(tmp_path.iterdir()) == []


# ---- completion markers ----

def test_a_part_of_another_build_is_not_taken_as_built(demo, tmp_path):
    """A part's completion marker holds its build's fingerprint: after the
    recipe or an input changed, a task builds its part again (discarding
    the old one), and a merge with the other recipe names it."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("L7_ETMs.tif", "olinda1.shp", "olinda1.shx", "olinda1.dbf", "olinda1.prj"):
        shutil.copy(demo / name, data / name)
    recipe, other = tmp_path / "recipe.yaml", tmp_path / "other.yaml"
    recipe.write_text(RECIPE.format(data=data, max_nodata=0.5))
    other.write_text(RECIPE.format(data=data, max_nodata=0.4))
    out = tmp_path / "out"
    argv = ["eodkit", "build", recipe, "-o", out, "--part", "auto", "--resume"]
    task = {"BATCH_TASK_INDEX": 0, "BATCH_TASK_COUNT": 2}
    marker = Path(f"{out}.parts/0-of-2/.eodkit-done.json")
    rc, built, stderr = finish(start(argv, task))
    assert rc == 0 and json.loads(marker.read_text())["summary"] == built, stderr
    # another recipe: the part is built again for it
    rc, summary, stderr = finish(start(["eodkit", "build", other, *argv[3:]], task))
    assert rc == 2 and "was left by a build of another recipe" in stderr
    rc, summary, stderr = finish(start(["eodkit", "build", other, *argv[3:-1]], task))
    assert rc == 0 and "already_built" not in summary, stderr
    assert "note: discarded part 0/2 in " in stderr
    assert "built from another recipe or other inputs" in stderr
    run("build", other, "-o", out, "--part", "1/2")
    proc = run("merge", recipe, "-o", out, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "parts 0-1 of 2 were built from another recipe or other inputs" in proc.stderr
    # back to the recipe, then an input touched (same bytes, newer time)
    rc, summary, stderr = finish(start(argv[:-1], task))
    assert rc == 0 and "already_built" not in summary, stderr
    rc, summary, stderr = finish(start(argv, task))
    assert rc == 0 and summary["already_built"] is True, stderr
    os.utime(data / "L7_ETMs.tif")
    rc, summary, stderr = finish(start(argv[:-1], task))
    assert rc == 0 and "already_built" not in summary, stderr


# ---- what a merge says of parts not ready ----

def test_merge_lists_the_parts_not_ready(recipe, reference, tmp_path):
    """Of six parts, 1 and 2 missing, 3 killed after its units (unfinished),
    4 being built: the merge lists them all, with the builder's pid (exit
    6), then, once 4 is done, the missing and unfinished ones (exit 2),
    touching nothing; once they are built, it merges."""
    out = tmp_path / "out"
    parts = Path(f"{out}.parts")
    run_tasks(["eodkit", "build", recipe, "-o", out, "--part", "auto/6", "--resume"],
              lambda i: {"JOB_COMPLETION_INDEX": i}, (0, 5))
    killed = subprocess.run([EODKIT, "build", recipe, "-o", out, "--part", "3/6"],
                            env=dict(os.environ, EODKIT_CRASH_AT="done"),
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    building = start(["eodkit", "build", recipe, "-o", out, "--part", "4/6"], {})
    pid = wait_for(lambda: lock_pid(parts / "4-of-6"), building)
    assert pid == building.pid, building.communicate()
    building.send_signal(signal.SIGSTOP)
    try:
        before = snapshot(tmp_path)
        proc = run("merge", recipe, "-o", out, check=False)
        assert proc.returncode == 6, proc.stderr
        message = proc.stderr
        assert f"{parts}: 4 of 6 parts are not ready to merge: " in message
        assert "parts 1-2 of 6 are missing" in message
        assert f"part 4/6 is being built ({parts}/4-of-6: in use by another eodkit " \
               f"process (pid {pid} on " in message
        assert re.search(r"part 3/6 is not finished \((\d+) of \1 work units done\)", message)
        assert "Wait for the parts being built to finish." in message
        assert "Run 'eodkit build RECIPE --part I/6 --resume' (same -o) for each" in message
        assert snapshot(tmp_path) == before
    finally:
        building.send_signal(signal.SIGCONT)
    rc, _, stderr = finish(building)
    assert rc == 0, stderr
    before = snapshot(tmp_path)
    proc = run("merge", recipe, "-o", out, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "3 of 6 parts are not ready to merge: parts 1-2 of 6 are missing; " \
           "part 3/6 is not finished" in proc.stderr
    assert "being built" not in proc.stderr
    assert snapshot(tmp_path) == before
    assert not out.exists() and not Path(f"{out}.partial").exists()
    for i in (1, 2, 3):
        run("build", recipe, "-o", out, "--part", f"{i}/6", "--resume")
    run("merge", recipe, "-o", out)
    check_merged(out, reference)
