"""The build command's contract: the dataset appears only complete; a failed
or interrupted build leaves nothing that looks like a dataset and keeps an
existing one; progress on a terminal, silence otherwise; JSON summary."""
import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

from conftest import EODKIT, SOURCE, Dataset, run, same_tree


def recipe(tmp_path, demo, extra=""):
    path = tmp_path / "recipe.yaml"
    path.write_text(f"""
dataset: {{name: cli-test}}
grid: {{crs: EPSG:32724, resolution: 10, chip_size: 16, error_threshold: 0}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], resampling: cubic}}]
split: {{method: random, ratios: {{train: 0.9, test: 0.1}}}}
{extra}
""")
    return path


def test_summary_and_quiet_without_terminal(tmp_path, demo):
    proc = run("build", recipe(tmp_path, demo), "-o", tmp_path / "out", "-j", "2")
    # no progress bar: only the audit's warnings (a random split's chips touch)
    assert [line for line in proc.stderr.splitlines() if "SPLIT LEAKAGE RISK" not in line] == []
    summary = json.loads(proc.stdout)
    assert summary["chips"] == summary["splits"]["train"] + summary["splits"]["test"]
    assert summary["candidates"] == summary["chips"] + sum(summary["rejected"].values())
    assert summary["threads"] == 2 and summary["seconds"] > 0 and summary["chips_per_second"] > 0
    assert not (tmp_path / "out.partial").exists()


def keys(obj):
    """The nested keys of a JSON object: {key: keys of its value or None}."""
    return {k: keys(v) if isinstance(v, dict) else None for k, v in obj.items()}


def test_summary_reports_the_audit_as_documented(tmp_path, demo):
    """The summary has the fields doc/cmd/build.md shows; the audit ran in
    the build and its warnings go to stderr, one line each."""
    page = (SOURCE / "doc" / "cmd" / "build.md").read_text()
    documented = json.loads(page[page.index('{"dataset"'):page.index("}\n\n") + 1])
    text = (SOURCE / "examples" / "olinda.yaml").read_text()
    (tmp_path / "olinda.yaml").write_text(
        text.replace("data/", f"{demo}/").replace("seed: 4 ", "seed: 42 "))
    proc = run("build", tmp_path / "olinda.yaml", "-o", tmp_path / "out")
    summary = json.loads(proc.stdout)
    assert keys(summary) == keys(documented)
    out = tmp_path / "out"
    audit = json.loads((out / "audit.json").read_text())
    assert summary["audit"]["warnings"] == audit["warnings"]
    assert summary["audit"]["verdict"] == audit["leakage"]["verdict"]
    assert (out / "audit.html").stat().st_size > 0 and (out / "datasheet.md").exists()
    # seed 42 leaves every RURAL pixel out of the training split
    assert any("RURAL" in w and "'train'" in w for w in audit["warnings"])
    assert proc.stderr.splitlines() == [f"eodkit: warning: {w}" for w in audit["warnings"]]
    weights = [row["weight_class"] for row in Dataset(out).chips()]
    assert len(weights) == summary["chips"] and all(w > 0 for w in weights)


def test_progress_bar_on_a_terminal(tmp_path, demo):
    leader, follower = pty.openpty()
    proc = subprocess.Popen([EODKIT, "build", str(recipe(tmp_path, demo)), "-o",
                             str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    text = seen.decode()
    assert "chips/s" in text and "ETA" in text and "\r[" in text


def test_interrupted_build_keeps_its_work_for_resume(tmp_path, demo):
    """Ctrl-C: no dataset appears; DIR.partial keeps the finished work units,
    the message says how to continue, and --resume ends with the bytes of an
    uninterrupted build."""
    out = tmp_path / "out"
    slow = recipe(tmp_path, demo).read_text().replace("resolution: 10", "resolution: 2")
    (tmp_path / "slow.yaml").write_text(slow)
    proc = subprocess.Popen([EODKIT, "build", str(tmp_path / "slow.yaml"), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = Path(str(out) + ".partial")
    # DIR.partial appears (with the build's lock) before set-up; the first
    # checkpoint says work units are being written
    deadline = time.time() + 60
    while not (partial / ".eodkit-checkpoint.json").exists() and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    assert not out.exists() and (partial / ".eodkit-checkpoint.json").exists()
    run("build", tmp_path / "slow.yaml", "-o", out, "--resume", "-j", "2")
    run("build", tmp_path / "slow.yaml", "-o", tmp_path / "whole")
    assert same_tree(out, tmp_path / "whole") > 5


def test_failed_overwrite_keeps_the_old_dataset(tmp_path, demo):
    out = tmp_path / "out"
    first = json.loads(run("build", recipe(tmp_path, demo), "-o", out).stdout)
    before = (out / "index.gpkg").read_bytes()
    truncated = tmp_path / "broken.tif"
    truncated.write_bytes((demo / "L7_ETMs.tif").read_bytes()[:5000])
    bad = recipe(tmp_path, demo).read_text().replace(f"{demo}/L7_ETMs.tif", str(truncated))
    (tmp_path / "bad.yaml").write_text(bad)
    proc = run("build", tmp_path / "bad.yaml", "-o", out, "--overwrite", check=False)
    assert proc.returncode == 4
    assert (out / "index.gpkg").read_bytes() == before
    assert Dataset(out).collection["eodkit:splits"]["train"]["chips"] == first["splits"]["train"]
    assert not Path(str(out) + ".partial").exists()


def test_overwrite_replaces_a_dataset(tmp_path, demo):
    out = tmp_path / "out"
    run("build", recipe(tmp_path, demo), "-o", out)
    other = recipe(tmp_path, demo).read_text().replace("chip_size: 16", "chip_size: 32")
    (tmp_path / "other.yaml").write_text(other)
    run("build", tmp_path / "other.yaml", "-o", out, "--overwrite")
    assert Dataset(out).collection["eodkit:grid"]["chip_size"] == [32, 32]
    assert not Path(str(out) + ".old").exists()


def test_stale_partial_build_is_not_a_dataset(tmp_path, demo):
    partial = tmp_path / "out.partial"
    partial.mkdir()
    (partial / ".eodkit-partial").write_text("")
    proc = run("info", partial, check=False)
    assert proc.returncode == 2 and "unfinished build" in proc.stderr
    run("build", recipe(tmp_path, demo), "-o", tmp_path / "out")
    assert not partial.exists()


def test_usage_errors(tmp_path):
    for args, needle in [((), "expected one recipe"), (("-j", "0", "x.yaml"), "-j needs"),
                         (("--bogus", "x.yaml"), "unknown option")]:
        proc = run("build", *args, check=False)
        assert proc.returncode == 1 and needle in proc.stderr
    proc = run("frobnicate", check=False)
    assert proc.returncode == 1 and "unknown command" in proc.stderr
    assert run("build", "--help").stdout.startswith("eodkit build\n\nBuild a dataset")
