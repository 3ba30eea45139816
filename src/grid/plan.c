/*
** Plan: from a validated recipe to the immutable build plan: open and check
** the inputs, choose the target grid, lay chips on it, keep those in the
** AOI, and cut the chip lattice into work units.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <ogr_api.h>

#include "core/ek_fs.h"
#include "ek_plan.h"

/* Work units cover about this many grid pixels across: big enough for
   efficient reads, small enough to bound memory. */
#define UNIT_PIXELS 256

static int expand_files(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    char where[512];
    size_t i, j;
    int rc = EODKIT_OK;

    ek_recipe_where(r, mr->files_mark, where, sizeof where);
    for (i = 0; i < mr->npatterns && rc == EODKIT_OK; i++) {
        char **paths = NULL;
        size_t n = 0;

        rc = ek_fs_glob(ctx, mr->patterns[i], &paths, &n);
        if (rc == EODKIT_OK && n == 0) {
            if (strpbrk(mr->patterns[i], "*?[") == NULL) {
                rc = ek_error(ctx, EODKIT_ERR_INPUT,
                              "%s: no such file (%s: modality '%s')", mr->patterns[i],
                              where, mr->name);
            } else {
                rc = ek_error(ctx, EODKIT_ERR_INPUT,
                              "%s: no file matches this pattern (%s: modality '%s')",
                              mr->patterns[i], where, mr->name);
            }
        }
        if (rc == EODKIT_OK) {
            ek_source *grown =
                ek_realloc_array(ctx, m->sources, m->nsources + n, sizeof *m->sources);

            if (grown == NULL) {
                rc = EODKIT_ERR_NOMEM;
            } else {
                m->sources = grown;
                memset(m->sources + m->nsources, 0, n * sizeof *m->sources);
            }
        }
        for (j = 0; j < n && rc == EODKIT_OK; j++) {
            rc = ek_source_inspect(ctx, paths[j], where, &m->sources[m->nsources]);
            m->nsources++;
        }
        ek_fs_free_list(paths, n);
    }
    return rc;
}

/* Band numbers, names, data type and nodata of modality M, from its recipe
   and its first file. */
static int describe_bands(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    GDALDatasetH ds = NULL;
    char where[512];
    size_t i;
    int b, rc = EODKIT_OK;

    ek_recipe_where(r, mr->bands != NULL ? mr->bands_mark : mr->files_mark, where,
                    sizeof where);
    m->nbands = mr->bands != NULL ? (int)mr->nbands : m->sources[0].band_count;
    m->bands = ek_calloc(ctx, (size_t)m->nbands, sizeof *m->bands);
    m->band_names = ek_calloc(ctx, (size_t)m->nbands, sizeof *m->band_names);
    if (m->bands == NULL || m->band_names == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (b = 0; b < m->nbands; b++) {
        m->bands[b] = mr->bands != NULL ? mr->bands[b] : b + 1;
    }
    m->dtype = GDT_Unknown;
    for (i = 0; i < m->nsources; i++) {
        const ek_source *s = &m->sources[i];

        for (b = 0; b < m->nbands; b++) {
            if (m->bands[b] > s->band_count) {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: has no band %d (it has %d band%s) (%s: modality '%s')",
                    s->path, m->bands[b], s->band_count, s->band_count == 1 ? "" : "s",
                    where, mr->name);
            }
        }
        if (GDALDataTypeIsComplex(s->dtype)) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: holds complex %s data, which a training dataset cannot "
                "store; convert it to amplitude or intensity first (%s)",
                s->path, GDALGetDataTypeName(s->dtype), where);
        }
        m->dtype =
            m->dtype == GDT_Unknown ? s->dtype : GDALDataTypeUnion(m->dtype, s->dtype);
    }
    if (ek_dtype_numpy(m->dtype) == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: data type %s has no NumPy equivalent (%s)",
                        m->sources[0].path, GDALGetDataTypeName(m->dtype), where);
    }
    m->has_nodata = mr->has_nodata || m->sources[0].has_nodata;
    m->nodata = mr->has_nodata ? mr->nodata : m->sources[0].nodata;

    ds = ek_open_raster(ctx, m->sources[0].path);
    if (ds == NULL) {
        return eodkit_ctx_status(ctx);
    }
    for (b = 0; b < m->nbands && rc == EODKIT_OK; b++) {
        const char *desc = GDALGetDescription(GDALGetRasterBand(ds, m->bands[b]));

        if (mr->band_names != NULL) {
            m->band_names[b] = ek_strdup(ctx, mr->band_names[b]);
        } else if (desc != NULL && desc[0] != '\0') {
            m->band_names[b] = ek_strdup(ctx, desc);
        } else {
            m->band_names[b] = ek_asprintf(ctx, "b%d", m->bands[b]);
        }
        rc = m->band_names[b] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    GDALClose(ds);
    if (rc == EODKIT_OK && mr->band_names != NULL &&
        (int)mr->nband_names != m->nbands) {
        rc =
            ek_error(ctx, EODKIT_ERR_INPUT, "%s: band_names has %zu names for %d bands",
                     where, mr->nband_names, m->nbands);
    }
    return rc;
}

