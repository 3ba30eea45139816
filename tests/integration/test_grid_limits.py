"""Set-up is safe on grids of any size: a chip lattice beyond the documented
limit (doc/recipe.md, Limits) fails at once with its numbers, grid sizes and
guard bands never wrap around, and Ctrl-C / SIGTERM stop a slow set-up
promptly (exit 130) with nothing left behind. The huge rasters are real
sparse GeoTIFFs: a few KB on disk whose header claims 10^6 x 10^6 pixels."""
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import run, run_interrupted

INPUT, CANCELLED = 2, 130


def sparse_geotiff(folder, side=1_000_000):
    """A SIDE x SIDE px Byte GeoTIFF of 1 m pixels off the coast of Brazil
    (UTM 25S), with no block written (SPARSE_OK): 4.6 KB."""
    path = Path(folder) / "huge.tif"
    subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", str(side), str(side),
                    "-ot", "Byte", "-co", "SPARSE_OK=YES", "-co", "TILED=YES",
                    "-co", "BLOCKXSIZE=65536", "-co", "BLOCKYSIZE=65536", "-co", "BIGTIFF=YES",
                    "-a_srs", "EPSG:31985", "-a_ullr", "-200000", "10000000",
                    str(side - 200000), str(10000000 - side), str(path)], check=True)
    assert path.stat().st_size < 100_000
    return path


def write_recipe(folder, raster, chip):
    """A recipe over RASTER in CHIP px chips. Its pixels are all nodata and
    rejected, so that even a build that got past set-up writes no chips."""
    path = Path(folder) / "recipe.yaml"
    path.write_text(f"""dataset: {{name: huge}}
grid: {{crs: {{like: big}}, chip_size: {chip}}}
modalities:
  - name: big
    files: [{raster}]
    nodata: 0
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


def test_lattice_beyond_the_limit_fails_at_once(tmp_path):
    """10^6 x 10^6 px in 64 px chips: 244 million chips. Used to run for
    more than 180 s at 2.1 GB before reading a pixel."""
    recipe = write_recipe(tmp_path, sparse_geotiff(tmp_path), 64)
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = run("build", recipe, "-o", out, check=False, timeout=60)
    seconds = time.monotonic() - t0
    assert proc.returncode == INPUT, proc.stderr
    line = one_error_line(proc.stderr)
    assert "recipe.yaml:2:37" in line  # grid.chip_size
    for number in ["244140625", "15625 x 15625", "1000000 x 1000000", "33554432"]:
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
    """4 million chips (under the limit) of open sea: tagging each with its
    region takes the set-up about a minute. A signal 2 s in stops it within
    seconds, exit 130, nothing written. (It used to be noticed only when the
    first work unit ran, a minute later, leaving a .partial folder.)"""
    recipe = write_recipe(tmp_path, sparse_geotiff(tmp_path), 500)
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
