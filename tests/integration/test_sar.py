"""SAR: Float32 backscatter in dB and in linear scale are stored as they are;
complex data is refused unless converted to amplitude or intensity. What is
resampled is linear power: complex data is detected first, decibels are
undone before and redone after (doc/recipe.md), exactly as GDAL's tools do
with the documented steps."""
import json
import re
import shlex
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import SOURCE, Dataset, build, gdalwarp_options, run, same_data
from test_gcp import gcp_only
from test_remote import build_env, data_get, env

S1 = "samples/bigearthnet/s1/S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39"


def sar_recipe(files, extra=""):
    return f"""
dataset: {{name: s1}}
grid: {{crs: {{like: sar}}, chip_size: 60}}
modalities:
  - name: sar
    kind: sar
    files: {files}
    band_names: [VV]
    sar: {{frequency_band: C, instrument_mode: IW, product_type: GRD, scale: db}}
    {extra}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def test_db_and_linear_backscatter(tmp_path, shared):
    vv = shared / S1 / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VV.tif"
    out, summary = build(sar_recipe(f"[{vv}]"), tmp_path / "db")
    ds = Dataset(out)
    assert summary["chips"] == 4 and ds.collection["eodkit:modalities"][0]["dtype"] == "float32"
    db = gdal.Open(str(vv)).ReadAsArray()
    assert db.max() < 30 and db.min() < -5  # decibels
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        assert np.array_equal(ds.chip(row, "sar")[0], db[y:y + 60, x:x + 60])
    linear = tmp_path / "vv_linear.tif"
    subprocess.run(["gdal_calc.py", "--quiet", "-A", str(vv), "--outfile", str(linear),
                    "--calc", "10**(A/10)", "--type", "Float32"], check=True)
    out, _ = build(sar_recipe(f"[{linear}]").replace("scale: db", "scale: linear"),
                   tmp_path / "linear")
    ds = Dataset(out)
    assert ds.collection["eodkit:modalities"][0]["sar"]["scale"] == "linear"
    row = ds.chips()[0]
    x, y = row["grid_x"], row["grid_y"]
    assert np.allclose(ds.chip(row, "sar")[0], 10 ** (db[y:y + 60, x:x + 60] / 10), rtol=1e-5)


@pytest.fixture
def complex_slc(tmp_path, shared):
    """A complex image (like SLC) built from the real VV and VH amplitudes."""
    folder = shared / S1
    vv = gdal.Open(str(folder / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VV.tif"))
    vh = gdal.Open(str(folder / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VH.tif"))
    re = 10 ** (vv.ReadAsArray() / 20)
    im = 10 ** (vh.ReadAsArray() / 20)
    path = tmp_path / "slc.tif"
    out = gdal.GetDriverByName("GTiff").Create(str(path), re.shape[1], re.shape[0], 1,
                                               gdal.GDT_CFloat32)
    out.SetGeoTransform(vv.GetGeoTransform())
    out.SetProjection(vv.GetProjection())
    out.GetRasterBand(1).WriteArray((re + 1j * im).astype(np.complex64))
    out = None
    return path, re, im


def test_complex_needs_a_conversion(tmp_path, complex_slc):
    path, _, _ = complex_slc
    (tmp_path / "r.yaml").write_text(sar_recipe(f"[{path}]"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "slc.tif: holds complex CFloat32 data" in proc.stderr
    assert "'complex: amplitude' or 'complex: intensity'" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode", ["amplitude", "intensity"])
def test_complex_converted(tmp_path, complex_slc, mode):
    path, re, im = complex_slc
    # the stored values are linear: 'scale: db' would be refused
    out, _ = build(sar_recipe(f"[{path}]", f"complex: {mode}").replace("scale: db",
                                                                       "scale: linear"),
                   tmp_path)
    ds = Dataset(out)
    assert ds.collection["eodkit:modalities"][0]["dtype"] == "float32"
    power = (re.astype(np.float32) ** 2 + im.astype(np.float32) ** 2)
    want = np.sqrt(power) if mode == "amplitude" else power
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        assert np.allclose(ds.chip(row, "sar")[0], want[y:y + 60, x:x + 60], rtol=1e-5)


# ---- resampling order: detect, then resample linear power ----

PYROSAR = "sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


def warped_recipe(files, resampling, extra, resolution=60, chip=16):
    """The pyroSAR scene's area on a 60 m UTM grid (the scene: 20 m, a
    fraction of a metre off that lattice): every pixel is resampled."""
    return f"""
dataset: {{name: sar-warped}}
grid: {{crs: EPSG:32631, resolution: {resolution}, chip_size: {chip}}}
modalities:
  - name: sar
    kind: sar
    files: [{files}]
    resampling: {resampling}
    {extra}
