"""The Python reader (python/eodkit, imported from the source tree): every
chip equals numpy.load of its shard row and a rasterio read of the source
at the index's geotransform; batches across shards, time stacks and
optional modalities (also through eodkit.torch); index columns; normalisation equal to NumPy over the
training shards; clear errors for folders that are not (complete)
datasets and for unknown names."""
import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from conftest import SOURCE, Dataset, build, grid_window, run

sys.path.insert(0, str(SOURCE / "python"))
import eodkit  # noqa: E402


def test_metadata_comes_from_the_dataset_files(demo_dataset):
    ds = eodkit.open(demo_dataset)
    ref = Dataset(demo_dataset)
    assert ds.path == demo_dataset.resolve() and ds.name == "olinda-landcover"
    assert ds.splits == ["train", "val", "test"] == list(ref.collection["eodkit:splits"])
    assert ds.stats == ref.stats and ds.collection == ref.collection
    assert list(ds.modalities) == ["optical"] and ds.modalities["optical"]["dtype"] == "uint8"
    assert ds.classes == {1: "URBANO", 2: "RURAL"} and ds.background == 0
    assert ds.label["task"] == "segmentation"
    for name in ds.splits:
        split = ds.split(name)
        assert len(split) == ref.collection["eodkit:splits"][name]["chips"]
        assert split.arrays == ["optical", "label"]
        assert split.shapes == {"optical": (6, 32, 32), "label": (32, 32)}
    assert "weight_class" in ds.columns and "geom" not in ds.columns


def test_every_chip_equals_numpy_load_of_its_shard_row(demo_dataset):
    ds, ref = eodkit.open(demo_dataset), Dataset(demo_dataset)
    for name in ds.splits:
        split = ds.split(name)
        rows = ref.chips(f"split = '{name}'")
        # chip order is fid order, which is (shard, row) order
        assert [(r["shard"], r["row"]) for r in rows] == sorted((r["shard"], r["row"]) for r in rows)
        assert split.chip_ids().tolist() == [r["chip_id"] for r in rows]
        for i, row in enumerate(rows):
            chip = split.chip(i)
            for array in split.arrays:
                want = ref.chip(row, array)
                assert chip[array].dtype == want.dtype
                assert np.array_equal(chip[array], want)
                assert not chip[array].flags.writeable and not chip[array].flags.owndata
        order = np.random.default_rng(1).permutation(len(split))
        batch = split.read(order)
        for array in split.arrays:
            want = np.stack([ref.chip(rows[i], array) for i in order])
            assert np.array_equal(batch[array], want) and batch[array].flags.writeable
        assert np.array_equal(split.read(slice(2, 5))["label"], split.read([2, 3, 4])["label"])
        mask = np.arange(len(split)) % 3 == 1
        assert np.array_equal(split.read(mask)["label"], split.read(np.flatnonzero(mask))["label"])
        assert split.read([])["optical"].shape == (0, 6, 32, 32)
        assert np.array_equal(split.chip(-1)["optical"], split.chip(len(split) - 1)["optical"])


def test_chips_equal_the_source_read_at_their_geotransform(demo_dataset, demo):
    """The demo grid is the scene's own (crs: like optical): each chip is
    the scene's window at the chip's geotransform."""
    ds = eodkit.open(demo_dataset)
    with rasterio.open(demo / "L7_ETMs.tif") as src:
        for name in ds.splits:
            split = ds.split(name)
            transforms = split.geotransforms()
            for i in range(len(split)):
                row = split.row(i)
                assert transforms[i].tolist() == json.loads(row["geotransform"])
                col, line = grid_window(src, row)
                want = src.read(window=((line, line + 32), (col, col + 32)))
                assert np.array_equal(split.chip(i)["optical"], want)


def test_index_columns_in_chip_order(demo_dataset):
    ds, ref = eodkit.open(demo_dataset), Dataset(demo_dataset)
    split = ds.split("test")
    rows = ref.chips("split = 'test'")
    assert split.column("country").tolist() == [r["country"] for r in rows]
    assert split.column("weight_class").dtype == np.float64
    assert split.column("weight_class").tolist() == [r["weight_class"] for r in rows]
    assert split.column("block").tolist() == [r["block"] for r in rows]
    assert split.row(3) == {k: v for k, v in rows[3].items() if k != "geom"}
    assert ds.column("fid").tolist() == [r["fid"] for r in ref.chips()]
    assert split.weights("class").sum() == pytest.approx(len(split))
    assert split.present("optical").all()


