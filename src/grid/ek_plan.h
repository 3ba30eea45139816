/*
** Plan: what the build will do, fixed before any pixel is read. Inspects
** every input raster, chooses the target grid (CRS, origin, resolution,
** size), lays chips on it, keeps the chips inside the AOI and cuts the chip
** lattice into work units. The plan is immutable once made and shared
** read-only by all workers; work units depend on the recipe alone, never on
** the thread count, so output never depends on it either.
*/
#ifndef EK_PLAN_H
#define EK_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "recipe/ek_recipe.h"

/* A rectangle of grid pixels. */
typedef struct ek_window {
    int x, y; /* top-left pixel on the grid */
    int w, h;
} ek_window;

/* One input raster file and how it maps onto the grid. */
typedef struct ek_source {
    char *path;
    int width, height, band_count;
    double gt[6];
    char *wkt;          /* its CRS */
    GDALDataType dtype; /* wide enough for every band */
    int has_nodata;     /* the file declares a nodata value (band 1) */
    double nodata;
    /* Bounds on the grid, in grid pixel coordinates (may exceed the grid). */
    double gx0, gy0, gx1, gy1;
    /* Source pixel (0,0) sits exactly on grid pixel (dx,dy) with the same
       size and CRS: read windows directly, no resampling. */
    int aligned;
    int dx, dy;
    /* Warper resampling scale (destination pixels per source pixel), pinned
       so results do not depend on how the output is chunked. */
    double xscale, yscale;
} ek_source;

typedef struct ek_modality {
    const ek_modality_recipe *recipe;
    ek_source *sources; /* in recipe order; later files win where they overlap */
    size_t nsources;
    int nbands;
    int *bands;        /* 1-based source band numbers */
    char **band_names; /* nbands names */
    GDALDataType dtype;
    int has_nodata; /* the output has a nodata value */
    double nodata;
} ek_modality;

typedef struct ek_grid {
    OGRSpatialReferenceH srs; /* traditional GIS axis order */
    char *wkt;                /* WKT2 */
    char *crs_code;           /* "EPSG:31985", or NULL when it has no code */
    double gt[6];             /* north-up */
    int width, height;        /* pixels */
    int chip_w, chip_h, stride_x, stride_y;
    int nx, ny; /* chips across and down: chip (i, j) has id j * nx + i */
} ek_grid;

typedef struct ek_plan {
    const ek_recipe *recipe;
    ek_grid grid;
    ek_modality *modalities;
    size_t nmodalities;
    uint8_t *candidate; /* per chip id: 1 when it lies on the imagery and AOI */
    size_t ncandidates;
    int unit_chips; /* a work unit is unit_chips x unit_chips chips */
    int units_x, units_y;
    size_t nunits;
} ek_plan;

/*
** Make the plan for recipe R: open every input raster, check it (exists,
** readable, georeferenced, bands present), choose the grid and chips.
** Errors name the input file and the recipe line. Free with ek_plan_free.
*/
int ek_plan_make(eodkit_ctx *ctx, const ek_recipe *r, ek_plan **plan /* OUT */);
void ek_plan_free(ek_plan *plan);

/* Chip ID's pixel window on the grid. */
ek_window ek_plan_chip_window(const ek_plan *p, size_t chip_id);

/* Work unit U's chips: the chip column range [*I0, *I1) and row range
   [*J0, *J1); and the pixel window covering all of them. */
void ek_plan_unit_chips(const ek_plan *p, size_t u, int *i0, int *i1, int *j0, int *j1);
ek_window ek_plan_unit_window(const ek_plan *p, size_t u);

/* The geotransform of window W of the grid. */
void ek_grid_window_gt(const ek_grid *g, const ek_window *w, double gt[6]);

/* Bytes of one pixel of GDAL type T (complex types count both parts). */
int ek_dtype_size(GDALDataType t);

/* NumPy's descr of T ("|u1", "<f4", ...), or NULL when NumPy has none. */
const char *ek_dtype_numpy(GDALDataType t);

/* NumPy's name of T ("uint8", "float32", ...). */
const char *ek_dtype_name(GDALDataType t);

/* Open raster PATH read-only for the calling thread; NULL with CTX set. */
GDALDatasetH ek_open_raster(eodkit_ctx *ctx, const char *path);

/* Inspect raster PATH into S (size, georeferencing, CRS, nodata). Errors
   name the file and WHERE (the recipe position that asked for it). */
int ek_source_inspect(eodkit_ctx *ctx, const char *path, const char *where,
                      ek_source *s /* OUT */);
void ek_source_clear(ek_source *s);

/* Bounds of source S in CRS (xmin, ymin, xmax, ymax). */
int ek_source_bounds(eodkit_ctx *ctx, OGRSpatialReferenceH crs, const ek_source *s,
                     double bounds[4] /* OUT */);

/* Place source S on grid G: bounds, alignment and warp scales. */
int ek_source_place(eodkit_ctx *ctx, const ek_grid *g, ek_source *s);

#endif
