"""Remote inputs (doc/recipe.md, "Archive and remote recipes"): COGs served
by a real nginx on 127.0.0.1 (Range requests, ETag and Last-Modified are
nginx's own), read through GDAL's /vsicurl/ window by window. A remote
build is byte-identical to the build from local copies; provenance and the
build fingerprint stamp remote files (size, ETag, Last-Modified) without
downloading them; 429 and 5xx answers, dropped connections and stalled
answers (a fault-injecting proxy) are retried within bounds and counted in
the summary; a missing URL is a clear error that leaves nothing behind."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile

import pytest

from conftest import EODKIT, SOURCE, Dataset, build, same_data
from test_gcp import gcp_only

RECIPE = """
dataset: {{name: remote}}
grid: {{crs: {{like: optical}}, chip_size: 32{aoi}}}
modalities:
  - name: optical
    files: ["{optical}"]
    nodata: 0
  - name: dem
    files: ["{dem}"]
    resampling: bilinear
split: {{method: blocks, block_size: 1824, buffer: 1, ratios: {{train: 0.5, test: 0.5}}}}
"""

def data_get(method, path, rng):
    """Faults only for window reads, not for the first request of a file
    (its header, read while planning, where a failure is final)."""
    return method == "GET" and rng is not None and not rng.startswith("bytes=0-")


@pytest.fixture(scope="module")
def cogs(tmp_path_factory, demo):
    """The Landsat scene and the DEM as COGs (128 px tiles) in a folder."""
    folder = tmp_path_factory.mktemp("www")
    for src, name in (("L7_ETMs.tif", "L7.tif"), ("olinda_dem_utm25s.tif", "dem.tif")):
        subprocess.run(["gdal_translate", "-q", "-of", "COG", "-co", "BLOCKSIZE=128",
                        str(demo / src), str(folder / name)], check=True)
    return folder


@pytest.fixture(scope="module")
def local(cogs, tmp_path_factory):
    """The dataset built from the local COGs."""
    out, summary = build(RECIPE.format(optical=cogs / "L7.tif", dem=cogs / "dem.tif", aoi=""),
                         tmp_path_factory.mktemp("local"))
    assert summary["chips"] > 30 and "remote" not in summary
    return out


def remote_recipe(base, aoi=""):
    return RECIPE.format(optical=base.url("L7.tif"), dem="/vsicurl/" + base.url("dem.tif"),
                         aoi=aoi)


def env(**options):
    """The environment with GDAL options for fast tests (short back-off)."""
    return dict(os.environ, GDAL_HTTP_RETRY_DELAY="0.05", **options)


def build_env(text, folder, environ, *extra):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.yaml").write_text(text)
    proc = subprocess.run([EODKIT, "build", str(folder / "recipe.yaml"), "-o",
                           str(folder / "out"), *extra], capture_output=True, text=True,
                          env=environ)
    return proc


def head(server, name):
    con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    con.request("HEAD", "/" + name)
    headers = dict(con.getresponse().getheaders())
    con.close()
    return headers


def test_remote_build_equals_local(cogs, local, http_server, tmp_path):
    """Same bytes as the local build, with -j 1 and with -j 2 and 4 remote
    workers; provenance stamps remote inputs with nginx's own ETag and
    Last-Modified (local inputs keep their SHA-256); every read of a COG is a
    Range request."""
    web = http_server(cogs)
    out1, s1 = build(remote_recipe(web), tmp_path / "j1")
    assert s1["remote"] == {"inputs": 2, "workers": 1, "read_retries": 0,
                            "http_retries": 0}
    assert same_data(local, out1) >= 7
    out2, s2 = build(remote_recipe(web), tmp_path / "j2", "-j", "2", "--remote-workers", "4")
    assert s2["remote"]["workers"] == 4 and s2["threads"] == 2
    assert same_data(local, out2) >= 7

    inputs = [i for i in Dataset(out2).provenance["inputs"] if i["role"] == "modality"]
    assert [i["path"] for i in inputs] == ["/vsicurl/" + web.url("L7.tif"),
                                          "/vsicurl/" + web.url("dem.tif")]
    for i, name in zip(inputs, ("L7.tif", "dem.tif")):
        h = head(web, name)
        assert "sha256" not in i
        assert i["etag"] == h["ETag"] and i["last_modified"] == h["Last-Modified"]
        assert i["bytes"] == int(h["Content-Length"]) == (cogs / name).stat().st_size
    for i in Dataset(local).provenance["inputs"]:
        assert len(i["sha256"]) == 64 and "etag" not in i
    sheet = (out2 / "datasheet.md").read_text()
    assert f"ETag `{head(web, 'L7.tif')['ETag']}`" in sheet

    gets = [r for r in web.requests() if r["method"] == "GET"]
    assert gets and all(r["status"] == 206 and r["range"] for r in gets)
    # No side-car probing: only the two COGs were asked for.
    assert {r["path"] for r in web.requests()} == {"/L7.tif", "/dem.tif"}


def test_window_reads_not_whole_files(cogs, http_server, tmp_path):
    """With an AOI over a corner of the scene, the build (plan, reads,
    fingerprint, provenance) downloads a fraction of the COG."""
    web = http_server(cogs)
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [-34.89, -8.00], [-34.87, -8.00], [-34.87, -7.98], [-34.89, -7.98],
            [-34.89, -8.00]]]}}]}))
    out, summary = build(remote_recipe(web, aoi=f", aoi: {aoi}"), tmp_path)
    assert 0 < summary["chips"] < 20
    size = (cogs / "L7.tif").stat().st_size
    served = sum(r["bytes"] for r in web.requests() if r["path"] == "/L7.tif")
    assert served < size / 2, (served, size)


def test_urls_are_not_globbed(cogs, local, http_server, tmp_path):
    """'?' and '[' in a URL are the URL's, not a file pattern."""
    web = http_server(cogs)
    text = remote_recipe(web).replace('L7.tif"', 'L7.tif?v=[1]*"')
    out, _ = build(text, tmp_path)
    assert same_data(local, out) >= 7
    assert any(r["path"] == "/L7.tif" for r in web.requests())


