"""Bad `sample` input: each mistake is refused before anything is written,
with exit code 2 and one line naming the recipe's line:column (for the
region layer, the layer too). (An unknown grid.system is refused at its
line too: tests/integration/test_reference_grid.py.)"""
import re
from pathlib import Path

import pytest

from conftest import run

INPUT = 2


def recipe(demo, sample, labels=True, task="classification"):
    """The Olinda scene (and its tracts as labels) with SAMPLE as the value
    of `sample:`, on line 6, column 9."""
    lines = [
        "dataset: {name: bad-sample}",
        "grid: {crs: EPSG:31985, resolution: 30, chip_size: 32}",
        "modalities:",
        f'  - {{name: optical, files: ["{demo}/L7_ETMs.tif"], resampling: bilinear}}',
        "split: {method: random, ratios: {train: 1.0}}",
        f"sample: {sample}",
    ]
    if labels:
        lines.append(f'labels: {{source: "{demo}/olinda1.shp", attribute: TIPO, task: {task}}}')
    return "\n".join(lines) + "\n"


def refused(tmp_path, text, pattern, *args):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    proc = run("build", path, "-o", out, *args, check=False)
    assert proc.returncode == INPUT, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eodkit: error: "), proc.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists() and not Path(f"{out}.partial").exists()
    return lines[0]


CASES = {
    "zero": ("{by: country, max_per_group: 0}", r"recipe.yaml:6:38: sample.max_per_group: "
             r"must be at least 1 chip, not 0$"),
    "negative": ("{by: country, max_per_group: -5}", r"recipe.yaml:6:38: sample.max_per_group: "
                 r"must be at least 1 chip, not -5$"),
    "fraction": ("{by: country, max_per_group: 2.5}", r"recipe.yaml:6:38: sample.max_per_group: "
                 r"expected a whole number, got '2.5'$"),
    "word": ("{by: country, max_per_group: many}", r"recipe.yaml:6:38: sample.max_per_group: "
             r"expected a whole number, got 'many'"),
    "total zero": ("{by: country, total: 0, allocation: equal}",
                   r"recipe.yaml:6:30: sample.total: must be at least 1 chip, not 0$"),
    "misspelt by": ("{by: contnent, max_per_group: 5}",
                    r"recipe.yaml:6:14: sample.by: unknown value 'contnent' \(did you mean "
                    r"'continent'\?\)$"),
    "unknown by": ("{by: elevation, max_per_group: 5}",
                   r"recipe.yaml:6:14: sample.by: unknown value 'elevation' \(one of: "
                   r"continent, country, region, class, cell\)$"),
    "unknown key": ("{by: country, max_per_group: 5, sead: 1}",
                    r"recipe.yaml:6:41: unknown key 'sead' in sample \(did you mean 'seed'\?\)$"),
    "no by": ("{max_per_group: 5}", r"recipe.yaml:6:9: .*'by'"),
    "no count": ("{by: country, seed: 3}", r"recipe.yaml:6:9: sample: give 'max_per_group'"),
    "total alone": ("{by: country, total: 50}", r"recipe.yaml:6:30: sample.total: say how it is "
                    r"shared among the groups: 'allocation: proportional' or 'allocation: equal'$"),
    "allocation alone": ("{by: country, max_per_group: 5, allocation: equal}",
                         r"recipe.yaml:6:53: sample.allocation: only used with 'total'$"),
    "bad allocation": ("{by: country, total: 5, allocation: even}",
                       r"recipe.yaml:6:45: sample.allocation: unknown value 'even'"),
    "cell size elsewhere": ("{by: country, max_per_group: 5, cell_size: 10}",
                            r"recipe.yaml:6:52: sample.cell_size: only 'by: cell' has a cell size$"),
    "cell size zero": ("{by: cell, max_per_group: 5, cell_size: 0}",
                       r"recipe.yaml:6:49: sample.cell_size: the cells are Major TOM cells, in km, "
                       r"from 0.1 to 1000$"),
    "negative seed": ("{by: country, max_per_group: 5, seed: -1}",
                      r"recipe.yaml:6:47: sample.seed: -1 is out of range"),
    "not a mapping": ("5", r"recipe.yaml:6:9: sample: expected a mapping"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_sample_keys(tmp_path, demo, case):
    sample, pattern = CASES[case]
    refused(tmp_path, recipe(demo, sample), pattern)


def test_class_needs_labels(tmp_path, demo):
    refused(tmp_path, recipe(demo, "{by: class, max_per_group: 5}", labels=False),
            r"recipe.yaml:6:14: sample.by: class needs labels")


def test_class_of_a_regression_target_is_refused(tmp_path, demo):
    text = recipe(demo, "{by: class, max_per_group: 5}", labels=False) + \
        f'labels: {{source: "{demo}/olinda_dem_utm25s.tif", task: regression, ' \
        'resampling: bilinear}\n'
    refused(tmp_path, text, r"recipe.yaml:6:14: sample.by: class: a regression target has "
            r"no classes")


def test_class_of_scene_labels_is_refused(tmp_path, demo):
    table = tmp_path / "labels.csv"
    table.write_text("file,label\nL7_ETMs,urban\n")
    text = recipe(demo, "{by: class, max_per_group: 5}", labels=False) + \
        f'labels: {{table: "{table}", key: file, match: file, labels: label, ' \
        'task: classification}\n'
    refused(tmp_path, text, r"recipe.yaml:6:14: sample.by: class needs labels.source .*"
            r"labels.table are not supported")


@pytest.mark.parametrize("key,missing", [("country", "country codes"),
                                         ("continent", "continents")])
def test_a_region_layer_without_the_field_is_refused(tmp_path, demo, shared, key, missing):
    """Natural Earth's land polygons have neither countries nor continents."""
    land = shared / "boundaries/naturalearth/ne_110m_land.json"
    line = refused(tmp_path, recipe(demo, f"{{by: {key}, max_per_group: 5}}"),
                   rf"recipe.yaml:6:14: sample.by: {key}: the region layer .*"
                   rf"ne_110m_land.json has no {missing} \(no field",
                   "--regions", land)
    assert "--regions" in line