def test_batches_across_shards(tmp_path, demo):
    """Shards of 20 KB hold 3 optical chips each: a batch gathers from many."""
    text = (SOURCE / "examples/olinda.yaml").read_text().replace("data/", f"{demo}/")
    out, _ = build(text + "  shard_size: 20KB\n", tmp_path)
    ds, ref = eodkit.open(out), Dataset(out)
    split = ds.split("train")
    assert ds.collection["eodkit:splits"]["train"]["shards"] == 8
    rows = ref.chips("split = 'train'")
    order = np.random.default_rng(2).permutation(len(split))[:17]
    batch = split.read(order)
    for array in split.arrays:
        assert np.array_equal(batch[array], np.stack([ref.chip(rows[i], array) for i in order]))
    assert split.shard("optical", 7).shape == (3, 6, 32, 32)


def test_time_stacks_read_as_five_dimensional_arrays(tmp_path, shared):
    source = shared / "optical/eo-learn/import-tiff-test1.tiff"
    for date in ["20160206T100203", "20160317T100659", "20160526T100000"]:
        subprocess.run(["gdal_translate", "-q", str(source), str(tmp_path / f"s_{date}_B1.tif")],
                       check=True)
    out, _ = build(f"""
dataset: {{name: stack}}
grid: {{crs: {{like: s}}, chip_size: 24}}
modalities:
  - {{name: s, files: ["{tmp_path}/s_*_B1.tif"], time: {{mode: stack, count: 2, pattern: "_([0-9]{{8}}T[0-9]{{6}})_"}}}}
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}}}
""", tmp_path / "build")
    ds, ref = eodkit.open(out), Dataset(out)
    split = ds.split("train")
    assert split.shapes["s"] == (2, 1, 24, 24) and split.arrays == ["s"]
    batch = split.read(range(len(split)))["s"]
    assert batch.shape == (len(split), 2, 1, 24, 24) and batch.dtype == np.uint16
    assert np.array_equal(batch, ref.split_arrays("train", "s"))
    norm = ds.normalizer("s")
    band = ds.stats["modalities"]["s"]["bands"][0]
    assert np.allclose(norm(batch), (batch - band["mean"]) / band["std"], atol=1e-5)
    from eodkit.torch import ChipDataset
    sample = ChipDataset(split, normalize="meanstd")[1]
    assert sample["s"].shape == (2, 1, 24, 24) and np.allclose(sample["s"].numpy(), norm(batch[1]))


