"""stats.json equals NumPy over the training shards, per band, nodata and
NaN excluded, to 1e-6 relative: counts, mean, std, min, max and the 1/2/50/
98/99 percentiles (NumPy's default method); for 8-bit, 16-bit and float32
data (the latter exercises the exact percentile refinement)."""
import numpy as np
import pytest

from conftest import Dataset, build


def numpy_stats(values, nodata):
    flat = values.astype(np.float64).ravel()
    keep = ~np.isnan(flat)
    if nodata is not None:
        keep &= flat != nodata
    v = flat[keep]
    return {"count": flat.size, "valid_count": v.size, "mean": v.mean(), "std": v.std(),
            "min": v.min(), "max": v.max(),
            "percentiles": dict(zip(["1", "2", "50", "98", "99"],
                                    np.percentile(v, [1, 2, 50, 98, 99])))}


def assert_stats_match(ds, name):
    mod = ds.stats["modalities"][name]
    train = ds.split_arrays(ds.stats["split"], name)
    assert train is not None and len(train) == ds.stats["chips"] > 0
    for b, band in enumerate(mod["bands"]):
        want = numpy_stats(train[:, b], mod["nodata"])
        assert band["count"] == want["count"]
        assert band["valid_count"] == want["valid_count"]
        for key in ["mean", "std", "min", "max"]:
            assert band[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), key
        for p, v in want["percentiles"].items():
            assert band["percentiles"][p] == pytest.approx(v, rel=1e-6, abs=1e-9), p


def test_landsat_uint8_with_nodata(tmp_path, demo):
    out, _ = build(f"""
dataset: {{name: stats-l7}}
grid: {{crs: EPSG:31985, resolution: 30, chip_size: 32, stride: 24}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], nodata: 0, resampling: cubic}}]
split: {{method: blocks, block_size: 3000, ratios: {{train: 0.7, test: 0.3}}, seed: 1}}
""", tmp_path)
    ds = Dataset(out)
    # the warped scene has nodata margins: counts and valid counts differ
    band = ds.stats["modalities"]["optical"]["bands"][0]
    assert band["valid_count"] < band["count"]
    assert_stats_match(ds, "optical")


def test_dem_float32_percentiles_exact(tmp_path, demo):
    out, _ = build(f"""
dataset: {{name: stats-dem}}
grid: {{chip_size: 16, stride: 8}}
modalities: [{{name: dem, kind: dem, files: [{demo}/olinda_dem_utm25s.tif]}}]
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""", tmp_path)
    assert_stats_match(Dataset(out), "dem")


def test_sar_float32_with_declared_nodata(tmp_path, shared):
    out, _ = build(f"""
dataset: {{name: stats-sar}}
grid: {{chip_size: 32, stride: 16}}
modalities:
  - name: sar
    files: [{shared}/sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    assert ds.stats["modalities"]["sar"]["nodata"] == -99
    assert_stats_match(ds, "sar")


def test_worldview_uint16(tmp_path, shared):
    out, _ = build(f"""
dataset: {{name: stats-wv}}
grid: {{chip_size: 64}}
modalities: [{{name: pan, files: [{shared}/optical/solaris/sample_geotiff.tif]}}]
split: {{method: random, ratios: {{train: 0.5, test: 0.5}}, seed: 9}}
""", tmp_path)
    assert_stats_match(Dataset(out), "pan")


def test_class_counts_per_split(tmp_path, demo):
    out, _ = build((__import__("pathlib").Path(__file__).parents[2] / "examples/olinda.yaml")
                   .read_text().replace("data/", f"{demo}/"), tmp_path)
    ds = Dataset(out)
    for split in ["train", "val", "test"]:
        labels = ds.split_arrays(split, "label")
        counts = np.bincount(labels.ravel(), minlength=3)
        want = {str(c): int(n) for c, n in enumerate(counts) if n}
        assert ds.stats["classes"]["pixels"][split] == want


def test_band_position_and_source(tmp_path, shared):
    """Per-band files (BigEarthNet Sentinel-2: one file per band): each band
    of stats.json gives its position in the arrays, its band number in its
    files and which files those are (not band 1 over and over)."""
    patch = shared / "samples/bigearthnet/s2/S2A_MSIL2A_20170617T113321_36_85"
    names = ["B04", "B03", "B02", "B8A"]
    files = "\n".join(f"      - {{name: {n}, files: [{patch}/S2A_MSIL2A_20170617T113321_36_85_{n}.tif]}}"
                      for n in names)
    out, _ = build(f"""
dataset: {{name: stats-band-files}}
grid: {{crs: {{like: s2}}, chip_size: 60}}
modalities:
  - name: s2
    resampling: bilinear
    band_files:
{files}
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    ds = Dataset(out)
    bands = ds.stats["modalities"]["s2"]["bands"]
    sources = ds.provenance["read"]["s2"]["sources"]
    assert [b["band"] for b in bands] == [1, 2, 3, 4]
    assert [b["name"] for b in bands] == names
    assert all(b["source_band"] == 1 for b in bands)
    assert [[sources[i]["path"].rsplit("_", 1)[1] for i in b["sources"]] for b in bands] == \
        [[f"{n}.tif"] for n in names]
    assert_stats_match(ds, "s2")
