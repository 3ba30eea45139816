/*
** Label: vector features put on every grid of the plan (transformed once
** into each grid's CRS and indexed with a quadtree), then burnt window by
** window with GDAL's rasteriser in feature order, as gdal_rasterize does.
** Used for vector labels and for mask polygons.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>

#include "ek_label.h"
#include "geo/ek_vector.h"
#include "recipe/ek_recipe.h"

/* The grid's extent in its CRS, as a quadtree rectangle. */
static CPLRectObj grid_rect(const ek_grid *g)
{
    CPLRectObj r;

    r.minx = g->gt[0];
    r.maxx = g->gt[0] + g->width * g->gt[1];
    r.maxy = g->gt[3];
    r.miny = g->gt[3] + g->height * g->gt[5];
    return r;
}

/* Put the kept features' geometries SRC into every grid's CRS and index
   them: copies for all grids but the last, which takes SRC's geometries
   over (SRC[k] becomes NULL). */
static int put_on_grids(eodkit_ctx *ctx, const ek_plan *p, OGRSpatialReferenceH lsrs,
                        const char *path, OGRGeometryH *src, ek_shapes *sh)
{
    size_t g, k;

    sh->geoms = ek_calloc(ctx, sh->ngrids * sh->n, sizeof *sh->geoms);
    sh->trees = ek_calloc(ctx, sh->ngrids, sizeof *sh->trees);
    if ((sh->n > 0 && sh->geoms == NULL) || sh->trees == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < sh->ngrids; g++) {
        const ek_grid *gr = &p->grids[g];
        CPLRectObj extent = grid_rect(gr);
        OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(lsrs, gr->srs);

        if (ct == NULL) {
            return ek_error_gdal(ctx, "%s: cannot transform it to the grid CRS", path);
        }
        sh->trees[g] = CPLQuadTreeCreate(&extent, NULL);
        for (k = 0; k < sh->n; k++) {
            OGRGeometryH copy = g + 1 < sh->ngrids ? OGR_G_Clone(src[k]) : src[k];
            OGREnvelope e;
            CPLRectObj rect;

            if (copy == src[k]) {
                src[k] = NULL;
            }

            /* A feature far outside a UTM zone may not transform: it cannot
               meet that zone's grid anyway. */
            if (OGR_G_Transform(copy, ct) != OGRERR_NONE) {
                OGR_G_DestroyGeometry(copy);
                continue;
            }
            sh->geoms[g * sh->n + k] = copy;
            OGR_G_GetEnvelope(copy, &e);
            rect.minx = e.MinX, rect.miny = e.MinY, rect.maxx = e.MaxX,
            rect.maxy = e.MaxY;
            if (rect.maxx >= extent.minx && rect.minx <= extent.maxx &&
                rect.maxy >= extent.miny && rect.miny <= extent.maxy) {
                CPLQuadTreeInsertWithBounds(sh->trees[g], (void *)(intptr_t)(k + 1),
                                            &rect);
            }
        }
        OCTDestroyCoordinateTransformation(ct);
    }
    return EODKIT_OK;
}

