/*
** Read + align: window reads of input rasters onto a grid. Aligned sources
** are read with RasterIO; others are warped with GDAL's warper into a MEM
** dataset wrapping our own buffers, with a destination alpha band telling
** which pixels a source covered. SAR values that must be resampled as
** linear power are read through a VRT computing it (complex data detected,
** decibels undone) and converted back after. Sources are composited in
** request order.
*/
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdal_vrt.h>
#include <gdalwarper.h>

#include "ek_read.h"
#include "ek_remote.h"

/* Largest pixel: a complex double. */
#define MAX_PIXEL_BYTES 16

/* Name of the VRT pixel function computing linear power (power_pixels). */
#define POWER_FUNCTION "eodkit_linear_power"

struct ek_reader {
    GDALDatasetH *handles; /* per source id, opened lazily */
    GDALDatasetH *power;   /* per source id: a VRT of its linear power, or NULL */
    int nsources;
    GDALDriverH mem;
    size_t plane_max; /* pixels of the largest window */
    int nbands_max;
    unsigned char *scratch; /* one source's bands */
    uint8_t *scratch_valid;
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

/* VRT pixel function (GDALDerivedPixelFuncWithArgs) giving the linear power
   of one band read as CFloat64 (complex samples, detected: re^2 + im^2) or
   as Float64 (decibels: 10^(v/10)). Pixels equal to the band's nodata value
   (GDAL passes it as the builtin argument NoData), and NaN or infinite
   ones (never data: -inf dB would be a power of 0), become NaN, the
   nodata mark of power: no power is NaN, so no pixel is taken for nodata
   by chance. */
static CPLErr power_pixels(void **sources, int nsources, void *data, int w, int h,
                           GDALDataType src_type, GDALDataType buf_type,
                           int pixel_space, int line_space, CSLConstList args)
{
    const char *text = CSLFetchNameValue(args, "NoData");
    double nodata = text != NULL ? CPLAtof(text) : NAN;
    const double *in = sources[0];
    int x, y;

    if (nsources != 1) {
        return CE_Failure;
    }
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            double v;

            if (src_type == GDT_CFloat64) {
                double re = in[2 * i], im = in[2 * i + 1];

                v = re == nodata && im == 0 ? NAN : re * re + im * im;
            } else {
                v = in[i] == nodata || !isfinite(in[i]) ? NAN : pow(10.0, in[i] / 10.0);
            }
            if (!isfinite(v)) {
                v = NAN;
            }
            GDALCopyWords(&v, GDT_Float64, 0,
                          (GByte *)data + (ptrdiff_t)y * line_space +
                              (ptrdiff_t)x * pixel_space,
                          buf_type, 0, 1);
        }
    }
    return CE_None;
}

static void register_power_function(void)
{
    GDALAddDerivedBandPixelFuncWithArgs(
        POWER_FUNCTION, power_pixels,
        "<PixelFunctionArgumentsList><Argument type='builtin' value='NoData'/>"
        "</PixelFunctionArgumentsList>");
}

