/*
** Label: reference data onto the grid. Vector labels (any OGR layer) are
** loaded once, transformed to the grid CRS and rasterised window by window
** with GDAL's rasteriser (burn order = feature order, as gdal_rasterize);
** raster labels are read through the reader with nearest resampling and
** remapped to class ids. Class ids live in a Byte or UInt16 plane.
*/
#ifndef EK_LABEL_H
#define EK_LABEL_H

#include <stdint.h>

#include <cpl_quad_tree.h>
#include <ogr_api.h>

#include "read/ek_read.h"

typedef struct ek_class {
    int id;
    char *name;
} ek_class;

typedef struct ek_labels {
    const ek_labels_recipe *recipe;
    GDALDataType dtype; /* of the class plane: Byte, or UInt16 for ids > 255 */
    int max_id;         /* largest id that can occur (background included) */
    ek_class *classes;  /* declared classes, by id; background not included */
    size_t nclasses;
    int discover; /* classes are whatever ids the raster holds (Byte rasters) */
    int is_raster;
    /* vector labels */
    OGRGeometryH *geoms; /* in the grid CRS, in feature order */
    double *burn;
    size_t ngeoms;
    CPLQuadTree *tree;
    size_t unmapped; /* features skipped: value not in the class map */
    /* raster labels */
    ek_source source;
    ek_raster_spec spec;
    int band;
    double *map_values; /* sorted raster values ... */
    int *map_ids;       /* ... and their class ids */
    size_t nmap;
} ek_labels;

/*
** Load the labels of recipe R for plan P: open the source (vector or raster),
** check the attribute or band, build the class table, check the labels
** overlap the grid. Errors name the file and the recipe line.
*/
int ek_labels_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                   ek_labels **labels /* OUT */);
void ek_labels_free(ek_labels *labels);

/* Per-thread state for rendering labels (GDAL handles, buffers). */
typedef struct ek_label_worker ek_label_worker;

int ek_label_worker_new(eodkit_ctx *ctx, const ek_labels *labels, const ek_plan *p,
                        ek_label_worker **worker /* OUT */);
void ek_label_worker_free(ek_label_worker *worker);

/* Render the class ids of window W into OUT (W->h x W->w of labels->dtype);
   unlabelled pixels get the background id. */
int ek_labels_render(eodkit_ctx *ctx, ek_label_worker *worker, const ek_window *w,
                     void *out);

#endif