split: {{method: random, ratios: {{train: 1.0}}}}
"""


def write_like(path, template, array, dtype, nodata=None):
    """ARRAY as a GeoTIFF at PATH with TEMPLATE's georeferencing."""
    out = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1,
                                               dtype)
    out.SetGeoTransform(template.GetGeoTransform())
    out.SetProjection(template.GetProjection())
    if nodata is not None:
        out.GetRasterBand(1).SetNoDataValue(nodata)
    out.GetRasterBand(1).WriteArray(array)
    out = None
    return path


@pytest.fixture
def pyrosar(shared):
    """The pyroSAR scene (dB) and its linear power."""
    src = gdal.Open(str(shared / PYROSAR))
    db = src.ReadAsArray().astype(np.float64)
    assert src.GetRasterBand(1).GetNoDataValue() == -99 and db.min() > -99
    return src, 10 ** (db / 10)


@pytest.fixture
def pyrosar_slc(tmp_path, pyrosar):
    """A complex image made from the pyroSAR scene: its linear amplitude
    times a seeded random phase (speckle phases, as in SLC data)."""
    src, power = pyrosar
    phase = np.random.default_rng(12).uniform(-np.pi, np.pi, power.shape)
    return write_like(tmp_path / "pyrosar-slc.tif", src,
                      (np.sqrt(power) * np.exp(1j * phase)).astype(np.complex64),
                      gdal.GDT_CFloat32)


def footprint_mean(src, power, rows):
    """Area-weighted mean of POWER (on SRC's pixels) over the footprints of
    chips ROWS: what averaging detected power onto them must keep."""
    gt = src.GetGeoTransform()
    xe = gt[0] + np.arange(power.shape[1] + 1) * gt[1]
    ye = gt[3] + np.arange(power.shape[0] + 1) * gt[5]

    def overlap(edges, lo, hi):
        a, b = np.minimum(edges[:-1], edges[1:]), np.maximum(edges[:-1], edges[1:])
        return np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0, None)

    weight = np.zeros(power.shape)
    for row in rows:
        g = json.loads(row["geotransform"])
        x1, y0 = g[0] + row["width"] * g[1], g[3] + row["height"] * g[5]
        weight += np.outer(overlap(ye, y0, g[3]), overlap(xe, g[0], x1))
    return (power * weight).sum() / weight.sum()


@pytest.mark.parametrize("case", ["db", "amplitude", "intensity"])
def test_average_keeps_the_mean_intensity(tmp_path, shared, pyrosar, pyrosar_slc, case):
    """Averaging onto a coarser grid keeps the mean backscatter intensity
    (within 1%): complex data is detected before resampling (averaging
    complex samples lets the speckle phases cancel: -92% here) and decibels
    are averaged as linear power (averaging dB: -8% here)."""
    src, power = pyrosar
    files, extra = {"db": (shared / PYROSAR, "sar: {scale: db}"),
                    "amplitude": (pyrosar_slc, "complex: amplitude"),
                    "intensity": (pyrosar_slc, "complex: intensity")}[case]
    out, _ = build(warped_recipe(files, "average", extra), tmp_path)
    ds = Dataset(out)
    rows = ds.chips("nodata_frac = 0")
    assert len(rows) >= 12
    placed = ds.provenance["read"]["sar"]["sources"][0]["placements"][0]
    assert placed["aligned"] is False and placed["xscale"] == pytest.approx(1 / 3, rel=1e-3)
    chips = np.stack([ds.chip(row, "sar")[0] for row in rows]).astype(np.float64)
    intensity = {"db": 10 ** (chips / 10), "amplitude": chips ** 2, "intensity": chips}[case]
    truth = footprint_mean(src, power, rows)
    assert intensity.mean() == pytest.approx(truth, rel=0.01)


def documented_steps(folder, options, complex_data=False):
    """Run the gdal_calc / gdalwarp steps of doc/recipe.md in FOLDER (which
    holds db.tif), with the gdalwarp OPTIONS of doc/format.md; for complex
    data with the calculations the page gives for it (amplitude)."""
    page = (SOURCE / "doc/recipe.md").read_text()
    block = re.search(r"```sh\n(gdal_calc.py .*?)```", page, re.S).group(1)
    lines = block.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        args = shlex.split(line, comments=True)
        if args[0] == "gdalwarp":
            assert args[1] == "<options>"
            args = ["gdalwarp", "-q", *options, *args[2:]]
        elif complex_data:
            calc = ("numpy.abs(A)**2" if args[1:3] == ["-A", "db.tif"]
                    else "where(A >= 0, sqrt(A), -99)")
            assert f'--calc="{calc}"' in page
            args = [f"--calc={calc}" if a.startswith("--calc=") else a for a in args]
        subprocess.run(args, cwd=folder, check=True, capture_output=True)
    return gdal.Open(str(folder / "chips-db.tif")).ReadAsArray()


