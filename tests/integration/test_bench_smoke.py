"""The benchmarks (bench/run) run in their small --smoke size: every
benchmark finishes, and every same-output check holds (eodkit and each
baseline produce the same chips, statistics and country tags). Speed
targets are not checked at this size; `make bench` measures them."""
import subprocess
import sys

from conftest import EODKIT, SOURCE


def test_bench_smoke(tmp_path):
    proc = subprocess.run([sys.executable, SOURCE / "bench" / "run", "--smoke",
                           "--eodkit", EODKIT, "--work", tmp_path],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split(" | ") for line in proc.stdout.splitlines()
            if line.startswith("| ") and "---" not in line][1:]
    benchmarks = {r[1] for r in rows}
    assert {"build", "build -j 2", "floor", "stats", "regions", "memory", "load"} <= benchmarks
    for r in rows:
        same = r[9]
        assert "differ" not in same and "DIFFER" not in same, r
    stats = [r for r in rows if r[1] == "stats"]
    assert stats and all(r[8] == "yes" for r in stats), stats  # same numbers as NumPy
