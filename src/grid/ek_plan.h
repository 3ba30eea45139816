/*
** Plan: what the build will do, fixed before any pixel is read. Inspects
** every input raster, chooses the target grids (one, one per UTM zone, or
** those of a reference grid), places every input on them, lists the
** candidate chips (inside the AOI and over data, from the inputs'
** footprints) and groups them into work units. The plan is immutable once
** made and shared read-only by all workers; work units depend on the
** recipe alone, never on the thread count, so output never depends on it
** either.
*/
#ifndef EK_PLAN_H
#define EK_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "recipe/ek_recipe.h"

/* What a plan may hold (doc/recipe.md, Limits): candidate chips (set-up
   keeps a few dozen bytes per candidate and visits each; the lattices of
   the grids are never laid out), and pixels along a grid side (pixel
   coordinates are int). Chip ids, lattice positions, stay below
   EK_MAX_CHIP_ID (int64 in the index). */
#define EK_MAX_CHIPS ((size_t)1 << 25)
#define EK_MAX_GRID_SIDE (1 << 30)
#define EK_MAX_CHIP_ID ((size_t)1 << 62)

/* ek_plan_find: not a candidate chip. */
#define EK_NOT_CANDIDATE ((size_t)-1)

/* A rectangle of pixels of one grid. */
typedef struct ek_window {
    int x, y; /* top-left pixel on the grid */
    int w, h;
} ek_window;

/* One input raster: what it is, read once while planning. */
typedef struct ek_source {
    int id;     /* unique in the plan: workers keep one GDAL handle per id */
    char *path; /* the name GDAL opens (ek_names.h) */
    int remote; /* it is read over the network */
    int width, height, band_count;
    /* How its pixels map to its CRS: a geotransform GT, or (GCPs, RPCs) a
       transformer GDAL makes with TRANSFORM_OPTIONS (a CSL list), whose
       edge OUTLINE (NOUTLINE x, y pairs in its CRS) frames it. */
    ek_georef_method georef;
    double gt[6];
    char **transform_options;
    double *outline;
    int noutline;
    int ngcps;
    char *wkt;          /* its CRS (lon/lat for RPCs) */
    GDALDataType dtype; /* wide enough for every band */
    int has_nodata;     /* the file declares a nodata value (band 1) */
    double nodata;
    int has_time;  /* acquisition time, from metadata or the file name */
    int64_t time;  /* seconds since 1970-01-01 UTC */
    char *vrt;     /* NULL, or what GDAL opens instead of path: a VRT (XML) giving
                      the file the CRS and geotransform of its STAC item */
    int stac_item; /* STAC modalities: the item it belongs to (ek_stac.items) */
    /* Where it holds data by GDAL's account (missing blocks of a sparse
       GeoTIFF are empty): NDATA rectangles of source pixels (x0, y0, x1,
       y1 each, a few pixels of margin included), or DATA NULL when that is
       the whole file or GDAL cannot tell (local files with a geotransform
       only). */
    int *data;
    size_t ndata;
    /* With UTM grids (crs: utm, grid.system): its bounds in longitude and
       latitude (west, south, east, north), computed once while planning. */
    int has_lonlat;
    double lonlat[4];
} ek_source;

/* Where a source lies on one grid and how it is read onto it. */
typedef struct ek_placement {
    double gx0, gy0, gx1, gy1; /* bounds in grid pixels (may exceed the grid) */
    /* Source pixel (0,0) sits exactly on grid pixel (dx,dy) with the same size
       and CRS: windows are read directly, with no resampling. */
    int aligned;
    int dx, dy;
    /* Warper resampling scale (destination pixels per source pixel), pinned
       so results never depend on how the grid is cut into windows. */
    double xscale, yscale;
    /* 0 when the source lies far from the grid (their lon/lat bounds are
       apart): it was not placed, and its bounds lie far off the grid. */
    int reaches;
} ek_placement;

/* Bands of a modality read together from the same files. */
typedef struct ek_part {
    size_t first, count; /* the modality's sources [first, first + count) */
    int *bands;          /* 1-based band numbers in those files */
    int nbands;
    int first_band; /* where bands[0] goes among the modality's bands */
} ek_part;

/* The vertical CRS of a modality's values, as its files' compound CRSs
   declare it: eodkit keeps heights as they are, never converting them to
   another vertical datum. */
typedef struct ek_vertical {
    char *name;     /* "EGM96 height" */
    char *code;     /* "EPSG:5773", or NULL */
    char *wkt;      /* WKT2 of the vertical CRS */
    char *grid_wkt; /* WKT2 of the CRS of grid 0 with this vertical CRS */
} ek_vertical;