@pytest.mark.parametrize("resampling", ["bilinear", "average"])
def test_db_resampling_equals_gdal_steps(tmp_path, pyrosar, resampling):
    """dB data with a nodata area, warped by a method that combines samples,
    equals gdal_calc to power + gdalwarp + gdal_calc back to dB (float32
    precision); the nodata pixels stay out of every step (they would pull
    neighbouring values down by tens of dB if converted)."""
    src, _ = pyrosar
    db = src.ReadAsArray()
    db[:70, :90] = -99  # a nodata corner, as at a swath edge
    write_like(tmp_path / "db.tif", src, db, gdal.GDT_Float32, nodata=-99)
    out, _ = build(warped_recipe(tmp_path / "db.tif", resampling, "sar: {scale: db}",
                                 resolution=50), tmp_path / "build")
    ds = Dataset(out)
    ref = documented_steps(tmp_path, gdalwarp_options(ds, "sar"))
    compared = edge = 0
    for row in ds.chips():
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        got, want = ds.chip(row, "sar")[0], ref[y:y + h, x:x + w]
        assert np.array_equal(got == -99, want == -99)
        valid = got != -99
        assert np.allclose(got[valid], want[valid], rtol=0, atol=2e-5)
        compared += int(valid.sum())
        edge += int((valid & ~np.all(got != -99)).sum())
    assert compared > 5000 and edge > 0


def test_complex_resampling_equals_gdal_steps(tmp_path, pyrosar_slc):
    """Complex data: detection, gdalwarp of the intensity, then amplitude,
    as the documented steps do it."""
    (tmp_path / "db.tif").symlink_to(pyrosar_slc)
    out, _ = build(warped_recipe(pyrosar_slc, "bilinear", "complex: amplitude",
                                 resolution=50), tmp_path / "build")
    ds = Dataset(out)
    ref = documented_steps(tmp_path, gdalwarp_options(ds, "sar"), complex_data=True)
    for row in ds.chips("nodata_frac = 0"):
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        assert np.allclose(ds.chip(row, "sar")[0], ref[y:y + h, x:x + w], rtol=1e-6)


def test_nearest_copies_samples_as_before(tmp_path, shared, pyrosar_slc):
    """nearest selects one sample, whatever the order: dB values are copied
    as they are and complex samples detected as before, bit for bit equal
    to gdalwarp -r near of the file (then |z| for complex data)."""
    for name, files, extra in [("db", shared / PYROSAR, "sar: {scale: db}"),
                               ("slc", pyrosar_slc, "complex: amplitude")]:
        out, _ = build(warped_recipe(files, "nearest", extra, resolution=50),
                       tmp_path / name)
        ds = Dataset(out)
        ref = tmp_path / f"{name}-near.tif"
        subprocess.run(["gdalwarp", "-q", *gdalwarp_options(ds, "sar"), str(files), str(ref)],
                       check=True)
        want = gdal.Open(str(ref)).ReadAsArray()
        if name == "slc":
            want = np.abs(want.astype(np.complex128)).astype(np.float32)
        for row in ds.chips("nodata_frac = 0"):
            x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
            assert np.array_equal(ds.chip(row, "sar")[0], want[y:y + h, x:x + w])


