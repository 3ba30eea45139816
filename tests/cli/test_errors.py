"""Bad input: each case gets one line on stderr naming the file (for the
recipe: file:line:column, and the nearest valid key for a misspelt one), a
documented exit code, and nothing at the output path."""
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import run

USAGE, INPUT, IO, GDAL, EXISTS = 1, 2, 3, 4, 6


@pytest.fixture
def case(tmp_path, demo):
    """Write a recipe built from GOOD with SUBSTITUTIONS; run it; check the
    exit code, the one-line message and that no output appeared."""
    good = f"""dataset:
  name: errors
grid:
  crs: EPSG:31985
  resolution: 30
  chip_size: 32
modalities:
  - name: optical
    files: [{demo}/L7_ETMs.tif]
    resampling: bilinear
labels:
  source: {demo}/olinda1.shp
  attribute: TIPO
split:
  method: random
  ratios: {{train: 0.8, test: 0.2}}
"""

    def check(code, pattern, replace=(), text=None, out=None, args=(), timeout=None):
        recipe = tmp_path / "recipe.yaml"
        body = good if text is None else text
        for old, new in replace:
            assert old in body, old
            body = body.replace(old, new)
        if isinstance(body, bytes):
            recipe.write_bytes(body)
        else:
            recipe.write_text(body)
        out = Path(out) if out is not None else tmp_path / "out"
        proc = run("build", recipe, "-o", out, *args, check=False, timeout=timeout)
        assert proc.returncode == code, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert re.search(pattern, lines[0]), lines[0]
        assert lines[0].startswith("eodkit: error: ")
        assert not Path(str(out) + ".partial").exists()
        return lines[0], out

    check.tmp = tmp_path
    check.good = good
    return check


def test_misspelt_key_names_line_column_and_nearest_key(case):
    case(INPUT, r"recipe\.yaml:5:3: unknown key 'resolutoin' in grid \(did you mean 'resolution'\?\)",
         replace=[("  resolution: 30", "  resolutoin: 30")])


def test_unknown_key_without_near_match(case):
    case(INPUT, r"recipe\.yaml:2:3: unknown key 'colour' in dataset",
         replace=[("  name: errors", "  colour: blue\n  name: errors")])


def test_wrong_type(case):
    case(INPUT, r"recipe\.yaml:6:14: grid\.chip_size: expected a whole number, got 'big'",
         replace=[("chip_size: 32", "chip_size: big")])


def test_yaml_syntax_error(case):
    case(INPUT, r"recipe\.yaml:\d+:\d+: YAML syntax error",
         replace=[("  method: random", "  method: [random")])


def test_missing_required_key(case):
    case(INPUT, r"recipe\.yaml:4:3: grid: missing required key 'chip_size'",
         replace=[("  chip_size: 32\n", "")])


def test_ratios_must_sum_to_one(case):
    case(INPUT, r"recipe\.yaml:16:11: split\.ratios: the ratios sum to 0\.9; they must sum to 1",
         replace=[("test: 0.2", "test: 0.1")])


@pytest.mark.parametrize("replace,pattern", [
    # a second document was silently ignored
    ([("test: 0.2}\n", "test: 0.2}\n---\nsplit: {method: blocks}\n")],
     r"recipe\.yaml:17:1: a second YAML document: a recipe is one document"),
    # "\0" ended the name in C: the dataset was called "err"
    ([("  name: errors", '  name: "err\\0ors"')],
     r"recipe\.yaml:2:9: text holds a NUL character \(\\0\)"),
    # anchors and aliases: libyaml registers anchors in quadratic time, and
    # aliases multiply text (a 1 MB recipe grew past 13 GB of memory)
    ([("  ratios: {train", "  ratios: &r {train")],
     r"recipe\.yaml:16:11: YAML anchors \(&name\) are not supported in a recipe"),
    ([("attribute: TIPO", "attribute: *tipo")],
     r"recipe\.yaml:13:14: YAML aliases \(\*name\) are not supported in a recipe"),
    # a split folder beside the dataset's own files, or two that differ in case
    ([("test: 0.2", "stats.json: 0.2")],
     r"recipe\.yaml:16:24: split\.ratios: a split named 'stats\.json' would collide with "
     r"the dataset's stats\.json"),
    ([("test: 0.2", "Train: 0.2")],
     r"recipe\.yaml:16:24: split\.ratios: 'train' and 'Train' differ only in case"),
    # class ids that silently merged into the background or the ignore index
    ([("  attribute: TIPO", "  attribute: TIPO\n  classes: {URBANO: 1, RURAL: 0}")],
     r"recipe\.yaml:14:31: labels\.classes: 'RURAL' gets class id 0, the background id"),
    ([("  attribute: TIPO", "  attribute: TIPO\n  classes: {URBANO: 1, RURAL: 2}\n"
                          "  class_names: {1: urban, 1: city}")],
     r"recipe\.yaml:15:27: labels\.class_names: class id 1 is named twice"),
    # band names key the statistics and the STAC bands
    ([("    resampling: bilinear", "    resampling: bilinear\n    band_names: [b, g, r, n, s1, b]")],
     r"recipe\.yaml:11:34: modalities\[\]\.band_names: 'b' is used twice"),
    ([("    resampling: bilinear", '    resampling: bilinear\n    band_names: [b, g, "", n, s1, s2]')],
     r"recipe\.yaml:11:24: modalities\[\]\.band_names: a band name is empty"),
])
def test_recipe_refusals(case, replace, pattern):
    """Recipes that built something other than they say (or hung, or ate
    the memory) are refused at the line and column of the mistake."""
    case(INPUT, pattern, replace=replace)