typedef struct ek_modality {
    const ek_modality_recipe *recipe;
    struct ek_stac *stac; /* recipe stac: the items the sources come from */
    ek_source *sources;   /* by part; within a part in recipe order, or by time */
    size_t nsources;
    ek_part *parts;
    size_t nparts;
    int nbands;
    char **band_names;      /* nbands names */
    GDALDataType dtype;     /* stored */
    GDALDataType read_type; /* read from the files (complex before conversion) */
    int has_nodata;         /* the output has a nodata value */
    double nodata;
    ek_placement *placements; /* [grid * nsources + source] */
    int64_t *times;           /* time modes: distinct acquisition times, ascending */
    size_t ntimes;
    int steps;             /* time stack: acquisitions per chip; else 1 */
    ek_vertical *vertical; /* NULL: its files declare no vertical CRS */
} ek_modality;

typedef struct ek_grid {
    OGRSpatialReferenceH srs; /* traditional GIS axis order */
    char *wkt;                /* WKT2 */
    char *crs_code;           /* "EPSG:31985", or NULL when it has no code */
    int utm_zone;             /* crs: utm: +zone north, -zone south; else 0 */
    double gt[6];             /* north-up */
    int width, height;        /* pixels */
    int nx, ny;               /* chips across and down */
    size_t first_chip;        /* id of chip (0, 0); chip (i, j) is first + j nx + i */
    int units_x, units_y;
    size_t first_unit; /* lattice key of its unit (0, 0); unit (ux, uy) is
                          first + uy units_x + ux */
    /* UTM grids: their bounds in longitude and latitude, as ek_source's */
    int has_lonlat;
    double lonlat[4];
} ek_grid;

/* A work unit: candidate chips p->chips[first, p->units[u + 1].first). */
typedef struct ek_unit {
    size_t key;   /* its place on the lattices: grid first_unit + uy units_x + ux */
    size_t first; /* its first chip in p->chips */
} ek_unit;

/* A Major TOM cell: signed row (north >= 0) and column (east >= 0). */
typedef struct ek_cell {
    int row, col;
} ek_cell;

typedef struct ek_plan {
    const ek_recipe *recipe;
    ek_grid *grids;
    size_t ngrids;
    int chip_w, chip_h, stride_x, stride_y;
    size_t nchips;
    ek_modality *modalities;
    size_t nmodalities;
    int nsources; /* over all modalities (source ids are 0 .. nsources-1) */
    int nremote;  /* sources read over the network */
    /* The candidate chips, those on data of every required modality with
       their centre in the AOI (and in their UTM zone), and when the recipe
       samples, only those sampling chose (ek_plan_keep): their ids, unit
       by unit, ascending within a unit. Per-chip arrays of the later
       stages are indexed like this one ("candidate index"). */
    size_t *chips;
    size_t ncandidates;
    int unit_chips; /* a work unit is at most unit_chips x unit_chips chips of one grid
                     */
    ek_unit *units; /* the work units that hold candidates, in lattice order,
                       then one whose first is ncandidates */
    size_t nunits;
    int unit_w, unit_h; /* largest unit window, pixels */
    /* grid.system majortom: chips are not on a lattice. Chip id k (also
       its work unit's key, and before sampling its candidate index) has
       window WINDOWS[k] on its grid and covers Major TOM cell CELLS[k];
       NULL otherwise. */
    ek_window *windows;
    ek_cell *cells;
} ek_plan;

/* One chip: its grid and window. */
typedef struct ek_chip {
    size_t grid;
    ek_window window;
} ek_chip;

/*
** Make the plan for recipe R: open every input raster, check it (exists,
** readable, georeferenced, bands present, dates found), choose the grids
** and chips. Errors name the input file and the recipe line. Free with
** ek_plan_free.
*/
int ek_plan_make(eodkit_ctx *ctx, const ek_recipe *r, ek_plan **plan /* OUT */);
void ek_plan_free(ek_plan *plan);

/* The vertical CRS of every modality of plan P (its grids made): refused
   when files of a modality declare different ones. */
int ek_plan_vertical(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p);
void ek_vertical_free(ek_vertical *v);

/*
** Keep only the candidates of plan P whose KEEP byte is set (one per
** candidate; sampling chose them): the candidate list shrinks in order and
** work units left without candidates go. Chip ids, grids and unit keys do
** not change: a kept chip is the same chip, in the same unit, as before.
*/
void ek_plan_keep(ek_plan *p, const uint8_t *keep);

/* Chip ID (any id below p->nchips): its grid and window. */
ek_chip ek_plan_chip(const ek_plan *p, size_t chip_id);

/* The candidate index of chip ID, or EK_NOT_CANDIDATE (a binary search). */
size_t ek_plan_find(const ek_plan *p, size_t chip_id);

/* The cell id of chip ID on the recipe's grid.system into BUF (SIZE
   bytes; 48 hold any): "451U_946L" (Major TOM), "EPSG:32633_10_12_-2045"
   (utm-cells), "" without a system (doc/format.md, Cell ids). */
void ek_plan_cell(const ek_plan *p, size_t chip_id, char *buf, size_t size);