static int make_crs(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p)
{
    ek_grid *g = &p->grid;
    const char *const wkt_options[] = {"FORMAT=WKT2_2019", NULL};
    const char *auth, *code;
    char where[512];
    char *wkt = NULL;

    g->srs = OSRNewSpatialReference(NULL);
    if (g->srs == NULL) {
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory for a CRS");
    }
    if (r->like != NULL) {
        const ek_modality *m = &p->modalities[ek_recipe_find_modality(r, r->like)];

        if (OSRImportFromWkt(g->srs, &(char *){m->sources[0].wkt}) != OGRERR_NONE) {
            return ek_error_gdal(ctx, "%s: unreadable CRS", m->sources[0].path);
        }
    } else if (OSRSetFromUserInput(g->srs, r->crs) != OGRERR_NONE) {
        return ek_error_with_gdal(
            ctx, EODKIT_ERR_INPUT, "%s: grid.crs: '%s' is not a CRS GDAL/PROJ knows",
            ek_recipe_where(r, r->crs_mark, where, sizeof where), r->crs);
    }
    OSRSetAxisMappingStrategy(g->srs, OAMS_TRADITIONAL_GIS_ORDER);
    if (OSRExportToWktEx(g->srs, &wkt, wkt_options) != OGRERR_NONE) {
        CPLFree(wkt);
        return ek_error_gdal(ctx, "%s: grid.crs: cannot express '%s' as WKT",
                             ek_recipe_where(r, r->crs_mark, where, sizeof where),
                             r->crs != NULL ? r->crs : r->like);
    }
    g->wkt = ek_strdup(ctx, wkt);
    CPLFree(wkt);
    auth = OSRGetAuthorityName(g->srs, NULL);
    code = OSRGetAuthorityCode(g->srs, NULL);
    if (auth != NULL && code != NULL) {
        g->crs_code = ek_asprintf(ctx, "%s:%s", auth, code);
    }
    return g->wkt == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* The AOI's features, merged into one geometry in the grid CRS. */
static int load_aoi(eodkit_ctx *ctx, const ek_recipe *r, const ek_grid *g,
                    OGRGeometryH *aoi)
{
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    OGRLayerH layer;
    OGRFeatureH f;
    OGRGeometryH all = NULL;
    OGRSpatialReferenceH lsrs;
    OGRCoordinateTransformationH ct = NULL;
    char where[512];

    *aoi = NULL;
    ek_recipe_where(r, r->aoi_mark, where, sizeof where);
    if (!ek_fs_exists(r->aoi)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such file (%s: grid.aoi)",
                        r->aoi, where);
    }
    ds = GDALOpenEx(r->aoi, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (ds == NULL || GDALDatasetGetLayerCount(ds) == 0) {
        rc = ek_error_gdal(ctx,
                           "%s: GDAL cannot read it as a vector layer (%s: grid.aoi)",
                           r->aoi, where);
        goto out;
    }
    layer = GDALDatasetGetLayer(ds, 0);
    lsrs = OGR_L_GetSpatialRef(layer);
    if (lsrs == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: the AOI layer has no CRS (%s)",
                      r->aoi, where);
        goto out;
    }
    lsrs = OSRClone(lsrs);
    OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation(lsrs, g->srs);
    OSRDestroySpatialReference(lsrs);
    if (ct == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot transform the AOI to the grid CRS (%s)",
                           r->aoi, where);
        goto out;
    }
    all = OGR_G_CreateGeometry(wkbMultiPolygon);
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);

        if (geom != NULL) {
            OGRGeometryH poly = OGR_G_ForceToMultiPolygon(OGR_G_Clone(geom));
            int k;

            for (k = 0; k < OGR_G_GetGeometryCount(poly); k++) {
                OGR_G_AddGeometry(all, OGR_G_GetGeometryRef(poly, k));
            }
            OGR_G_DestroyGeometry(poly);
        }
        OGR_F_Destroy(f);
    }
    if (OGR_G_GetGeometryCount(all) == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: the AOI has no polygons (%s)", r->aoi,
                      where);
        goto out;
    }
    if (OGR_G_Transform(all, ct) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot transform the AOI to the grid CRS (%s)",
                           r->aoi, where);
        goto out;
    }
    *aoi = OGR_G_UnionCascaded(all);
    if (*aoi == NULL) {
        rc = ek_error_gdal(ctx, "%s: invalid AOI polygons (%s)", r->aoi, where);
    }