int ek_shapes_load(eodkit_ctx *ctx, const ek_plan *p, OGRLayerH layer, const char *path,
                   const char *where, int with_times, ek_feature_fn fn, void *arg,
                   ek_shapes **out)
{
    ek_shapes *sh = ek_calloc(ctx, 1, sizeof *sh);
    OGRGeometryH *src = NULL;
    OGRSpatialReferenceH lsrs;
    OGRFeatureH f;
    size_t cap = 0, k;
    int rc = EODKIT_OK;

    *out = NULL;
    if (sh == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    sh->ngrids = p->ngrids;
    lsrs = OGR_L_GetSpatialRef(layer);
    if (lsrs == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the layer has no CRS; assign one with ogr2ogr -a_srs (%s)",
                      path, where);
        goto out;
    }
    lsrs = OSRClone(lsrs);
    OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK) {
        OGRGeometryH geom;
        double burn = 0;
        int64_t time = 0;
        int keep;

        rc = ek_next_feature(ctx, layer, path, where, &f);
        if (rc != EODKIT_OK || f == NULL) {
            break;
        }
        sh->nread++;
        geom = OGR_F_GetGeometryRef(f);
        keep = geom != NULL ? fn(arg, ctx, f, &burn, &time) : 0;
        if (keep < 0 || keep > 1) {
            rc = keep;
        } else if (keep == 1) {
            rc = ek_grow(ctx, (void **)&src, &cap, sh->n + 1, sizeof *src);
            if (rc == EODKIT_OK) {
                double *b = ek_realloc_array(ctx, sh->burn, cap, sizeof *b);
                uint32_t *ids = ek_realloc_array(ctx, sh->ids, cap, sizeof *ids);
                int64_t *t = with_times
                                 ? ek_realloc_array(ctx, sh->times, cap, sizeof *t)
                                 : NULL;

                sh->burn = b != NULL ? b : sh->burn;
                sh->ids = ids != NULL ? ids : sh->ids;
                sh->times = t != NULL ? t : sh->times;
                rc = b == NULL || ids == NULL || (with_times && t == NULL)
                         ? EODKIT_ERR_NOMEM
                         : EODKIT_OK;
            }
            if (rc == EODKIT_OK && sh->nread > UINT32_MAX) {
                rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: more than %u features (%s)",
                              path, (unsigned)UINT32_MAX, where);
            }
            if (rc == EODKIT_OK) {
                src[sh->n] = OGR_F_StealGeometry(f);
                sh->burn[sh->n] = burn;
                sh->ids[sh->n] = (uint32_t)sh->nread;
                if (with_times) {
                    sh->times[sh->n] = time;
                }
                sh->n++;
            }
        }
        OGR_F_Destroy(f);
    }
    if (rc == EODKIT_OK) {
        rc = put_on_grids(ctx, p, lsrs, path, src, sh);
    }
    OSRRelease(lsrs);
out:
    for (k = 0; src != NULL && k < sh->n; k++) {
        OGR_G_DestroyGeometry(src[k]);
    }
    free(src);
    if (rc != EODKIT_OK) {
        ek_shapes_free(sh);
        return rc;
    }
    *out = sh;
    return EODKIT_OK;
}

void ek_shapes_free(ek_shapes *sh)
{
    size_t i;

    if (sh == NULL) {
        return;
    }
    for (i = 0; sh->geoms != NULL && i < sh->ngrids * sh->n; i++) {
        OGR_G_DestroyGeometry(sh->geoms[i]);
    }
    for (i = 0; sh->trees != NULL && i < sh->ngrids; i++) {
        if (sh->trees[i] != NULL) {
            CPLQuadTreeDestroy(sh->trees[i]);
        }
    }
    free(sh->geoms);
    free(sh->trees);
    free(sh->burn);
    free(sh->ids);
    free(sh->times);
    free(sh);
}

size_t ek_shapes_on_grids(const ek_shapes *sh, const ek_plan *p)
{
    size_t g, total = 0;

    for (g = 0; g < sh->ngrids; g++) {
        CPLRectObj extent = grid_rect(&p->grids[g]);
        int hits = 0;
        void **found = CPLQuadTreeSearch(sh->trees[g], &extent, &hits);

        CPLFree(found);
        total += (size_t)hits;
    }
    return total;
}

