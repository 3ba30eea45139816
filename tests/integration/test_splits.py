"""Splits: with `blocks` no two chips of different splits share or touch a
pixel and the guard band holds; the same seed gives the same splits;
`random` deals chips by the ratios."""
import numpy as np
import pytest

from conftest import Dataset, build

RECIPE = """
dataset: {{name: split-test}}
grid: {{chip_size: 32, stride: {stride}}}
modalities: [{{name: pan, files: [{shared}/optical/solaris/sample_geotiff.tif]}}]
split: {{method: {method}, {extra} ratios: {{train: 0.6, val: 0.2, test: 0.2}}, seed: {seed}}}
"""


def positions(ds):
    rows = ds.chips()
    return (np.array([r["grid_x"] for r in rows]), np.array([r["grid_y"] for r in rows]),
            np.array([r["split"] for r in rows]))


def min_gap_between_splits(ds, chip=32):
    """Smallest Chebyshev gap in pixels between chips of different splits:
    negative = shared pixels, 0 = touching, g = g free pixels between."""
    x, y, split = positions(ds)
    gap_x = np.abs(x[:, None] - x[None, :]) - chip
    gap_y = np.abs(y[:, None] - y[None, :]) - chip
    gap = np.maximum(gap_x, gap_y)
    different = split[:, None] != split[None, :]
    return int(gap[different].min())


@pytest.mark.parametrize("stride,buffer", [(16, 1), (32, 1), (16, 0.5), (32, 2)])
def test_blocks_keep_splits_apart(tmp_path, shared, stride, buffer):
    out, summary = build(RECIPE.format(shared=shared, stride=stride, method="blocks", seed=1,
                                       extra=f"block_size: 64, buffer: {buffer},"), tmp_path)
    ds = Dataset(out)
    assert set(summary["splits"]) == {"train", "val", "test"}
    assert all(n > 0 for n in summary["splits"].values())
    assert summary["rejected"]["guard"] > 0
    assert min_gap_between_splits(ds) >= buffer * 32


def test_blocks_without_buffer_share_no_pixel(tmp_path, shared):
    out, _ = build(RECIPE.format(shared=shared, stride=16, method="blocks", seed=1,
                                 extra="block_size: 64,"), tmp_path)
    assert min_gap_between_splits(Dataset(out)) >= 0


def test_chips_of_a_block_share_its_split(tmp_path, shared):
    out, _ = build(RECIPE.format(shared=shared, stride=32, method="blocks", seed=4,
                                 extra="block_size: 96,"), tmp_path)
    ds = Dataset(out)
    blocks = {}
    for row in ds.chips():
        blocks.setdefault(row["block"], set()).add(row["split"])
    assert len(blocks) > 10 and all(len(s) == 1 for s in blocks.values())


def test_same_seed_same_splits(tmp_path, shared):
    def splits(seed, folder):
        out, _ = build(RECIPE.format(shared=shared, stride=32, method="blocks", seed=seed,
                                     extra="block_size: 64, buffer: 1,"), tmp_path / folder)
        return [(r["chip_id"], r["split"]) for r in Dataset(out).chips()]

    assert splits(7, "a") == splits(7, "b")
    assert splits(7, "a") != splits(8, "c")


def test_random_split_follows_ratios(tmp_path, shared):
    out, summary = build(RECIPE.format(shared=shared, stride=32, method="random", seed=2,
                                       extra=""), tmp_path)
    # 28 x 28 = 784 chips dealt 0.6 / 0.2 / 0.2 (largest remainder)
    assert summary["splits"] == {"train": 470, "val": 157, "test": 157}
    ds = Dataset(out)
    x, y, split = positions(ds)
    # random splits are spatially mixed: neighbours of different splits touch
    assert min_gap_between_splits(ds) == 0