/* The Major TOM grid at SPACING km: rows from pole to pole, columns of row
   ROW, the cell holding LON/LAT, the centroid of cell ROW, COL, and its
   name ("451U_946L"). */
int ek_majortom_rows(double spacing);
int ek_majortom_cols(double spacing, int row);
void ek_majortom_cell_at(double spacing, double lon, double lat, int *row, int *col);
void ek_majortom_centroid(double spacing, int row, int col, double *lon, double *lat);
void ek_majortom_name(int row, int col, char *buf, size_t size);

/* The candidates of grid G: candidate indices [*FIRST, *END) (the plan
   lists them grid by grid). */
void ek_plan_grid_chips(const ek_plan *p, size_t g, size_t *first, size_t *end);

/* Work unit U: its grid, and in *WINDOW the window of its place on the
   lattice (every chip position of the unit, candidate or not). */
size_t ek_plan_unit_window(const ek_plan *p, size_t u, ek_window *window /* OUT */);

/* The part of modality M that holds its band B (0-based), and that band's
   number in the part's files. */
const ek_part *ek_modality_band(const ek_modality *m, int b, int *source_band);

/* The placement of source S of modality M on grid G. */
const ek_placement *ek_plan_placement(const ek_modality *m, size_t g, size_t s);

/* The geotransform of window W of grid G. */
void ek_grid_window_gt(const ek_grid *g, const ek_window *w, double gt[6]);

/* The centre of window W of grid G in the grid's CRS: the one computation
   of a chip centre (split blocks and the index must agree to the bit). */
void ek_grid_window_center(const ek_grid *g, const ek_window *w, double *x, double *y);

/* Bytes of one pixel of GDAL type T (complex types count both parts). */
int ek_dtype_size(GDALDataType t);

/* NumPy's descr of T ("|u1", "<f4", ...), or NULL when NumPy has none. */
const char *ek_dtype_numpy(GDALDataType t);

/* NumPy's name of T ("uint8", "float32", ...). */
const char *ek_dtype_name(GDALDataType t);

/*
** Open raster PATH (any GDAL name) read-only for the calling thread; NULL
** with CTX set: EODKIT_ERR_INPUT when PATH names nothing (no such file, a
** missing archive member or subdataset, a URL that is not there),
** EODKIT_ERR_IO when its server cannot be reached, else EODKIT_ERR_GDAL;
** the message says what GDAL said.
*/
GDALDatasetH ek_open_raster(eodkit_ctx *ctx, const char *path);

/* Open source S (its file, or the VRT that georeferences it) read-only for
   the calling thread; NULL with CTX set. */
GDALDatasetH ek_source_open(eodkit_ctx *ctx, const ek_source *s);

/*
** Add the inputs NAMES (N resolved GDAL names, see ek_names.h; globs for
** plain paths) of modality M to its sources, each inspected, with ids from
** *NEXT_ID on: the one place where `files` and `files_from` entries (and
** other lists of names) become sources. *COUNT is how many were added.
** Errors name the input and WHERE (the recipe position).
*/
int ek_modality_add_inputs(eodkit_ctx *ctx, ek_modality *m, char *const *names,
                           size_t n, const char *where, int *next_id,
                           size_t *count /* OUT */);

/* Inspect raster PATH of modality MR into S (size, georeferencing as MR
   says, CRS, nodata, and, with MR's time mode, the acquisition time from
   metadata or the file name, but for STAC modalities, whose items give
   it); MR NULL (a label raster) means by its geotransform, without time.
   Errors name the file and WHERE (the recipe position). */
int ek_source_inspect(eodkit_ctx *ctx, const char *path, const char *where,
                      const ek_modality_recipe *mr, ek_source *s /* OUT */);
void ek_source_clear(ek_source *s);

/* Bounds of source S in CRS (xmin, ymin, xmax, ymax). */
int ek_source_bounds(eodkit_ctx *ctx, OGRSpatialReferenceH crs, const ek_source *s,
                     double bounds[4] /* OUT */);

/* Whether pixels of source S that GDAL reports empty read as nodata
   NODATA of a modality with HAS_NODATA (they read as the file's nodata,
   or 0), so that chips over them alone hold nothing. */
int ek_source_empty_is_nodata(const ek_source *s, int has_nodata, double nodata);

/* Bounds in pixels of grid G (gx0, gy0, gx1, gy1 each) of the S->ndata
   parts of source S that hold data, into OUT (4 x S->ndata doubles). */
int ek_source_data_on_grid(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                           double *out /* OUT */);

/* Whether lon/lat bounds A and B (west, south, east, north; a west beyond
   the east crosses the antimeridian) are more than half a degree apart,
   longitudes compared around the globe. */
int ek_lonlat_apart(const double a[4], const double b[4]);

/* Place source S on grid G; one far from G (both have lon/lat bounds, and
   they are apart) is not placed: PL->reaches 0. */
int ek_source_place(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                    ek_placement *pl /* OUT */);

#endif
