"""Every example of doc/python.md runs: the Python blocks in order in one
namespace, then the `eodkit` command lines on the prediction file they
wrote, from a folder where examples/out/olinda is the demo dataset and
out/spacenet-buildings the detection dataset of doc/recipe.md. (The
install commands run in test_python_install.py.)"""
import re
import shlex

from conftest import SOURCE, build_spacenet_recipe, run

PAGE = SOURCE / "doc" / "python.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def test_python_examples_run(tmp_path, demo_dataset, shared, monkeypatch):
    (tmp_path / "examples" / "out").mkdir(parents=True)
    (tmp_path / "examples" / "out" / "olinda").symlink_to(demo_dataset)
    # the detection recipe of doc/recipe.md builds out/spacenet-buildings
    build_spacenet_recipe(tmp_path, shared)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(SOURCE / "python"))
    code = blocks("python")
    assert len(code) >= 8
    namespace = {"__name__": "doc_python"}
    for number, block in enumerate(code, 1):
        exec(compile(block, f"{PAGE}:python block {number}", "exec"), namespace)
    assert (tmp_path / "pred-test.npy").exists()

    commands = [line for block in blocks("sh") for line in block.splitlines()
                if line.startswith("eodkit ")]
    assert [shlex.split(c)[1] for c in commands] == ["eval", "mosaic"]
    for line in commands:
        run(*shlex.split(line)[1:], cwd=tmp_path)
    assert (tmp_path / "pred-test.tif").stat().st_size > 0