def test_class_id_equal_to_the_ignore_index(case, demo):
    """A label raster's class mapped to the ignore index was ignored."""
    case(INPUT, r"recipe\.yaml:13:24: labels\.classes: '60' gets class id 2, the ignore index",
         replace=[(f"  source: {demo}/olinda1.shp\n  attribute: TIPO",
                   f"  source: {demo}/L7_ETMs.tif\n  classes: {{50: 1, 60: 2}}\n  ignore_index: 2")])


def test_deep_nesting_is_refused_at_once(case):
    """200,000 nested '[' kept libyaml's scanner busy for minutes."""
    case(INPUT, r"recipe\.yaml:1:33: nested more than 32 levels deep", text="[" * 200000,
         timeout=60)


def test_recipe_larger_than_1_mib(case):
    body = case.good + "# " + "x" * (1024 * 1024) + "\n"
    case(INPUT, r"recipe\.yaml: the recipe is larger than 1 MiB", text=body)


def test_long_class_list_is_checked_quickly(case):
    """Repeated class values were looked for pairwise: ~90,000 classes took
    minutes. The repeat is reported where it is."""
    values = ", ".join(f"c{i}: 1" for i in range(88000))
    line = f"  classes: {{{values}, c7: 2}}"
    body = case.good.replace("  attribute: TIPO", "  attribute: TIPO\n" + line)
    case(INPUT, rf"recipe\.yaml:14:{line.rindex('c7') + 1}: labels\.classes: 'c7' is used twice",
         text=body, timeout=60)


def test_bytes_that_are_not_text_are_located(case):
    """libyaml reports such bytes by offset: the message used to say 1:1."""
    body = case.good.replace("  name: errors", "  name: errors\n  title: caf\xe9 au lait")
    case(INPUT, r"recipe\.yaml:3:14: invalid trailing UTF-8 octet \(a recipe is UTF-8 text\)",
         text=body.encode("latin-1"))


def test_missing_input_file(case, demo):
    line, _ = case(INPUT, r"nope\.tif: no such file \(.*recipe\.yaml:9:12: modality 'optical'\)",
                   replace=[(f"{demo}/L7_ETMs.tif", f"{demo}/nope.tif")])


def test_glob_matching_nothing(case, demo):
    case(INPUT, r"L8_\*\.tif: no file matches this pattern",
         replace=[(f"{demo}/L7_ETMs.tif", f"{demo}/L8_*.tif")])


@pytest.mark.parametrize("keep,pattern", [
    (100, r"truncated\.tif: GDAL cannot read it as a raster"),
    (5000, r"truncated\.tif: .*failed: .*TIFFReadEncodedStrip\(\) failed"),
])
def test_truncated_geotiff(case, demo, keep, pattern):
    """Cut in the header: not a raster; cut in the pixels: the read fails
    mid-build, and the partial output is removed."""
    broken = case.tmp / "truncated.tif"
    broken.write_bytes((demo / "L7_ETMs.tif").read_bytes()[:keep])
    case(GDAL, pattern, replace=[(f"{demo}/L7_ETMs.tif", str(broken))])


def test_raster_without_crs(case):
    from osgeo import gdal
    bare = case.tmp / "no-crs.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(bare), 64, 64, 1, gdal.GDT_Byte)
    ds.SetGeoTransform([500000, 10, 0, 5000000, 0, -10])
    ds = None
    case(INPUT, r"no-crs\.tif: has no CRS; set it with 'gdal_edit\.py -a_srs EPSG:<code> .*' "
                r"\(.*recipe\.yaml:3:31\)",
         text=f"""dataset: {{name: x}}
grid: {{chip_size: 8}}
modalities: [{{name: m, files: [{bare}]}}]
""")


def test_raster_without_georeferencing(case):
    from osgeo import gdal
    bare = case.tmp / "no-gt.tif"
    gdal.GetDriverByName("GTiff").Create(str(bare), 64, 64, 1, gdal.GDT_Byte)
    case(INPUT, r"no-gt\.tif: has no georeferencing",
         text=f"""dataset: {{name: x}}
grid: {{chip_size: 8}}
modalities: [{{name: m, files: [{bare}]}}]
""")


def test_invalid_crs_string(case):
    case(INPUT, r"recipe\.yaml:4:8: grid\.crs: 'EPSG:999999' is not a CRS GDAL/PROJ knows",
         replace=[("crs: EPSG:31985", "crs: EPSG:999999")])


