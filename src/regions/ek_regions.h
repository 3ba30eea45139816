/*
** Regions: where on Earth each chip is. Loads a polygon layer of countries
** (by default Natural Earth 1:10m countries from QGIS, installed at set-up)
** into longitude/latitude with a quadtree over the polygons' bounds and GEOS
** prepared geometries, and tags chips by the share of their footprint in
** each country: country (ISO 3166-1 alpha-3 and name), continent and a
** grouping region (a field of the layer).
*/
#ifndef EK_REGIONS_H
#define EK_REGIONS_H

#include <stddef.h>
#include <stdint.h>

#include <cpl_quad_tree.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/ek_ctx.h"

/* The file name of the built-in world layer and of the continent table. */
#define EK_REGIONS_WORLD "world_map.gpkg"
#define EK_REGIONS_CONTINENTS "continents.csv"

typedef struct ek_region {
    OGRGeometryH geom;             /* EPSG:4326, longitude/latitude */
    OGRPreparedGeometryH prepared; /* made on first use */
    OGREnvelope bounds;
    char *country;      /* ISO 3166-1 alpha-3, or NULL when the layer has no code */
    char *country_name; /* or NULL */
    char *continent;    /* or NULL */
    char *region;       /* value of the region field, or NULL */
    /* GEOM cut into pieces of at most a few hundred points (made on first
       use), so that a chip's overlap is measured on a small polygon */
    OGRGeometryH *pieces;
    OGREnvelope *piece_bounds;
    size_t npieces;
    int cut;
} ek_region;

typedef struct ek_regions {
    char *path;
    char *field; /* the region field */
    ek_region *items;
    size_t n;
    CPLQuadTree *tree;
} ek_regions;

/*
** The tags of a list of chips (a plan's candidate chips, in the order of
** p->chips), by index k. REGION[k] is the region holding the largest share of chip k's
** footprint (the first in layer order on a tie), -1 when no region meets
** it (the sea); SHARE[k] is that share (0..1). With near lists (a hold-out
** split), the regions that meet the chip or come within the margin of it
** are NEAR[NEAR_FIRST[k] .. NEAR_FIRST[k + 1]); NEAR_FIRST is NULL
** otherwise.
*/
typedef struct ek_region_tags {
    int32_t *region;
    double *share;
    size_t *near_first;
    int32_t *near;
    size_t nnear, near_cap;
    double margin; /* metres, of the near lists */
} ek_region_tags;

/* A transformation from a grid CRS to longitude/latitude that cuts
   geometries at the antimeridian. */
typedef struct ek_lonlat {
    OGRCoordinateTransformationH ct;
    OGRGeomTransformerH wrap;
} ek_lonlat;

/* The default region layer's path (EODKIT_REGIONS, then world_map.gpkg in
   the data folders, see ek_regions_data), or NULL when none exists. The
   text lives until the thread's next call. */
const char *ek_regions_default(void);

/* Path of data file NAME (world_map.gpkg, continents.csv) in the first of
   the data folders that has it, into PATH (SIZE bytes): the folder
   EODKIT_DATA_DIR names when set, else the executable's ../share/eodkit
   (an installed or relocated eodkit), the compiled-in data folder, then the
   source tree (examples/data, share/regions).
   Returns 1 when found, else 0 with the folders looked in, as a
   comma-separated list, in PATH. */
int ek_regions_data(const char *name, char *path, size_t size);

/*
** Load the polygons of PATH: its layer `countries` when it has several
** layers and one of that name, else its first. FIELD names the region field
** (NULL: "continent"/"CONTINENT", else the continent); a missing FIELD is an
** error naming the nearest field. Country codes come from the first valid
** alpha-3 code of ISO_A3, ISO_A3_EH, ADM0_A3 (Natural Earth writes -99
** where ISO has none), else from an alpha-2 ISO_A2 code (through Debian's
** iso-codes; Kosovo: XKX). A layer without a continent field gets the
** continents of share/regions/continents.csv. WHERE says who asked for the
** layer (for messages). Registers GDAL's drivers if no caller has yet.
*/
int ek_regions_open(eodkit_ctx *ctx, const char *path, const char *field,
                    const char *where, ek_regions **regions /* OUT */);
void ek_regions_free(ek_regions *regions);

/* Index of the region holding point LON/LAT (the first in layer order); of
   the nearest one within 0.1 degree when none holds it (coarse coastlines);
   -1 over the sea. Not thread-safe: GEOS builds its indexes lazily. */
int ek_regions_find(ek_regions *r, double lon, double lat);

/* Set up T to transform geometries of SRS to lon/lat, cut at the
   antimeridian; release with ek_lonlat_done. */
int ek_lonlat_init(eodkit_ctx *ctx, OGRSpatialReferenceH srs, ek_lonlat *t);
void ek_lonlat_done(ek_lonlat *t);

/* The outline of the window at pixel X, Y of W x H pixels on a north-up
   grid with geotransform GT, with a few points along each edge, in lon/lat
   through T (a multipolygon when it crosses the antimeridian); NULL when it
   cannot be transformed. */
OGRGeometryH ek_regions_footprint(const ek_lonlat *t, const double gt[6], double x,
                                  double y, double w, double h);

/*
** Tag FOOTPRINT (lon/lat): *REGION gets the region holding the largest share
** of it (-1: none), *SHARE that share. With T non-NULL, the regions that
** meet the footprint or come within MARGIN metres of it are appended to T's
** near list (the caller closes the chip's list). Not thread-safe.
*/
int ek_regions_tag(eodkit_ctx *ctx, ek_regions *r, OGRGeometryH footprint,
                   double margin, int *region, double *share,
                   ek_region_tags *t /* OUT, or NULL */);

/* New tags for N chips into *OUT (free with ek_region_tags_free), with
   near lists of regions within MARGIN metres when NEAR. */
int ek_region_tags_new(eodkit_ctx *ctx, size_t n, int near, double margin,
                       ek_region_tags **out /* OUT */);

/* Tag chip K of T (chips are tagged in order: 0, 1, ...) from its
   FOOTPRINT in lon/lat (ek_regions_footprint; NULL, one PROJ could not
   transform, stays untagged like the sea) with region layer R. Not
   thread-safe. */
int ek_region_tags_set(eodkit_ctx *ctx, ek_regions *r, ek_region_tags *t, size_t k,
                       OGRGeometryH footprint);
/* Keep the tags of the chips whose KEEP is set (N chips), in order, with
   their near lists: T then describes the kept chips only. */
void ek_region_tags_keep(ek_region_tags *t, const uint8_t *keep, size_t n);

void ek_region_tags_free(ek_region_tags *tags);

#endif
