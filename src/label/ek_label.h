/*
** Label: reference data onto the grids. Vector labels (any OGR layer) are
** loaded once, transformed to every grid's CRS and rasterised window by
** window with GDAL's rasteriser (burn order = feature order, as
** gdal_rasterize); raster labels are read through the reader with nearest
** resampling and remapped to class ids. Class ids live in a Byte or UInt16
** plane. The same vector machinery (ek_shapes) renders mask polygons.
*/
#ifndef EK_LABEL_H
#define EK_LABEL_H

#include <stdint.h>

#include <cpl_quad_tree.h>
#include <ogr_api.h>

#include "read/ek_read.h"

/* Features of a vector layer on every grid of a plan, each with a value to
   burn and optionally a time. */
typedef struct ek_shapes {
    size_t n; /* features kept, in layer order */
    size_t ngrids;
    OGRGeometryH
        *geoms; /* [grid * n + k], in the grid's CRS (NULL: outside its reach) */
    CPLQuadTree **trees; /* per grid */
    double *burn;        /* per feature */
    uint32_t *ids;       /* per feature: its 1-based position in the layer */
    int64_t *times;      /* per feature, or NULL */
    size_t nread;        /* features in the layer (kept or not) */
} ek_shapes;

/* What to burn for feature F: set *BURN (and *TIME when TIMES are kept);
   return 1 to keep F, 0 to skip it, or an error status (CTX set). */
typedef int (*ek_feature_fn)(void *arg, eodkit_ctx *ctx, OGRFeatureH f, double *burn,
                             int64_t *time);

/*
** Load LAYER (of file PATH) onto the grids of plan P, asking FN what each
** feature burns; WITH_TIMES keeps a time per feature. Errors name PATH and
** WHERE. Free with ek_shapes_free.
*/
int ek_shapes_load(eodkit_ctx *ctx, const ek_plan *p, OGRLayerH layer, const char *path,
                   const char *where, int with_times, ek_feature_fn fn, void *arg,
                   ek_shapes **shapes /* OUT */);
void ek_shapes_free(ek_shapes *shapes);

/* Number of features that meet some grid. */
size_t ek_shapes_on_grids(const ek_shapes *sh, const ek_plan *p);

/*
** Burn the features that meet window W of grid G into OUT (W->h x W->w of
** type T, already initialised by the caller), in feature order; only those
** whose time is *TIME when TIME is given. ALL_TOUCHED burns every pixel a
** feature touches.
*/
int ek_shapes_render(eodkit_ctx *ctx, const ek_shapes *sh, const ek_plan *p, size_t g,
                     const ek_window *w, GDALDataType t, void *out, int all_touched,
                     const int64_t *time);

/* The same, burning each feature's id (ek_shapes.ids) instead of its value,
   every feature whatever its time. */
int ek_shapes_render_ids(eodkit_ctx *ctx, const ek_shapes *sh, const ek_plan *p,
                         size_t g, const ek_window *w, GDALDataType t, void *out,
                         int all_touched);

/* Replace every point (and multipoint) feature of SH on every grid by the
   box of BW x BH CRS units centred on it (on its points' bounds). */
int ek_shapes_boxes_around_points(eodkit_ctx *ctx, ek_shapes *sh, const ek_plan *p,
                                  double bw, double bh);

typedef struct ek_class {
    int id;
    char *name;
} ek_class;

/* Label sources a build may read besides the modalities' (readers keep
   handles for source ids up to the plan's nsources + this). */
#define EK_LABEL_SOURCES 2

typedef struct ek_change ek_change;
typedef struct ek_table ek_table;

typedef struct ek_labels {
    const ek_labels_recipe *recipe;
    GDALDataType dtype; /* of the class plane: Byte, or UInt16 for ids > 255;
                           Float32 for a regression target */
    /* What ek_labels_render writes per pixel: dtype values (class ids, the
       change mask, target values), or for a table the scene number
       (UInt32, 0: no scene) */
    GDALDataType plane_type;
    ek_change *change; /* task change (change.c) */
    ek_table *table;   /* scene labels from a table (table.c) */
    int regression;    /* a regression target (target.c): NaN where unknown */
    int max_id;        /* largest id that can occur (background, ignore included) */
    ek_class *classes; /* declared classes, by id; background and ignore excluded */
    size_t nclasses;
    int discover; /* classes are whatever ids the raster holds (Byte rasters) */
    int is_raster;
    /* vector labels */
    ek_shapes *shapes;
    size_t unmapped; /* features skipped: value not in the class map */
    /* tasks with objects: ids 1 .. max_object (features in the layer) in an
       instance-id plane of object_dtype (UInt16, or UInt32 past 65535) */
    uint32_t max_object;
    GDALDataType object_dtype;
    /* raster labels */
    ek_source source;
    ek_placement *placements; /* per grid */
    int band;
    double *map_values; /* sorted raster values ... */
    int *map_ids;       /* ... and their class ids */
    size_t nmap;
} ek_labels;

