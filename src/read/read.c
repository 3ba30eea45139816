/*
** Read + align: window reads of input rasters onto the target grid.
** Aligned sources are read with RasterIO; others are warped with GDAL's
** warper into a MEM dataset wrapping our own buffers, with a destination
** alpha band telling which pixels a source covered. Several sources are
** composited in order (gdalwarp's "later files win").
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include "ek_read.h"

struct ek_reader {
    const ek_raster_spec *spec;
    const ek_grid *grid;
    GDALDatasetH *handles; /* per source, opened lazily */
    GDALDriverH mem;
    size_t plane_max;       /* pixels of the largest window */
    unsigned char *scratch; /* one source's bands */
    uint8_t *scratch_valid;
    int dsize;
};

double ek_pixel_get(const void *buf, GDALDataType t, size_t i)
{
    switch (t) {
    case GDT_Byte:
        return ((const uint8_t *)buf)[i];
    case GDT_UInt16:
        return ((const uint16_t *)buf)[i];
    case GDT_Int16:
        return ((const int16_t *)buf)[i];
    case GDT_UInt32:
        return ((const uint32_t *)buf)[i];
    case GDT_Int32:
        return ((const int32_t *)buf)[i];
    case GDT_Float32:
        return ((const float *)buf)[i];
    case GDT_Float64:
        return ((const double *)buf)[i];
    default:
        return 0;
    }
}

void ek_pixel_set(void *buf, GDALDataType t, size_t i, double v)
{
    switch (t) {
    case GDT_Byte:
        ((uint8_t *)buf)[i] = (uint8_t)v;
        break;
    case GDT_UInt16:
        ((uint16_t *)buf)[i] = (uint16_t)v;
        break;
    case GDT_Int16:
        ((int16_t *)buf)[i] = (int16_t)v;
        break;
    case GDT_UInt32:
        ((uint32_t *)buf)[i] = (uint32_t)v;
        break;
    case GDT_Int32:
        ((int32_t *)buf)[i] = (int32_t)v;
        break;
    case GDT_Float32:
        ((float *)buf)[i] = (float)v;
        break;
    case GDT_Float64:
        ((double *)buf)[i] = v;
        break;
    default:
        break;
    }
}

ek_raster_spec ek_modality_spec(const ek_plan *p, const ek_modality *m)
{
    ek_raster_spec s;

    memset(&s, 0, sizeof s);
    s.sources = m->sources;
    s.nsources = m->nsources;
    s.bands = m->bands;
    s.nbands = m->nbands;
    s.dtype = m->dtype;
    s.resampling = m->recipe->resampling;
    s.has_nodata = m->has_nodata;
    s.nodata = m->nodata;
    s.override_nodata = m->recipe->has_nodata;
    s.error_threshold = p->recipe->error_threshold;
    return s;
}

