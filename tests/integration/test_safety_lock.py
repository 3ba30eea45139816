"""One output, one writer (issue 11). A build, merge or resume holds a lock
on DIR.partial (parts: a shared one on DIR.parts and their own on
DIR.parts/I-of-N; a merge takes DIR.parts alone; under mpirun rank 0 holds
the output's lock from before the parts to the merge). A second one into a
locked output exits 6 naming the holder's pid and touches nothing; the
first ends with a consistent dataset; a lock dies with its process."""
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import EODKIT, run
from safety import (SEED, Setup, check_no_leftovers, check_user_files, holder,
                    lock_pid, place_user_files, rng, start, wait_for)

# pairs of processes started into one output at random moments
RACES = 16


@pytest.fixture(scope="module")
def setup(demo, tmp_path_factory):
    return Setup(tmp_path_factory.mktemp("safety-lock"), demo)


def snapshot(folder):
    """Every path under FOLDER with its bytes (None for folders) and mtime."""
    return {p: (None if p.is_dir() else p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*"))}


class HeldLock:
    """A lock held by this test process on FOLDER, as eodkit takes it (flock
    on FOLDER/.eodkit-lock, the holder's pid and host written in it)."""

    def __init__(self, folder, mark=None, shared=False):
        folder.mkdir(parents=True, exist_ok=True)
        if mark:
            (folder / mark).touch()
        self.fd = os.open(folder / ".eodkit-lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        if not shared:
            os.write(self.fd, f"{os.getpid()} {socket.gethostname()}\n".encode())

    def release(self):
        os.close(self.fd)


def test_two_builds_into_one_output(setup, tmp_path):
    """The issue's `eodkit build R & sleep 0.3; eodkit build R`: the second
    exits 6 naming the first's pid; the first's dataset is whole (its index
    and shards agree) and byte-identical to a build alone."""
    out = tmp_path / "out"
    first = start("build", setup.recipe, "-o", out, "-j", "1")
    assert wait_for(lambda: Path(f"{out}.partial/.eodkit-checkpoint.json").exists(),
                    proc=first), first.communicate()
    second = run("build", setup.recipe, "-o", out, "-j", "1", check=False)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.returncode == 6, second.stderr
    assert holder(second.stderr) == first.pid, second.stderr
    assert second.stdout == ""
    assert setup.which(out) == "new"
    assert not Path(f"{out}.partial").exists()


def finish(proc):
    """Wait for PROC: its pid, exit code, stdout and stderr."""
    stdout, stderr = proc.communicate(timeout=300)
    return SimpleNamespace(pid=proc.pid, returncode=proc.returncode, stdout=stdout,
                           stderr=stderr)


def refused(proc, other):
    """PROC (finished) was refused because OTHER held the lock."""
    return proc.returncode == 6 and holder(proc.stderr) == other.pid


def test_racing_builds_merges_and_resumes(setup, tmp_path):
    """RACES pairs (build/build, build/resume, resume/resume, build/merge,
    merge/merge) into one output, the second started at a random moment of
    the first: each either runs alone (before or after the other) or is
    refused naming the other's pid; never both at once; the output ends
    whole and byte-identical."""
    r = rng("races")
    kinds = [("build", "build"), ("build", "resume"), ("resume", "resume"),
             ("build", "merge"), ("merge", "merge"), ("merge", "resume")]
    stats = {"refused": 0, "alone": 0}
    for k in range(RACES):
        a, b = kinds[k % len(kinds)]
        out = tmp_path / f"race{k}" / "out"
        files = place_user_files(out)
        if "merge" in (a, b):
            for i in range(2):
                run("build", setup.recipe, "-o", out, "--part", f"{i}/2")

        def args(kind):
            if kind == "merge":
                return ["merge", setup.recipe, "-o", out, "--overwrite"]
            return ["build", setup.recipe, "-o", out, "--overwrite", "-j", "1",
                    *(["--resume"] if kind == "resume" else [])]

        first = start(*args(a))
        time.sleep(r.uniform(0, setup.seconds))
        second = start(*args(b))
        first, second = finish(first), finish(second)
        codes = (first.returncode, second.returncode)
        if refused(second, first) and first.returncode == 0:
            stats["refused"] += 1
        elif refused(first, second) and second.returncode == 0:
            stats["refused"] += 1
        elif codes == (0, 0):
            stats["alone"] += 1
        elif "merge" in (a, b) and 2 in codes and 0 in codes:
            # a merge after the other merge removed the parts: nothing to merge
            loser = first if first.returncode else second
            assert "no parts to merge" in loser.stderr, loser.stderr
            stats["alone"] += 1
        else:
            raise AssertionError(f"race {k} {a}/{b} (seed {SEED}): {codes}\n"
                                 f"{first.stderr}\n{second.stderr}")
        assert setup.which(out) == "new", f"race {k} (seed {SEED})"
        check_user_files(files)
        check_no_leftovers(out, files, allowed=(".parts",))
    print(f"races (seed {SEED}): {stats}")
    assert stats["refused"] >= RACES // 4, f"too few overlaps (seed {SEED}): {stats}"


@pytest.mark.parametrize("command", ["build", "resume", "merge", "mpirun"])
def test_a_locked_output_is_refused_and_untouched(setup, tmp_path, command):
    """With DIR.partial locked by another process (here: this test), a build,
    a resume, a merge and an mpirun build exit 6 naming its pid, and no file
    is created, changed or removed (the lock is taken before anything)."""
    out = tmp_path / "out"
    files = place_user_files(out)
    shutil.copytree(setup.old, out)
    for i in range(2):
        run("build", setup.recipe, "-o", out, "--part", f"{i}/2")
    held = HeldLock(Path(f"{out}.partial"), mark=".eodkit-partial")
    before = snapshot(tmp_path)
    args = {"build": ["build", setup.recipe, "-o", out, "--overwrite"],
            "resume": ["build", setup.recipe, "-o", out, "--overwrite", "--resume"],
            "merge": ["merge", setup.recipe, "-o", out, "--overwrite"],
            "mpirun": ["build", setup.recipe, "-o", out, "--overwrite"]}[command]
    try:
        if command == "mpirun":
            proc = mpirun(2, *args)
        else:
            proc = run(*args, check=False)
        assert proc.returncode == 6, proc.stderr
        assert f"out.partial: in use by another eodkit process (pid {os.getpid()} on " \
               in proc.stderr
        assert proc.stdout == ""
        assert snapshot(tmp_path) == before
    finally:
        held.release()
    check_user_files(files)
    # the lock dies with its holder: now the same command goes through
    proc = mpirun(2, *args) if command == "mpirun" else run(*args)
    assert proc.returncode == 0, proc.stderr
    assert setup.which(out) == "new"


def mpirun(n, *args):
    """Run eodkit ARGS under `mpirun -n N` (as root, as the tests run)."""
    launcher = shutil.which("mpirun")
    assert launcher, "OpenMPI is missing: scripts/setup-deps.sh test installs it"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # OpenMPI's plugins keep memory to the end (see test_scale.py)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return subprocess.run([launcher, "--oversubscribe", "-n", str(n), EODKIT,
                           *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_mpirun_holds_the_output_from_parts_to_merge(setup, tmp_path):
    """While `mpirun -n 2 eodkit build` runs, its rank 0 holds the output's
    lock (from before any part is built until it has merged them): a plain
    build into the same output is refused naming rank 0's pid."""
    out = tmp_path / "out"
    launcher = shutil.which("mpirun")
    assert launcher
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    ranks = subprocess.Popen([launcher, "--oversubscribe", "-n", "2", EODKIT, "build",
                              str(setup.recipe), "-o", str(out)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial, parts = Path(f"{out}.partial"), Path(f"{out}.parts")
    rank0 = wait_for(lambda: lock_pid(partial) if parts.exists() else None, proc=ranks)
    assert rank0, ranks.communicate()
    proc = run("build", setup.recipe, "-o", out, check=False)
    stdout, stderr = ranks.communicate(timeout=300)
    assert ranks.returncode == 0, stderr
    assert proc.returncode == 6 and holder(proc.stderr) == rank0, proc.stderr
    assert setup.which(out) == "new"
    assert not parts.exists() and not partial.exists()


def test_parts_lock_their_folder_and_merges_wait_for_them(setup, tmp_path):
    """A part being built is refused to a second build of the same part and
    to a merge (naming its pid); other parts build beside it; a part build
    during a merge is refused naming the merge's pid. Nothing is touched."""
    out = tmp_path / "out"
    parts = Path(f"{out}.parts")
    run("build", setup.recipe, "-o", out, "--part", "0/2")
    held = HeldLock(parts / "1-of-2")
    shared = HeldLock(parts, shared=True)  # as a part build holds the parts folder
    before = snapshot(tmp_path)
    try:
        proc = run("build", setup.recipe, "-o", out, "--part", "1/2", check=False)
        assert proc.returncode == 6, proc.stderr
        assert f"1-of-2: in use by another eodkit process (pid {os.getpid()} on " \
               in proc.stderr
        proc = run("merge", setup.recipe, "-o", out, check=False)
        assert proc.returncode == 6 and holder(proc.stderr) == os.getpid(), proc.stderr
        assert "1-of-2: in use" in proc.stderr
        assert snapshot(tmp_path) == before
        # the other part is free
        run("build", setup.recipe, "-o", out, "--part", "0/2")
    finally:
        held.release()
        shared.release()
    run("build", setup.recipe, "-o", out, "--part", "1/2")
    merging = HeldLock(parts, mark=".eodkit-parts")  # as a merge holds it
    before = snapshot(tmp_path)
    try:
        proc = run("build", setup.recipe, "-o", out, "--part", "1/2", check=False)
        assert proc.returncode == 6 and holder(proc.stderr) == os.getpid(), proc.stderr
        assert snapshot(tmp_path) == before
    finally:
        merging.release()
    run("merge", setup.recipe, "-o", out)
    assert setup.which(out) == "new" and not parts.exists()


def test_a_killed_holder_leaves_no_stale_lock(setup, tmp_path):
    """SIGKILL ends the holder and its lock with it (flock): the next build
    (plain, or --resume) goes through at once."""
    out = tmp_path / "out"
    proc = start("build", setup.recipe, "-o", out)
    assert wait_for(lambda: lock_pid(f"{out}.partial") == proc.pid, proc=proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert lock_pid(f"{out}.partial") == proc.pid  # what it wrote stays, dead
    run("build", setup.recipe, "-o", out, "--resume")
    assert setup.which(out) == "new"
