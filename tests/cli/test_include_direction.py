"""The source tree's folders include each other's private headers only along
the pipeline's direction (scripts/check_includes.py, README "Layout")."""
import os
import pathlib
import subprocess
import sys

SOURCE = pathlib.Path(os.environ.get("EODKIT_SOURCE_DIR",
                                     pathlib.Path(__file__).resolve().parents[2]))
SCRIPT = SOURCE / "scripts" / "check_includes.py"


def run(root):
    return subprocess.run([sys.executable, str(SCRIPT), str(root)],
                          capture_output=True, text=True, timeout=60)


def test_source_tree_keeps_the_direction():
    proc = run(SOURCE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_stage_reaching_back_against_the_direction_is_named(tmp_path):
    write(tmp_path, "src/grid/plan.c", '#include "core/ek_ctx.h"\n#include "ek_plan.h"\n')
    write(tmp_path, "src/eval/eval.c",
          '#include <stdio.h>\n#include "dataset/ek_chipset.h"\n#include "audit/ek_audit.h"\n')
    assert run(tmp_path).returncode == 1
    out = run(tmp_path).stdout
    assert "src/eval/eval.c:3: includes a private header of src/audit/" in out
    assert "grid" not in out  # allowed includes are not reported


def test_an_unknown_folder_must_be_placed(tmp_path):
    write(tmp_path, "src/newstage/x.c", '#include "core/ek_ctx.h"\n')
    proc = run(tmp_path)
    assert proc.returncode == 1 and "src/newstage" in proc.stdout
    assert "ALLOWED" in proc.stdout
