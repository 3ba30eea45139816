"""Reprojected builds match gdalwarp onto the same grid with the options
recorded in provenance.json: bit-identical with exact transforms, within
1 DN with GDAL's default approximate transformer."""
import subprocess

import numpy as np
from osgeo import gdal

from conftest import Dataset, build, gdalwarp_options


def gdalwarp_reference(ds, name, source, tmp_path, options=()):
    """The whole grid warped by doc/format.md's gdalwarp command with the
    build's own settings and OPTIONS (e.g. the transformer's: -order 2,
    -tps, -rpc): (bands, alpha)."""
    ref = tmp_path / f"{name}-gdalwarp.tif"
    subprocess.run(["gdalwarp", "-q", "-overwrite", *gdalwarp_options(ds, name), "-dstalpha",
                    *options, str(source), str(ref)], check=True)
    data = gdal.Open(str(ref)).ReadAsArray()
    return data[:-1], data[-1]


def compare(ds, name, ref, alpha, nodata=0):
    """(largest difference where both cover the pixel, pixels only one of
    the two covers, pixels compared)."""
    worst, disagree, compared = 0.0, 0, 0
    for row in ds.chips():
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        got = ds.chip(row, name).astype(float)
        theirs = alpha[y:y + h, x:x + w] > 0
        ours = (got != nodata).any(axis=0)
        both = theirs & ours
        disagree += int((theirs != ours).sum())
        if both.any():
            want = ref[:, y:y + h, x:x + w].astype(float)
            worst = max(worst, float(np.abs(got[:, both] - want[:, both]).max()))
            compared += int(both.sum())
    assert compared > 0
    return worst, disagree, compared


RECIPE = """
dataset: {{name: l7-warped}}
grid: {{crs: "{crs}", resolution: {res}, chip_size: 32, error_threshold: {et}}}
modalities:
  - name: optical
    files: [{demo}/L7_ETMs.tif]
    resampling: bilinear
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def test_utm24s_exact_transforms_equal_gdalwarp(tmp_path, demo):
    out, _ = build(RECIPE.format(crs="EPSG:32724", res=30, et=0, demo=demo), tmp_path)
    ds = Dataset(out)
    assert ds.provenance["read"]["optical"]["sources"][0]["placements"][0]["aligned"] is False
    ref, alpha = gdalwarp_reference(ds, "optical", demo / "L7_ETMs.tif", tmp_path)
    worst, disagree, _ = compare(ds, "optical", ref, alpha)
    assert worst == 0 and disagree == 0


def test_utm24s_approximate_transformer_close(tmp_path, demo):
    """GDAL's approximate transformer (error_threshold 0.125 px) depends on
    how the output is cut into windows: nearly all pixels still match."""
    out, _ = build(RECIPE.format(crs="EPSG:32724", res=30, et=0.125, demo=demo), tmp_path)
    ds = Dataset(out)
    ref, alpha = gdalwarp_reference(ds, "optical", demo / "L7_ETMs.tif", tmp_path)
    worst, disagree, compared = compare(ds, "optical", ref, alpha)
    assert worst <= 4
    # The approximate transformer may move the scene's edge by a fraction of
    # a pixel differently in differently cut windows: a few edge pixels.
    assert disagree <= compared * 1e-4


def test_geographic_grid_within_1dn(tmp_path, demo):
    """The default (exact transforms) onto EPSG:4326 matches gdalwarp -et 0."""
    out, summary = build(RECIPE.replace(", error_threshold: {et}", "")
                         .format(crs="EPSG:4326", res=0.00025, demo=demo), tmp_path)
    assert summary["chips"] > 20
    ds = Dataset(out)
    assert ds.provenance["read"]["optical"]["error_threshold"] == 0
    ref, alpha = gdalwarp_reference(ds, "optical", demo / "L7_ETMs.tif", tmp_path)
    worst, disagree, _ = compare(ds, "optical", ref, alpha)
    assert worst <= 1 and disagree == 0
