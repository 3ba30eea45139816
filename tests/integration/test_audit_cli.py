"""The `eodkit audit` page (doc/cmd/audit.md): its examples run on the demo
dataset (built in a scratch copy of examples/, so nothing is written into
the source tree) and print what the page shows."""
import json
import re
import shlex
import shutil

import pytest

from conftest import SOURCE, help_text, run

PAGE = SOURCE / "doc/cmd/audit.md"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, demo):
    """A folder holding examples/olinda.yaml, examples/data and the demo
    dataset built from them."""
    work = tmp_path_factory.mktemp("audit-cli")
    (work / "examples").mkdir()
    shutil.copy(SOURCE / "examples/olinda.yaml", work / "examples/olinda.yaml")
    (work / "examples/data").symlink_to(demo)
    run("build", "examples/olinda.yaml", "--overwrite", cwd=work)
    return work


def examples():
    section = PAGE.read_text().split("Examples:", 1)[1]
    return re.findall(r"^    (eodkit audit .*)$", section, re.M)


def shown_summary():
    section = PAGE.read_text().split("Examples:", 1)[1]
    return re.findall(r"^    ((?:audit|geography|entropy|leakage|written) .*)$", section, re.M)


def test_the_examples_run(workdir):
    lines = examples()
    assert len(lines) == 3
    outputs = []
    for line in lines:
        proc = run(*shlex.split(line)[1:], cwd=workdir)
        assert proc.returncode == 0 and proc.stderr == ""
        outputs.append(proc.stdout)
    # plain: the summary the page shows, line for line
    assert outputs[0].splitlines()[:5] == shown_summary()
    # --json --html FILE: a JSON summary naming the report written there
    summary = json.loads(outputs[1])
    assert summary["html"] == "olinda-audit.html" and (workdir / "olinda-audit.html").is_file()
    assert summary["chips"] == sum(summary["splits"].values())
    assert summary["verdict"] == "separated" and summary["leaky"] is False
    # --regions with another field: the regions are the layer's subregions
    doc = json.loads((workdir / "examples/out/olinda/audit.json").read_text())
    assert doc["regions"]["field"] == "subregion"
    assert list(doc["geography"]["regions"]) == ["South America"]
    assert doc["geography"]["countries"]["BRA"]["chips"] == summary["chips"]


def test_help_and_command_list():
    assert run("audit", "--help").stdout == help_text(PAGE)
    proc = run(check=False)
    assert proc.returncode == 1 and re.search(r"^  audit +", proc.stderr, re.M)
