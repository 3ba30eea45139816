"""Set-up is safe on grids of any size: data covering more candidate chips
than the documented limit (doc/recipe.md, Limits) fails at once with its
numbers, grid sizes and guard bands never wrap around, and Ctrl-C / SIGTERM
stop a slow set-up promptly (exit 130) with nothing left behind. The huge
raster is a real VRT whose one source, a 16 x 16 px GeoTIFF, is stretched
over 10^6 x 10^6 pixels: data everywhere, a few KB on disk. (A sparse
GeoTIFF of that size with no block written now plans no chip at all:
tests/integration/test_sparse_plan.py.)"""
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import run, run_interrupted

INPUT, CANCELLED = 2, 130


def huge_raster(folder, side=1_000_000):
    """A SIDE x SIDE px Byte raster of 1 m pixels off the coast of Brazil
    (UTM 25S) holding data everywhere: a VRT stretching a 16 x 16 px
    GeoTIFF of 7s over it (nearest neighbour)."""
    folder = Path(folder)
    subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", "16", "16", "-ot", "Byte",
                    "-burn", "7", "-a_srs", "EPSG:31985", "-a_ullr", "-200000", "10000000",
                    str(side - 200000), str(10000000 - side), str(folder / "tiny.tif")],
                   check=True)
    path = folder / "huge.vrt"
    path.write_text(f"""<VRTDataset rasterXSize="{side}" rasterYSize="{side}">
  <SRS>EPSG:31985</SRS>
  <GeoTransform>-200000, 1, 0, 10000000, 0, -1</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="1">tiny.tif</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="16" ySize="16"/>
      <DstRect xOff="0" yOff="0" xSize="{side}" ySize="{side}"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""")
    return path


def write_recipe(folder, raster, chip):
    """A recipe over RASTER in CHIP px chips. Its pixels (7) are all nodata
    and rejected, so that even a build that got past set-up writes no
    chips."""
    path = Path(folder) / "recipe.yaml"
    path.write_text(f"""dataset: {{name: huge}}
grid: {{crs: {{like: big}}, chip_size: {chip}}}
modalities:
  - name: big
    files: [{raster}]
    nodata: 7
filters: {{max_nodata: 0.5}}
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""")
    return path


def nothing_at(out):
    assert not out.exists() and not Path(f"{out}.partial").exists()


def one_error_line(stderr):
    lines = stderr.strip().splitlines()
    assert lines and lines[0].startswith("eodkit: error: "), stderr
    return lines[0]


def test_candidates_beyond_the_limit_fail_at_once(tmp_path):
    """10^6 x 10^6 px of data in 64 px chips: 244 million candidate chips.
    Used to run for more than 180 s at 2.1 GB before reading a pixel; the
    count comes from the files' footprints, never from a lattice."""
    recipe = write_recipe(tmp_path, huge_raster(tmp_path), 64)
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = run("build", recipe, "-o", out, check=False, timeout=60)
    seconds = time.monotonic() - t0
    assert proc.returncode == INPUT, proc.stderr
    line = one_error_line(proc.stderr)
    assert "recipe.yaml:2:37" in line  # grid.chip_size
    for number in ["244140625 chip positions", "64 x 64 px every 64 x 64 px",
                   "at most 33554432 candidate chips"]:
        assert number in line, line
    assert seconds < 20
    nothing_at(out)


def test_resolution_too_fine_for_the_extent_fails_with_numbers(tmp_path, demo):
    """resolution: 2.3e-6 m over Olinda's 10 km: 4.3e9 px a side, which used
    to wrap around an int in src/grid/plan.c and build 3,906 chips over 5 mm."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""dataset: {{name: fine}}
grid:
  crs: EPSG:31985
  resolution: 2.3e-6
  chip_size: 32
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif], resampling: bilinear, nodata: 0}}
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""")
    out = tmp_path / "out"
    proc = run("build", recipe, "-o", out, check=False, timeout=60)
    assert proc.returncode == INPUT, proc.stderr
    line = one_error_line(proc.stderr)
    assert "recipe.yaml:4:15" in line  # grid.resolution
    assert "2.3e-06" in line and "4324565226 x 4361739136 pixels" in line
    assert "1073741824" in line
    nothing_at(out)


@pytest.mark.parametrize("buffer", ["1e9", "1001", "-1", ".inf"])
def test_buffer_out_of_range_is_refused_at_its_line(tmp_path, demo, buffer):
    """buffer: 1e9 used to overflow the guard width (src/split/split.c) and
    silently disable the guard band."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""dataset: {{name: buffer}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities:
  - {{name: optical, files: [{demo}/L7_ETMs.tif], nodata: 0}}
split:
  method: blocks
  block_size: 2736
  buffer: {buffer}
""")
    proc = run("build", recipe, "-o", tmp_path / "out", check=False)
    assert proc.returncode == INPUT, proc.stderr
    line = one_error_line(proc.stderr)
    assert "recipe.yaml:8:11: split.buffer:" in line, line
    nothing_at(tmp_path / "out")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_a_slow_setup_promptly(tmp_path, shared, sig):
    """4 million candidate chips (under the limit) off the coast of Brazil:
    tagging each footprint with its country takes the set-up minutes. A
    signal 2 s in stops it within seconds, exit 130, nothing written. (It
    used to be noticed only when the first work unit ran, minutes later,
    leaving a .partial folder.)"""
    recipe = write_recipe(tmp_path, huge_raster(tmp_path), 500)
    out = tmp_path / "out"
    world = shared / "boundaries/spData/world.gpkg"

    def still_setting_up():  # the output's lock is taken, no work unit written
        assert not Path(f"{out}.partial/.eodkit-checkpoint.json").exists()

    code, stdout, stderr, seconds = run_interrupted(
        "build", recipe, "-o", out, "--regions", world, after=2, sig=sig,
        before_signal=still_setting_up)
    assert code == CANCELLED, stderr
    assert "interrupted while setting the build up" in one_error_line(stderr)
    assert seconds < 5
    assert stdout == ""
    nothing_at(out)
