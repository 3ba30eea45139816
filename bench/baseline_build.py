#!/usr/bin/python3
"""Baseline for the build benchmark: the chip-by-chip script users write
today with rasterio + numpy + geopandas + shapely (Debian's packages), doing
the same recipe as eodkit's bench recipes:

- grid: the optical scene's own pixels (eodkit's `crs: {like: optical}`);
- every chip: a window read of the optical scene; with --dem, a window read
  of a WarpedVRT of the DEM onto the same grid (bilinear, exact transformer,
  warp scale pinned as eodkit does, so the pixels can be compared);
- nodata filter (share of pixels where any optical band is nodata);
- labels: polygons found with a spatial index (shapely STRtree), burnt with
  rasterio.features.rasterize in feature order; min-labeled filter;
- a random split, and one np.save per array per chip:
  OUT/<split>/x<col>_y<row>_<array>.npy (col, row: the chip's pixel offset).

Run: python3 bench/baseline_build.py --optical scene.tif --labels labels.gpkg
        --chip 64 --out DIR [--dem dem.tif]
"""
import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform
from rasterio.windows import Window
from shapely.geometry import box
from shapely.strtree import STRtree


def warped_onto(src, grid):
    """SRC warped onto the pixels of GRID (an open dataset), as eodkit does:
    bilinear, exact transforms (tolerance 0), and the warp scale pinned to
    the ratio of the source's natural resolution on the grid's CRS to the
    grid's (XSCALE/YSCALE: without them GDAL's result depends on the window
    size, see DESIGN.md "Known pitfalls")."""
    natural, _, _ = calculate_default_transform(src.crs, grid.crs, src.width, src.height,
                                                *src.bounds)
    scale = natural.a / grid.transform.a
    return WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width,
                     height=grid.height, resampling=Resampling.bilinear, tolerance=1e-12,
                     warp_extras={"XSCALE": repr(scale), "YSCALE": repr(scale)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--optical", required=True)
    ap.add_argument("--dem")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--attribute", default="TIPO")
    ap.add_argument("--classes", default="URBANO=1,RURAL=2")
    ap.add_argument("--chip", type=int, required=True)
    ap.add_argument("--max-nodata", type=float, default=0.05)
    ap.add_argument("--min-labeled", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    classes = dict(kv.split("=") for kv in args.classes.split(","))
    splits = ["train", "val", "test"]
    out = Path(args.out)
    for s in splits:
        (out / s).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    optical = rasterio.open(args.optical)
    dem = warped_onto(rasterio.open(args.dem), optical) if args.dem else None
    nodata = optical.nodata

    gdf = gpd.read_file(args.labels).to_crs(optical.crs)
    gdf = gdf[gdf[args.attribute].isin(classes)]
    geoms = list(gdf.geometry)
    values = [int(classes[v]) for v in gdf[args.attribute]]
    tree = STRtree(geoms)

    size = args.chip
    kept = 0
    for row in range(0, optical.height - size + 1, size):
        for col in range(0, optical.width - size + 1, size):
            window = Window(col, row, size, size)
            image = optical.read(window=window)
            if (image == nodata).any(axis=0).mean() > args.max_nodata:
                continue
            transform = optical.window_transform(window)
            bounds = rasterio.windows.bounds(window, optical.transform)
            hits = sorted(tree.query_items(box(*bounds)))  # feature order
            label = np.zeros((size, size), np.uint8)
            if hits:
                label = rasterize([(geoms[i], values[i]) for i in hits], out_shape=(size, size),
                                  transform=transform, fill=0, dtype="uint8")
            if (label != 0).mean() < args.min_labeled:
                continue
            split = splits[np.searchsorted([0.8, 0.9], rng.random(), side="right")]
            stem = out / split / f"x{col}_y{row}"
            np.save(f"{stem}_optical.npy", image)
            if dem is not None:
                np.save(f"{stem}_dem.npy", dem.read(window=window))
            np.save(f"{stem}_label.npy", label)
            kept += 1
    print(kept)


if __name__ == "__main__":
    main()
