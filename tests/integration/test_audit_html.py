"""The audit's HTML report in a real browser (Debian's headless Chromium):
it renders without a console message, its screenshot is not blank, it
fetches nothing, and every number it shows equals audit.json's."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import Dataset
from test_audit import atlanta, audit, region_layer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         # nothing may be fetched: every host name fails to resolve
         "--host-resolver-rules=MAP * ~NOTFOUND"]


def chromium(page, tmp_path, *args):
    """Run headless Chromium on PAGE with a fresh profile; return
    (stdout, console messages)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: scripts/setup-deps.sh test installs it")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args,
                           page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    return proc.stdout, console


def screenshot(page, tmp_path, height):
    from osgeo import gdal

    png = tmp_path / f"{page.stem}.png"
    _, console = chromium(page, tmp_path, f"--screenshot={png}", f"--window-size=1280,{height}")
    pixels = gdal.Open(str(png)).ReadAsArray().astype(float)
    return pixels, console


class Numbers(HTMLParser):
    """(data-k, data-f, text) of every element that carries a number."""

    def __init__(self):
        super().__init__()
        self.found, self.open = [], None
        self.alerts, self.in_alert, self.alert_depth = [], False, 0
        self.references = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-k" in a:
            self.open = [a["data-k"], a["data-f"], ""]
        for key in ("src", "href", "xlink:href"):
            if key in a and not a[key].startswith("#"):
                self.references.append(a[key])
        if tag == "link":
            self.references.append(a.get("href", "<link>"))
        if a.get("role") == "alert":
            self.in_alert = True
        if self.in_alert and tag == "li":
            self.alerts.append("")

    def handle_endtag(self, tag):
        if self.open is not None:
            self.found.append(tuple(self.open))
            self.open = None
        if tag == "section":
            self.in_alert = False

    def handle_data(self, data):
        if self.open is not None:
            self.open[2] += data
        elif self.in_alert and self.alerts:
            self.alerts[-1] += data


def at(doc, pointer):
    for key in pointer.split("/")[1:]:
        key = key.replace("~1", "/").replace("~0", "~")
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def shown(value, fmt):
    if value is None:
        return "n/a"
    return {"int": lambda v: f"{round(v):,}", "pct": lambda v: f"{v * 100:.1f}%",
            "f3": lambda v: f"{v:.3f}", "g": lambda v: f"{v:.6g}"}[fmt](value)


@pytest.fixture(scope="module")
def report(tmp_path_factory, shared):
    """A leaky dataset over several made-up continents, with dates."""
    from osgeo import ogr

    tmp = tmp_path_factory.mktemp("report")
    out = atlanta(tmp, shared, chip=32, stride=16)
    gpkg = ogr.Open(str(out / "index.gpkg"), 1)
    gpkg.ExecuteSQL("UPDATE chips SET datetime = printf('%04d-%02d-01T00:00:00Z', "
                    "2016 + fid % 4, 1 + fid % 7)")
    gpkg = None
    layer = tmp / "strips.geojson"
    region_layer(layer, [-84.4805, -84.4790, -84.4780])
    html = tmp / "report.html"
    _, doc = audit(out, "--regions", layer, "--html", html)
    return out, html, doc


def test_renders_without_console_messages_and_is_not_blank(report, tmp_path):
    _, html, _ = report
    pixels, console = screenshot(html, tmp_path, 3600)
    assert console == []
    assert pixels.shape[0] >= 3 and pixels.shape[1:] == (3600, 1280)
    rgb = pixels[:3]
    assert rgb.std() > 20
    assert len(np.unique(rgb.reshape(3, -1).T[::7], axis=0)) > 50
    # the warning banner's red and the map's teal are on screen
    r, g, b = rgb
    assert ((r > 180) & (g < 80) & (b < 80)).sum() > 500
    assert ((r < 40) & (g > 60) & (b > 70) & (g < 130)).sum() > 500


def test_the_checks_can_fail(tmp_path):
    """The console scan sees an uncaught error, the variance check a blank page."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script>"
                      "</body></html>")
    _, console = chromium(broken, tmp_path, "--dump-dom")
    assert any("Uncaught" in line for line in console)
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>")
    pixels, console = screenshot(blank, tmp_path, 600)
    assert console == [] and pixels[:3].std() < 1


def test_every_number_equals_audit_json(report, tmp_path):
    out, html, doc = report
    assert doc == json.loads((out / "audit.json").read_text())
    dom, console = chromium(html, tmp_path, "--dump-dom")
    assert console == []
    page = Numbers()
    page.feed(dom)
    assert len(page.found) > 100
    for pointer, fmt, text in page.found:
        assert text == shown(at(doc, pointer), fmt), pointer
    pointers = {p for p, _, _ in page.found}
    must = ["/dataset/chips", "/leakage/shared_pixels", "/leakage/min_distance_pixels",
            "/leakage/min_distance_crs", "/leakage/min_gap_pixels",
            "/bias/outside_europe_north_america", "/bias/continent_entropy",
            "/bias/class_entropy", "/time/known", "/time/unknown", "/bands/bins",
            "/bands/modalities/pan/0/min", "/bands/modalities/pan/0/max",
            "/bands/modalities/pan/0/count"]
    for split in doc["dataset"]["splits"]:
        must.append(f"/dataset/splits/{split}")
        for cls in doc["classes"]["names"]:
            must += [f"/classes/pixels/{split}/{cls}", f"/classes/pixel_shares/{split}/{cls}",
                     f"/classes/chips/{split}/{cls}"]
        for group in doc["weights"]["continent"][split]:
            must.append(f"/weights/continent/{split}/{group}/weight")
        for group in doc["weights"]["class"][split]:
            must.append(f"/weights/class/{split}/{group}/weight")
    for name in doc["geography"]["continents"]:
        must += [f"/geography/continents/{name}/chips", f"/geography/continents/{name}/share"]
        if doc["geography"]["continents"][name]["reference_share"] is not None:
            must.append(f"/geography/continents/{name}/reference_share")
    for code in doc["geography"]["countries"]:
        must.append(f"/geography/countries/{code}/chips")
    for key in doc["time"]["years"]:
        must.append(f"/time/years/{key}")
    for key in doc["time"]["months"]:
        must.append(f"/time/months/{key}")
    for pair in doc["leakage"]["shared_pixels_by_pair"]:
        must.append(f"/leakage/shared_pixels_by_pair/{pair}")
    assert set(must) <= pointers, set(must) - pointers
    # the loud warning, word for word
    assert doc["warnings"] and page.alerts == doc["warnings"]
    assert doc["leakage"]["shared_pixels"] > 0


def test_self_contained(report):
    out, html, _ = report
    text = html.read_text()
    page = Numbers()
    page.feed(text)
    assert page.references == [] or all(r.startswith("#") for r in page.references)
    assert not re.search(r"https?://|url\(|@import|@font-face", text)
    assert text.count("<svg") >= 6
    assert Dataset(out).collection["title"] in text
