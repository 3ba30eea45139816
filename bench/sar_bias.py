#!/usr/bin/python3
"""Not timed: how far SAR backscatter resampled by an eodkit binary is from
the truth. The pyroSAR Sentinel-1 scene (dB, 20 m) and a complex image made
from it (its linear amplitude times a seeded random phase, as speckle) are
built onto a 60 m UTM grid with bilinear, average and nearest resampling;
over the chips that hold data everywhere, the mean intensity and mean
amplitude of the chips are compared with the area-weighted means of the
detected source pixels over the same footprints.

    bench/sar_bias.py EODKIT [--shared ../shared/data] [--work DIR]

Prints one line per case: intensity bias (% and dB) and amplitude bias (%).
Resampling power and taking the square root after makes amplitude
sqrt(mean |z|^2), which exceeds the mean of |z| over speckle: a positive
amplitude figure is that, not an error.
"""
import argparse
import json
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

SCENE = "sar/pyroSAR/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("eodkit")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] /
                                                 "shared" / "data"))
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="sar-bias-"))
    work.mkdir(parents=True, exist_ok=True)
    scene = Path(args.shared) / SCENE
    src = gdal.Open(str(scene))
    gt = src.GetGeoTransform()
    power = 10 ** (src.ReadAsArray().astype(np.float64) / 10)
    phase = np.random.default_rng(12).uniform(-np.pi, np.pi, power.shape)
    slc = work / "slc.tif"
    out = gdal.GetDriverByName("GTiff").Create(str(slc), power.shape[1], power.shape[0], 1,
                                               gdal.GDT_CFloat32)
    out.SetGeoTransform(gt)
    out.SetProjection(src.GetProjection())
    out.GetRasterBand(1).WriteArray((np.sqrt(power) * np.exp(1j * phase)).astype(np.complex64))
    out = None

    def overlap(edges, lo, hi):
        a, b = np.minimum(edges[:-1], edges[1:]), np.maximum(edges[:-1], edges[1:])
        return np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0, None)

    xe = gt[0] + np.arange(power.shape[1] + 1) * gt[1]
    ye = gt[3] + np.arange(power.shape[0] + 1) * gt[5]
    cases = [("dB scene", scene, "sar: {scale: db}", lambda v: 10 ** (v / 10)),
             ("complex, amplitude", slc, "complex: amplitude", lambda v: v ** 2),
             ("complex, intensity", slc, "complex: intensity", lambda v: v)]
    for resampling in ["bilinear", "average", "nearest"]:
        for name, files, extra, to_power in cases:
            folder = work / f"{resampling}-{name.replace(' ', '').replace(',', '-')}"
            folder.mkdir(exist_ok=True)
            (folder / "r.yaml").write_text(f"""
dataset: {{name: sar-bias}}
grid: {{crs: EPSG:32631, resolution: 60, chip_size: 16}}
modalities:
  - {{name: sar, kind: sar, files: [{files}], resampling: {resampling}, {extra}}}
split: {{method: random, ratios: {{train: 1.0}}}}
""")
            subprocess.run([args.eodkit, "build", folder / "r.yaml", "-o", folder / "out",
                            "--overwrite"], check=True, capture_output=True)
            con = sqlite3.connect(folder / "out" / "index.gpkg")
            rows = con.execute("select shard, row, geotransform from chips "
                               "where nodata_frac = 0 order by fid").fetchall()
            shards = [np.load(p) for p in sorted((folder / "out/train").glob("sar-*.npy"))]
            chips = np.stack([shards[s][r] for s, r, _ in rows]).astype(np.float64)
            weight = np.zeros(power.shape)
            for _, _, text in rows:
                g = json.loads(text)
                weight += np.outer(overlap(ye, g[3] + 16 * g[5], g[3]),
                                   overlap(xe, g[0], g[0] + 16 * g[1]))
            truth_i = (power * weight).sum() / weight.sum()
            truth_a = (np.sqrt(power) * weight).sum() / weight.sum()
            chip_i = to_power(chips).mean()
            chip_a = np.sqrt(to_power(chips)).mean()
            print(f"{resampling:9s} {name:19s} chips {len(rows):3d}  intensity "
                  f"{100 * (chip_i / truth_i - 1):+7.2f}% ({10 * np.log10(chip_i / truth_i):+6.2f} dB)"
                  f"  amplitude {100 * (chip_a / truth_a - 1):+7.2f}%")


if __name__ == "__main__":
    main()