def test_crs_url_is_never_fetched(case, http_server):
    """A grid.crs URL would make GDAL download it (a recipe or STAC Item could
    point eodkit at any host); only OGC CRS URLs, resolved offline, are read."""
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(31985)
    (case.tmp / "web").mkdir()
    (case.tmp / "web" / "crs.wkt").write_text(srs.ExportToWkt())
    web = http_server(case.tmp / "web")
    case(INPUT, r"recipe\.yaml:4:8: grid\.crs: 'http://127\.0\.0\.1:\d+/crs\.wkt' is "
                r"not a CRS GDAL/PROJ knows \(URLs other than OGC CRS URLs are not fetched\)",
         replace=[("crs: EPSG:31985", f"crs: {web.url('crs.wkt')}")])
    assert web.requests() == []


def test_ogc_crs_url_is_read_offline(tmp_path, demo):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""dataset: {{name: ogc}}
grid: {{crs: "http://www.opengis.net/def/crs/EPSG/0/31985", resolution: 30, chip_size: 64}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], resampling: bilinear}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""")
    run("build", recipe, "-o", tmp_path / "out")
    grid = json.loads((tmp_path / "out" / "provenance.json").read_text())["grid"]["grids"][0]
    assert grid["crs"] == "EPSG:31985"


def test_aoi_not_overlapping(case, shared):
    case(INPUT, r"bbox\.geojson: the AOI does not overlap the imagery \(.*recipe\.yaml:7:8: grid\.aoi\)",
         replace=[("  chip_size: 32\n", f"  chip_size: 32\n  aoi: {shared}/vector/eo-learn/bbox.geojson\n")])


def test_labels_not_overlapping(case, demo, shared):
    case(INPUT, r"LULC\.gpkg: no label feature overlaps the imagery \(.*recipe\.yaml:12:11: labels\.source\)",
         replace=[(f"{demo}/olinda1.shp", f"{shared}/vector/eo-learn/LULC.gpkg"),
                  ("attribute: TIPO", "attribute: LULC_ID")])


def test_label_attribute_missing(case):
    case(INPUT, r"olinda1\.shp: layer 'olinda1' has no attribute 'TYPO' \(did you mean 'TIPO'\?\) "
                r"\(.*recipe\.yaml:13:14: labels\.attribute\)",
         replace=[("attribute: TIPO", "attribute: TYPO")])


def test_chip_larger_than_raster(case):
    case(INPUT, r"recipe\.yaml:6:14: grid\.chip_size: a 4096 x 4096 chip is larger than the imagery",
         replace=[("chip_size: 32", "chip_size: 4096")])


def test_unwritable_output_folder(case):
    blocker = case.tmp / "a-file"
    blocker.write_text("not a folder")
    case(IO, r"a-file.*(Not a directory|cannot create)", out=blocker / "dataset")


def test_existing_dataset_is_kept_without_overwrite(case):
    line, out = case(INPUT, r"unknown key", replace=[("  resolution: 30", "  resolutoin: 30")])
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    case(EXISTS, r"out: already exists; use --overwrite to replace it")
    case(EXISTS, r"out: exists and is not an eodkit dataset; refusing to replace it",
         args=["--overwrite"])
    assert (out / "keep.txt").read_text() == "precious"


def test_resampling_must_be_chosen(case):
    case(INPUT, r"recipe\.yaml:8:5: modality 'optical' must be resampled onto the grid "
                r"\(L7_ETMs\.tif has 28\.5 unit pixels, the grid 30\); say how with "
                r"'resampling: nearest'",
         replace=[("    resampling: bilinear\n", "")])


def test_no_chip_kept_says_which_filter(case, demo):
    """Every chip has a nodata column: none passes max_nodata 0."""
    import rasterio
    striped = case.tmp / "striped.tif"
    with rasterio.open(demo / "L7_ETMs.tif") as src:
        pixels, profile = src.read(), src.profile
    pixels[:, :, ::20] = 0
    with rasterio.open(striped, "w", **profile) as dst:
        dst.write(pixels)
    case(INPUT, r"recipe\.yaml: no chip was kept: of \d+ candidate chips, \d+ too much "
         r"nodata \(filters\.max_nodata\); loosen the filters",
         text=f"""dataset: {{name: striped}}
grid: {{crs: {{like: optical}}, chip_size: 32}}
modalities: [{{name: optical, files: [{striped}], nodata: 0}}]
filters: {{max_nodata: 0}}
split: {{method: random, ratios: {{train: 0.8, test: 0.2}}}}
""")


def test_an_empty_training_split_still_builds(tmp_path, demo):
    """Every chip in test: a valid dataset whose training statistics are
    empty (null), not an error."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""
dataset: {{name: test-only}}
grid: {{crs: {{like: optical}}, chip_size: 64}}
modalities: [{{name: optical, files: [{demo}/L7_ETMs.tif], nodata: 0}}]
split: {{method: random, ratios: {{train: 0, test: 1}}}}
""")
    out = tmp_path / "out"
    run("build", recipe, "-o", out)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["chips"] == 0
    assert all(b["mean"] is None for b in stats["modalities"]["optical"]["bands"])
    assert not (out / "train").exists() and any((out / "test").glob("optical-*.npy"))
