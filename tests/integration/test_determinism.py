"""The same recipe gives byte-identical datasets with -j 1 and -j 2, with
aligned reads, warping and labels, over many work units."""
from conftest import build, same_tree


def test_threads_give_identical_bytes(tmp_path, demo, shared):
    recipe = f"""
dataset: {{name: determinism}}
grid: {{crs: EPSG:32724, resolution: 20, chip_size: 24, stride: 20}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif], resampling: bilinear, nodata: 0}}
labels: {{source: {demo}/olinda1.shp, attribute: TIPO}}
filters: {{max_nodata: 0.5}}
split: {{method: blocks, block_size: 1500, buffer: 1, ratios: {{train: 0.7, val: 0.1, test: 0.2}}}}
output: {{shard_size: 256KiB}}
"""
    one, s1 = build(recipe, tmp_path / "j1", "-j", "1")
    two, s2 = build(recipe, tmp_path / "j2", "-j", "2")
    assert s1["chips"] == s2["chips"] > 100
    assert same_tree(one, two) > 10
