"""Every example in the docs runs: the full recipe in doc/recipe.md, the demo
recipe, and the commands shown on the command pages."""
import json
import re
import shlex
from pathlib import Path

from conftest import SOURCE, Dataset, demo_workdir, run


def yaml_blocks(page):
    return re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)


def docs_data(folder, demo, shared):
    """A data/ folder with the demo files and the BigEarthNet samples."""
    data = folder / "data"
    data.mkdir()
    for f in demo.iterdir():
        (data / f.name).symlink_to(f)
    (data / "bigearthnet").symlink_to(shared / "samples/bigearthnet")


def test_recipe_page_examples_build(tmp_path, demo, shared):
    blocks = yaml_blocks(SOURCE / "doc/recipe.md")
    assert len(blocks) == 4  # the third, with a web server, runs in test_remote.py
    docs_data(tmp_path, demo, shared)
    (tmp_path / "recipe.yaml").write_text(blocks[0])
    summary = json.loads(run("build", tmp_path / "recipe.yaml").stdout)
    out = tmp_path / "out/olinda-utm24s"
    assert summary["chips"] > 20 and Path(summary["dataset"]) == out
    ds = Dataset(out)
    assert ds.collection["eodkit:label"]["classes"] == [{"id": 1, "name": "urban"},
                                                         {"id": 2, "name": "rural"}]
    assert ds.collection["eodkit:modalities"][0]["shape"] == [4, 32, 32]
    resolved = (out / "recipe.yaml").read_text()
    for key in ["aoi", "error_threshold", "band_names", "background_name", "all_touched",
                "min_class_share", "min_labeled", "buffer", "shard_size", "regions",
                "class_names"]:
        assert key in resolved, key

    (tmp_path / "stack.yaml").write_text(blocks[1])
    summary = json.loads(run("build", tmp_path / "stack.yaml", "-o", tmp_path / "stack").stdout)
    ds = Dataset(tmp_path / "stack")
    assert summary["grids"] == 2 and summary["chips"] > 0
    assert [m["shape"] for m in ds.collection["eodkit:modalities"]] == [[5, 120, 120],
                                                                        [1, 120, 120]]
    assert {json.loads(r["present"])["s1"] for r in ds.chips()} == {0}

    (tmp_path / "cells.yaml").write_text(blocks[3])
    summary = json.loads(run("build", tmp_path / "cells.yaml", "-o", tmp_path / "cells").stdout)
    rows = Dataset(tmp_path / "cells").chips()
    assert summary["grids"] == 2 and len(rows) == summary["chips"] > 10
    assert all(re.fullmatch(r"\d+U_\d+[LR]", r["cell"]) for r in rows)


def test_command_page_examples_run(tmp_path, demo):
    """`eodkit build|info ...` lines indented in doc/cmd/*.md run and succeed,
    in a scratch copy of the repository's examples (their paths are relative
    to the repository; nothing is written into the source tree)."""
    work = demo_workdir(tmp_path, demo)
    ran = 0
    for page in sorted((SOURCE / "doc/cmd").glob("*.md")):
        text = page.read_text()
        section = text.split("Example", 1)[1] if "Example" in text else ""
        for line in re.findall(r"^    (eodkit (?:build|info) .*)$", section, re.M):
            proc = run(*shlex.split(line)[1:], cwd=work)
            assert proc.returncode == 0
            ran += 1
    assert ran >= 2