/*
** Load the labels of recipe R for plan P: open the source (vector or raster),
** check the attribute or band, build the class table, check the labels
** overlap the grids. SOURCE_ID is the id the label raster gets among the
** plan's sources (for the readers' handles). Errors name the file and the
** recipe line.
*/
int ek_labels_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels **labels /* OUT */);
void ek_labels_free(ek_labels *labels);

/* ek_labels_open for one label layer or raster whatever the task (the
   class labels a change task compares). */
int ek_labels_open_source(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                          int source_id, ek_labels **labels /* OUT */);

/* The band of label raster L->source that recipe R's labels.attribute
   names (default 1) into L->band; an attribute that is not a band number,
   or a band the raster lacks, is an error naming the recipe line. */
int ek_labels_raster_band(eodkit_ctx *ctx, const ek_recipe *r, ek_labels *l);

/* Add class ID named NAME to L's classes (once per id); keeps max_id. */
int ek_labels_add_class(eodkit_ctx *ctx, ek_labels *l, int id, const char *name);

/* L's classes from its recipe's labels.classes (and class_names). */
int ek_labels_map_classes(eodkit_ctx *ctx, ek_labels *l);

/* ---- task regression (target.c) ---- */

/* Open the target raster of recipe R (regression) into L (zeroed but for
   its recipe): band, nodata, placements; a target that needs resampling
   must say how (labels.resampling). */
int ek_target_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels *l);

/* Target values of window W of grid G into OUT (Float32), NaN where the
   target has no value; RAW_VALID is scratch. */
int ek_target_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, uint8_t *raw_valid,
                     void *out);

/* ---- task change (change.c) ---- */

/* The class labels a change task compares. */
struct ek_change {
    ek_labels *before;       /* the change layer, or the source before */
    ek_labels *after;        /* the source after, or NULL */
    ek_recipe after_recipe;  /* R with labels.source the after source (AFTER's
                                recipe points into it; shares R's strings) */
    GDALDataType class_type; /* of the before and after class planes */
    ek_class *classes;       /* the sources' classes (both), by id */
    size_t nclasses;
    int max_class_id;
};

/* Open the labels of change task R into L: the change layer, or the
   sources before and after (whose class ids must agree). L's classes are
   the change mask's: 1 (change), with 0 (no change) as background. */
int ek_change_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels *l);
void ek_change_free(ek_change *c);

/* The change mask of window W of grid G into OUT (L->dtype): 1 where the
   classes before and after differ (a change layer: where it has a class),
   0 where not, the ignore index where either is ignored. With two sources
   and PAIR given, the class planes before and after go to PAIR (two planes
   of class_type). RAW and RAW_VALID as for ek_labels_render. */
int ek_change_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, void *raw,
                     uint8_t *raw_valid, void *out, void *pair);

/* ---- scene labels from a table (table.c) ---- */

/* Open labels.table of R for plan P into L: read the table, match its rows
   to the scenes (files of the scene modality), map its labels to classes.
   A row that matches no scene, or two rows for one scene, is an error. */
int ek_table_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, ek_labels *l);
void ek_table_free(ek_table *t);

/* Scene numbers (1-based; 0: no labelled scene) of window W of grid G into
   OUT (UInt32): a pixel belongs to the last scene whose bounds hold its
   centre. */
void ek_table_render(const ek_labels *l, const ek_plan *p, size_t g, const ek_window *w,
                     void *out);

/* The labels of scene number S (1-based): *IDS (class ids, ascending) and
 *N. */
void ek_table_scene_labels(const ek_labels *l, uint32_t s, const int **ids, size_t *n);

/* The name of scene number S (for messages). */
const char *ek_table_scene_name(const ek_labels *l, uint32_t s);

/*
** Render the class ids of window W of grid G into OUT (W->h x W->w of
** labels->dtype); unlabelled pixels get the background id. RAW and RAW_VALID
** are scratch planes of the window for raster labels (NULL for vectors);
** READER reads them.
*/
int ek_labels_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, void *raw,
                     uint8_t *raw_valid, void *out);

/* ---- objects (objects.c) ---- */

/* One object (a feature) as one chip sees it. */
typedef struct ek_object {
    uint32_t id;       /* the feature's 1-based position in the label layer */
    int cls;           /* its class id */
    float box[4];      /* x_min, y_min, x_max, y_max: chip pixels, clipped */
    float obb[8];      /* minimum rotated rectangle of the clipped object (x, y
                          of 4 corners, clockwise from the top one) */
    float visible;     /* share of the object's area inside the chip */
    uint8_t truncated; /* part of the object lies outside the chip */
} ek_object;

/*
** The objects of labels L (a task with objects) on chip window CW of grid G:
** each feature meeting the chip whose area inside it is at least
** min_visibility of its whole area, in feature order, appended to *OBJS
** (grown as needed: *CAP slots, *N used). The rotated rectangles are made
** only when the recipe asks (oriented). Thread-safe: reads L only.
*/
int ek_labels_objects(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                      const ek_window *cw, ek_object **objs, size_t *n, size_t *cap);

#endif