static int compare_index(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

/* ek_shapes_render, burning each feature's id instead of its value when
   IDS is set. */
static int render(eodkit_ctx *ctx, const ek_shapes *sh, const ek_plan *p, size_t g,
                  const ek_window *w, GDALDataType t, void *out, int all_touched,
                  const int64_t *time, int ids)
{
    GDALDriverH mem = GDALGetDriverByName("MEM");
    CPLRectObj rect;
    void **found = NULL;
    OGRGeometryH *geoms = NULL;
    double *burn = NULL, gt[6];
    GDALDatasetH ds = NULL;
    char option[64];
    char *band_options[2] = {option, NULL};
    char **options = NULL;
    int band = 1, n = 0, i, kept = 0, rc = EODKIT_OK;

    ek_grid_window_gt(&p->grids[g], w, gt);
    rect.minx = gt[0];
    rect.maxx = gt[0] + w->w * gt[1];
    rect.maxy = gt[3];
    rect.miny = gt[3] + w->h * gt[5];
    found = CPLQuadTreeSearch(sh->trees[g], &rect, &n);
    if (n == 0) {
        goto out;
    }
    /* Burn in feature order, as gdal_rasterize does. */
    qsort(found, (size_t)n, sizeof *found, compare_index);
    geoms = ek_calloc(ctx, (size_t)n, sizeof *geoms);
    burn = ek_calloc(ctx, (size_t)n, sizeof *burn);
    if (geoms == NULL || burn == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t k = (size_t)(intptr_t)found[i] - 1;

        if (time == NULL || sh->times[k] == *time) {
            geoms[kept] = sh->geoms[g * sh->n + k];
            burn[kept] = ids ? (double)sh->ids[k] : sh->burn[k];
            kept++;
        }
    }
    if (kept == 0) {
        goto out;
    }
    ds = GDALCreate(mem, "", w->w, w->h, 0, t, NULL);
    if (ds == NULL) {
        rc = ek_error_gdal(ctx, "cannot create a MEM dataset");
        goto out;
    }
    snprintf(option, sizeof option, "DATAPOINTER=%p", out);
    GDALAddBand(ds, t, band_options);
    GDALSetGeoTransform(ds, gt);
    if (all_touched) {
        options = CSLSetNameValue(options, "ALL_TOUCHED", "TRUE");
    }
    if (GDALRasterizeGeometries(ds, 1, &band, kept, geoms, NULL, NULL, burn, options,
                                NULL, NULL) != CE_None) {
        rc = ek_error_gdal(ctx, "rasterising vector features failed");
    }
out:
    CSLDestroy(options);
    if (ds != NULL) {
        GDALClose(ds);
    }
    CPLFree(found);
    free(geoms);
    free(burn);
    return rc;
}

int ek_shapes_render(eodkit_ctx *ctx, const ek_shapes *sh, const ek_plan *p, size_t g,
                     const ek_window *w, GDALDataType t, void *out, int all_touched,
                     const int64_t *time)
{
    return render(ctx, sh, p, g, w, t, out, all_touched, time, 0);
}

int ek_shapes_render_ids(eodkit_ctx *ctx, const ek_shapes *sh, const ek_plan *p,
                         size_t g, const ek_window *w, GDALDataType t, void *out,
                         int all_touched)
{
    return render(ctx, sh, p, g, w, t, out, all_touched, NULL, 1);
}

/* The box of BW x BH CRS units centred on the envelope E of points. */
static OGRGeometryH box_around(const OGREnvelope *e, double bw, double bh)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    double x0 = e->MinX - bw / 2, x1 = e->MaxX + bw / 2;
    double y0 = e->MinY - bh / 2, y1 = e->MaxY + bh / 2;

    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddPoint_2D(ring, x1, y1);
    OGR_G_AddPoint_2D(ring, x1, y0);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

int ek_shapes_boxes_around_points(eodkit_ctx *ctx, ek_shapes *sh, const ek_plan *p,
                                  double bw, double bh)
{
    size_t g, k;

    for (g = 0; g < sh->ngrids; g++) {
        CPLRectObj extent = grid_rect(&p->grids[g]);

        CPLQuadTreeDestroy(sh->trees[g]);
        sh->trees[g] = CPLQuadTreeCreate(&extent, NULL);
        if (sh->trees[g] == NULL) {
            return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        }
        for (k = 0; k < sh->n; k++) {
            OGRGeometryH *geom = &sh->geoms[g * sh->n + k];
            OGRwkbGeometryType type;
            OGREnvelope e;
            CPLRectObj rect;

            if (*geom == NULL) {
                continue;
            }
            type = wkbFlatten(OGR_G_GetGeometryType(*geom));
            OGR_G_GetEnvelope(*geom, &e);
            if (type == wkbPoint || type == wkbMultiPoint) {
                OGR_G_DestroyGeometry(*geom);
                *geom = box_around(&e, bw, bh);
                OGR_G_GetEnvelope(*geom, &e);
            }
            rect.minx = e.MinX, rect.miny = e.MinY, rect.maxx = e.MaxX,
            rect.maxy = e.MaxY;
            if (rect.maxx >= extent.minx && rect.minx <= extent.maxx &&
                rect.maxy >= extent.miny && rect.miny <= extent.maxy) {
                CPLQuadTreeInsertWithBounds(sh->trees[g], (void *)(intptr_t)(k + 1),
                                            &rect);
            }
        }
    }
    return EODKIT_OK;
}