out:
    OGR_G_DestroyGeometry(all);
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    return rc;
}

/* Union of modality M's source bounds in the grid CRS. */
static int modality_bounds(eodkit_ctx *ctx, const ek_grid *g, const ek_modality *m,
                           double b[4])
{
    size_t i;

    for (i = 0; i < m->nsources; i++) {
        double s[4];
        int rc = ek_source_bounds(ctx, g->srs, &m->sources[i], s);

        if (rc != EODKIT_OK) {
            return rc;
        }
        if (i == 0) {
            memcpy(b, s, sizeof s);
        } else {
            b[0] = fmin(b[0], s[0]), b[1] = fmin(b[1], s[1]);
            b[2] = fmax(b[2], s[2]), b[3] = fmax(b[3], s[3]);
        }
    }
    return EODKIT_OK;
}

static int intersect(double a[4], const double b[4])
{
    a[0] = fmax(a[0], b[0]), a[1] = fmax(a[1], b[1]);
    a[2] = fmin(a[2], b[2]), a[3] = fmin(a[3], b[3]);
    return a[0] < a[2] && a[1] < a[3];
}

/* Resolution, extent (every modality and the AOI), origin and size. */
static int make_extent(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p,
                       OGRGeometryH aoi)
{
    ek_grid *g = &p->grid;
    double ext[4] = {0, 0, 0, 0}, ox = 0, oy = 0, rx, ry;
    double x0, x1, y0, y1;
    char where[512];
    size_t i;
    int rc;

    rx = r->res_x, ry = r->res_y;
    if (r->like != NULL) {
        const ek_source *s =
            &p->modalities[ek_recipe_find_modality(r, r->like)].sources[0];

        if (s->gt[2] != 0 || s->gt[4] != 0) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: is rotated, so its grid cannot be used as the target grid "
                "(grid.crs: like: %s); give crs and resolution instead",
                s->path, r->like);
        }
        if (!r->has_resolution) {
            rx = fabs(s->gt[1]);
            ry = fabs(s->gt[5]);
        }
        ox = s->gt[0];
        oy = s->gt[3];
    }
    for (i = 0; i < p->nmodalities; i++) {
        double b[4] = {0, 0, 0, 0};

        rc = modality_bounds(ctx, g, &p->modalities[i], b);
        if (rc != EODKIT_OK) {
            return rc;
        }
        if (i == 0) {
            memcpy(ext, b, sizeof b);
        } else if (!intersect(ext, b)) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "modality '%s' does not overlap the modalities before it (%s)",
                p->modalities[i].recipe->name,
                ek_recipe_where(r, p->modalities[i].recipe->mark, where, sizeof where));
        }
    }
    if (aoi != NULL) {
        OGREnvelope e;

        OGR_G_GetEnvelope(aoi, &e);
        if (!intersect(ext, (double[4]){e.MinX, e.MinY, e.MaxX, e.MaxY})) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: the AOI does not overlap the imagery (%s: grid.aoi)",
                            r->aoi,
                            ek_recipe_where(r, r->aoi_mark, where, sizeof where));
        }
    }
    /* Snap outwards to the pixel lattice through (ox, oy); the 1e-6 pixel
       slack keeps float noise from adding a row or column. */
    x0 = ox + floor((ext[0] - ox) / rx + 1e-6) * rx;
    x1 = ox + ceil((ext[2] - ox) / rx - 1e-6) * rx;
    y1 = oy + ceil((ext[3] - oy) / ry - 1e-6) * ry;
    y0 = oy + floor((ext[1] - oy) / ry + 1e-6) * ry;
    g->gt[0] = x0, g->gt[1] = rx, g->gt[2] = 0;
    g->gt[3] = y1, g->gt[4] = 0, g->gt[5] = -ry;
    g->width = (int)lround((x1 - x0) / rx);
    g->height = (int)lround((y1 - y0) / ry);
    g->chip_w = r->chip_w, g->chip_h = r->chip_h;
    g->stride_x = r->stride_x, g->stride_y = r->stride_y;
    if (g->width < g->chip_w || g->height < g->chip_h) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: grid.chip_size: a %d x %d chip is larger than the imagery, "
            "which covers %d x %d pixels on the grid",
            ek_recipe_where(r, r->chip_mark, where, sizeof where), g->chip_h, g->chip_w,
            g->height, g->width);
    }
    g->nx = (g->width - g->chip_w) / g->stride_x + 1;
    g->ny = (g->height - g->chip_h) / g->stride_y + 1;
    return EODKIT_OK;
}