int ek_reader_new(eodkit_ctx *ctx, const ek_raster_spec *spec, const ek_grid *g,
                  int max_w, int max_h, ek_reader **reader)
{
    ek_reader *rd = ek_calloc(ctx, 1, sizeof *rd);

    *reader = NULL;
    if (rd == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rd->spec = spec;
    rd->grid = g;
    rd->dsize = GDALGetDataTypeSizeBytes(spec->dtype);
    rd->plane_max = (size_t)max_w * (size_t)max_h;
    rd->mem = GDALGetDriverByName("MEM");
    rd->handles = ek_calloc(ctx, spec->nsources, sizeof *rd->handles);
    rd->scratch =
        ek_calloc(ctx, rd->plane_max * (size_t)spec->nbands, (size_t)rd->dsize);
    rd->scratch_valid = ek_calloc(ctx, rd->plane_max, 1);
    if (rd->handles == NULL || rd->scratch == NULL || rd->scratch_valid == NULL ||
        rd->mem == NULL) {
        ek_reader_free(rd);
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory for read buffers");
    }
    *reader = rd;
    return EODKIT_OK;
}

void ek_reader_free(ek_reader *rd)
{
    size_t i;

    if (rd == NULL) {
        return;
    }
    for (i = 0; rd->handles != NULL && i < rd->spec->nsources; i++) {
        if (rd->handles[i] != NULL) {
            GDALClose(rd->handles[i]);
        }
    }
    free(rd->handles);
    free(rd->scratch);
    free(rd->scratch_valid);
    free(rd);
}

static GDALDatasetH handle(eodkit_ctx *ctx, ek_reader *rd, size_t i)
{
    if (rd->handles[i] == NULL) {
        rd->handles[i] = ek_open_raster(ctx, rd->spec->sources[i].path);
    }
    return rd->handles[i];
}

/* Nodata value of source S as the reader must honour it, if any. */
static int source_nodata(const ek_raster_spec *spec, const ek_source *s, double *v)
{
    if (spec->override_nodata || (!s->has_nodata && spec->has_nodata)) {
        *v = spec->nodata;
        return spec->has_nodata;
    }
    *v = s->nodata;
    return s->has_nodata;
}

static int read_aligned(eodkit_ctx *ctx, ek_reader *rd, size_t i, const ek_window *w)
{
    const ek_source *s = &rd->spec->sources[i];
    int sx0 = w->x - s->dx, sy0 = w->y - s->dy;
    int x0 = sx0 < 0 ? 0 : sx0, y0 = sy0 < 0 ? 0 : sy0;
    int x1 = sx0 + w->w > s->width ? s->width : sx0 + w->w;
    int y1 = sy0 + w->h > s->height ? s->height : sy0 + w->h;
    size_t plane = (size_t)w->w * (size_t)w->h;
    GDALDatasetH ds;
    unsigned char *dst;
    int y;

    if (x0 >= x1 || y0 >= y1) {
        return EODKIT_OK;
    }
    ds = handle(ctx, rd, i);
    if (ds == NULL) {
        return eodkit_ctx_status(ctx);
    }
    dst = rd->scratch +
          (((size_t)(y0 - sy0) * (size_t)w->w) + (size_t)(x0 - sx0)) * rd->dsize;
    if (GDALDatasetRasterIO(ds, GF_Read, x0, y0, x1 - x0, y1 - y0, dst, x1 - x0,
                            y1 - y0, rd->spec->dtype, rd->spec->nbands,
                            (int *)rd->spec->bands, rd->dsize,
                            (GSpacing)w->w * rd->dsize,
                            (GSpacing)(plane * (size_t)rd->dsize)) != CE_None) {
        return ek_error_gdal(ctx, "%s: read failed at pixel %d,%d", s->path, x0, y0);
    }
    for (y = y0; y < y1; y++) {
        memset(rd->scratch_valid + (size_t)(y - sy0) * (size_t)w->w +
                   (size_t)(x0 - sx0),
               1, (size_t)(x1 - x0));
    }
    return EODKIT_OK;
}

static int read_warped(eodkit_ctx *ctx, ek_reader *rd, size_t i, const ek_window *w)
{
    const ek_raster_spec *spec = rd->spec;
    const ek_source *s = &spec->sources[i];
    size_t plane = (size_t)w->w * (size_t)w->h;
    GDALDatasetH src, dst = NULL;
    GDALWarpOptions *wo = NULL;
    GDALWarpOperationH op = NULL;
    void *gen = NULL;
    double gt[6], nodata;
    char option[64];
    int b, rc = EODKIT_OK;

    src = handle(ctx, rd, i);
    if (src == NULL) {
        return eodkit_ctx_status(ctx);
    }
    dst = GDALCreate(rd->mem, "", w->w, w->h, 0, spec->dtype, NULL);
    if (dst == NULL) {
        return ek_error_gdal(ctx, "cannot create a MEM dataset");
    }
    for (b = 0; b <= spec->nbands; b++) {
        void *ptr = b < spec->nbands
                        ? (void *)(rd->scratch + b * plane * (size_t)rd->dsize)
                        : (void *)rd->scratch_valid;
        char *opts[2] = {option, NULL};

        snprintf(option, sizeof option, "DATAPOINTER=%p", ptr);
        GDALAddBand(dst, b < spec->nbands ? spec->dtype : GDT_Byte, opts);
    }
    ek_grid_window_gt(rd->grid, w, gt);
    GDALSetGeoTransform(dst, gt);
    GDALSetProjection(dst, rd->grid->wkt);

    wo = GDALCreateWarpOptions();
    wo->hSrcDS = src;
    wo->hDstDS = dst;
    wo->eResampleAlg = (GDALResampleAlg)spec->resampling;
    wo->nBandCount = spec->nbands;
    wo->panSrcBands = CPLMalloc(sizeof(int) * (size_t)spec->nbands);
    wo->panDstBands = CPLMalloc(sizeof(int) * (size_t)spec->nbands);
    for (b = 0; b < spec->nbands; b++) {
        wo->panSrcBands[b] = spec->bands[b];
        wo->panDstBands[b] = b + 1;
    }
    wo->nDstAlphaBand = spec->nbands + 1;
    if (source_nodata(spec, s, &nodata)) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * (size_t)spec->nbands);
        for (b = 0; b < spec->nbands; b++) {
            wo->padfSrcNoDataReal[b] = nodata;
        }
    }
    if (spec->has_nodata) {
        wo->padfDstNoDataReal = CPLMalloc(sizeof(double) * (size_t)spec->nbands);
        for (b = 0; b < spec->nbands; b++) {
            wo->padfDstNoDataReal[b] = spec->nodata;
        }
    }
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST",
                                           spec->has_nodata ? "NO_DATA" : "0");
    snprintf(option, sizeof option, "%.17g", s->xscale);
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "XSCALE", option);
    snprintf(option, sizeof option, "%.17g", s->yscale);
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "YSCALE", option);

    gen = GDALCreateGenImgProjTransformer2(src, dst, NULL);
    if (gen == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot transform it to the grid", s->path);
        goto out;
    }
    if (spec->error_threshold > 0) {
        wo->pTransformerArg = GDALCreateApproxTransformer(GDALGenImgProjTransform, gen,
                                                          spec->error_threshold);
        wo->pfnTransformer = GDALApproxTransform;
        GDALApproxTransformerOwnsSubtransformer(wo->pTransformerArg, TRUE);
    } else {
        wo->pTransformerArg = gen;
        wo->pfnTransformer = GDALGenImgProjTransform;
    }
    gen = NULL;
    op = GDALCreateWarpOperation(wo);
    if (op == NULL || GDALChunkAndWarpImage(op, 0, 0, w->w, w->h) != CE_None) {
        rc = ek_error_gdal(ctx, "%s: warping onto the grid failed", s->path);
        goto out;
    }
    /* The alpha band (0..255) becomes the 0/1 validity mask. */
    for (size_t px = 0; px < plane; px++) {
        rd->scratch_valid[px] = rd->scratch_valid[px] != 0;
    }
