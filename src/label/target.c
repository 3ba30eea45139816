/*
** Label: a regression target. A raster of values (biomass, canopy height,
** a DEM, an index) read onto the grid like a modality, with the recipe's
** resampling, as float32; pixels without a value (the target's nodata,
** outside it) are NaN.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_label.h"

/* The target of R must be a raster: refuse a vector layer clearly. */
static int check_raster(eodkit_ctx *ctx, const char *path, const char *where)
{
    GDALDatasetH ds;
    int layers;

    if (!ek_fs_exists(path)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such file (%s: labels.source)",
                        path, where);
    }
    ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_RASTER | GDAL_OF_READONLY, NULL,
                    NULL, NULL);
    if (ds == NULL) {
        return ek_error_gdal(ctx, "%s: GDAL cannot read it (%s: labels.source)", path,
                             where);
    }
    layers = GDALDatasetGetLayerCount(ds);
    GDALClose(ds);
    if (layers > 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: a regression target is a raster of values, not a vector "
                        "layer; rasterise it first (e.g. gdal_rasterize -a FIELD) (%s: "
                        "labels.source)",
                        path, where);
    }
    return EODKIT_OK;
}

int ek_target_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512];
    size_t g;
    int rc, overlaps = 0;

    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    rc = check_raster(ctx, lr->source, where);
    if (rc == EODKIT_OK) {
        rc = ek_source_inspect(ctx, lr->source, where, NULL, &l->source);
    }
    if (rc == EODKIT_OK) {
        l->source.id = source_id;
        rc = ek_labels_raster_band(ctx, r, l);
    }
    if (rc == EODKIT_OK && GDALDataTypeIsComplex(l->source.dtype)) {
        rc =
            ek_error(ctx, EODKIT_ERR_INPUT,
                     "%s: holds complex %s values, which cannot be a regression target "
                     "(%s)",
                     lr->source, GDALGetDataTypeName(l->source.dtype), where);
    }
    l->is_raster = 1;
    l->regression = 1;
    l->dtype = l->plane_type = GDT_Float32;
    l->placements =
        rc == EODKIT_OK ? ek_calloc(ctx, p->ngrids, sizeof *l->placements) : NULL;
    if (rc == EODKIT_OK && l->placements == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        const ek_placement *pl = &l->placements[g];
        int here;

        rc = ek_source_place(ctx, &p->grids[g], &l->source, &l->placements[g]);
        here = pl->gx1 > 0 && pl->gx0 < p->grids[g].width && pl->gy1 > 0 &&
               pl->gy0 < p->grids[g].height;
        overlaps |= here;
        if (rc == EODKIT_OK && here && !pl->aligned && !lr->has_resampling) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: the regression target must be resampled onto the grid "
                          "(%s has %g unit pixels, the grid %g); say how with "
                          "'labels.resampling' (e.g. bilinear, average, nearest)",
                          where, ek_path_basename(lr->source), fabs(l->source.gt[1]),
                          p->grids[g].gt[1]);
        }
    }
    if (rc == EODKIT_OK && !overlaps) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the regression target does not overlap the imagery (%s)",
                      lr->source, where);
    }
    return rc;
}

int ek_target_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, uint8_t *raw_valid,
                     void *out)
{
    const ek_labels_recipe *lr = l->recipe;
    const ek_source *src = &l->source;
    const ek_placement *pl = &l->placements[g];
    size_t plane = (size_t)w->w * (size_t)w->h, px;
    float *v = out;
    ek_read_request req;
    int rc;

    memset(&req, 0, sizeof req);
    req.grid = &p->grids[g];
    req.sources = &src;
    req.placements = &pl;
    req.nsources = 1;
    req.bands = &l->band;
    req.nbands = 1;
    req.dtype = req.read_type = GDT_Float32;
    req.resampling = lr->resampling;
    req.has_nodata = lr->has_nodata || src->has_nodata;
    req.nodata = lr->has_nodata ? lr->nodata : src->nodata;
    req.override_nodata = lr->has_nodata;
    req.error_threshold = p->recipe->error_threshold;
    rc = ek_reader_read(ctx, reader, &req, w, out, raw_valid);
    for (px = 0; rc == EODKIT_OK && px < plane; px++) {
        if (!raw_valid[px] || isnan(v[px])) {
            v[px] = NAN;
        }
    }
    return rc;
}