static int mark_candidates(eodkit_ctx *ctx, ek_plan *p, OGRGeometryH aoi)
{
    const ek_grid *g = &p->grid;
    size_t nchips = (size_t)g->nx * (size_t)g->ny, id;
    OGRPreparedGeometryH prepared = NULL;
    OGRGeometryH point = NULL;

    p->candidate = ek_calloc(ctx, nchips, 1);
    if (p->candidate == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (aoi != NULL) {
        prepared = OGRCreatePreparedGeometry(aoi);
        point = OGR_G_CreateGeometry(wkbPoint);
    }
    for (id = 0; id < nchips; id++) {
        ek_window w = ek_plan_chip_window(p, id);
        double cx = g->gt[0] + (w.x + w.w / 2.0) * g->gt[1];
        double cy = g->gt[3] + (w.y + w.h / 2.0) * g->gt[5];

        if (prepared != NULL) {
            OGR_G_SetPoint_2D(point, 0, cx, cy);
            p->candidate[id] = (uint8_t)OGRPreparedGeometryContains(prepared, point);
        } else {
            p->candidate[id] = 1;
        }
        p->ncandidates += p->candidate[id];
    }
    if (prepared != NULL) {
        OGRDestroyPreparedGeometry(prepared);
        OGR_G_DestroyGeometry(point);
    }
    return EODKIT_OK;
}

int ek_plan_make(eodkit_ctx *ctx, const ek_recipe *r, ek_plan **plan)
{
    int rc = EODKIT_OK;
    ek_plan *p = NULL;
    OGRGeometryH aoi = NULL;
    size_t i, j;
    int span;

    *plan = NULL;
    p = ek_calloc(ctx, 1, sizeof *p);
    if (p == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    p->recipe = r;
    p->modalities = ek_calloc(ctx, r->nmodalities, sizeof *p->modalities);
    if (p->modalities == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < r->nmodalities && rc == EODKIT_OK; i++) {
        p->nmodalities = i + 1;
        p->modalities[i].recipe = &r->modalities[i];
        rc = expand_files(ctx, r, &p->modalities[i]);
        if (rc == EODKIT_OK) {
            rc = describe_bands(ctx, r, &p->modalities[i]);
        }
    }
    if (rc == EODKIT_OK) {
        rc = make_crs(ctx, r, p);
    }
    if (rc == EODKIT_OK && r->aoi != NULL) {
        rc = load_aoi(ctx, r, &p->grid, &aoi);
    }
    if (rc == EODKIT_OK) {
        rc = make_extent(ctx, r, p, aoi);
    }
    for (i = 0; i < p->nmodalities && rc == EODKIT_OK; i++) {
        for (j = 0; j < p->modalities[i].nsources && rc == EODKIT_OK; j++) {
            rc = ek_source_place(ctx, &p->grid, &p->modalities[i].sources[j]);
        }
    }
    if (rc == EODKIT_OK) {
        rc = mark_candidates(ctx, p, aoi);
    }
    if (rc == EODKIT_OK && p->ncandidates == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: no chip centre lies inside the AOI",
                      r->aoi);
    }
    if (rc == EODKIT_OK) {
        span =
            p->grid.stride_x > p->grid.stride_y ? p->grid.stride_x : p->grid.stride_y;
        p->unit_chips = UNIT_PIXELS / span > 1 ? UNIT_PIXELS / span : 1;
        p->units_x = (p->grid.nx + p->unit_chips - 1) / p->unit_chips;
        p->units_y = (p->grid.ny + p->unit_chips - 1) / p->unit_chips;
        p->nunits = (size_t)p->units_x * (size_t)p->units_y;
    }
out:
    OGR_G_DestroyGeometry(aoi);
    if (rc != EODKIT_OK) {
        ek_plan_free(p);
        return rc;
    }
    *plan = p;
    return EODKIT_OK;
}

void ek_plan_free(ek_plan *p)
{
    size_t i, j;
    int b;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->nmodalities; i++) {
        ek_modality *m = &p->modalities[i];

        for (j = 0; j < m->nsources; j++) {
            ek_source_clear(&m->sources[j]);
        }
        free(m->sources);
        for (b = 0; b < m->nbands && m->band_names != NULL; b++) {
            free(m->band_names[b]);
        }
        free(m->band_names);
        free(m->bands);
    }
    free(p->modalities);
    if (p->grid.srs != NULL) {
        OSRDestroySpatialReference(p->grid.srs);
    }
    free(p->grid.wkt);
    free(p->grid.crs_code);
    free(p->candidate);
    free(p);
}