out:
    if (op != NULL) {
        GDALDestroyWarpOperation(op);
    }
    if (wo != NULL) {
        if (wo->pTransformerArg != NULL) {
            GDALDestroyTransformer(wo->pTransformerArg);
        }
        GDALDestroyWarpOptions(wo);
    }
    if (gen != NULL) {
        GDALDestroyGenImgProjTransformer(gen);
    }
    GDALClose(dst);
    return rc;
}

/* Mark pixels whose value equals the nodata value in any band as invalid. */
static void drop_nodata(const ek_raster_spec *spec, double nodata, unsigned char *data,
                        uint8_t *valid, size_t plane)
{
    size_t px;
    int b;

    for (b = 0; b < spec->nbands; b++) {
        const unsigned char *band =
            data + (size_t)b * plane * (size_t)GDALGetDataTypeSizeBytes(spec->dtype);

        for (px = 0; px < plane; px++) {
            double v = ek_pixel_get(band, spec->dtype, px);

            if (valid[px] && (v == nodata || (isnan(nodata) && isnan(v)))) {
                valid[px] = 0;
            }
        }
    }
}

/* Copy the valid pixels of the scratch buffers over DATA/VALID. */
static void composite(ek_reader *rd, size_t plane, unsigned char *data, uint8_t *valid,
                      int first)
{
    size_t ds = (size_t)rd->dsize, px;
    int b;

    if (first) {
        memcpy(data, rd->scratch, plane * ds * (size_t)rd->spec->nbands);
        memcpy(valid, rd->scratch_valid, plane);
        return;
    }
    for (px = 0; px < plane; px++) {
        if (!rd->scratch_valid[px]) {
            continue;
        }
        valid[px] = 1;
        for (b = 0; b < rd->spec->nbands; b++) {
            memcpy(data + ((size_t)b * plane + px) * ds,
                   rd->scratch + ((size_t)b * plane + px) * ds, ds);
        }
    }
}

/* Fill the scratch planes with the output's nodata value (or 0). */
static void clear_scratch(ek_reader *rd, size_t plane)
{
    size_t n = plane * (size_t)rd->spec->nbands, px;

    memset(rd->scratch_valid, 0, plane);
    if (!rd->spec->has_nodata || rd->spec->nodata == 0) {
        memset(rd->scratch, 0, n * (size_t)rd->dsize);
        return;
    }
    for (px = 0; px < n; px++) {
        ek_pixel_set(rd->scratch, rd->spec->dtype, px, rd->spec->nodata);
    }
}

int ek_reader_read(eodkit_ctx *ctx, ek_reader *rd, const ek_window *w, void *data,
                   uint8_t *valid)
{
    const ek_raster_spec *spec = rd->spec;
    size_t plane = (size_t)w->w * (size_t)w->h, i;
    int painted = 0, rc;

    if (plane > rd->plane_max) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL,
                        "window %dx%d exceeds the reader's buffers", w->w, w->h);
    }
    for (i = 0; i < spec->nsources; i++) {
        const ek_source *s = &spec->sources[i];
        double nodata;

        /* One pixel of slack for resampling kernels reaching across edges. */
        if (s->gx1 < w->x - 1 || s->gx0 > w->x + w->w + 1 || s->gy1 < w->y - 1 ||
            s->gy0 > w->y + w->h + 1) {
            continue;
        }
        clear_scratch(rd, plane);
        rc = s->aligned ? read_aligned(ctx, rd, i, w) : read_warped(ctx, rd, i, w);
        if (rc != EODKIT_OK) {
            return rc;
        }
        /* The warper already skips source nodata; direct reads must. */
        if (s->aligned && source_nodata(spec, s, &nodata)) {
            drop_nodata(spec, nodata, rd->scratch, rd->scratch_valid, plane);
        }
        composite(rd, plane, data, valid, !painted);
        painted = 1;
    }
    if (!painted) {
        clear_scratch(rd, plane);
        composite(rd, plane, data, valid, 1);
    }
    /* A resampled value may equal the output's nodata value by chance: it
       then is nodata for every reader of the dataset, so say so here too. */
    if (spec->has_nodata) {
        drop_nodata(spec, spec->nodata, data, valid, plane);
    }
    return EODKIT_OK;
}
