"""An installed eodkit (`make install PREFIX=DIR` runs `cmake --install
build --prefix DIR`) tags chips with the world layer it installed in
DIR/share/eodkit, also when DIR is not the prefix it was configured with
and after the whole tree is moved; an audit without any layer says that
countries are not tagged."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import EODKIT, Dataset, build, run


def install(prefix):
    subprocess.run(["cmake", "--install", str(Path(EODKIT).parent), "--prefix", str(prefix)],
                   check=True, capture_output=True, text=True)
    assert (prefix / "share/eodkit/world_map.gpkg").is_file()
    assert (prefix / "share/eodkit/continents.csv").is_file()
    return prefix / "bin/eodkit"


def build_with(binary, folder, demo):
    (folder / "r.yaml").write_text(f"""
dataset: {{name: olinda}}
grid: {{chip_size: 64}}
modalities: [{{name: image, files: [{demo / "L7_ETMs.tif"}], bands: [1]}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""")
    env = {k: v for k, v in os.environ.items() if k not in ("EODKIT_REGIONS", "EODKIT_DATA_DIR")}
    proc = subprocess.run([str(binary), "build", folder / "r.yaml", "-o", folder / "out"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), Dataset(folder / "out")


def test_installed_eodkit_finds_its_world_layer(tmp_path, demo):
    binary = install(tmp_path / "prefix")
    summary, ds = build_with(binary, tmp_path, demo)
    assert summary["regions"] == str(tmp_path / "prefix/share/eodkit/world_map.gpkg")
    assert {(r["country"], r["continent"]) for r in ds.chips()} == {("BRA", "South America")}

    shutil.move(tmp_path / "prefix", tmp_path / "moved")
    (tmp_path / "again").mkdir()
    summary, _ = build_with(tmp_path / "moved/bin/eodkit", tmp_path / "again", demo)
    assert summary["regions"] == str(tmp_path / "moved/share/eodkit/world_map.gpkg")


def test_audit_without_region_layer_says_so(tmp_path, demo):
    (tmp_path / "empty").mkdir()
    env = dict(os.environ, EODKIT_DATA_DIR=str(tmp_path / "empty"))
    env.pop("EODKIT_REGIONS", None)
    out, _ = build(f"""
dataset: {{name: olinda}}
grid: {{chip_size: 64}}
modalities: [{{name: image, files: [{demo / "L7_ETMs.tif"}], bands: [1]}}]
split: {{method: random, ratios: {{train: 1.0}}}}
""", tmp_path)
    proc = run("audit", out, env=env)
    # the dataset was tagged at build time: the audit has its countries
    assert "not tagged" not in proc.stdout + proc.stderr
    untagged = tmp_path / "untagged"
    untagged.mkdir()
    (untagged / "r.yaml").write_text((tmp_path / "recipe.yaml").read_text())
    run("build", untagged / "r.yaml", "-o", untagged / "out", env=env)
    proc = run("audit", untagged / "out", env=env)
    assert "warning: NOT TAGGED: countries and continents are not tagged" in proc.stdout
    assert "--regions" in proc.stdout
