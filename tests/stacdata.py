"""STAC catalogs of the BigEarthNet patches in ../shared/data, written by the
tests (eodkit never writes these): one Item per patch, one asset per band
file, the datetime and CORINE labels from the patch's
*_labels_metadata.json, the projection extension from the files (v1.1
`proj:epsg` or v2 `proj:code`, with each asset's `proj:shape` and
`proj:transform`). The band files are symlinked into the catalog folder so
the folder can also be served over HTTP as it is.

    write_catalog(dest, patches)            -> dest/catalog.json (+ items)
    write_item_collection(dest, patches)    -> dest/items.json
"""
import json
import os
from pathlib import Path

from osgeo import gdal, osr

gdal.UseExceptions()

PROJ_V1 = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
PROJ_V2 = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
         "B11", "B12"]


def s2_patches(shared):
    """The Sentinel-2 patch folders of the BigEarthNet sample, sorted."""
    return sorted(p for p in (Path(shared) / "samples/bigearthnet/s2").iterdir() if p.is_dir())


def _lonlat_bounds(path):
    ds = gdal.Open(str(path))
    gt, w, h = ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize
    srs = ds.GetSpatialRef()
    ll = osr.SpatialReference()
    ll.ImportFromEPSG(4326)
    ll.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, ll)
    xs = [gt[0], gt[0] + w * gt[1]]
    ys = [gt[3], gt[3] + h * gt[5]]
    pts = [ct.TransformPoint(x, y)[:2] for x in xs for y in ys]
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    return [min(lons), min(lats), max(lons), max(lats)], srs.GetAuthorityCode(None)


def _proj_fields(path, version, epsg):
    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    fields = {"proj:shape": [ds.RasterYSize, ds.RasterXSize],
              "proj:transform": [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]}
    if version == "v1.1":
        fields["proj:epsg"] = int(epsg)
    elif version == "v2":
        fields["proj:code"] = f"EPSG:{epsg}"
    return fields


def make_item(patch, href_of, *, proj="v1.1", bands=BANDS, cloud=None, item_id=None,
              datetime=None, collection=None):
    """The STAC Item (dict) of patch folder PATCH: assets BANDS whose hrefs
    are href_of(file name); proj 'v1.1', 'v2' or None (no projection
    extension); CLOUD (eo:cloud_cover, percent) when given. The projection
    fields come from the files in PATCH even when href_of points at copies
    (e.g. without georeferencing). COLLECTION: the item's `collection` id
    (an API's items have one; these static items have none, as STAC then
    wants a collection link)."""
    name = patch.name
    meta = json.loads((patch / f"{name}_labels_metadata.json").read_text())
    ref = patch / f"{name}_B02.tif"
    bbox, epsg = _lonlat_bounds(ref)
    w, s, e, n = bbox
    item_proj = _proj_fields(ref, proj, epsg) if proj else {}
    extensions = []
    if proj:
        extensions.append(PROJ_V1 if proj == "v1.1" else PROJ_V2)
    props = {"datetime": datetime or meta["acquisition_date"].replace(" ", "T") + "Z",
             "platform": "sentinel-2" + name[2].lower(),
             "bigearthnet:labels": meta["labels"],
             "bigearthnet:tile_source": meta["tile_source"], **item_proj}
    if cloud is not None:
        props["eo:cloud_cover"] = cloud
        extensions.append(EO)
    assets = {}
    for band in bands:
        asset = {"href": href_of(f"{name}_{band}.tif"),
                 "type": "image/tiff; application=geotiff", "roles": ["data"],
                 "title": band}
        if proj:
            fields = _proj_fields(patch / f"{name}_{band}.tif", proj, epsg)
            asset.update({k: v for k, v in fields.items() if k in ("proj:shape", "proj:transform")})
        assets[band] = asset
    return {
        "type": "Feature", "stac_version": "1.0.0", "stac_extensions": extensions,
        "id": item_id or name, **({"collection": collection} if collection else {}),
        "geometry": {"type": "Polygon",
                     "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "bbox": bbox, "properties": props, "links": [], "assets": assets,
    }


def _link_files(src_dir, name, dest, bands):
    dest.mkdir(parents=True, exist_ok=True)
    for band in bands:
        target = dest / f"{name}_{band}.tif"
        if not target.exists():
            os.symlink(Path(src_dir).resolve() / f"{name}_{band}.tif", target)


def write_catalog(dest, patches, *, proj="v1.1", clouds=None, bands=BANDS, data_dirs=None):
    """A static Catalog at DEST/catalog.json with one Item per patch in
    DEST/<patch>/<patch>.json (asset hrefs relative to the item: the band
    files are symlinked beside it). CLOUDS: {patch name: eo:cloud_cover};
    DATA_DIRS: {patch name: folder of its band files}. Returns the path of
    catalog.json."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    links = [{"rel": "root", "href": "./catalog.json", "type": "application/json"},
             {"rel": "self", "href": "./catalog.json", "type": "application/json"}]
    for patch in patches:
        name = patch.name
        folder = dest / name
        _link_files((data_dirs or {}).get(name, patch), name, folder, bands)
        item = make_item(patch, lambda f: f"./{f}", proj=proj, bands=bands,
                         cloud=(clouds or {}).get(name))
        item["links"] = [{"rel": "root", "href": "../catalog.json", "type": "application/json"},
                         {"rel": "parent", "href": "../catalog.json", "type": "application/json"}]
        (folder / f"{name}.json").write_text(json.dumps(item, indent=1))
        links.append({"rel": "item", "href": f"./{name}/{name}.json",
                      "type": "application/geo+json", "title": name})
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "bigearthnet-sample",
               "description": "BigEarthNet Sentinel-2 sample patches (test catalog)",
               "links": links}
    (dest / "catalog.json").write_text(json.dumps(catalog, indent=1))
    return dest / "catalog.json"


def write_item_collection(dest, patches, *, proj="v1.1", clouds=None, bands=BANDS):
    """An ItemCollection DEST/items.json of the same Items (asset hrefs
    relative to items.json: ./<patch>/<file>). Returns its path."""
    dest = Path(dest)
    features = []
    for patch in patches:
        name = patch.name
        _link_files(patch, name, dest / name, bands)
        features.append(make_item(patch, lambda f, n=name: f"./{n}/{f}", proj=proj,
                                  bands=bands, cloud=(clouds or {}).get(name)))
    (dest / "items.json").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}, indent=1))
    return dest / "items.json"