def test_optional_modality_presence(tmp_path, demo):
    """The DEM covers part of the scene; chips beyond it have `present` 0."""
    small_dem = tmp_path / "dem-part.tif"
    subprocess.run(["gdal_translate", "-q", "-srcwin", "0", "0", "50", "111",
                    str(demo / "olinda_dem_utm25s.tif"), str(small_dem)], check=True)
    out, _ = build(f"""
dataset: {{name: optional}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif]}}
  - {{name: dem, kind: dem, files: [{small_dem}], resampling: bilinear, required: false, nodata: -9999}}
filters: {{max_nodata: 0.0}}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds, ref = eodkit.open(out), Dataset(out)
    split = ds.split("train")
    flags = [json.loads(r["present"])["dem"] == 1 for r in ref.chips()]
    assert split.present("dem").tolist() == flags and 0 < sum(flags) < len(flags)
    assert split.present("optical").all()
    dem = split.read(np.flatnonzero(~split.present("dem")), ["dem"])["dem"]
    assert dem.dtype == np.float32 and (dem == -9999).mean() > 0.5
    from eodkit.torch import ChipDataset
    batch = ChipDataset(split)[range(len(split))]
    assert batch["present"]["dem"].tolist() == flags and batch["present"]["optical"].all()


@pytest.mark.parametrize("method", ["meanstd", "p2-p98", "p1-p99"])
def test_normalisation_equals_numpy(demo_dataset, method):
    ds = eodkit.open(demo_dataset)
    train = Dataset(demo_dataset).split_arrays("train", "optical").astype(np.float64)
    nodata = ds.stats["modalities"]["optical"]["nodata"]
    x = ds.split("val").read(slice(None))["optical"].copy()
    x[0, :, :2, :2] = nodata  # nodata pixels become the fill value
    want = np.empty(x.shape)
    for b in range(x.shape[1]):
        valid = train[:, b][train[:, b] != nodata]
        if method == "meanstd":
            want[:, b] = (x[:, b] - valid.mean()) / valid.std()
        else:
            lo, hi = np.percentile(valid, [int(p) for p in method[1:].split("-p")])
            want[:, b] = (np.clip(x[:, b], lo, hi) - lo) / (hi - lo)
    want[x == nodata] = -1.0
    got = ds.normalizer("optical", method, fill=-1.0)(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert np.allclose(got, want, rtol=1e-6, atol=1e-6)
    assert np.allclose(ds.normalizer("optical", method)(x[3]), got[3], atol=1e-6)
    # NaN and +-inf are nodata as in every statistic of stats.json
    f = x.astype(np.float32)
    f[1, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    want[1, 0, 0, :3] = -1.0
    assert np.allclose(ds.normalizer("optical", method, fill=-1.0)(f), want,
                       rtol=1e-6, atol=1e-6)


def test_bad_input_gives_clear_errors(tmp_path, demo_dataset):
    def fails(path, pattern):
        with pytest.raises(eodkit.DatasetError, match=pattern):
            eodkit.open(path)

    fails(tmp_path / "nowhere", rf"{tmp_path / 'nowhere'}: no such dataset folder$")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", rf"{tmp_path / 'empty'}: not an eodkit dataset \(no collection.json\)")
    (tmp_path / "file.txt").write_text("x")
    fails(tmp_path / "file.txt", r"file.txt: not a folder")
    partial = tmp_path / "half.partial"
    shutil.copytree(demo_dataset, partial)
    (partial / ".eodkit-partial").write_text("")
    fails(partial, rf"{partial}: unfinished build \(it holds .eodkit-partial\)")
    fails(tmp_path / "half", rf"{tmp_path / 'half'}: no such dataset folder; {partial} is an "
                             r"unfinished build: finish it with `eodkit build RECIPE --resume`")

    ds = eodkit.open(demo_dataset)
    with pytest.raises(eodkit.DatasetError, match=r"no split 'tset'; its splits are: train, val, test"):
        ds.split("tset")
    split = ds.split("train")
    with pytest.raises(eodkit.DatasetError, match=r"no array 'sar'; the arrays are: optical, label"):
        split.shard("sar", 0)
    with pytest.raises(eodkit.DatasetError, match=r"no column 'contry'"):
        split.column("contry")
    with pytest.raises(eodkit.DatasetError, match=r"no weights by 'country'; use one of: continent, class"):
        split.weights("country")
    with pytest.raises(IndexError, match=r"out of range for split 'train' of 24 chips"):
        split.read([0, 24])
    with pytest.raises(IndexError, match=r"a boolean mask over split 'train' needs 24 entries, not 3"):
        split.read([True, False, True])
    with pytest.raises(TypeError, match=r"chip indices must be integers, not float64"):
        split.read([1.5])
    with pytest.raises(ValueError, match=r"unknown normalisation 'minmax'"):
        ds.normalizer("optical", "minmax")

    broken = tmp_path / "broken"
    shutil.copytree(demo_dataset, broken)
    np.save(broken / "train/optical-00000.npy", np.zeros((3, 6, 32, 32), np.uint8))
    with pytest.raises(eodkit.DatasetError, match=r"optical-00000.npy: shape \(3, 6, 32, 32\), "
                                                  r"but the index and collection.json say"):
        eodkit.open(broken).split("train").chip(0)


def test_a_split_pickles_without_its_mapped_shards(demo_dataset):
    split = eodkit.open(demo_dataset).split("train")
    before = split.read([4, 1])
    copy = pickle.loads(pickle.dumps(split))
    assert len(pickle.dumps(split)) < 20000
    assert all(np.array_equal(copy.read([4, 1])[a], before[a]) for a in split.arrays)


def test_version_is_the_commands(demo_dataset):
    assert run("--version").stdout.split()[:2] == ["eodkit", eodkit.__version__]
