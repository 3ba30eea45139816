"""The catalog's web pages in a real browser: tests/web/catalog_web.mjs drives
Debian's Chromium with playwright-core (installed from npm into
tests/web/node_modules by `npm ci` on first use) against `eodkit serve`:
search, a facet, a dataset page, the statistics charts and the map, with no
console error."""
import shutil
import subprocess

from conftest import SHARED, SOURCE, build, run
from test_catalog_register import RECIPE
from test_serve import Server

WEB = SOURCE / "tests" / "web"


def ensure_playwright():
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is missing: run scripts/setup-deps.sh test"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True,
                       timeout=300)


def test_pages_in_chromium(tmp_path):
    assert shutil.which("node") and shutil.which("/usr/bin/chromium"), \
        "node and chromium are needed: run scripts/setup-deps.sh test"
    ensure_playwright()
    db = tmp_path / "c.sqlite"
    run("catalog", "--db", db, "import",
        SHARED / "stac-schemas/stac-spec-v1.0.0/examples/collection.json")
    atlanta, _ = build(RECIPE.format(shared=SHARED), tmp_path / "atlanta", "--regions",
                       SHARED / "boundaries/spData/world.gpkg")
    run("catalog", "--db", db, "register", atlanta)
    with Server(db, "--regions", SHARED / "boundaries/spData/world.gpkg") as server:
        proc = subprocess.run(["node", WEB / "catalog_web.mjs", f"http://127.0.0.1:{server.port}"],
                              capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "web pages ok" in proc.stdout
