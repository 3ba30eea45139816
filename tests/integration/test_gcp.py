"""Rasters georeferenced by GCPs or RPCs (doc/recipe.md, `georeference`):
warped onto the grid through GDAL's GCP polynomial (order 1-3), thin-plate
spline or RPC transformer (with a DEM or a height), exactly as gdalwarp
with the same options; the transformer is recorded in provenance.json.

The inputs are real rasters turned into GCP-only files the way Sentinel-1
GRD SAFE and Level-1 scenes come (a grid of 210 lon/lat GCPs, computed from
each raster's own geotransform, and no geotransform), and an RPC model
fitted (least squares, cubic, RPC00B term order) to the Landsat scene's
geotransform, heights 0-100 m."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import Dataset, build, run
from test_warp import compare, gdalwarp_reference

S1 = "sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


def lonlat_of_pixels(ds, px, ln):
    """Lon/lat of pixel positions PX, LN (GDAL's corner convention) of DS."""
    gt = ds.GetGeoTransform()
    src = ds.GetSpatialRef()
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    for srs in (src, dst):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(src, dst)
    xy = np.c_[gt[0] + px * gt[1] + ln * gt[2], gt[3] + px * gt[4] + ln * gt[5]]
    out = np.array(ct.TransformPoints(xy.tolist()))
    return out[:, 0], out[:, 1]


def gcp_only(src, dst, nx=21, ny=10):
    """SRC copied to DST with an NX x NY grid of lon/lat GCPs instead of its
    geotransform; returns DST."""
    ds = gdal.Open(str(src))
    px, ln = np.meshgrid(np.linspace(0, ds.RasterXSize, nx), np.linspace(0, ds.RasterYSize, ny))
    lon, lat = lonlat_of_pixels(ds, px.ravel(), ln.ravel())
    args = []
    for p, l, x, y in zip(px.ravel(), ln.ravel(), lon, lat):
        args += ["-gcp", repr(float(p)), repr(float(l)), repr(float(x)), repr(float(y))]
    subprocess.run(["gdal_translate", "-q", "-a_srs", "EPSG:4326", *args, str(src), str(dst)],
                   check=True)
    out = gdal.Open(str(dst))
    assert out.GetGCPCount() == nx * ny and out.GetGeoTransform(can_return_null=True) is None
    return dst


def rpc_terms(L, P, H):
    """The 20 cubic terms of an RPC00B polynomial, in that order."""
    return np.stack([np.ones_like(L), L, P, H, L * P, L * H, P * H, L * L, P * P, H * H,
                     P * L * H, L ** 3, L * P * P, L * H * H, L * L * P, P ** 3, P * H * H,
                     L * L * H, P * P * H, H ** 3], axis=-1)


def rpc_only(src, dst):
    """SRC's pixels in DST without a geotransform, with an RPC model fitted to
    SRC's geotransform (an orthoimage: the heights do not move pixels);
    returns the fit's worst error in pixels."""
    ds = gdal.Open(str(src))
    w, h = ds.RasterXSize, ds.RasterYSize
    px, ln = (a.ravel() for a in np.meshgrid(np.linspace(0, w, 25), np.linspace(0, h, 25)))
    lon, lat = lonlat_of_pixels(ds, px, ln)
    heights = np.array([0.0, 50.0, 100.0])
    lon3, lat3 = np.repeat(lon, 3), np.repeat(lat, 3)
    h3 = np.tile(heights, lon.size)
    # RPC samples and lines count from pixel centres; GDAL's from corners.
    px3, ln3 = np.repeat(px, 3) - 0.5, np.repeat(ln, 3) - 0.5
    md = {"LONG_OFF": lon.mean(), "LAT_OFF": lat.mean(), "HEIGHT_OFF": 50.0,
          "SAMP_OFF": w / 2, "LINE_OFF": h / 2, "LONG_SCALE": np.ptp(lon) / 2,
          "LAT_SCALE": np.ptp(lat) / 2, "HEIGHT_SCALE": 50.0, "SAMP_SCALE": w / 2,
          "LINE_SCALE": h / 2}
    a = rpc_terms((lon3 - md["LONG_OFF"]) / md["LONG_SCALE"],
                  (lat3 - md["LAT_OFF"]) / md["LAT_SCALE"],
                  (h3 - md["HEIGHT_OFF"]) / md["HEIGHT_SCALE"])
    samp = np.linalg.lstsq(a, (px3 - md["SAMP_OFF"]) / md["SAMP_SCALE"], rcond=None)[0]
    line = np.linalg.lstsq(a, (ln3 - md["LINE_OFF"]) / md["LINE_SCALE"], rcond=None)[0]
    worst = max(np.abs(a @ samp * md["SAMP_SCALE"] + md["SAMP_OFF"] - px3).max(),
                np.abs(a @ line * md["LINE_SCALE"] + md["LINE_OFF"] - ln3).max())
    den = np.zeros(20)
    den[0] = 1
    text = {k: repr(float(v)) for k, v in md.items()}
    text.update({k: " ".join(repr(float(c)) for c in v) for k, v in (
        ("LINE_NUM_COEFF", line), ("LINE_DEN_COEFF", den), ("SAMP_NUM_COEFF", samp),
        ("SAMP_DEN_COEFF", den))})
    out = gdal.GetDriverByName("GTiff").Create(str(dst), w, h, ds.RasterCount,
                                               ds.GetRasterBand(1).DataType)
    for b in range(1, ds.RasterCount + 1):
        out.GetRasterBand(b).WriteArray(ds.GetRasterBand(b).ReadAsArray())
    out.SetMetadata(text, "RPC")
    out = None
    check = gdal.Open(str(dst))
    assert check.GetGeoTransform(can_return_null=True) is None and check.GetMetadata("RPC")
    return worst


@pytest.fixture(scope="module")
def files(tmp_path_factory, shared, demo):
    folder = tmp_path_factory.mktemp("georef")
    return {
        "s1": gcp_only(shared / S1, folder / "s1_gcps.tif"),
        "l7": gcp_only(demo / "L7_ETMs.tif", folder / "l7_gcps.tif"),
        "few": gcp_only(shared / S1, folder / "s1_6gcps.tif", 3, 2),
        "rpc": folder / "l7_rpc.tif",
        "rpc_fit": rpc_only(demo / "L7_ETMs.tif", folder / "l7_rpc.tif"),
    }


def recipe(path, georeference, crs="EPSG:32631", res=20, resampling="bilinear", name="img"):
    return f"""
dataset: {{name: georef}}
grid: {{crs: "{crs}", resolution: {res}, chip_size: 32}}
modalities:
  - name: {name}
    files: ["{path}"]
    resampling: {resampling}
    georeference: {georeference}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def equals_gdalwarp(out, name, source, tmp_path, options, nodata):
    ds = Dataset(out)
    ref, alpha = gdalwarp_reference(ds, name, source, tmp_path, options)
    worst, disagree, compared = compare(ds, name, ref, alpha, nodata=nodata)
    assert compared > 10000
    assert worst == 0 and disagree == 0
    return ds


@pytest.mark.parametrize("order", [1, 2, 3])
def test_gcp_polynomial_equals_gdalwarp(order, files, tmp_path):
    out, summary = build(recipe(files["s1"], f"{{method: gcp, order: {order}}}"), tmp_path)
    assert summary["chips"] > 40
    ds = equals_gdalwarp(out, "img", files["s1"], tmp_path, ["-order", str(order)], -99)
    read = ds.provenance["read"]["img"]
    assert read["georeference"] == {"transformer": "gcp_polynomial", "order": order}
    assert read["sources"][0]["gcps"] == 210
    assert read["sources"][0]["placements"][0]["aligned"] is False


def test_thin_plate_spline_equals_gdalwarp(files, tmp_path):
    """Landsat's six bands through 210 GCPs by thin-plate spline, onto UTM 24S."""
    out, _ = build(recipe(files["l7"], "tps", crs="EPSG:32724", res=30), tmp_path)
    ds = equals_gdalwarp(out, "img", files["l7"], tmp_path, ["-tps"], 0)
    assert ds.provenance["read"]["img"]["georeference"] == {"transformer": "gcp_tps"}


def test_rpc_with_dem_equals_gdalwarp(files, demo, tmp_path):
    """RPCs with a DEM for the heights, as gdalwarp -rpc -to RPC_DEM=...; the
    DEM is an input (hashed); the chips are the orthoimage's own pixels."""
    assert files["rpc_fit"] < 0.01  # pixels: the model is the geotransform
    dem = demo / "olinda_dem_utm25s.tif"
    text = recipe(files["rpc"], f"{{method: rpc, dem: {dem}}}", crs="EPSG:31985", res=30)
    out, _ = build(text, tmp_path / "rpc")
    ds = equals_gdalwarp(out, "img", files["rpc"], tmp_path, ["-rpc", "-to", f"RPC_DEM={dem}"],
                         0)
    assert ds.provenance["read"]["img"]["georeference"] == {
        "transformer": "rpc", "dem": str(dem), "height": None}
    roles = {i["role"]: i for i in ds.provenance["inputs"]}
    assert roles["rpc_dem"]["of"] == "img" and len(roles["rpc_dem"]["sha256"]) == 64
    # The same scene by its geotransform: the same pixels but for resampling
    # noise at a few places.
    ortho, _ = build(recipe(demo / "L7_ETMs.tif", "geotransform", crs="EPSG:31985", res=30),
                     tmp_path / "ortho")
    a = ds.split_arrays("train", "img").astype(int)
    b = Dataset(ortho).split_arrays("train", "img").astype(int)
    assert a.shape == b.shape
    assert (np.abs(a - b) <= 1).mean() > 0.95


def test_rpc_height_equals_gdalwarp(files, tmp_path):
    text = recipe(files["rpc"], "{method: rpc, height: 40}", crs="EPSG:31985", res=30,
                  resampling="nearest")
    out, _ = build(text, tmp_path)
    ds = equals_gdalwarp(out, "img", files["rpc"], tmp_path, ["-rpc", "-to", "RPC_HEIGHT=40"],
                         0)
    assert ds.provenance["read"]["img"]["georeference"] == {
        "transformer": "rpc", "dem": None, "height": 40.0}


@pytest.mark.parametrize("which, georeference, code, says", [
    ("s1", None, 2, ["has no geotransform but 210 GCPs",
                     "'georeference: {method: gcp, order: 1, 2 or 3}'"]),
    ("few", "{method: gcp, order: 3}", 2, ["has 6 GCPs; a polynomial of order 3 needs at "
                                           "least 10"]),
    ("s1", "rpc", 2, ["has no RPC model"]),
    ("rpc", "{method: rpc, dem: nothere.tif}", 2, ["nothere.tif: no such file",
                                                  "(georeference.dem of "]),
    ("rpc", None, 2, ["has no geotransform but an RPC model"]),
    ("s1", "gcp", 2, ["'method: gcp' needs 'order'"]),
    ("s1", "{method: tps, order: 2}", 2, ["georeference.order: only with 'method: gcp'"]),
])
def test_georeference_errors(which, georeference, code, says, files, tmp_path):
    text = recipe(files[which], georeference or "geotransform")
    (tmp_path / "r.yaml").write_text(text)
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == code, proc.stderr
    for s in says:
        assert s in proc.stderr
    assert "r.yaml:" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_like_a_gcp_modality_is_refused(files, tmp_path):
    text = recipe(files["s1"], "{method: gcp, order: 1}").replace(
        'crs: "EPSG:32631", resolution: 20', "crs: {like: img}")
    (tmp_path / "r.yaml").write_text(text)
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "has no geotransform (it is warped through its GCPs)" in proc.stderr