def test_http_errors_retried_and_counted(cogs, local, http_server, fault_proxy, tmp_path):
    """429 and 503 answers to window reads: GDAL retries each after a back-off;
    the summary counts the retries; the bytes are the local build's. (Ranges
    fetched one by one, GDAL_HTTP_MULTIRANGE=SERIAL, so that every fault
    meets a retry rather than GDAL's fallback from a parallel fetch.)"""
    web = http_server(cogs)
    proxy = fault_proxy(web)
    proxy.inject("429", 3, every=2, match=data_get)
    proxy.inject("503", 2, every=3, match=data_get)
    proc = build_env(remote_recipe(proxy), tmp_path, env(GDAL_HTTP_MULTIRANGE="SERIAL"))
    assert proc.returncode == 0, proc.stderr
    assert proxy.faults("429") == 3 and proxy.faults("503") == 2
    assert json.loads(proc.stdout)["remote"]["http_retries"] == 5
    assert same_data(local, tmp_path / "out") >= 7


def test_dropped_connections_reread(cogs, local, http_server, fault_proxy, tmp_path):
    """Connections closed without an answer: eodkit reads the window again on
    a fresh connection after a back-off, counted as read_retries."""
    web = http_server(cogs)
    proxy = fault_proxy(web)
    proxy.inject("drop", 3, match=data_get)
    proc = build_env(remote_recipe(proxy), tmp_path, env(GDAL_HTTP_MULTIRANGE="SERIAL"))
    assert proc.returncode == 0, proc.stderr
    assert proxy.faults("drop") == 3
    assert json.loads(proc.stdout)["remote"]["read_retries"] >= 1
    assert same_data(local, tmp_path / "out") >= 7


def test_stalled_answers_time_out(cogs, local, http_server, fault_proxy, tmp_path):
    """Answers that would take 30 s: with GDAL_HTTP_TIMEOUT=1 each request
    gives up after a second and is retried; the build ends in seconds with
    the local build's bytes."""
    web = http_server(cogs)
    proxy = fault_proxy(web)
    proxy.inject("slow:30", 2, match=data_get)
    start = time.monotonic()
    proc = build_env(remote_recipe(proxy), tmp_path,
                     env(GDAL_HTTP_TIMEOUT="1", GDAL_HTTP_MULTIRANGE="SERIAL"))
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 20
    assert proxy.faults("slow:30") == 2
    remote = json.loads(proc.stdout)["remote"]
    assert remote["read_retries"] + remote["http_retries"] >= 1
    assert same_data(local, tmp_path / "out") >= 7


