"""eodkit.torch with Debian's PyTorch: samples and batches equal the NumPy
reader, DataLoaders with 2 workers give the same samples as without,
DistributedSampler ranks partition a split, weighted samplers draw
continents (a made-up region layer) and classes about equally. (Training
on the demo runs in test_python_examples.py.)"""
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from conftest import SOURCE, build
from test_audit import ATLANTA, SLOVENIA, region_layer

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402
from eodkit.torch import ChipDataset, loader, weighted_sampler  # noqa: E402


@pytest.fixture(scope="module")
def slovenia(tmp_path_factory, shared):
    """uint16 Landsat-like chips over Slovenia, 5 land-use classes, one per chip."""
    out, _ = build(SLOVENIA.format(shared=shared, task="classification"),
                   tmp_path_factory.mktemp("slovenia"))
    return eodkit.open(out)


def test_samples_and_batches_equal_the_reader(demo_dataset):
    split = eodkit.open(demo_dataset).split("val")
    data = ChipDataset(split)
    assert len(data) == len(split) == 9
    sample = data[4]
    chip = split.chip(4)
    assert sample["optical"].dtype == torch.uint8 and sample["label"].dtype == torch.int64
    assert np.array_equal(sample["optical"].numpy(), chip["optical"])
    assert np.array_equal(sample["label"].numpy(), chip["label"])
    assert sample["index"].item() == 4 and sample["chip_id"].item() == split.chip_ids()[4]
    assert sample["geotransform"].tolist() == split.geotransforms()[4].tolist()
    assert sample["present"] == {"optical": torch.tensor(True)}
    batch = data[[8, 0, 4]]
    assert batch["optical"].shape == (3, 6, 32, 32) and batch["index"].tolist() == [8, 0, 4]
    assert np.array_equal(batch["label"].numpy(), split.read([8, 0, 4])["label"])
    assert torch.equal(batch["optical"][2], sample["optical"])
    assert data[2:4]["index"].tolist() == [2, 3]


def test_normalised_samples_and_wide_types(demo_dataset, slovenia):
    split = eodkit.open(demo_dataset).split("val")
    batch = ChipDataset(split, normalize="p2-p98")[[1, 2]]
    want = split.dataset.normalizer("optical", "p2-p98")(split.read([1, 2])["optical"])
    assert batch["optical"].dtype == torch.float32 and np.array_equal(batch["optical"].numpy(), want)
    # torch has no uint16 tensors: widened to int32, values kept
    train = slovenia.split("train")
    sample = ChipDataset(train, arrays=["landsat"])[0]
    assert sample["landsat"].dtype == torch.int32 and "label" not in sample
    assert np.array_equal(sample["landsat"].numpy(), train.chip(0)["landsat"])


def collect(batches):
    """Every batch of BATCHES as plain Python lists, for comparison."""
    return [{k: (v.tolist() if torch.is_tensor(v) else {m: t.tolist() for m, t in v.items()})
             for k, v in b.items()} for b in batches]


@pytest.mark.parametrize("path", ["plain", "loader"])
def test_two_workers_give_the_same_samples_as_none(demo_dataset, path):
    data = ChipDataset(eodkit.open(demo_dataset).split("train"), normalize="meanstd")

    def run(workers):
        generator = torch.Generator().manual_seed(7)
        if path == "plain":  # one gather per batch through __getitems__
            return collect(DataLoader(data, batch_size=5, shuffle=True, num_workers=workers,
                                      generator=generator))
        return collect(loader(data, 5, shuffle=True, num_workers=workers, generator=generator))

    none, two = run(0), run(2)
    assert none == two and len(none) == 5
    assert sorted(i for b in none for i in b["index"]) == list(range(24))


@pytest.mark.parametrize("split_name,chips", [("train", 24), ("val", 9)])
def test_distributed_sampler_ranks_partition_a_split(demo_dataset, split_name, chips):
    data = ChipDataset(eodkit.open(demo_dataset).split(split_name))
    ranks = []
    for rank in range(2):
        sampler = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=3)
        sampler.set_epoch(1)
        ranks.append([i for b in loader(data, 4, sampler=sampler, num_workers=1)
                      for i in b["index"].tolist()])
    assert len(ranks[0]) == len(ranks[1]) == (chips + 1) // 2
    assert set(ranks[0]) | set(ranks[1]) == set(range(chips))
    # DistributedSampler pads an odd split with one repeated chip
    assert len(set(ranks[0]) & set(ranks[1])) == chips % 2


def draw_shares(split, by, groups):
    """Shares of each group among 40000 chips drawn by weighted_sampler."""
    drawn = np.array(list(weighted_sampler(split, by, num_samples=40000,
                                           generator=torch.Generator().manual_seed(5))))
    values, counts = np.unique(groups[drawn], return_counts=True)
    return dict(zip(values.tolist(), counts / len(drawn)))


def test_weighted_sampler_evens_out_continents(tmp_path, shared):
    """Made-up continents as unequal strips over Atlanta (the build's
    region layer): drawn about equally often, though their chips are not."""
    layer = tmp_path / "strips.geojson"
    region_layer(layer, [-84.4805, -84.4790, -84.4780])
    out, _ = build(ATLANTA.format(shared=shared, chip=32, stride=32, method="random",
                                  extra="", seed=1), tmp_path, "--regions", layer)
    split = eodkit.open(out).split("train")
    continents = split.column("continent")
    _, chips = np.unique(continents, return_counts=True)
    assert len(chips) == 4 and chips.max() > 1.5 * chips.min()
    shares = draw_shares(split, "continent", continents)
    assert all(abs(s - 0.25) < 0.02 for s in shares.values()), shares


def test_weighted_sampler_evens_out_classes(slovenia):
    split = slovenia.split("train")
    labels = split.column("label")
    _, chips = np.unique(labels, return_counts=True)
    assert len(chips) >= 3 and chips.max() > 2 * chips.min()
    shares = draw_shares(split, "class", labels)
    assert all(abs(s - 1 / len(chips)) < 0.02 for s in shares.values()), shares
