"""The Python package installs offline with Debian's setuptools, as
doc/python.md says (into a virtual environment that sees Debian's packages,
and with --target into a folder), and /usr/bin/python3 imports the
installed copy and reads the demo dataset with it. The install commands
run on a copy of python/, so the source tree gets no build folders.
(`make install` runs the same pip install with --prefix after building
the command; it is not run here.)"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import SOURCE

PYTHON = "/usr/bin/python3"
CHECK = """
import sys, eodkit, eodkit.torch
print(eodkit.__file__)
print(eodkit.__version__)
split = eodkit.open(sys.argv[1]).split("train")
print(eodkit.torch.ChipDataset(split, normalize="meanstd")[[0, 1]]["optical"].shape)
"""


def doc_commands(start):
    """The doc's shell lines that begin with START (a regex)."""
    text = (SOURCE / "doc" / "python.md").read_text()
    lines = [line for block in re.findall(r"```sh\n(.*?)```", text, re.S)
             for line in block.splitlines()]
    return [line.split("#")[0].strip() for line in lines if re.match(start, line)]


@pytest.fixture
def home(tmp_path):
    """A HOME for the doc's `~` paths, holding a copy of python/ at ./python."""
    shutil.copytree(SOURCE / "python", tmp_path / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return tmp_path


def sh(line, home):
    """Run a doc command line in HOME with `python3` and `pip` meaning
    /usr/bin/python3's, offline."""
    line = re.sub(r"^python3 ", f"{PYTHON} ", line)
    line = re.sub(r"^pip ", f"{PYTHON} -m pip ", line)
    env = dict(os.environ, HOME=str(home), PIP_NO_INDEX="1")
    proc = subprocess.run(["sh", "-c", line], cwd=home, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"


def imported_from(python, demo_dataset, cwd, env=None):
    """What CHECK prints under PYTHON: (package file, version, batch shape)."""
    proc = subprocess.run([python, "-c", CHECK, str(demo_dataset)], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\n")[:3]


def test_target_install(home, demo_dataset):
    (command,) = doc_commands(r"pip install .*--target")
    sh(command, home)
    target = home / "lib" / "eodkit-py"
    env = dict(os.environ, PYTHONPATH=str(target))
    where, version, shape = imported_from(PYTHON, demo_dataset, home / "lib", env)
    assert where == str(target / "eodkit" / "__init__.py")
    assert version == "0.1.0" and shape == "torch.Size([2, 6, 32, 32])"


def test_virtual_environment_install(home, demo_dataset):
    commands = doc_commands(r"python3 -m venv|~/.venvs")
    assert len(commands) == 2
    for command in commands:
        sh(command, home)
    venv = home / ".venvs" / "eo"
    where, version, shape = imported_from(str(venv / "bin" / "python"), demo_dataset, home)
    assert where.startswith(str(venv / "lib")) and version == "0.1.0"
    assert shape == "torch.Size([2, 6, 32, 32])"