def test_retries_are_bounded(cogs, http_server, fault_proxy, tmp_path):
    """A server that answers 429 to every window read: the build gives up
    after GDAL_HTTP_MAX_RETRY retries at both levels, quickly, with an I/O
    error naming the URL, and leaves nothing behind."""
    web = http_server(cogs)
    proxy = fault_proxy(web)
    proxy.inject("429", 10 ** 6, match=data_get)
    start = time.monotonic()
    proc = build_env(remote_recipe(proxy), tmp_path, env(GDAL_HTTP_MAX_RETRY="1"))
    assert time.monotonic() - start < 30
    assert proc.returncode == 3, proc.stderr
    assert proxy.url("L7.tif") in proc.stderr or proxy.url("dem.tif") in proc.stderr
    assert "given up after 1 retry" in proc.stderr
    assert len(proxy.requests("429")) <= 40
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_missing_url(cogs, http_server, tmp_path):
    web = http_server(cogs)
    text = remote_recipe(web).replace("dem.tif", "nothere.tif")
    proc = build_env(text, tmp_path, env())
    assert proc.returncode == 2
    assert f"/vsicurl/{web.url('nothere.tif')}: cannot open it: HTTP response code: 404" \
        in proc.stderr
    assert "recipe.yaml:9:12" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_resume_sees_a_changed_remote_file(cogs, local, http_server, tmp_path):
    """The fingerprint of a remote input is its size, ETag and Last-Modified:
    a build killed midway resumes to the local build's bytes while the file
    is unchanged, and is refused once the server has a new version of it
    (same size, new ETag)."""
    www = tmp_path / "www"
    shutil.copytree(cogs, www)
    web = http_server(www)
    text = remote_recipe(web)
    proc = build_env(text, tmp_path / "a", env(EODKIT_CRASH_AT="unit:1"))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    proc = build_env(text, tmp_path / "a", env(), "--resume")
    assert proc.returncode == 0, proc.stderr
    assert same_data(local, tmp_path / "a" / "out") >= 7

    proc = build_env(text, tmp_path / "b", env(EODKIT_CRASH_AT="unit:1"))
    assert proc.returncode == -signal.SIGKILL
    before = head(web, "dem.tif")
    stat = (www / "dem.tif").stat()
    os.utime(www / "dem.tif", (stat.st_atime, stat.st_mtime + 60))
    assert head(web, "dem.tif")["ETag"] != before["ETag"]
    proc = build_env(text, tmp_path / "b", env(), "--resume")
    assert proc.returncode == 2
    assert "was left by a build of another recipe or other inputs" in proc.stderr


def test_recipe_page_example_runs(demo, http_server, tmp_path):
    """The archive and remote recipe of doc/recipe.md, with the demo scene
    served by nginx in place of localhost:8080."""
    text = re.findall(r"```yaml\n(.*?)```", (SOURCE / "doc/recipe.md").read_text(), re.S)[5]
    web = http_server(demo)
    data = tmp_path / "data"
    data.mkdir()
    with zipfile.ZipFile(data / "olinda_dem.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(demo / "olinda_dem_utm25s.tif", "olinda_dem_utm25s.tif")
    gcp_only(demo / "L7_ETMs.tif", data / "L7_gcps.tif")
    (data / "gcp_scenes.txt").write_text("# Landsat-7, GCPs only\nL7_gcps.tif\n")
    out, summary = build(text.replace("localhost:8080", f"127.0.0.1:{web.port}"), tmp_path)
    assert summary["chips"] > 20 and summary["remote"]["inputs"] == 1
    ds = Dataset(out)
    assert [m["shape"] for m in ds.collection["eodkit:modalities"]] == [
        [4, 32, 32], [1, 32, 32], [2, 32, 32]]
    read = ds.provenance["read"]
    assert read["swir"]["georeference"] == {"transformer": "gcp_polynomial", "order": 2}
    assert read["dem"]["sources"][0]["path"] == \
        f"/vsizip/{tmp_path}/data/olinda_dem.zip/olinda_dem_utm25s.tif"
    assert read["optical"]["sources"][0]["path"] == "/vsicurl/" + web.url("L7_ETMs.tif")