ek_window ek_plan_chip_window(const ek_plan *p, size_t chip_id)
{
    ek_window w;

    w.x = (int)(chip_id % (size_t)p->grid.nx) * p->grid.stride_x;
    w.y = (int)(chip_id / (size_t)p->grid.nx) * p->grid.stride_y;
    w.w = p->grid.chip_w;
    w.h = p->grid.chip_h;
    return w;
}

void ek_plan_unit_chips(const ek_plan *p, size_t u, int *i0, int *i1, int *j0, int *j1)
{
    int ux = (int)(u % (size_t)p->units_x), uy = (int)(u / (size_t)p->units_x);

    *i0 = ux * p->unit_chips;
    *i1 = *i0 + p->unit_chips < p->grid.nx ? *i0 + p->unit_chips : p->grid.nx;
    *j0 = uy * p->unit_chips;
    *j1 = *j0 + p->unit_chips < p->grid.ny ? *j0 + p->unit_chips : p->grid.ny;
}

ek_window ek_plan_unit_window(const ek_plan *p, size_t u)
{
    int i0, i1, j0, j1;
    ek_window w;

    ek_plan_unit_chips(p, u, &i0, &i1, &j0, &j1);
    w.x = i0 * p->grid.stride_x;
    w.y = j0 * p->grid.stride_y;
    w.w = (i1 - 1 - i0) * p->grid.stride_x + p->grid.chip_w;
    w.h = (j1 - 1 - j0) * p->grid.stride_y + p->grid.chip_h;
    return w;
}

void ek_grid_window_gt(const ek_grid *g, const ek_window *w, double gt[6])
{
    gt[0] = g->gt[0] + w->x * g->gt[1];
    gt[1] = g->gt[1];
    gt[2] = 0;
    gt[3] = g->gt[3] + w->y * g->gt[5];
    gt[4] = 0;
    gt[5] = g->gt[5];
}