int ek_reader_new(eodkit_ctx *ctx, int nsources, int max_w, int max_h, int nbands,
                  ek_reader **reader)
{
    static pthread_once_t registered = PTHREAD_ONCE_INIT;
    ek_reader *rd = ek_calloc(ctx, 1, sizeof *rd);
    size_t ids = (size_t)(nsources > 0 ? nsources : 1);

    *reader = NULL;
    if (rd == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    pthread_once(&registered, register_power_function);
    rd->nsources = nsources;
    rd->plane_max = (size_t)max_w * (size_t)max_h;
    rd->nbands_max = nbands;
    rd->mem = GDALGetDriverByName("MEM");
    rd->handles = ek_calloc(ctx, ids, sizeof *rd->handles);
    rd->power = ek_calloc(ctx, ids, sizeof *rd->power);
    rd->scratch = ek_calloc(ctx, rd->plane_max * (size_t)nbands, MAX_PIXEL_BYTES);
    rd->scratch_valid = ek_calloc(ctx, rd->plane_max, 1);
    if (rd->handles == NULL || rd->power == NULL || rd->scratch == NULL ||
        rd->scratch_valid == NULL || rd->mem == NULL) {
        ek_reader_free(rd);
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory for read buffers");
    }
    *reader = rd;
    return EODKIT_OK;
}

/* Close the reader's handles of source ID, if open: its power VRT first,
   since that VRT reads the file's handle. */
static void close_source(ek_reader *rd, int id)
{
    if (rd->power[id] != NULL) {
        GDALClose(rd->power[id]);
        rd->power[id] = NULL;
    }
    if (rd->handles[id] != NULL) {
        GDALClose(rd->handles[id]);
        rd->handles[id] = NULL;
    }
}

void ek_reader_free(ek_reader *rd)
{
    int i;

    if (rd == NULL) {
        return;
    }
    for (i = 0; rd->handles != NULL && rd->power != NULL && i < rd->nsources; i++) {
        close_source(rd, i);
    }
    free(rd->handles);
    free(rd->power);
    free(rd->scratch);
    free(rd->scratch_valid);
    free(rd);
}

static GDALDatasetH handle(eodkit_ctx *ctx, ek_reader *rd, const ek_source *s)
{
    if (rd->handles[s->id] == NULL) {
        rd->handles[s->id] = ek_source_open(ctx, s);
    }
    return rd->handles[s->id];
}

/* Nodata value of source S as the reader must honour it, if any. */
static int source_nodata(const ek_read_request *req, const ek_source *s, double *v)
{
    if (req->override_nodata || (!s->has_nodata && req->has_nodata)) {
        *v = req->nodata;
        return req->has_nodata;
    }
    *v = s->nodata;
    return s->has_nodata;
}

/* How a source's pixels are read. */
typedef struct source_pixels {
    GDALDatasetH ds;   /* the file, or the VRT of its linear power */
    GDALDataType type; /* of the pixels read */
    int power;         /* DS gives linear power: Float64, NaN where nodata */
} source_pixels;

/* The linear power of source S as REQ reads it: a VRT with one Float64 band
   per band of S, computed by power_pixels from the reader's own handle of
   S, with the nodata value REQ honours for S (if any). Owned by the reader. */
static GDALDatasetH power_dataset(eodkit_ctx *ctx, ek_reader *rd,
                                  const ek_read_request *req, const ek_source *s)
{
    char *options[] = {"subclass=VRTDerivedRasterBand",
                       "PixelFunctionType=" POWER_FUNCTION,
                       req->complex != EK_COMPLEX_REFUSE ? "SourceTransferType=CFloat64"
                                                         : "SourceTransferType=Float64",
                       NULL};
    GDALDatasetH raw = handle(ctx, rd, s), vrt;
    double nodata;
    int b, has_nodata = source_nodata(req, s, &nodata);

    if (raw == NULL || rd->power[s->id] != NULL) {
        return raw == NULL ? NULL : rd->power[s->id];
    }
    vrt = VRTCreate(s->width, s->height);
    for (b = 1; vrt != NULL && b <= s->band_count; b++) {
        GDALRasterBandH band;

        if (GDALAddBand(vrt, GDT_Float64, options) != CE_None) {
            GDALClose(vrt);
            vrt = NULL;
            break;
        }
        band = GDALGetRasterBand(vrt, b);
        VRTAddSimpleSource(band, GDALGetRasterBand(raw, b), 0, 0, s->width, s->height,
                           0, 0, s->width, s->height, NULL, VRT_NODATA_UNSET);
        /* GDAL needs one to pass it: NaN equals no pixel */
        GDALSetRasterNoDataValue(band, has_nodata ? nodata : NAN);
    }
    if (vrt == NULL) {
        ek_error_gdal(ctx, "%s: cannot compute its linear power", s->path);
    }
    rd->power[s->id] = vrt;
    return vrt;
}

/* Resampling methods that select one of the samples; they select the same
   one in decibels as in power (10^(v/10) is monotone). The others combine
   samples. */
static int selects_a_sample(int alg)
{
    switch (alg) {
    case GRA_NearestNeighbour:
    case GRA_Mode:
    case GRA_Min:
    case GRA_Max:
    case GRA_Med:
    case GRA_Q1:
    case GRA_Q3:
        return 1;
    default:
        return 0;
    }
}

/* How source I of REQ is read, into *SP: complex data as its detected
   power, always (detection comes first); decibels as power when warped by
   a method that combines samples; anything else as it is. */
static int pick_pixels(eodkit_ctx *ctx, ek_reader *rd, const ek_read_request *req,
                       size_t i, source_pixels *sp)
{
    const ek_source *s = req->sources[i];

    sp->power = req->complex != EK_COMPLEX_REFUSE ||
                (req->decibels && !req->placements[i]->aligned &&
                 !selects_a_sample(req->resampling));
    sp->type = sp->power ? GDT_Float64 : req->read_type;
    sp->ds = sp->power ? power_dataset(ctx, rd, req, s) : handle(ctx, rd, s);
    return sp->ds == NULL ? eodkit_ctx_status(ctx) : EODKIT_OK;
}

static int read_aligned(eodkit_ctx *ctx, ek_reader *rd, const ek_read_request *req,
                        size_t i, const ek_window *w, const source_pixels *sp)
{
    const ek_source *s = req->sources[i];
    const ek_placement *pl = req->placements[i];
    int rsize = GDALGetDataTypeSizeBytes(sp->type);
    int sx0 = w->x - pl->dx, sy0 = w->y - pl->dy;
    int x0 = sx0 < 0 ? 0 : sx0, y0 = sy0 < 0 ? 0 : sy0;
    int x1 = sx0 + w->w > s->width ? s->width : sx0 + w->w;
    int y1 = sy0 + w->h > s->height ? s->height : sy0 + w->h;
    size_t plane = (size_t)w->w * (size_t)w->h;
    unsigned char *dst;
    int y;

    if (x0 >= x1 || y0 >= y1) {
        return EODKIT_OK;
    }
    dst = rd->scratch +
          (((size_t)(y0 - sy0) * (size_t)w->w) + (size_t)(x0 - sx0)) * rsize;
    if (GDALDatasetRasterIO(sp->ds, GF_Read, x0, y0, x1 - x0, y1 - y0, dst, x1 - x0,
                            y1 - y0, sp->type, req->nbands, (int *)req->bands, rsize,
                            (GSpacing)w->w * rsize,
                            (GSpacing)(plane * (size_t)rsize)) != CE_None) {
        return ek_error_gdal(ctx, "%s: read failed at pixel %d,%d", s->path, x0, y0);
    }
    for (y = y0; y < y1; y++) {
        memset(rd->scratch_valid + (size_t)(y - sy0) * (size_t)w->w +
                   (size_t)(x0 - sx0),
               1, (size_t)(x1 - x0));
    }
    return EODKIT_OK;
}

static int read_warped(eodkit_ctx *ctx, ek_reader *rd, const ek_read_request *req,
                       size_t i, const ek_window *w, const source_pixels *sp)
{
    const ek_source *s = req->sources[i];
    const ek_placement *pl = req->placements[i];
    size_t plane = (size_t)w->w * (size_t)w->h, px;
    int rsize = GDALGetDataTypeSizeBytes(sp->type);
    GDALDatasetH src, dst = NULL;
    GDALWarpOptions *wo = NULL;
    GDALWarpOperationH op = NULL;
    void *gen = NULL;
    double gt[6], nodata = NAN; /* NaN marks nodata in power */
    char option[64];
    int b, rc = EODKIT_OK;
    int has_nodata = sp->power || source_nodata(req, s, &nodata);

    src = handle(ctx, rd, s);
    if (src == NULL) {
        return eodkit_ctx_status(ctx);
    }
    dst = GDALCreate(rd->mem, "", w->w, w->h, 0, sp->type, NULL);
    if (dst == NULL) {
        return ek_error_gdal(ctx, "cannot create a MEM dataset");
    }
    for (b = 0; b <= req->nbands; b++) {
        void *ptr = b < req->nbands
                        ? (void *)(rd->scratch + (size_t)b * plane * (size_t)rsize)
                        : (void *)rd->scratch_valid;
        char *opts[2] = {option, NULL};

        snprintf(option, sizeof option, "DATAPOINTER=%p", ptr);
        GDALAddBand(dst, b < req->nbands ? sp->type : GDT_Byte, opts);
    }
    ek_grid_window_gt(req->grid, w, gt);
    GDALSetGeoTransform(dst, gt);
    GDALSetProjection(dst, req->grid->wkt);

    wo = GDALCreateWarpOptions();
    wo->hSrcDS = sp->ds; /* the pixels; SRC, the file, gives the georeferencing */
    wo->hDstDS = dst;
    wo->eResampleAlg = (GDALResampleAlg)req->resampling;
    wo->nBandCount = req->nbands;
    wo->panSrcBands = CPLMalloc(sizeof(int) * (size_t)req->nbands);
    wo->panDstBands = CPLMalloc(sizeof(int) * (size_t)req->nbands);
    for (b = 0; b < req->nbands; b++) {
        wo->panSrcBands[b] = req->bands[b];
        wo->panDstBands[b] = b + 1;
    }
    wo->nDstAlphaBand = req->nbands + 1;
    if (has_nodata) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * (size_t)req->nbands);
        for (b = 0; b < req->nbands; b++) {
            wo->padfSrcNoDataReal[b] = nodata;
        }
    }
    if (req->has_nodata) {
        wo->padfDstNoDataReal = CPLMalloc(sizeof(double) * (size_t)req->nbands);
        for (b = 0; b < req->nbands; b++) {
            wo->padfDstNoDataReal[b] = req->nodata;
        }
    }
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST",
                                           req->has_nodata ? "NO_DATA" : "0");
    snprintf(option, sizeof option, "%.17g", pl->xscale);
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "XSCALE", option);
    snprintf(option, sizeof option, "%.17g", pl->yscale);
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "YSCALE", option);

    /* GCP and RPC sources: the transformer the recipe chose */
    gen = GDALCreateGenImgProjTransformer2(src, dst, s->transform_options);
    if (gen == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot transform it to the grid", s->path);
        goto out;
    }
    if (req->error_threshold > 0) {
        wo->pTransformerArg = GDALCreateApproxTransformer(GDALGenImgProjTransform, gen,
                                                          req->error_threshold);
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
    for (px = 0; px < plane; px++) {
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

/* Linear power (Float64) to the values stored (req->dtype), in place (a
   stored pixel is never wider): amplitude sqrt(p), intensity p, or
   decibels 10 log10(p). Pixels a source does not cover, NaN (nodata) or
   negative (cubic and lanczos kernels overshoot next to bright targets)
   are invalid and get the output's nodata value (or 0). */
static void from_power(const ek_read_request *req, unsigned char *buf, uint8_t *valid,
                       size_t plane)
{
    const double *power = (const double *)(void *)buf;
    size_t dsize = (size_t)GDALGetDataTypeSizeBytes(req->dtype), px, i;
    int b;

    for (b = 0; b < req->nbands; b++) {
        for (px = 0; px < plane; px++) {
            double p = power[(size_t)b * plane + px];

            valid[px] &= (uint8_t)(p >= 0); /* false for NaN */
        }
    }
    for (i = 0; i < plane * (size_t)req->nbands; i++) {
        double v = power[i];

        if (!valid[i % plane]) {
            v = req->has_nodata ? req->nodata : 0;
        } else if (req->complex == EK_COMPLEX_AMPLITUDE) {
            v = sqrt(v);
        } else if (req->complex == EK_COMPLEX_REFUSE) { /* real data in dB */
            v = 10 * log10(v);
        }
        /* GDAL's conversion: rounded and clamped for integer types */
        GDALCopyWords(&v, GDT_Float64, 0, buf + i * dsize, req->dtype, 0, 1);
    }
}

/* VALID[px] = 0 where P[px] equals NODATA, for PLANE values of integer C
   type T ranging LO..HI: compared as T (no value equals a NODATA that T
   cannot hold), one loop the compiler vectorises. */
#define DROP_EQUAL_INT(T, LO, HI)                                                      \
    do {                                                                               \
        const T *p = (const T *)band;                                                  \
        T value;                                                                       \
                                                                                       \
        if (!has_nodata || !(nodata >= (LO) && nodata <= (HI)) ||                      \
            nodata != floor(nodata)) {                                                 \
            break;                                                                     \
        }                                                                              \
        value = (T)nodata;                                                             \
        for (px = 0; px < plane; px++) {                                               \
            valid[px] &= (uint8_t)(p[px] != value);                                    \
        }                                                                              \
    } while (0)

/* VALID[px] = 0 where floating-point P[px] of C type T is not finite (NaN
   or infinite: never a measurement, whatever the nodata value) or, with
   HAS_NODATA, equals NODATA. */
#define DROP_INVALID_FLOAT(T)                                                          \
    do {                                                                               \
        const T *p = (const T *)band;                                                  \
                                                                                       \
        for (px = 0; px < plane; px++) {                                               \
            valid[px] &= (uint8_t)(isfinite(p[px]) &&                                  \
                                   !(has_nodata && (double)p[px] == nodata));          \
        }                                                                              \
    } while (0)

/* Mark pixels invalid where any band holds no measurement: NaN or an
   infinity (floating-point data), or NODATA when HAS_NODATA (a NaN NODATA
   adds nothing to the first rule). */
static void drop_invalid(const ek_read_request *req, int has_nodata, double nodata,
                         const unsigned char *data, uint8_t *valid, size_t plane)
{
    size_t px, dsize = (size_t)GDALGetDataTypeSizeBytes(req->dtype);
    int b;

    for (b = 0; b < req->nbands; b++) {
        const unsigned char *band = data + (size_t)b * plane * dsize;

        switch (req->dtype) {
        case GDT_Byte:
            DROP_EQUAL_INT(uint8_t, 0, UINT8_MAX);
            break;
        case GDT_UInt16:
            DROP_EQUAL_INT(uint16_t, 0, UINT16_MAX);
            break;
        case GDT_Int16:
            DROP_EQUAL_INT(int16_t, INT16_MIN, INT16_MAX);
            break;
        case GDT_UInt32:
            DROP_EQUAL_INT(uint32_t, 0, UINT32_MAX);
            break;
        case GDT_Int32:
            DROP_EQUAL_INT(int32_t, INT32_MIN, INT32_MAX);
            break;
        case GDT_Float32:
            DROP_INVALID_FLOAT(float);
            break;
        default: /* GDT_Float64 */
            DROP_INVALID_FLOAT(double);
            break;
        }
    }
}

/* Copy the valid scratch pixels over DATA/VALID (all of them when FIRST). */
static void composite(const ek_reader *rd, const ek_read_request *req, size_t plane,
                      unsigned char *data, uint8_t *valid, int first)
{
    size_t ds = (size_t)GDALGetDataTypeSizeBytes(req->dtype), px;
    int b;

    if (first) {
        memcpy(data, rd->scratch, plane * ds * (size_t)req->nbands);
        memcpy(valid, rd->scratch_valid, plane);
        return;
    }
    for (px = 0; px < plane; px++) {
        if (!rd->scratch_valid[px]) {
            continue;
        }
        valid[px] = 1;
        for (b = 0; b < req->nbands; b++) {
            memcpy(data + ((size_t)b * plane + px) * ds,
                   rd->scratch + ((size_t)b * plane + px) * ds, ds);
        }
    }
}

/* Fill the scratch planes (pixels of type T) with the output's nodata value
   (or 0). */
static void clear_scratch(ek_reader *rd, const ek_read_request *req, GDALDataType t,
                          size_t plane)
{
    size_t n = plane * (size_t)req->nbands, px;

    memset(rd->scratch_valid, 0, plane);
    if (!req->has_nodata || req->nodata == 0 || t != req->dtype) {
        memset(rd->scratch, 0, n * (size_t)GDALGetDataTypeSizeBytes(t));
        return;
    }
    for (px = 0; px < n; px++) {
        ek_pixel_set(rd->scratch, req->dtype, px, req->nodata);
    }
}

/* Read source I of REQ over W into the scratch planes, as *SP says (picked
   again at each attempt). A failed read of a remote source (a dropped
   connection, a timeout, HTTP errors GDAL's own retries did not get past)
   is tried again on fresh handles after a back-off; when the retries are
   spent it fails with EODKIT_ERR_IO. */
static int read_source(eodkit_ctx *ctx, ek_reader *rd, const ek_read_request *req,
                       size_t i, const ek_window *w, size_t plane,
                       source_pixels *sp /* OUT */)
{
    const ek_source *s = req->sources[i];
    int attempt, rc;

    for (attempt = 0;; attempt++) {
        rc = pick_pixels(ctx, rd, req, i, sp);
        if (rc == EODKIT_OK) {
            clear_scratch(rd, req, sp->type, plane);
            rc = req->placements[i]->aligned ? read_aligned(ctx, rd, req, i, w, sp)
                                             : read_warped(ctx, rd, req, i, w, sp);
        }
        if (rc == EODKIT_OK || rc == EODKIT_ERR_NOMEM || !s->remote) {
            return rc;
        }
        if (!ek_remote_retry(s->path, attempt)) {
            /* the network failed us, not the data */
            ctx->status = EODKIT_ERR_IO;
            return ek_error_where(ctx, "a remote read, given up after %d retr%s",
                                  attempt, attempt == 1 ? "y" : "ies");
        }
        close_source(rd, s->id);
        ek_error_clear(ctx);
    }
}

int ek_reader_read(eodkit_ctx *ctx, ek_reader *rd, const ek_read_request *req,
                   const ek_window *w, void *data, uint8_t *valid)
{
    size_t plane = (size_t)w->w * (size_t)w->h, i;
    int painted = 0, rc;

    if (plane > rd->plane_max || req->nbands > rd->nbands_max) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL,
                        "window %dx%dx%d exceeds the reader's buffers", w->w, w->h,
                        req->nbands);
    }
    for (i = 0; i < req->nsources; i++) {
        const ek_placement *pl = req->placements[i];
        source_pixels sp;
        double nodata;
        int has_nodata;

        /* One pixel of slack for resampling kernels reaching across edges. */
        if (pl->gx1 < w->x - 1 || pl->gx0 > w->x + w->w + 1 || pl->gy1 < w->y - 1 ||
            pl->gy0 > w->y + w->h + 1) {
            continue;
        }
        rc = read_source(ctx, rd, req, i, w, plane, &sp);
        if (rc != EODKIT_OK) {
            return rc;
        }
        if (sp.power) {
            from_power(req, rd->scratch, rd->scratch_valid, plane);
        }
        /* The warper already skips source nodata (direct reads must), but
           it interpolates NaN and infinities like any value. Power marked
           its nodata NaN, and its values are now the output's, not the
           file's: no longer comparable with the file's nodata value. */
        has_nodata = source_nodata(req, req->sources[i], &nodata);
        drop_invalid(req, !sp.power && pl->aligned && has_nodata, nodata, rd->scratch,
                     rd->scratch_valid, plane);
        composite(rd, req, plane, data, valid, !painted);
        painted = 1;
    }
    if (!painted) {
        clear_scratch(rd, req, req->dtype, plane);
        composite(rd, req, plane, data, valid, 1);
    }
    /* A resampled value may equal the output's nodata value by chance: it
       then is nodata for every reader of the dataset, so say so here too. */
    if (req->has_nodata) {
        drop_invalid(req, 1, req->nodata, data, valid, plane);
    }
    return EODKIT_OK;
}