def test_db_scale_with_complex_is_refused(tmp_path, pyrosar_slc):
    (tmp_path / "r.yaml").write_text(warped_recipe(
        pyrosar_slc, "average", "complex: intensity\n    sar: {scale: db}"))
    proc = run("build", tmp_path / "r.yaml", "-o", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "r.yaml:10:" in proc.stderr and "'scale: linear'" in proc.stderr


@pytest.mark.parametrize("case", ["db", "amplitude"])
def test_non_finite_values_are_nodata_in_power(tmp_path, pyrosar, case):
    """NaN and infinities are never data (doc/recipe.md, nodata) in the
    power path either: a file whose nodata corner holds NaN, +inf and -inf
    (-inf dB is zero power, +inf dB infinite power) builds, resampled as
    power, the very chips of the same file with -99 there: those pixels
    stay out of every step rather than pull or poison their neighbours.
    With `nodata: nan` the same pixels are NaN."""
    src, power = pyrosar
    if case == "db":
        values, dtype, extra = 10 * np.log10(power), gdal.GDT_Float32, "sar: {scale: db}"
    else:
        values, dtype, extra = np.sqrt(power) + 0j, gdal.GDT_CFloat32, "complex: amplitude"
    rng = np.random.default_rng(5)
    hole = values.copy()
    hole[:70, :90] = -99
    special = values.copy()
    corner = rng.choice([np.nan, np.inf, -np.inf], size=(70, 90))
    special[:70, :90] = corner
    if case == "amplitude":
        special.imag[:70, :90] = corner[::-1]
    chips = {}
    for name, array, nodata in [("hole", hole, -99), ("special", special, -99),
                                ("special-nan", special, "nan")]:
        path = write_like(tmp_path / f"{name}.tif", src, array.astype(
            np.float32 if case == "db" else np.complex64), dtype)
        out, _ = build(warped_recipe(path, "bilinear", f"{extra}\n    nodata: {nodata}",
                                     resolution=50), tmp_path / name)
        ds = Dataset(out)
        chips[name] = [ds.chip(row, "sar") for row in ds.chips()]
    assert len(chips["hole"]) == len(chips["special"]) == len(chips["special-nan"]) > 10
    for a, b, c in zip(chips["hole"], chips["special"], chips["special-nan"]):
        assert np.array_equal(a, b)
        assert np.array_equal(np.isnan(c), a == -99)
        assert np.array_equal(c[a != -99], a[a != -99])
    assert any((a == -99).any() and (a != -99).any() for a in chips["hole"])


def test_remote_complex_reread_through_power(tmp_path, pyrosar_slc, http_server,
                                             fault_proxy):
    """A remote complex image is read through its power VRT, which reads the
    file's handle: window reads on dropped connections are read again on a
    fresh handle and a fresh VRT over it, and the bytes are the local
    build's."""
    www = tmp_path / "www"
    www.mkdir()
    subprocess.run(["gdal_translate", "-q", "-of", "COG", "-co", "BLOCKSIZE=64",
                    "-co", "OVERVIEWS=NONE", str(pyrosar_slc), str(www / "slc.tif")],
                   check=True)
    local, _ = build(warped_recipe(www / "slc.tif", "bilinear", "complex: amplitude",
                                   resolution=50), tmp_path / "local")
    proxy = fault_proxy(http_server(www))
    proxy.inject("drop", 3, match=data_get)
    proc = build_env(warped_recipe(f'"{proxy.url("slc.tif")}"', "bilinear",
                                   "complex: amplitude", resolution=50),
                     tmp_path / "remote", env(GDAL_HTTP_MULTIRANGE="SERIAL"))
    assert proc.returncode == 0, proc.stderr
    assert proxy.faults("drop") == 3
    assert json.loads(proc.stdout)["remote"]["read_retries"] >= 1
    assert same_data(local, tmp_path / "remote" / "out") >= 5


def test_gcp_georeferenced_db_resampled_as_power(tmp_path, shared, pyrosar):
    """Sentinel-1 GRD's case, dB pixels georeferenced by GCPs only: the
    power VRT gives the pixels, the file its GCPs, and the chips equal
    gdalwarp -order 2 (doc/format.md) of the linear power with the same
    GCPs, back in dB."""
    src, power = pyrosar
    db = gcp_only(shared / PYROSAR, tmp_path / "db-gcps.tif")
    linear = gcp_only(write_like(tmp_path / "power.tif", src, power, gdal.GDT_Float64,
                                 nodata=-99), tmp_path / "power-gcps.tif")
    out, _ = build(warped_recipe(db, "bilinear", "sar: {scale: db}\n    georeference: "
                                 "{method: gcp, order: 2}", resolution=50), tmp_path / "build")
    ds = Dataset(out)
    assert ds.provenance["read"]["sar"]["georeference"] == {"transformer": "gcp_polynomial",
                                                            "order": 2}
    ref = tmp_path / "warped.tif"
    subprocess.run(["gdalwarp", "-q", *gdalwarp_options(ds, "sar"), "-order", "2", str(linear),
                    str(ref)], check=True)
    warped = gdal.Open(str(ref)).ReadAsArray()
    want = np.where(warped > 0, 10 * np.log10(np.where(warped > 0, warped, 1)), -99)
    compared = 0
    for row in ds.chips():
        x, y, w, h = row["grid_x"], row["grid_y"], row["width"], row["height"]
        got = ds.chip(row, "sar")[0]
        assert np.array_equal(got == -99, want[y:y + h, x:x + w] == -99)
        valid = got != -99
        assert np.allclose(got[valid], want[y:y + h, x:x + w][valid], rtol=0, atol=2e-5)
        compared += int(valid.sum())
    assert compared > 5000
