"""Killed builds lose nothing a user owns (issue 11). SIGKILL at random
moments and at every step of putting a dataset in place (also where the
kernel cannot exchange two folders), then --resume or a rebuild: the output
folder always holds a complete dataset, the old or the new one, when one
was there; files beside it (even one named DIR.old) are never touched; and
the end is byte-identical to a build in one go. A refused --resume keeps
the unfinished build it refused."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EODKIT, run
from safety import (SEED, Setup, check_no_leftovers, check_user_files, place_user_files,
                    rng, start)

# SIGKILLs from outside at random moments of a build replacing a dataset
RANDOM_KILLS = 16


@pytest.fixture(scope="module")
def setup(demo, tmp_path_factory):
    return Setup(tmp_path_factory.mktemp("safety-kill"), demo)


def killed(*args, point):
    """Run eodkit with ARGS, killed by its own SIGKILL at crash point POINT."""
    proc = subprocess.run([EODKIT, *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, EODKIT_CRASH_AT=point))
    assert proc.returncode == -signal.SIGKILL, f"{point}: {proc.stderr}"


def test_a_build_never_removes_a_folder_it_did_not_make(setup, tmp_path):
    """The issue's `mkdir -p out/olinda.old && echo x > out/olinda.old/mine.txt
    && eodkit build ... -o out/olinda`: OUT.old is the user's and stays, with
    and without --overwrite."""
    out = tmp_path / "out" / "olinda"
    files = place_user_files(out)
    run("build", setup.recipe, "-o", out)
    check_user_files(files)
    run("build", setup.other, "-o", out, "--overwrite")
    check_user_files(files)
    assert setup.which(out) == "old"
    check_no_leftovers(out, files)


def test_a_folder_named_like_the_partial_one_is_refused_untouched(setup, tmp_path):
    out = tmp_path / "out"
    partial = tmp_path / "out.partial"
    partial.mkdir()
    (partial / "thesis.tex").write_text("years of work")
    proc = run("build", setup.recipe, "-o", out, check=False)
    assert proc.returncode == 6 and "out.partial: exists and was not made by eodkit" in proc.stderr
    assert sorted(p.name for p in partial.iterdir()) == ["thesis.tex"]
    assert not out.exists()


@pytest.mark.parametrize("replacing", [True, False], ids=["over-a-dataset", "into-nothing"])
@pytest.mark.parametrize("point", ["planned", "unit:1", "unit:5", "finish", "commit", "placed"])
def test_killed_at_each_step_then_resumed_or_rebuilt(setup, tmp_path, point, replacing):
    """Killed after planning, between units, while finishing, with the dataset
    moved aside for the swap (commit) and once it is in place: the output
    folder holds the old dataset until the new one replaces it whole; a
    --resume and a plain rebuild both end with the new bytes and nothing
    left over."""
    if point == "placed" and replacing:
        point = "replaced"
    out = tmp_path / "out"
    files = place_user_files(out)
    if replacing:
        shutil.copytree(setup.old, out)
    killed("build", setup.recipe, "-o", out, "--overwrite", point=point)
    check_user_files(files)
    if point in ("replaced", "placed"):
        assert setup.which(out) == "new"
    elif replacing:
        assert setup.which(out) == "old"
    else:
        assert not out.exists()
    # the partial folder is eodkit's: `eodkit info` refuses it
    proc = run("info", f"{out}.partial", check=False)
    assert proc.returncode == 2 and "unfinished build" in proc.stderr
    for again in (["--resume"], []):
        run("build", setup.recipe, "-o", out, "--overwrite", *again)
        assert setup.which(out) == "new"
        check_user_files(files)
        check_no_leftovers(out, files)
        if point in ("commit", "replaced", "placed"):
            break
        killed("build", setup.recipe, "-o", out, "--overwrite", point=point)


def test_killed_at_random_moments_over_a_dataset(setup, tmp_path):
    """RANDOM_KILLS SIGKILLs from outside at random moments of builds that
    replace a dataset, alternating --resume and plain rebuilds: after every
    kill the output folder holds the old or the new dataset, whole."""
    r = rng("random-kills")
    out = tmp_path / "out"
    files = place_user_files(out)
    shutil.copytree(setup.old, out)
    seen = {"old": 0, "new": 0}
    for k in range(RANDOM_KILLS):
        resume = ["--resume"] if k % 2 else []
        proc = start("build", setup.recipe, "-o", out, "--overwrite", "-j", str(1 + k % 2),
                     *resume)
        time.sleep(r.uniform(0, setup.seconds * 1.1))
        proc.kill()
        proc.communicate()
        seen[setup.which(out)] += 1
        check_user_files(files)
        if seen["new"] and k % 4 == 3:
            # start again from the old dataset, to kill more replacements
            shutil.rmtree(out)
            shutil.copytree(setup.old, out)
    run("build", setup.recipe, "-o", out, "--overwrite", "--resume")
    assert setup.which(out) == "new", f"seed {SEED}"
    check_user_files(files)
    check_no_leftovers(out, files)
    assert seen["old"] > 0, f"no kill came before the replacement (seed {SEED}): {seen}"


def traced(log, *args, kill_at=None):
    """Run eodkit with ARGS under strace, tracing unlink() into file LOG:
    return the paths it unlinks, in order; with KILL_AT (1-based), SIGKILL
    it at that unlink() call instead (before the file goes)."""
    inject = ["-e", f"inject=unlink:signal=SIGKILL:when={kill_at}"] if kill_at else []
    proc = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=unlink",
                           *inject, EODKIT, *map(str, args)], capture_output=True, text=True,
                          # LeakSanitizer cannot run under ptrace (ASan builds)
                          env=dict(os.environ, ASAN_OPTIONS=":".join(filter(None, [
                              os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))))
    names = re.findall(r'unlink\("([^"]*)"', log.read_text())
    log.unlink()
    assert proc.returncode == (-signal.SIGKILL if kill_at else 0), proc.stderr
    return names


def test_killed_while_clearing_up_after_a_build(setup, tmp_path):
    """SIGKILL at the unlink() calls of a replacing build's clear-up: its
    journal and checkpoint, then (the new dataset in place) the replaced
    one inside the partial folder, the folder's mark and its lock. The next
    --resume is never refused (the folder was taken for a stranger's, exit
    6, once its mark went before the rest; a checkpoint left without its
    journal failed the resume) and ends with the new dataset."""
    out = tmp_path / "out"
    files = place_user_files(out)
    shutil.copytree(setup.old, out)
    log = tmp_path / "unlinks.log"
    names = traced(log, "build", setup.recipe, "-o", out, "--overwrite", "-j", "1")
    state = [n.rsplit("/", 1)[1] in (".eodkit-checkpoint.json", ".eodkit-journal")
             for n in names]
    replaced = [i for i, n in enumerate(names) if "/.eodkit-new/" in n or "/.eodkit-old/" in n]
    mark = next(i for i, n in enumerate(names) if n.endswith(".partial/.eodkit-partial"))
    placed = min(replaced[0], mark)  # what comes after the new dataset is in place
    points = [state.index(True), len(state) - state[::-1].index(True) - 1, replaced[0],
              replaced[len(replaced) // 2], replaced[-1], mark]
    assert max(points[:2]) < placed, names
    for k in points:
        shutil.rmtree(out)
        shutil.copytree(setup.old, out)
        traced(log, "build", setup.recipe, "-o", out, "--overwrite", "-j", "1", kill_at=k + 1)
        assert setup.which(out) == ("new" if k >= placed else "old"), names[k]
        check_user_files(files)
        run("build", setup.recipe, "-o", out, "--overwrite", "--resume")
        assert setup.which(out) == "new", names[k]
        check_user_files(files)
        check_no_leftovers(out, files)


@pytest.fixture(scope="module")
def no_exchange(tmp_path_factory):
    """An LD_PRELOAD library whose renameat2() fails with EINVAL, as on a
    file system or kernel without RENAME_EXCHANGE (NFS, Linux < 3.15)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the renameat2 stand-in"
    folder = tmp_path_factory.mktemp("no-exchange")
    source = folder / "no_exchange.c"
    source.write_text("#include <errno.h>\n"
                      "int renameat2(int a, const char *b, int c, const char *d, "
                      "unsigned int f)\n"
                      "{ (void)a; (void)b; (void)c; (void)d; (void)f; "
                      "errno = EINVAL; return -1; }\n")
    lib = folder / "no_exchange.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(source)], check=True)
    return {"LD_PRELOAD": str(lib),
            # an ASan build wants its runtime first; this library defines no
            # allocator, so the order does not matter here
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}


def test_replacing_where_folders_cannot_be_exchanged(setup, tmp_path, no_exchange):
    """Without RENAME_EXCHANGE the old dataset is renamed aside inside the
    partial folder, then the new one into place. Killed between the two
    renames, the next build (whatever it is) first puts the old dataset
    back."""
    out = tmp_path / "out"
    files = place_user_files(out)
    shutil.copytree(setup.old, out)
    proc = subprocess.run([EODKIT, "build", str(setup.recipe), "-o", str(out), "--overwrite"],
                          capture_output=True, text=True, env=dict(os.environ, **no_exchange))
    assert proc.returncode == 0, proc.stderr
    assert setup.which(out) == "new"
    check_no_leftovers(out, files)
    shutil.rmtree(out)
    shutil.copytree(setup.old, out)
    proc = subprocess.run([EODKIT, "build", str(setup.recipe), "-o", str(out), "--overwrite"],
                          capture_output=True, text=True,
                          env=dict(os.environ, EODKIT_CRASH_AT="replace", **no_exchange))
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # the one moment without it: the old one is aside
    assert setup.which(Path(f"{out}.partial") / ".eodkit-old") == "old"
    # a build that may not replace it puts it back and stops
    proc = run("build", setup.recipe, "-o", out, check=False)
    assert proc.returncode == 6 and "already exists" in proc.stderr
    assert setup.which(out) == "old"
    run("build", setup.recipe, "-o", out, "--overwrite")
    assert setup.which(out) == "new"
    check_user_files(files)
    check_no_leftovers(out, files)


def test_a_refused_resume_keeps_the_unfinished_build(setup, tmp_path):
    """The issue's third case: a killed build, then an input touched (same
    bytes) or another recipe given to --resume: exit 2, and the unfinished
    build is kept, with a message saying how to continue or discard it;
    with the inputs as they were, --resume continues it."""
    out = tmp_path / "out"
    partial = Path(f"{out}.partial")
    killed("build", setup.recipe, "-o", out, point="unit:5")
    before = {p: p.read_bytes() for p in sorted(partial.rglob("*")) if p.is_file()}
    assert Path(partial, ".eodkit-checkpoint.json") in before
    stat = setup.image.stat()
    try:
        os.utime(setup.image, (stat.st_atime, stat.st_mtime + 60))
        proc = run("build", setup.recipe, "-o", out, "--resume", check=False)
    finally:
        os.utime(setup.image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert proc.returncode == 2
    assert "was left by a build of another recipe or other inputs" in proc.stderr
    assert f"the unfinished build in {partial} (" in proc.stderr
    assert "is kept: --resume continues it" in proc.stderr
    assert "a build without --resume discards it" in proc.stderr
    proc = run("build", setup.other, "-o", out, "--resume", check=False)
    assert proc.returncode == 2 and "is kept" in proc.stderr
    lock = Path(partial, ".eodkit-lock")
    after = {p: p.read_bytes() for p in sorted(partial.rglob("*")) if p.is_file()}
    assert {p: b for p, b in after.items() if p != lock} == \
           {p: b for p, b in before.items() if p != lock}
    run("build", setup.recipe, "-o", out, "--resume")
    assert setup.which(out) == "new"
    assert not partial.exists()


def test_a_plain_build_says_it_discards_an_unfinished_one(setup, tmp_path):
    out = tmp_path / "out"
    killed("build", setup.recipe, "-o", out, point="unit:5")
    proc = run("build", setup.recipe, "-o", out)
    notes = [line for line in proc.stderr.splitlines() if line.startswith("eodkit: note:")]
    assert len(notes) == 1, proc.stderr
    assert f"discarded the unfinished build in {out}.partial (" in notes[0]
    assert "of 9 work units done)" in notes[0] and "--resume" in notes[0]
    assert setup.which(out) == "new"
    # over nothing unfinished, nothing to say
    proc = run("build", setup.recipe, "-o", out, "--overwrite")
    assert "note:" not in proc.stderr


def test_killed_parts_and_merges(setup, tmp_path):
    """Parts killed at random moments continue with --resume; a merge killed
    while it puts the dataset in place leaves the old dataset or the new
    one, and the parts until the new one is in place; merging again ends
    with the bytes of a build in one go."""
    r = rng("parts")
    out = tmp_path / "out"
    files = place_user_files(out)
    shutil.copytree(setup.old, out)
    for i in range(2):
        proc = start("build", setup.recipe, "-o", out, "--part", f"{i}/2")
        time.sleep(r.uniform(0, setup.seconds * 0.6))
        proc.kill()
        proc.communicate()
        run("build", setup.recipe, "-o", out, "--part", f"{i}/2", "--resume")
    parts = Path(f"{out}.parts")
    for point in ("finish", "commit", "replaced"):
        killed("merge", setup.recipe, "-o", out, "--overwrite", point=point)
        assert setup.which(out) == ("new" if point == "replaced" else "old")
        assert parts.is_dir()
        check_user_files(files)
        if point != "replaced":
            continue
        run("merge", setup.recipe, "-o", out, "--overwrite")
        assert setup.which(out) == "new" and not parts.exists()
    check_user_files(files)
    check_no_leftovers(out, files)
