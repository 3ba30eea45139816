"""What every task writes holds to the dataset's invariants: the collection
and items of a regression, a change and a scene-label dataset validate
against the STAC schemas and the extensions they declare, and the same
recipe gives byte-identical datasets with 1 and 2 threads. `eodkit export
coco|yolo` (objects for detectors) refuses them: they have no objects."""
import json

from conftest import Dataset, build, run, same_tree
from test_scene_labels import s2_recipe
from test_stac import store, validate  # noqa: F401 (fixture)
from test_task_change import recipe as change_recipe, scene  # noqa: F401 (fixture)
from test_task_regression import recipe as regression_recipe


def check(text, folder, store, task):  # noqa: F811
    one, _ = build(text, folder / "j1", "-j", "1")
    two, _ = build(text, folder / "j2", "-j", "2")
    assert same_tree(one, two) > 10
    ds = Dataset(one)
    assert ds.collection["eodkit:label"]["task"] == task
    assert validate(ds.collection, store) >= 3
    for item in (one / "items").glob("*.json") if (one / "items").exists() else []:
        validate(json.loads(item.read_text()), store)
    for form in ["coco", "yolo"]:
        out = folder / f"{form}-export"
        proc = run("export", form, one, "-o", out, check=False)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr == (f"eodkit: error: {one}: the dataset has no objects (task: "
                               f"{task}); detection and instance datasets have them\n")
        assert not out.exists() and not out.with_name(out.name + ".partial").exists()
    return ds


def test_regression_outputs(tmp_path, shared, store):  # noqa: F811
    ds = check(regression_recipe(shared, stride=16), tmp_path, store, "regression")
    assert ds.collection["summaries"]["label:tasks"] == ["regression"]


def test_change_outputs(scene, store):  # noqa: F811
    folder, _, _ = scene
    ds = check(change_recipe(folder, f"source: [{folder}/clouds_before.tif, "
                                     f"{folder}/clouds_after.tif]"), folder, store, "change")
    assert (ds.path / "items").exists()  # the pair's times make items


def test_scene_label_outputs(tmp_path, shared, store):  # noqa: F811
    table = f'table: "{shared}/samples/bigearthnet/s2/*/*_labels_metadata.json"\n  labels: labels'
    check(s2_recipe(shared, table), tmp_path, store, "multilabel")
