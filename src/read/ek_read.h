/*
** Read + align: put the pixels of input rasters onto a window of a target
** grid. Sources already on the grid are read directly (a pure window read);
** the others go through GDAL's warper with the scales pinned in the plan, so
** a window's pixels never depend on how the grid was cut into windows.
** Several sources are composited in the order given, later ones winning
** where they have data (gdalwarp's rule). SAR values are resampled as
** linear power: complex samples are detected (|z|^2) before resampling and
** decibels are undone (10^(v/10)) before a method that combines samples;
** amplitude and decibels are computed after. One reader per worker thread:
** it owns its GDAL handles and scratch buffers.
*/
#ifndef EK_READ_H
#define EK_READ_H

#include <stdint.h>

#include "grid/ek_plan.h"

/* One read: which files, which bands, onto which grid window. */
typedef struct ek_read_request {
    const ek_grid *grid;
    const ek_source *const *sources;       /* composited in this order */
    const ek_placement *const *placements; /* of each source on GRID */
    size_t nsources;
    const int *bands; /* 1-based, nbands entries, the same in every source */
    int nbands;
    GDALDataType dtype;     /* of the output planes */
    GDALDataType read_type; /* of the files; complex is converted to DTYPE */
    ek_complex complex;     /* amplitude or intensity, for complex data */
    int decibels;   /* values are dB: warps that combine samples average power */
    int resampling; /* GDALResampleAlg */
    int has_nodata; /* nodata value of the output (and of sources without their own) */
    double nodata;
    int override_nodata; /* NODATA also applies to sources that declare another one */
    double error_threshold; /* approximate transformer error, pixels; 0 = exact */
} ek_read_request;

typedef struct ek_reader ek_reader;

/*
** A reader for windows up to MAX_W x MAX_H pixels of NBANDS bands, for
** sources with ids below NSOURCES. GDAL datasets are opened on first use, by
** the thread that uses the reader.
*/
int ek_reader_new(eodkit_ctx *ctx, int nsources, int max_w, int max_h, int nbands,
                  ek_reader **reader /* OUT */);
void ek_reader_free(ek_reader *reader);

/*
** Read window W of REQ into DATA (band-sequential: nbands planes of W->h x
** W->w pixels of req->dtype) and VALID (W->h x W->w: 1 where a source covers
** the pixel and no band equals the nodata value). Uncovered pixels hold the
** nodata value, or 0 without one. Later sources paint over earlier ones.
*/
int ek_reader_read(eodkit_ctx *ctx, ek_reader *reader, const ek_read_request *req,
                   const ek_window *w, void *data, uint8_t *valid);

/* Value I of a buffer of type T, as a double. */
double ek_pixel_get(const void *buf, GDALDataType t, size_t i);

/* Store V at index I of a buffer of type T. */
void ek_pixel_set(void *buf, GDALDataType t, size_t i, double v);

#endif
