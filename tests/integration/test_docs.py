"""Every example in the docs runs: the recipes in doc/recipe.md (but the one
with a web server, which runs in test_remote.py), the demo recipe, and the
commands shown on the command pages."""
import json
import re
import shlex
from pathlib import Path

from conftest import SOURCE, Dataset, build, demo_workdir, run
from test_stac_input import api_items, assert_same_shards, files_inputs, stacdata


def yaml_blocks(page):
    return re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)


def docs_data(folder, demo, shared):
    """A data/ folder with the demo files, the BigEarthNet samples and the
    SpaceNet chip with its buildings."""
    data = folder / "data"
    data.mkdir()
    for f in demo.iterdir():
        (data / f.name).symlink_to(f)
    (data / "bigearthnet").symlink_to(shared / "samples/bigearthnet")
    (data / "solaris").symlink_to(shared / "optical/solaris")
    (data / "solaris-labels").symlink_to(shared / "vector/solaris")


def test_recipe_page_examples_build(tmp_path, demo, shared):
    blocks = yaml_blocks(SOURCE / "doc/recipe.md")
    # the fourth and fifth (tasks) run in test_recipe_page_task_examples_build,
    # the sixth, with a web server, in test_remote.py, the seventh and eighth
    # (STAC) in test_recipe_page_stac_recipes; the ninth (a reference grid) here;
    # the tenth (unlabelled) in test_unlabelled.py, the eleventh (sampling) in
    # test_sample.py
    assert len(blocks) == 11
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
                "class_names", "margin"]:
        assert key in resolved, key

    (tmp_path / "stack.yaml").write_text(blocks[1])
    summary = json.loads(run("build", tmp_path / "stack.yaml", "-o", tmp_path / "stack").stdout)
    ds = Dataset(tmp_path / "stack")
    assert summary["grids"] == 2 and summary["chips"] > 0
    assert [m["shape"] for m in ds.collection["eodkit:modalities"]] == [[5, 120, 120],
                                                                        [1, 120, 120]]
    assert {json.loads(r["present"])["s1"] for r in ds.chips()} == {0}

    (tmp_path / "detection.yaml").write_text(blocks[2])
    summary = json.loads(run("build", tmp_path / "detection.yaml").stdout)
    ds = Dataset(tmp_path / "out/spacenet-buildings")
    assert summary["splits"] == {"train": 22, "val": 7, "test": 7}
    label = ds.collection["eodkit:label"]
    assert label["task"] == "detection" and label["oriented"] and label["max_object_id"] == 43
    assert sum(r["objects"] for r in ds.chips()) == 109

    (tmp_path / "cells.yaml").write_text(blocks[8])
    summary = json.loads(run("build", tmp_path / "cells.yaml", "-o", tmp_path / "cells").stdout)
    rows = Dataset(tmp_path / "cells").chips()
    assert summary["grids"] == 2 and len(rows) == summary["chips"] > 10
    assert all(re.fullmatch(r"\d+U_\d+[LR]", r["cell"]) for r in rows)


def test_recipe_page_stac_recipes(tmp_path, shared, stac_api):
    """The STAC recipes of doc/recipe.md build: the local catalog copy gives
    the chips of the same files under band_files; the search uses exactly
    the items the filters select."""
    local, search = yaml_blocks(SOURCE / "doc/recipe.md")[6:8]
    assert "stac:" in local and "stac:" in search
    patches = stacdata.s2_patches(shared)
    stacdata.write_catalog(tmp_path / "data/bigearthnet-stac", patches)
    out, _ = build(local, tmp_path, name="local.yaml")
    same_files = files_inputs(shared, ["B02", "B03", "B04", "B08", "B05", "B11"]) + \
        '    time: {mode: mosaic, pattern: "_([0-9]{8})T"}\n'
    files, _ = build(re.sub(r"    stac:\n.*?    time: \{mode: mosaic\}[^\n]*\n",
                            lambda _: same_files, local, flags=re.S), tmp_path / "files")
    assert_same_shards(out, files)
    assert len(Dataset(out).provenance["read"]["s2"]["stac"]["items"]) == len(patches)

    api = stac_api(api_items(patches, {p.name: 10.0 * k for k, p in enumerate(patches)}))
    out, _ = build(search.replace("http://127.0.0.1:8080/", api.url()), tmp_path / "api")
    pages = [r for r in api.requests() if r["path"] == "/search"]
    used = [i["id"] for i in Dataset(out).provenance["read"]["s2"]["stac"]["items"]]
    assert used == ["S2A_MSIL2A_20170617T113321_36_85", "S2A_MSIL2A_20170617T113321_4_55",
                    "S2A_MSIL2A_20171221T112501_56_35"]
    assert len(pages) == 2 and {r["method"] for r in pages} == {"POST"}


def test_recipe_page_task_examples_build(tmp_path, demo, shared):
    """The scene-label and regression recipes of doc/recipe.md."""
    blocks = yaml_blocks(SOURCE / "doc/recipe.md")
    docs_data(tmp_path, demo, shared)
    (tmp_path / "scenes.yaml").write_text(blocks[3])
    summary = json.loads(run("build", tmp_path / "scenes.yaml", "-o", tmp_path / "scenes").stdout)
    ds = Dataset(tmp_path / "scenes")
    assert summary["chips"] > 0 and ds.collection["eodkit:label"]["type"] == "table"
    (tmp_path / "regression.yaml").write_text(blocks[4])
    summary = json.loads(run("build", tmp_path / "regression.yaml", "-o",
                             tmp_path / "regression").stdout)
    ds = Dataset(tmp_path / "regression")
    assert summary["chips"] > 0 and ds.stats["target"]["valid_count"] > 0
    # the resolved recipe (no class keys for a target) builds the same dataset
    resolved = tmp_path / "regression/recipe.yaml"
    assert 'resampling: "bilinear"' in resolved.read_text()
    (tmp_path / "again.yaml").write_text(resolved.read_text())
    run("build", tmp_path / "again.yaml", "-o", tmp_path / "again")
    assert Dataset(tmp_path / "again").stats == ds.stats


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
