"""Benchmark inputs, made deterministically from the real data in
../shared/data (see its MANIFEST.md):

- scene(): a large 4-band Landsat-7 scene, the Olinda ETM+ scene (349x352
  px, 28.5 m) mirror-tiled to any size, with the tilted no-data corners of a
  real Landsat swath; tiled DEFLATE GeoTIFF as archives store them (or
  uncompressed, for the I/O floor).
- dem(): the Olinda DEM mirror-tiled under the same area, but in EPSG:4326
  (so it must be reprojected).
- labels(): the 470 Olinda census tracts mirrored with the scene, so they
  stay on the same places of the image: thousands of polygons.
- world_grid(): a coarse one-band raster over Africa, Europe and the Middle
  East in EPSG:4326, for tagging many chips with countries.
- null_regions(): a region layer with one tiny polygon in the Pacific.

Every file is written once under the work folder (to a temporary name, then
renamed) and reused by later runs.
"""
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.windows import Window

from common import SHARED, log

L7 = SHARED / "optical/stars/L7_ETMs.tif"
DEM = SHARED / "dem/stars/olinda_dem_utm25s.tif"
TRACTS = SHARED / "vector/sf/olinda1.shp"

# The big scenes lie on land in north-east Brazil (SIRGAS 2000 / UTM 24S).
SCENE_CRS = CRS.from_epsg(31984)
SCENE_ORIGIN = (300000.0, 9200000.0)
PIXEL = 28.5
BANDS = [1, 2, 3, 4]           # blue, green, red, nir
STRIP = 512                    # rows written at a time (= tile size)


