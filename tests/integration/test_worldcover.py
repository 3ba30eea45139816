"""ESA WorldCover (a 36000 x 36000 COG) as a label raster: codes 10..100
remapped to contiguous ids, unmapped values to an ignore index, read window
by window; the build's peak memory stays under 300 MB."""
import json
import os
import resource
import subprocess

import numpy as np
from osgeo import gdal

from conftest import EODKIT, Dataset

WORLDCOVER = "landcover/esa-worldcover/ESA_WorldCover_10m_2021_v200_N00E006_Map.tif"
CODES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]  # 100 (moss) left unmapped


def test_worldcover_remap_and_memory(tmp_path, shared):
    cog = shared / WORLDCOVER
    aoi = tmp_path / "sao-tome.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [6.45, 0.0], [6.78, 0.0], [6.78, 0.42], [6.45, 0.42], [6.45, 0.0]]]}}]}))
    classes = ", ".join(f"{c}: {i + 1}" for i, c in enumerate(CODES))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""
dataset: {{name: sao-tome-worldcover}}
grid: {{crs: {{like: worldcover}}, chip_size: 256, aoi: {aoi}}}
modalities: [{{name: worldcover, files: [{cog}]}}]
labels: {{source: {cog}, classes: {{{classes}}}, ignore_index: 255}}
filters: {{max_nodata: 0.99}}
split: {{method: random, ratios: {{train: 1.0}}}}
""")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(["/usr/bin/time", "-v", EODKIT, "build", str(recipe), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(next(line.split(":")[1] for line in proc.stderr.splitlines()
                       if "Maximum resident set size" in line))
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >= before
    print(f"peak RSS of the WorldCover build: {peak_kb / 1024:.0f} MB")
    # the bound is the release binary's; ASan's shadow memory and quarantine
    # roughly double a build's resident set (the release half checks 300 MB)
    bound_mb = 600 if os.environ.get("EODKIT_SANITIZE", "").upper() in ("ON", "1", "TRUE") else 300
    assert peak_kb < bound_mb * 1024
    ds = Dataset(tmp_path / "out")
    assert ds.collection["eodkit:label"]["dtype"] == "uint8"
    src = gdal.Open(str(cog))
    gt = src.GetGeoTransform()
    remap = np.full(256, 255, np.uint8)
    remap[0] = 255  # nodata: ignored too
    remap[CODES] = np.arange(1, len(CODES) + 1)
    rows = ds.chips()
    assert len(rows) > 100
    seen = set()
    for row in rows[::7]:
        cgt = json.loads(row["geotransform"])
        col, line = round((cgt[0] - gt[0]) / gt[1]), round((cgt[3] - gt[3]) / gt[5])
        window = src.GetRasterBand(1).ReadAsArray(col, line, 256, 256)
        want = remap[window]
        assert np.array_equal(ds.chip(row, "label"), want), row["chip_id"]
        seen |= set(np.unique(want).tolist())
    assert {1, 2, 9}.issubset(seen)  # trees, shrubs, mangroves / water on the island
    assert 255 not in [c["id"] for c in ds.collection["eodkit:label"]["classes"]]
