"""SAR: Float32 backscatter in dB and in linear scale are stored as they are;
complex data is refused unless converted to amplitude or intensity."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import Dataset, build, run

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
    out, _ = build(sar_recipe(f"[{path}]", f"complex: {mode}"), tmp_path)
    ds = Dataset(out)
    assert ds.collection["eodkit:modalities"][0]["dtype"] == "float32"
    power = (re.astype(np.float32) ** 2 + im.astype(np.float32) ** 2)
    want = np.sqrt(power) if mode == "amplitude" else power
    for row in ds.chips():
        x, y = row["grid_x"], row["grid_y"]
        assert np.allclose(ds.chip(row, "sar")[0], want[y:y + 60, x:x + 60], rtol=1e-5)