def reflect(index, n):
    """Mirror-tiling: map any pixel index to 0..n-1 (…, n-1, 0, 1, …, n-1, n-1, …, 0, 0, …)."""
    m = np.mod(index, 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


def swath_valid(rows, cols, size):
    """True inside a Landsat-like swath: a rectangle tilted by 12 degrees,
    so the scene has no-data corners (value 0)."""
    y = rows[:, None] - size / 2
    x = cols[None, :] - size / 2
    a = np.deg2rad(12)
    u = x * np.cos(a) + y * np.sin(a)
    v = -x * np.sin(a) + y * np.cos(a)
    return (np.abs(u) < 0.47 * size) & (np.abs(v) < 0.47 * size)


def _write(path, profile, strips):
    """Write the (window, array) pairs of STRIPS to PATH atomically."""
    tmp = path.with_suffix(".partial.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for window, data in strips:
            dst.write(data, window=window)
    tmp.rename(path)


def scene(work, size, compress="deflate"):
    """A SIZE x SIZE 4-band uint8 scene (nodata 0), tiled 512x512; COMPRESS
    is 'deflate' (with the horizontal predictor) or 'none'."""
    path = Path(work) / f"scene-{size}-{compress}.tif"
    if path.exists():
        return path
    log(f"  making {path.name}")
    with rasterio.open(L7) as src:
        l7 = src.read(BANDS)
    h, w = l7.shape[1:]
    profile = dict(driver="GTiff", width=size, height=size, count=len(BANDS), dtype="uint8",
                   crs=SCENE_CRS, transform=from_origin(*SCENE_ORIGIN, PIXEL, PIXEL),
                   nodata=0, tiled=True, blockxsize=512, blockysize=512,
                   BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS")
    if compress == "deflate":
        profile.update(compress="deflate", predictor=2)
    cols = np.arange(size)

    def strips():
        for y0 in range(0, size, STRIP):
            rows = np.arange(y0, min(y0 + STRIP, size))
            data = l7[:, reflect(rows, h)[:, None], reflect(cols, w)[None, :]]
            data[:, ~swath_valid(rows, cols, size)] = 0
            yield Window(0, y0, size, len(rows)), data

    _write(path, profile, strips())
    return path


def scene_bounds(size):
    x0, y0 = SCENE_ORIGIN
    return x0, y0 - size * PIXEL, x0 + size * PIXEL, y0


def dem(work, size):
    """The Olinda DEM mirror-tiled over the scene of SIZE pixels (with a
    margin), float32, in EPSG:4326 at 3 arc-seconds."""
    from rasterio.warp import transform_bounds

    path = Path(work) / f"dem-{size}.tif"
    if path.exists():
        return path
    log(f"  making {path.name}")
    with rasterio.open(DEM) as src:
        z = src.read(1)
    res = 1 / 1200
    west, south, east, north = transform_bounds(SCENE_CRS, "EPSG:4326", *scene_bounds(size))
    west, south, east, north = west - 0.02, south - 0.02, east + 0.02, north + 0.02
    width, height = int(np.ceil((east - west) / res)), int(np.ceil((north - south) / res))
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32",
                   crs="EPSG:4326", transform=from_origin(west, north, res, res),
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   predictor=3, NUM_THREADS="ALL_CPUS")
    cols = np.arange(width)

    def strips():
        for y0 in range(0, height, STRIP):
            rows = np.arange(y0, min(y0 + STRIP, height))
            data = z[reflect(rows, z.shape[0])[:, None], reflect(cols, z.shape[1])[None, :]]
            yield Window(0, y0, width, len(rows)), data[None]

    _write(path, profile, strips())
    return path


def labels(work, size):
    """The Olinda census tracts (field TIPO: URBANO/RURAL) mirrored like the
    scene of SIZE pixels, each copy cut to its tile, in the scene's CRS."""
    import geopandas as gpd
    from shapely.affinity import affine_transform
    from shapely.geometry import box

    path = Path(work) / f"labels-{size}.gpkg"
    if path.exists():
        return path
    log(f"  making {path.name}")
    with rasterio.open(L7) as src:
        h, w = src.height, src.width
        to_pixel = ~src.transform
        l7_crs = src.crs
    tracts = gpd.read_file(TRACTS).to_crs(l7_crs)
    a, b, c, d, e, f = to_pixel.a, to_pixel.b, to_pixel.c, to_pixel.d, to_pixel.e, to_pixel.f
    # tracts in the L7 scene's pixel space, cut to it
    tile = box(0, 0, w, h)
    pixel = [affine_transform(g, [a, b, d, e, c, f]).intersection(tile) for g in tracts.geometry]
    x0, y0 = SCENE_ORIGIN
    geoms, tipo = [], []
    for ty in range(-(-size // h)):
        for tx in range(-(-size // w)):
            # pixel u of tile tx goes to scene pixel tx*w + u (even tiles) or
            # tx*w + w - u (odd, mirrored); then to scene CRS coordinates
            sx, ox = (1, tx * w) if tx % 2 == 0 else (-1, tx * w + w)
            sy, oy = (1, ty * h) if ty % 2 == 0 else (-1, ty * h + h)
            m = [PIXEL * sx, 0, 0, -PIXEL * sy, x0 + PIXEL * ox, y0 - PIXEL * oy]
            for g, t in zip(pixel, tracts.TIPO):
                if not g.is_empty:
                    geoms.append(affine_transform(g, m))
                    tipo.append(t)
    frame = gpd.GeoDataFrame({"TIPO": tipo}, geometry=geoms, crs=SCENE_CRS)
    frame = frame[frame.intersects(box(*scene_bounds(size)))]
    tmp = path.with_suffix(".partial.gpkg")
    frame.to_file(tmp, driver="GPKG", layer="tracts")
    tmp.rename(path)
    return path


def world_grid(work, res):
    """A one-band uint8 raster (mirrored L7 band 1) over lon -20..60,
    lat -36..72 (Africa, Europe, the Middle East: many borders and coasts),
    RES degrees per pixel. The corner is moved off round degrees, so that
    no chip centre lies exactly on a border drawn along a meridian (such
    as Libya-Egypt at 25 E), where the country depends on the last bit."""
    path = Path(work) / f"world-{res:g}.tif"
    if path.exists():
        return path
    log(f"  making {path.name}")
    with rasterio.open(L7) as src:
        l7 = src.read(1)
    west, north, east, south = -20.0137, 72.0137, 60.0, -36.0
    width, height = int(round((east - west) / res)), int(round((north - south) / res))
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8",
                   crs="EPSG:4326", transform=from_origin(west, north, res, res),
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    rows, cols = np.arange(height), np.arange(width)
    data = l7[reflect(rows, l7.shape[0])[:, None], reflect(cols, l7.shape[1])[None, :]]
    _write(path, profile, [(Window(0, 0, width, height), data[None])])
    return path


def null_regions(work):
    """A region layer with a single 0.01-degree polygon in the South
    Pacific: tagging against it finds nothing, almost for free."""
    import geopandas as gpd
    from shapely.geometry import box

    path = Path(work) / "null-regions.gpkg"
    if not path.exists():
        frame = gpd.GeoDataFrame({"iso_a3": ["XXX"], "name_long": ["Nowhere"],
                                  "continent": ["Nowhere"]},
                                 geometry=[box(-140, -50, -139.99, -49.99)], crs="EPSG:4326")
        frame.to_file(path, driver="GPKG", layer="regions")
    return path
