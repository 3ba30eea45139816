/*
** Regions: where on Earth each chip is. Loads a polygon layer of countries
** (by default the CC0 world layer installed at set-up) into longitude/
** latitude with a quadtree over the polygons' bounds and GEOS prepared
** geometries, and tags points and footprints with country (ISO 3166-1
** alpha-3 and name), continent and a grouping region (a field of the layer).
*/
#ifndef EK_REGIONS_H
#define EK_REGIONS_H

#include <stdint.h>

#include <cpl_quad_tree.h>
#include <ogr_api.h>

#include "grid/ek_plan.h"

typedef struct ek_region {
    OGRGeometryH geom; /* EPSG:4326, longitude/latitude */
    OGRPreparedGeometryH prepared;
    char *country;      /* ISO 3166-1 alpha-3, or NULL when the layer has no code */
    char *country_name; /* or NULL */
    char *continent;    /* or NULL */
    char *region;       /* value of the region field, or NULL */
} ek_region;

typedef struct ek_regions {
    char *path;
    char *field; /* the region field */
    ek_region *items;
    size_t n;
    CPLQuadTree *tree;
} ek_regions;

/* Where the built-in world layer is looked for, in order, after the
   EODKIT_REGIONS environment variable; NULL-terminated. */
extern const char *const ek_regions_default_paths[];

/* The default region layer's path (EODKIT_REGIONS, then the built-in
   locations), or NULL when none exists. */
const char *ek_regions_default(void);

/*
** Load the polygons of the first layer of PATH. FIELD names the region
** field (NULL: "continent"/"CONTINENT"); a missing FIELD is an error naming
** the nearest field. WHERE says who asked for the layer (for messages).
** Registers GDAL's drivers (GDALAllRegister) if no caller has yet.
*/
int ek_regions_open(eodkit_ctx *ctx, const char *path, const char *field,
                    const char *where, ek_regions **regions /* OUT */);
void ek_regions_free(ek_regions *regions);

/* Index of the region holding point LON/LAT (the first in layer order); of
   the nearest one within 0.1 degree when none holds it (coarse coastlines);
   -1 over the sea. Not thread-safe: GEOS builds its indexes lazily. */
int ek_regions_find(ek_regions *r, double lon, double lat);

/* Share (0..1) of FOOTPRINT (a lon/lat polygon) inside region K. */
double ek_regions_share(ek_regions *r, int k, OGRGeometryH footprint);

/* Region of every candidate chip of plan P, by its centre: *TAGS (newly
   allocated, by candidate index) holds a region index, or -1. */
int ek_regions_tag_plan(eodkit_ctx *ctx, ek_regions *r, const ek_plan *p,
                        int32_t **tags /* OUT */);

#endif
