"""CMake configures eodkit without a warning, as `make demo` (make build)
and `make check` configure it: each cmake configure line the Makefile runs,
run on a new build folder, prints nothing on stderr."""
import re
import subprocess

import pytest

from conftest import SOURCE


@pytest.mark.parametrize("target", ["build", "check-release"])
def test_configure_prints_no_warning(target, tmp_path):
    dry = subprocess.run(["make", "-n", "-C", str(SOURCE), target, f"BUILD={tmp_path}"],
                         capture_output=True, text=True, check=True).stdout
    (line,) = [l for l in dry.splitlines() if re.match(r"\s*cmake -S ", l)]
    proc = subprocess.run(["sh", "-c", line], cwd=SOURCE, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
