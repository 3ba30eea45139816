/*
** Read + align: put the pixels of a set of input rasters onto a window of
** the target grid. Sources already on the grid are read directly (a pure
** window read); the others go through GDAL's warper with the scales pinned
** in the plan, so a window's pixels never depend on how the grid was cut
** into windows. One reader per worker thread: it owns its GDAL handles.
*/
#ifndef EK_READ_H
#define EK_READ_H

#include <stdint.h>

#include "grid/ek_plan.h"

/* What to read: sources (mosaicked in order, later ones win), bands and the
   output's data type, resampling and nodata. */
typedef struct ek_raster_spec {
    const ek_source *sources;
    size_t nsources;
    const int *bands; /* 1-based, nbands entries */
    int nbands;
    GDALDataType dtype;
    int resampling; /* GDALResampleAlg */
    int has_nodata; /* nodata value of the output (and of sources without their own) */
    double nodata;
    int override_nodata; /* NODATA also applies to sources that declare another one */
    double error_threshold; /* approximate transformer error, pixels; 0 = exact */
} ek_raster_spec;

typedef struct ek_reader ek_reader;

/* Spec of modality M of plan P. */
ek_raster_spec ek_modality_spec(const ek_plan *p, const ek_modality *m);

/*
** A reader of SPEC for windows up to MAX_W x MAX_H pixels of grid G. SPEC
** and G must outlive the reader. GDAL datasets are opened on first use, by
** the thread that uses the reader.
*/
int ek_reader_new(eodkit_ctx *ctx, const ek_raster_spec *spec, const ek_grid *g,
                  int max_w, int max_h, ek_reader **reader /* OUT */);
void ek_reader_free(ek_reader *reader);

/*
** Read window W into DATA (band-sequential: nbands planes of W->h x W->w
** pixels of spec->dtype) and VALID (W->h x W->w: 1 where a source covers the
** pixel and no band equals the nodata value). Uncovered pixels hold the
** nodata value, or 0 without one.
*/
int ek_reader_read(eodkit_ctx *ctx, ek_reader *reader, const ek_window *w, void *data,
                   uint8_t *valid);

/* Value I of a buffer of type T, as a double. */
double ek_pixel_get(const void *buf, GDALDataType t, size_t i);

/* Store V at index I of a buffer of type T. */
void ek_pixel_set(void *buf, GDALDataType t, size_t i, double v);

#endif
