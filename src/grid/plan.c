/*
** Plan: from a validated recipe to the immutable build plan. Opens and
** checks the inputs, orders acquisitions in time, chooses the target grids
** (one grid, one per UTM zone with `crs: utm`, or the zone grids of a
** reference grid), places every input on every grid, lists the chips that
** lie on data of every required modality and in the AOI from the files'
** footprints (never laying the chip lattice out) and groups them into
** work units.
*/
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_quad_tree.h>
#include <cpl_string.h>
#include <ogr_api.h>

#include "core/ek_fs.h"
#include "core/ek_names.h"
#include "ek_plan.h"
#include "ek_time_select.h"
#include "geo/ek_srs.h"
#include "ek_stac.h"
#include "geo/ek_vector.h"

/* Work units cover about this many grid pixels across: big enough for
   efficient reads, small enough to bound memory. */
#define UNIT_PIXELS 256

/* ---- inputs ---- */

int ek_modality_add_inputs(eodkit_ctx *ctx, ek_modality *m, char *const *names,
                           size_t n, const char *where, int *next_id, size_t *count)
{
    const ek_modality_recipe *mr = m->recipe;
    size_t i, j;
    int rc = EODKIT_OK;

    *count = 0;
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        char **paths = NULL, *single[1] = {names[i]};
        char *const *list = single;
        size_t found = 1;

        /* Globs expand plain paths only: '?' and '[' are common in URLs. */
        if (ek_name_kind_of(names[i]) == EK_NAME_PATH) {
            rc = ek_fs_glob(ctx, names[i], &paths, &found);
            list = paths;
        }
        if (rc == EODKIT_OK && found == 0) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          strpbrk(names[i], "*?[") == NULL
                              ? "%s: no such file (%s: modality '%s')"
                              : "%s: no file matches this pattern (%s: modality '%s')",
                          names[i], where, mr->name);
        }
        if (rc == EODKIT_OK) {
            ek_source *grown = ek_realloc_array(ctx, m->sources, m->nsources + found,
                                                sizeof *m->sources);

            rc = grown == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            if (grown != NULL) {
                m->sources = grown;
                memset(m->sources + m->nsources, 0, found * sizeof *m->sources);
            }
        }
        for (j = 0; j < found && rc == EODKIT_OK; j++) {
            ek_source *s = &m->sources[m->nsources];

            rc = ek_cancelled(ctx);
            if (rc == EODKIT_OK) {
                rc = ek_source_inspect(ctx, list[j], where, mr, s);
            }
            s->id = (*next_id)++;
            m->nsources++;
            (*count)++;
        }
        ek_fs_free_list(paths, found);
    }
    return rc;
}

static int compare_time(const void *a, const void *b)
{
    const ek_source *x = a, *y = b;

    if (x->time != y->time) {
        return x->time < y->time ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id); /* stable: recipe order */
}

/* Time modes: drop acquisitions outside from/to, order each part's files by
   time (so a mosaic's newest pixels win), list the distinct times. */
static int order_in_time(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m)
{
    const ek_time_recipe *t = &m->recipe->time;
    size_t p, i, kept;
    char where[512];

    for (p = 0; p < m->nparts; p++) {
        ek_part *part = &m->parts[p];
        size_t first = part->first;

        kept = 0;
        for (i = 0; i < part->count; i++) {
            ek_source *s = &m->sources[first + i];

            if (!ek_time_keeps(t, s->time)) {
                ek_source_clear(s);
            } else {
                m->sources[first + kept++] = *s;
            }
        }
        if (kept == 0) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT, "%s: modality '%s': no acquisition %s",
                ek_recipe_where(r, t->mark, where, sizeof where), m->recipe->name,
                t->pair ? "in the before or after period"
                        : "between time.from and time.to");
        }
        /* close the gap so parts stay contiguous */
        memmove(&m->sources[first + kept], &m->sources[first + part->count],
                (m->nsources - first - part->count) * sizeof *m->sources);
        for (i = p + 1; i < m->nparts; i++) {
            m->parts[i].first -= part->count - kept;
        }
        m->nsources -= part->count - kept;
        part->count = kept;
        qsort(&m->sources[first], kept, sizeof *m->sources, compare_time);
    }
    m->times = ek_calloc(ctx, m->nsources, sizeof *m->times);
    if (m->times == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < m->nsources; i++) {
        size_t k = 0;

        while (k < m->ntimes && m->times[k] != m->sources[i].time) {
            k++;
        }
        if (k == m->ntimes) {
            m->times[m->ntimes++] = m->sources[i].time;
        }
    }
    for (i = 1; i < m->ntimes; i++) { /* insertion sort: few distinct times */
        int64_t v = m->times[i];
        size_t k = i;

        while (k > 0 && m->times[k - 1] > v) {
            m->times[k] = m->times[k - 1];
            k--;
        }
        m->times[k] = v;
    }
    return ek_time_check_acquisitions(ctx, r, m);
}

/* The files of modality M, as parts: one part for `files`, one per entry of
   `band_files`, one per asset of `stac`. */
static int open_inputs(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m,
                       int *next_id)
{
    const ek_modality_recipe *mr = m->recipe;
    char where[512];
    size_t p, count;
    int rc = EODKIT_OK;

    m->nparts = mr->stac.present         ? mr->stac.nassets
                : mr->band_files != NULL ? mr->nband_files
                                         : 1;
    m->parts = ek_calloc(ctx, m->nparts, sizeof *m->parts);
    if (m->parts == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (mr->stac.present) {
        rc = ek_stac_read(ctx, m,
                          ek_recipe_where(r, mr->files_mark, where, sizeof where));
    }
    for (p = 0; p < m->nparts && rc == EODKIT_OK; p++) {
        const ek_band_file *bf = mr->band_files != NULL ? &mr->band_files[p] : NULL;

        m->parts[p].first = m->nsources;
        ek_recipe_where(r, bf != NULL ? bf->mark : mr->files_mark, where, sizeof where);
        rc = mr->stac.present
                 ? ek_stac_add_asset(ctx, m, p, where, next_id, &count)
                 : ek_modality_add_inputs(ctx, m,
                                          bf != NULL ? bf->patterns : mr->patterns,
                                          bf != NULL ? bf->npatterns : mr->npatterns,
                                          where, next_id, &count);
        m->parts[p].count = count;
    }
    if (rc == EODKIT_OK && mr->time.mode != EK_TIME_NONE) {
        rc = order_in_time(ctx, r, m);
    }
    m->steps = mr->time.mode == EK_TIME_STACK ? mr->time.count : 1;
    return rc;
}

/* Every file of part P has bands B; complex data needs a conversion. */
static int check_part(eodkit_ctx *ctx, const char *where, const ek_modality *m,
                      const ek_part *p)
{
    size_t i;
    int b;

    for (i = p->first; i < p->first + p->count; i++) {
        const ek_source *s = &m->sources[i];

        for (b = 0; b < p->nbands; b++) {
            if (p->bands[b] > s->band_count) {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: has no band %d (it has %d band%s) (%s: modality '%s')",
                    s->path, p->bands[b], s->band_count, s->band_count == 1 ? "" : "s",
                    where, m->recipe->name);
            }
        }
        if (GDALDataTypeIsComplex(s->dtype) &&
            m->recipe->complex == EK_COMPLEX_REFUSE) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: holds complex %s data (e.g. SAR SLC), which a training "
                "dataset cannot store as is; convert it with 'complex: "
                "amplitude' or 'complex: intensity' (%s: modality '%s')",
                s->path, GDALGetDataTypeName(s->dtype), where, m->recipe->name);
        }
    }
    return EODKIT_OK;
}

/* The type stored for data read as T: complex data becomes its real
   amplitude or intensity. */
static GDALDataType stored_type(GDALDataType t)
{
    if (t == GDT_CInt16 || t == GDT_CInt32 || t == GDT_CFloat32) {
        return GDT_Float32;
    }
    return t == GDT_CFloat64 ? GDT_Float64 : t;
}

static int name_bands(eodkit_ctx *ctx, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    const ek_part *p = &m->parts[0];
    GDALDatasetH ds;
    int b, rc = EODKIT_OK;

    if (mr->band_files != NULL) {
        for (b = 0; b < m->nbands && rc == EODKIT_OK; b++) {
            m->band_names[b] = ek_strdup(ctx, mr->band_files[b].name);
            rc = m->band_names[b] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
        return rc;
    }
    if (mr->stac.present) {
        return ek_stac_band_names(ctx, m);
    }
    ds = ek_open_raster(ctx, m->sources[p->first].path);
    if (ds == NULL) {
        return eodkit_ctx_status(ctx);
    }
    for (b = 0; b < m->nbands && rc == EODKIT_OK; b++) {
        const char *desc = GDALGetDescription(GDALGetRasterBand(ds, p->bands[b]));

        if (mr->band_names != NULL) {
            m->band_names[b] = ek_strdup(ctx, mr->band_names[b]);
        } else if (desc != NULL && desc[0] != '\0') {
            m->band_names[b] = ek_strdup(ctx, desc);
        } else {
            m->band_names[b] = ek_asprintf(ctx, "b%d", p->bands[b]);
        }
        rc = m->band_names[b] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    GDALClose(ds);
    return rc;
}

/* V as a float32 pixel holds it: rounded to float32 (values just beyond
   the float32 range, as files often write its lowest value, to +-FLT_MAX);
   V itself when no float32 is near it (NaN, or far outside the range). */
static double float32_value(double v)
{
    if (!(fabs(v) <= (double)FLT_MAX * (1.0 + FLT_EPSILON / 2.0))) {
        return v;
    }
    return (double)(float)fmax(-FLT_MAX, fmin(FLT_MAX, v));
}

/* Whether some value of type T equals V (NaN: only in floating point);
   the range of T into *LO, *HI. */
static int dtype_holds(GDALDataType t, double v, double *lo, double *hi)
{
    *lo = -FLT_MAX, *hi = FLT_MAX;
    switch (t) {
    case GDT_Byte:
        *lo = 0, *hi = UINT8_MAX;
        break;
    case GDT_UInt16:
        *lo = 0, *hi = UINT16_MAX;
        break;
    case GDT_Int16:
        *lo = INT16_MIN, *hi = INT16_MAX;
        break;
    case GDT_UInt32:
        *lo = 0, *hi = UINT32_MAX;
        break;
    case GDT_Int32:
        *lo = INT32_MIN, *hi = INT32_MAX;
        break;
    case GDT_Float32:
        /* one that float32 rounds to 0 would match every 0 */
        return isnan(v) ||
               (fabs(float32_value(v)) <= FLT_MAX && (v == 0 || float32_value(v) != 0));
    default: /* GDT_Float64 */
        *lo = -DBL_MAX, *hi = DBL_MAX;
        return 1;
    }
    return v >= *lo && v <= *hi && v == floor(v);
}

/* The nodata value of modality M (the recipe's, else its first file's) must
   be a value of M's data type; a float32 one is rounded to float32, as the
   pixels it is compared with. */
static int check_nodata(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    char where[512];
    double lo, hi;

    if (dtype_holds(m->dtype, m->nodata, &lo, &hi)) {
        if (m->dtype == GDT_Float32) {
            m->nodata = float32_value(m->nodata);
        }
        return EODKIT_OK;
    }
    if (mr->has_nodata) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: modalities[].nodata: %g is not a value of %s (%s %.9g to "
                        "%.9g), the data type of %s (modality '%s')",
                        ek_recipe_where(r, mr->nodata_mark, where, sizeof where),
                        m->nodata, ek_dtype_name(m->dtype),
                        m->dtype == GDT_Float32 ? "from" : "whole numbers from", lo, hi,
                        m->sources[0].path, mr->name);
    }
    /* A file's own nodata its type cannot hold marks no pixel: GDAL ignores
       it, and so does the build (the modality has no nodata value). */
    m->has_nodata = 0;
    m->nodata = 0;
    return EODKIT_OK;
}

/* Band numbers and names, data types and nodata of modality M. */
static int describe_bands(eodkit_ctx *ctx, const ek_recipe *r, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    char where[512];
    size_t p, i;
    int b, rc = EODKIT_OK;

    ek_recipe_where(r, mr->bands != NULL ? mr->bands_mark : mr->files_mark, where,
                    sizeof where);
    for (p = 0; p < m->nparts && rc == EODKIT_OK; p++) {
        ek_part *part = &m->parts[p];

        if (mr->band_files != NULL) {
            part->nbands = 1;
        } else {
            part->nbands = mr->bands != NULL ? (int)mr->nbands
                                             : m->sources[part->first].band_count;
        }
        part->first_band = m->nbands;
        part->bands = ek_calloc(ctx, (size_t)part->nbands, sizeof *part->bands);
        if (part->bands == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (b = 0; b < part->nbands; b++) {
            part->bands[b] = mr->band_files != NULL ? mr->band_files[p].band
                             : mr->bands != NULL    ? mr->bands[b]
                                                    : b + 1;
        }
        m->nbands += part->nbands;
        rc = check_part(ctx, where, m, part);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    m->read_type = GDT_Unknown;
    for (i = 0; i < m->nsources; i++) {
        m->read_type = m->read_type == GDT_Unknown
                           ? m->sources[i].dtype
                           : GDALDataTypeUnion(m->read_type, m->sources[i].dtype);
    }
    m->dtype = stored_type(m->read_type);
    if (ek_dtype_numpy(m->dtype) == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: data type %s has no NumPy equivalent (%s)",
                        m->sources[0].path, GDALGetDataTypeName(m->dtype), where);
    }
    if (mr->band_names != NULL && (int)mr->nband_names != m->nbands) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: band_names has %zu names for %d bands", where,
                        mr->nband_names, m->nbands);
    }
    m->has_nodata = mr->has_nodata || m->sources[0].has_nodata;
    m->nodata = mr->has_nodata ? mr->nodata : m->sources[0].nodata;
    if (m->has_nodata) {
        rc = check_nodata(ctx, r, m);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    m->band_names = ek_calloc(ctx, (size_t)m->nbands, sizeof *m->band_names);
    return m->band_names == NULL ? EODKIT_ERR_NOMEM : name_bands(ctx, m);
}

/* ---- grids ---- */

static int set_grid_crs(eodkit_ctx *ctx, ek_grid *g)
{
    const char *const wkt_options[] = {"FORMAT=WKT2_2019", NULL};
    const char *auth, *code;
    char *wkt = NULL;

    OSRSetAxisMappingStrategy(g->srs, OAMS_TRADITIONAL_GIS_ORDER);
    if (OSRExportToWktEx(g->srs, &wkt, wkt_options) != OGRERR_NONE) {
        CPLFree(wkt);
        return ek_error_gdal(ctx, "cannot express the grid CRS as WKT");
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

/* The file whose grid `like: NAME` means: the finest one of the modality
   (with band_files, bands come at several resolutions). */
static const ek_source *like_source(const ek_recipe *r, const ek_plan *p)
{
    const ek_modality *m = &p->modalities[ek_recipe_find_modality(r, r->like)];
    const ek_source *best = &m->sources[0];
    size_t i;

    for (i = 1; i < m->nsources; i++) {
        if (fabs(m->sources[i].gt[1]) < fabs(best->gt[1])) {
            best = &m->sources[i];
        }
    }
    return best;
}

/* The CRS of the one grid: the recipe's, or the `like` modality's. */
static int single_crs(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p, ek_grid *g)
{
    char where[512];

    g->srs = OSRNewSpatialReference(NULL);
    if (g->srs == NULL) {
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory for a CRS");
    }
    if (r->like != NULL) {
        const ek_source *s = like_source(r, p);

        if (OSRSetFromUserInput(g->srs, s->wkt) != OGRERR_NONE) {
            return ek_error_gdal(ctx, "%s: unreadable CRS", s->path);
        }
    } else if (ek_srs_from_user(g->srs, r->crs) != OGRERR_NONE) {
        return ek_error_with_gdal(
            ctx, EODKIT_ERR_INPUT,
            "%s: grid.crs: '%s' is not a CRS GDAL/PROJ knows (URLs other than "
            "OGC CRS URLs are not fetched)",
            ek_recipe_where(r, r->crs_mark, where, sizeof where), r->crs);
    }
    return set_grid_crs(ctx, g);
}

static int intersect(double a[4], const double b[4])
{
    a[0] = fmax(a[0], b[0]), a[1] = fmax(a[1], b[1]);
    a[2] = fmin(a[2], b[2]), a[3] = fmin(a[3], b[3]);
    return a[0] < a[2] && a[1] < a[3];
}

/* Bounds in CRS (NULL: in lon/lat, from the sources' lon/lat bounds) of
   the area every required modality covers (each modality covers the union
   of its files' bounds), within CLIP (bounds in CRS) when CLIP is not
   NULL. *FOUND is 0, and EXT unset, when within CLIP some required
   modality has no file; without CLIP that is an error. */
static int data_bounds(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       OGRSpatialReferenceH crs, const double *clip, double ext[4],
                       int *found)
{
    char where[512];
    size_t m, i;
    int first = 1, rc;

    *found = 0;
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        double b[4] = {0, 0, 0, 0};
        int covered = 0;

        if (!mod->recipe->required) {
            continue;
        }
        for (i = 0; i < mod->nsources; i++) {
            double s[4];

            if (crs == NULL) {
                memcpy(s, mod->sources[i].lonlat, sizeof s);
            } else {
                rc = ek_source_bounds(ctx, crs, &mod->sources[i], s);
                if (rc != EODKIT_OK) {
                    return rc;
                }
            }
            if (clip != NULL && !intersect(s, clip)) {
                continue;
            }
            if (!covered) {
                memcpy(b, s, sizeof s);
                covered = 1;
            } else {
                b[0] = fmin(b[0], s[0]), b[1] = fmin(b[1], s[1]);
                b[2] = fmax(b[2], s[2]), b[3] = fmax(b[3], s[3]);
            }
        }
        if (!covered) {
            return EODKIT_OK;
        }
        if (first) {
            memcpy(ext, b, sizeof b);
            first = 0;
        } else if (!intersect(ext, b)) {
            if (clip != NULL) {
                return EODKIT_OK;
            }
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "modality '%s' does not overlap the modalities before it (%s)",
                mod->recipe->name,
                ek_recipe_where(r, mod->recipe->mark, where, sizeof where));
        }
    }
    if (first) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: every modality is 'required: false'; at least one must be "
                        "required",
                        r->path);
    }
    *found = 1;
    return EODKIT_OK;
}

/* Grid G covering EXT (in its CRS) with pixel size RX x RY: its top-left
   corner snapped outwards to the lattice of steps AX x AY through (OX, OY),
   its other corner to the pixel lattice. Sides beyond EK_MAX_GRID_SIDE
   pixels (a resolution far too fine for the extent) are refused, computed
   in double so they never wrap. */
static int frame_grid(eodkit_ctx *ctx, const ek_recipe *r, ek_grid *g,
                      const double ext[4], double ox, double oy, double rx, double ry,
                      double ax, double ay)
{
    /* the 1e-6 step slack keeps float noise from adding a row or column */
    double x0 = ox + floor((ext[0] - ox) / ax + 1e-6) * ax;
    double y1 = oy + ceil((ext[3] - oy) / ay - 1e-6) * ay;
    double x1 = x0 + ceil((ext[2] - x0) / rx - 1e-6) * rx;
    double y0 = y1 - ceil((y1 - ext[1]) / ry - 1e-6) * ry;
    double w = round((x1 - x0) / rx), h = round((y1 - y0) / ry);
    char where[512];

    if (!(w <= EK_MAX_GRID_SIDE && h <= EK_MAX_GRID_SIDE)) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: pixels of %g x %g CRS units over the data's %g x %g CRS units "
            "make a grid of %.0f x %.0f pixels; eodkit plans at most %d pixels a "
            "side (doc/recipe.md, Limits): choose a coarser grid.resolution, or an "
            "AOI",
            ek_recipe_where(r, r->has_resolution ? r->res_mark : r->crs_mark, where,
                            sizeof where),
            rx, ry, ext[2] - ext[0], ext[3] - ext[1], w, h, EK_MAX_GRID_SIDE);
    }
    g->gt[0] = x0, g->gt[1] = rx, g->gt[2] = 0;
    g->gt[3] = y1, g->gt[4] = 0, g->gt[5] = -ry;
    g->width = (int)w;
    g->height = (int)h;
    return EODKIT_OK;
}

static void lay_chips(const ek_plan *p, ek_grid *g)
{
    g->nx = g->width >= p->chip_w ? (g->width - p->chip_w) / p->stride_x + 1 : 0;
    g->ny = g->height >= p->chip_h ? (g->height - p->chip_h) / p->stride_y + 1 : 0;
}

/* The AOI's bounds in CRS (a bounding box, for framing grids). */
static int aoi_bounds(eodkit_ctx *ctx, OGRGeometryH aoi, OGRSpatialReferenceH crs,
                      double b[4])
{
    OGRGeometryH copy = OGR_G_Clone(aoi);
    OGRCoordinateTransformationH ct =
        OCTNewCoordinateTransformation(OGR_G_GetSpatialReference(aoi), crs);
    OGREnvelope e;
    int rc = EODKIT_OK;

    if (ct == NULL || OGR_G_Transform(copy, ct) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "cannot transform the AOI to the grid CRS");
    } else {
        OGR_G_GetEnvelope(copy, &e);
        b[0] = e.MinX, b[1] = e.MinY, b[2] = e.MaxX, b[3] = e.MaxY;
    }
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    OGR_G_DestroyGeometry(copy);
    return rc;
}

static int single_grid(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p,
                       OGRGeometryH aoi)
{
    ek_grid *g = &p->grids[0];
    double ext[4] = {0, 0, 0, 0}, ox = 0, oy = 0, rx = r->res_x, ry = r->res_y;
    char where[512];
    int rc, found;

    p->ngrids = 1; /* from here on ek_plan_free releases the grid */
    rc = single_crs(ctx, r, p, g);
    if (rc == EODKIT_OK) {
        rc = data_bounds(ctx, r, p, g->srs, NULL, ext, &found);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (r->like != NULL) {
        const ek_source *s = like_source(r, p);

        if (s->georef != EK_GEOREF_GEOTRANSFORM) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: has no geotransform (it is warped through its %s), so "
                            "its grid cannot be the target grid (grid.crs: like: %s); "
                            "give crs and resolution instead",
                            s->path, s->georef == EK_GEOREF_RPC ? "RPCs" : "GCPs",
                            r->like);
        }
        if (s->gt[2] != 0 || s->gt[4] != 0) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: is rotated, so its grid cannot be the target grid (grid.crs: "
                "like: %s); give crs and resolution instead",
                s->path, r->like);
        }
        rx = r->has_resolution ? rx : fabs(s->gt[1]);
        ry = r->has_resolution ? ry : fabs(s->gt[5]);
        ox = s->gt[0];
        oy = s->gt[3];
    }
    if (aoi != NULL) {
        double b[4];

        rc = aoi_bounds(ctx, aoi, g->srs, b);
        if (rc == EODKIT_OK && !intersect(ext, b)) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: the AOI does not overlap the imagery (%s: grid.aoi)",
                          r->aoi, ek_recipe_where(r, r->aoi_mark, where, sizeof where));
        }
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    /* Chips start at the `like` raster's corner, or at CRS multiples of the
       stride: the same place gives the same chips in every dataset. */
    if (r->like != NULL) {
        rc = frame_grid(ctx, r, g, ext, ox, oy, rx, ry, rx, ry);
    } else {
        rc = frame_grid(ctx, r, g, ext, 0, 0, rx, ry, rx * p->stride_x,
                        ry * p->stride_y);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    lay_chips(p, g);
    if (g->nx == 0 || g->ny == 0) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: grid.chip_size: a %d x %d chip is larger than the imagery, "
            "which covers %d x %d pixels on the grid",
            ek_recipe_where(r, r->chip_mark, where, sizeof where), p->chip_h, p->chip_w,
            g->height, g->width);
    }
    return EODKIT_OK;
}

/* crs: utm and reference grids: the lon/lat bounds of every source, once
   (zones are framed from them, and sources far from a zone are not placed
   on it). */
static int sources_lonlat(eodkit_ctx *ctx, ek_plan *p)
{
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    size_t m, i;
    int rc = EODKIT_OK;

    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        for (i = 0; i < p->modalities[m].nsources && rc == EODKIT_OK; i++) {
            ek_source *s = &p->modalities[m].sources[i];

            rc = ek_source_bounds(ctx, wgs84, s, s->lonlat);
            s->has_lonlat = rc == EODKIT_OK;
        }
    }
    OSRRelease(wgs84);
    return rc;
}

/* The lon/lat bounds of UTM grid G (WGS84: lon/lat), when they can be
   computed. */
static void grid_lonlat(ek_grid *g, OGRSpatialReferenceH wgs84)
{
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(g->srs, wgs84);
    double *b = g->lonlat;

    g->has_lonlat =
        ct != NULL && OCTTransformBounds(ct, g->gt[0], g->gt[3] + g->height * g->gt[5],
                                         g->gt[0] + g->width * g->gt[1], g->gt[3],
                                         &b[0], &b[1], &b[2], &b[3], 21);
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
}

/* crs: utm: one grid per UTM zone (and hemisphere) the data touches, each
   framed on the data in that zone (the files' lon/lat bounds clipped to the
   zone, and to the AOI) plus a chip of margin. */
static int utm_grids(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p, OGRGeometryH aoi)
{
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    double box[4] = {0, 0, 0, 0}, aoi_box[4];
    char where[512];
    int zone, south, found, rc;
    size_t cap = 0;

    rc = data_bounds(ctx, r, p, NULL, NULL, box, &found);
    if (rc == EODKIT_OK && aoi != NULL) {
        rc = aoi_bounds(ctx, aoi, wgs84, aoi_box);
        if (rc == EODKIT_OK && !intersect(box, aoi_box)) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: the AOI does not overlap the imagery (%s: grid.aoi)",
                          r->aoi, ek_recipe_where(r, r->aoi_mark, where, sizeof where));
        }
    }
    for (south = 0; south <= 1 && rc == EODKIT_OK; south++) {
        for (zone = 1; zone <= 60 && rc == EODKIT_OK; zone++) {
            double cell[4] = {-180.0 + 6.0 * (zone - 1), south ? -80.0 : 0.0,
                              -180.0 + 6.0 * zone, south ? 0.0 : 84.0};
            double ll[4], ext[4], margin_x = p->chip_w * r->res_x,
                                  margin_y = p->chip_h * r->res_y;
            OGRCoordinateTransformationH ct;
            ek_grid *g;

            if (!intersect(cell, box)) {
                continue;
            }
            rc = data_bounds(ctx, r, p, NULL, cell, ll, &found);
            if (rc != EODKIT_OK || !found || (aoi != NULL && !intersect(ll, aoi_box))) {
                continue;
            }
            rc =
                ek_grow(ctx, (void **)&p->grids, &cap, p->ngrids + 1, sizeof *p->grids);
            if (rc != EODKIT_OK) {
                break;
            }
            g = &p->grids[p->ngrids++];
            g->utm_zone = south ? -zone : zone;
            g->srs = OSRNewSpatialReference(NULL);
            OSRImportFromEPSG(g->srs, (south ? 32700 : 32600) + zone);
            rc = set_grid_crs(ctx, g);
            ct = OCTNewCoordinateTransformation(wgs84, g->srs);
            if (rc == EODKIT_OK &&
                (ct == NULL ||
                 !OCTTransformBounds(ct, ll[0], ll[1], ll[2], ll[3], &ext[0], &ext[1],
                                     &ext[2], &ext[3], 21))) {
                rc = ek_error_gdal(ctx, "cannot frame UTM zone %d%s", zone,
                                   south ? "S" : "N");
            }
            if (ct != NULL) {
                OCTDestroyCoordinateTransformation(ct);
            }
            if (rc == EODKIT_OK) {
                ext[0] -= margin_x, ext[2] += margin_x, ext[1] -= margin_y,
                    ext[3] += margin_y;
                rc = frame_grid(ctx, r, g, ext, 0, 0, r->res_x, r->res_y,
                                r->res_x * p->stride_x, r->res_y * p->stride_y);
            }
            if (rc == EODKIT_OK) {
                lay_chips(p, g);
                grid_lonlat(g, wgs84);
            }
        }
    }
    OSRRelease(wgs84);
    return rc;
}

/* ---- chips ---- */

/* The AOI's features, merged into one lon/lat geometry. */
static int load_aoi(eodkit_ctx *ctx, const ek_recipe *r, OGRGeometryH *aoi)
{
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    OGRLayerH layer;
    OGRFeatureH f;
    OGRGeometryH all = NULL;
    OGRSpatialReferenceH lsrs, wgs84 = NULL;
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
    wgs84 = ek_srs_lonlat();
    ct = OCTNewCoordinateTransformation(lsrs, wgs84);
    OSRRelease(lsrs);
    all = OGR_G_CreateGeometry(wkbMultiPolygon);
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK) {
        OGRGeometryH geom;

        rc = ek_next_feature(ctx, layer, r->aoi, where, &f);
        if (rc != EODKIT_OK || f == NULL) {
            break;
        }
        geom = OGR_F_GetGeometryRef(f);
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
    if (rc != EODKIT_OK) {
        goto out;
    }
    if (OGR_G_GetGeometryCount(all) == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: the AOI has no polygons (%s)", r->aoi,
                      where);
        goto out;
    }
    if (ct == NULL || OGR_G_Transform(all, ct) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot transform the AOI to lon/lat (%s)", r->aoi,
                           where);
        goto out;
    }
    *aoi = OGR_G_UnionCascaded(all);
    if (*aoi == NULL) {
        rc = ek_error_gdal(ctx, "%s: invalid AOI polygons (%s)", r->aoi, where);
    } else {
        OGR_G_AssignSpatialReference(*aoi, wgs84);
    }
out:
    OGR_G_DestroyGeometry(all);
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    if (wgs84 != NULL) {
        OSRRelease(wgs84);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    return rc;
}

/* A modality whose files are not on the grid must say how to resample. */
static int check_resampling(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p)
{
    char where[512];
    size_t m, g, s;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];

        if (mod->recipe->has_resampling) {
            continue;
        }
        for (g = 0; g < p->ngrids; g++) {
            for (s = 0; s < mod->nsources; s++) {
                const ek_placement *pl = ek_plan_placement(mod, g, s);

                if (!pl->aligned && pl->gx1 > 0 && pl->gx0 < p->grids[g].width &&
                    pl->gy1 > 0 && pl->gy0 < p->grids[g].height) {
                    const ek_source *src = &mod->sources[s];

                    return ek_error(
                        ctx, EODKIT_ERR_INPUT,
                        "%s: modality '%s' must be resampled onto the grid (%s %s); "
                        "say how with 'resampling: nearest', 'bilinear', 'cubic', "
                        "'average' or 'mode'",
                        ek_recipe_where(r, mod->recipe->mark, where, sizeof where),
                        mod->recipe->name, ek_path_basename(src->path),
                        src->georef != EK_GEOREF_GEOTRANSFORM
                            ? "is warped through its GCPs or RPCs"
                            : CPLSPrintf("has %g unit pixels, the grid %g",
                                         fabs(src->gt[1]), p->grids[g].gt[1]));
                }
            }
        }
    }
    return EODKIT_OK;
}

static int place_sources(eodkit_ctx *ctx, ek_plan *p)
{
    size_t m, g, s;
    int rc = EODKIT_OK;

    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        ek_modality *mod = &p->modalities[m];

        mod->placements =
            ek_calloc(ctx, p->ngrids * mod->nsources, sizeof *mod->placements);
        if (mod->placements == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
            for (s = 0; s < mod->nsources && rc == EODKIT_OK; s++) {
                rc = ek_cancelled(ctx);
                if (rc == EODKIT_OK) {
                    rc = ek_source_place(ctx, &p->grids[g], &mod->sources[s],
                                         &mod->placements[g * mod->nsources + s]);
                }
            }
        }
    }
    return rc;
}

/* Chip ids and lattice keys of work units of every grid. */
static void number_chips(ek_plan *p)
{
    size_t g, units = 0;
    int span = p->stride_x > p->stride_y ? p->stride_x : p->stride_y;

    p->unit_chips = UNIT_PIXELS / span > 1 ? UNIT_PIXELS / span : 1;
    p->nchips = 0;
    for (g = 0; g < p->ngrids; g++) {
        ek_grid *gr = &p->grids[g];
        int ux = gr->nx < p->unit_chips ? gr->nx : p->unit_chips;
        int uy = gr->ny < p->unit_chips ? gr->ny : p->unit_chips;
        int w = ux > 0 ? (ux - 1) * p->stride_x + p->chip_w : 0;
        int h = uy > 0 ? (uy - 1) * p->stride_y + p->chip_h : 0;

        gr->first_chip = p->nchips;
        gr->first_unit = units;
        gr->units_x = (gr->nx + p->unit_chips - 1) / p->unit_chips;
        gr->units_y = (gr->ny + p->unit_chips - 1) / p->unit_chips;
        p->nchips += (size_t)gr->nx * (size_t)gr->ny;
        units += (size_t)gr->units_x * (size_t)gr->units_y;
        p->unit_w = w > p->unit_w ? w : p->unit_w;
        p->unit_h = h > p->unit_h ? h : p->unit_h;
    }
}

/* ---- candidate chips ---- */

/* Chip positions (i0..i1, j0..j1 inclusive) of one grid. */
typedef struct chip_span {
    long i0, i1, j0, j1;
} chip_span;

/* Columns i0..i1 of one row of chips. */
typedef struct chip_run {
    long i0, i1;
} chip_run;

/* The chip positions within CLIP whose window meets grid pixels GX0..GX1 x
   GY0..GY1 (overlapping them, not only touching), into *OUT; 0 when none.
   Computed in double: a file far off the grid has huge coordinates. */
static int chips_meeting(const ek_plan *p, double gx0, double gy0, double gx1,
                         double gy1, const chip_span *clip, chip_span *out)
{
    double i0 = fmax(floor((gx0 - p->chip_w) / p->stride_x) + 1, (double)clip->i0);
    double i1 = fmin(ceil(gx1 / p->stride_x) - 1, (double)clip->i1);
    double j0 = fmax(floor((gy0 - p->chip_h) / p->stride_y) + 1, (double)clip->j0);
    double j1 = fmin(ceil(gy1 / p->stride_y) - 1, (double)clip->j1);

    if (!(i0 <= i1 && j0 <= j1)) {
        return 0;
    }
    out->i0 = (long)i0, out->i1 = (long)i1, out->j0 = (long)j0, out->j1 = (long)j1;
    return 1;
}

static int compare_span(const void *a, const void *b)
{
    const chip_span *x = a, *y = b;

    return (x->j0 > y->j0) - (x->j0 < y->j0);
}

/* The spans of one modality and the walk over their rows. */
typedef struct modality_rows {
    chip_span *spans; /* sorted by first row */
    size_t n, cap;
    size_t next;    /* spans[next..] start below the current row */
    size_t *active; /* spans over the current row */
    size_t nactive;
    chip_run *runs; /* the union of the active spans' columns, sorted */
    size_t nruns;
} modality_rows;

/* The rows of one grid over data of every required modality, walked from
   the top in stretches of rows that share their chip columns. */
typedef struct row_walk {
    modality_rows *mods;
    size_t nmods;
    long row;       /* the next row to look at */
    chip_run *runs; /* the chip columns over data of every modality */
    size_t nruns;
    chip_run *scratch;
    size_t cap;
} row_walk;

static void walk_clear(row_walk *w)
{
    size_t m;

    for (m = 0; w->mods != NULL && m < w->nmods; m++) {
        free(w->mods[m].spans);
        free(w->mods[m].active);
        free(w->mods[m].runs);
    }
    free(w->mods);
    free(w->runs);
    free(w->scratch);
    memset(w, 0, sizeof *w);
}

static int compare_run(const void *a, const void *b)
{
    const chip_run *x = a, *y = b;

    return (x->i0 > y->i0) - (x->i0 < y->i0);
}

/* Modality M's columns over the current row: the union of its active
   spans' columns. */
static void union_runs(modality_rows *m)
{
    size_t k, n = 0;

    for (k = 0; k < m->nactive; k++) {
        m->runs[k].i0 = m->spans[m->active[k]].i0;
        m->runs[k].i1 = m->spans[m->active[k]].i1;
    }
    qsort(m->runs, m->nactive, sizeof *m->runs, compare_run);
    for (k = 0; k < m->nactive; k++) {
        if (n > 0 && m->runs[k].i0 <= m->runs[n - 1].i1 + 1) {
            if (m->runs[k].i1 > m->runs[n - 1].i1) {
                m->runs[n - 1].i1 = m->runs[k].i1;
            }
        } else {
            m->runs[n++] = m->runs[k];
        }
    }
    m->nruns = n;
}

/* W->runs = W->runs intersected with M's runs. */
static void intersect_runs(row_walk *w, const modality_rows *m)
{
    size_t a = 0, b = 0, n = 0;

    while (a < w->nruns && b < m->nruns) {
        long i0 = w->runs[a].i0 > m->runs[b].i0 ? w->runs[a].i0 : m->runs[b].i0;
        long i1 = w->runs[a].i1 < m->runs[b].i1 ? w->runs[a].i1 : m->runs[b].i1;

        if (i0 <= i1) {
            w->scratch[n].i0 = i0, w->scratch[n].i1 = i1;
            n++;
        }
        if (w->runs[a].i1 < m->runs[b].i1) {
            a++;
        } else {
            b++;
        }
    }
    memcpy(w->runs, w->scratch, n * sizeof *w->runs);
    w->nruns = n;
}

/*
** The next stretch of rows: *ROW and *ROWS rows from it, whose chip columns
** over data of every modality are W->runs (not empty). Return 0 when no
** row is left. The cost is that of the spans, not of the rows.
*/
static int walk_next(row_walk *w, long *row, long *rows)
{
    for (;;) {
        long j = w->row, end = LONG_MAX, wait = -1;
        size_t m, k;

        for (m = 0; m < w->nmods; m++) {
            modality_rows *mr = &w->mods[m];
            size_t kept = 0;

            while (mr->next < mr->n && mr->spans[mr->next].j0 <= j) {
                mr->active[mr->nactive++] = mr->next++;
            }
            for (k = 0; k < mr->nactive; k++) {
                if (mr->spans[mr->active[k]].j1 >= j) {
                    mr->active[kept++] = mr->active[k];
                }
            }
            mr->nactive = kept;
            if (mr->nactive == 0) {
                if (mr->next == mr->n) {
                    return 0;
                }
                wait = mr->spans[mr->next].j0 > wait ? mr->spans[mr->next].j0 : wait;
            }
            if (mr->next < mr->n && mr->spans[mr->next].j0 < end) {
                end = mr->spans[mr->next].j0;
            }
            for (k = 0; k < mr->nactive; k++) {
                if (mr->spans[mr->active[k]].j1 + 1 < end) {
                    end = mr->spans[mr->active[k]].j1 + 1;
                }
            }
        }
        if (wait >= 0) {
            w->row = wait; /* some modality has no file over the rows before */
            continue;
        }
        for (m = 0; m < w->nmods; m++) {
            union_runs(&w->mods[m]);
            if (m == 0) {
                memcpy(w->runs, w->mods[0].runs, w->mods[0].nruns * sizeof *w->runs);
                w->nruns = w->mods[0].nruns;
            } else {
                intersect_runs(w, &w->mods[m]);
            }
        }
        w->row = end;
        if (w->nruns > 0) {
            *row = j;
            *rows = end - j;
            return 1;
        }
    }
}

/* The chip positions of grid GI over required modality M's data, within
   CLIP, into MR's spans. */
static int modality_spans(eodkit_ctx *ctx, const ek_plan *p, size_t gi,
                          const ek_modality *m, const chip_span *clip,
                          modality_rows *mr)
{
    size_t s;
    int rc = EODKIT_OK;

    for (s = 0; s < m->nsources && rc == EODKIT_OK; s++) {
        const ek_source *src = &m->sources[s];
        const ek_placement *pl = ek_plan_placement(m, gi, s);
        double whole[4] = {pl->gx0, pl->gy0, pl->gx1, pl->gy1}, *parts = whole;
        size_t nparts = 1, k;
        chip_span span;

        if (!pl->reaches) {
            continue;
        }

        /* a file with empty parts (whose pixels read as nodata): the parts
           with data only */
        if (src->data != NULL &&
            ek_source_empty_is_nodata(src, m->has_nodata, m->nodata)) {
            nparts = src->ndata;
            parts = ek_calloc(ctx, 4 * nparts + 1, sizeof *parts);
            rc = parts == NULL ? EODKIT_ERR_NOMEM
                               : ek_source_data_on_grid(ctx, &p->grids[gi], src, parts);
        }
        for (k = 0; k < nparts && rc == EODKIT_OK; k++) {
            const double *b = parts + 4 * k;

            if (chips_meeting(p, b[0], b[1], b[2], b[3], clip, &span)) {
                rc = ek_grow(ctx, (void **)&mr->spans, &mr->cap, mr->n + 1,
                             sizeof *mr->spans);
                if (rc == EODKIT_OK) {
                    mr->spans[mr->n++] = span;
                }
            }
        }
        if (parts != whole) {
            free(parts);
        }
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (mr->n > 1) { /* spans is NULL without any */
        qsort(mr->spans, mr->n, sizeof *mr->spans, compare_span);
    }
    mr->active = ek_calloc(ctx, mr->n + 1, sizeof *mr->active);
    mr->runs = ek_calloc(ctx, mr->n + 1, sizeof *mr->runs);
    return mr->active == NULL || mr->runs == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* Start walking the rows of grid GI within CLIP. */
static int walk_start(eodkit_ctx *ctx, const ek_plan *p, size_t gi,
                      const chip_span *clip, row_walk *w)
{
    size_t m, spans = 0;
    int rc = EODKIT_OK;

    memset(w, 0, sizeof *w);
    w->mods = ek_calloc(ctx, p->nmodalities, sizeof *w->mods);
    if (w->mods == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        if (p->modalities[m].recipe->required) {
            rc =
                modality_spans(ctx, p, gi, &p->modalities[m], clip, &w->mods[w->nmods]);
            spans += w->mods[w->nmods].n;
            w->nmods++;
        }
    }
    /* an intersection of run lists has at most as many runs as all of them */
    w->row = clip->j0;
    w->runs = ek_calloc(ctx, spans + 1, sizeof *w->runs);
    w->scratch = ek_calloc(ctx, spans + 1, sizeof *w->scratch);
    if (rc == EODKIT_OK && (w->runs == NULL || w->scratch == NULL)) {
        rc = EODKIT_ERR_NOMEM;
    }
    return rc;
}

/* The chip positions of grid G whose centre can lie in the AOI (lon/lat
   geometry AOI, or NULL): within its bounds on the grid, densified so that
   curved edges are followed, plus a chip of margin. */
static int aoi_clip(eodkit_ctx *ctx, const ek_plan *p, const ek_grid *g,
                    OGRGeometryH aoi, chip_span *clip)
{
    double b[4], x0, x1, y0, y1;
    OGRGeometryH dense;
    int rc;

    clip->i0 = 0, clip->i1 = (long)g->nx - 1, clip->j0 = 0, clip->j1 = (long)g->ny - 1;
    if (aoi == NULL) {
        return EODKIT_OK;
    }
    dense = OGR_G_Clone(aoi);
    OGR_G_Segmentize(dense, 0.001);
    rc = aoi_bounds(ctx, dense, g->srs, b);
    OGR_G_DestroyGeometry(dense);
    if (rc != EODKIT_OK) {
        return rc;
    }
    /* the chip centre (i stride + w / 2, j stride + h / 2) within b */
    x0 = ((b[0] - g->gt[0]) / g->gt[1] - p->chip_w / 2.0) / p->stride_x - 1;
    x1 = ((b[2] - g->gt[0]) / g->gt[1] - p->chip_w / 2.0) / p->stride_x + 1;
    y0 = ((b[3] - g->gt[3]) / g->gt[5] - p->chip_h / 2.0) / p->stride_y - 1;
    y1 = ((b[1] - g->gt[3]) / g->gt[5] - p->chip_h / 2.0) / p->stride_y + 1;
    clip->i0 = (long)fmax(floor(x0), 0), clip->i1 = (long)fmin(ceil(x1), g->nx - 1);
    clip->j0 = (long)fmax(floor(y0), 0), clip->j1 = (long)fmin(ceil(y1), g->ny - 1);
    return EODKIT_OK;
}

/* Whether the centre of chip (I, J) of grid G passes the zone and AOI tests. */
static int centre_ok(const ek_plan *p, const ek_grid *g, long i, long j,
                     OGRCoordinateTransformationH to_lonlat, OGRPreparedGeometryH aoi,
                     OGRGeometryH point)
{
    ek_window w = {(int)i * p->stride_x, (int)j * p->stride_y, p->chip_w, p->chip_h};
    double x, y, z = 0;
    int zone;

    ek_grid_window_center(g, &w, &x, &y);
    if (to_lonlat == NULL) {
        return 1;
    }
    if (!OCTTransform(to_lonlat, 1, &x, &y, &z)) {
        return 0;
    }
    if (g->utm_zone != 0) {
        zone = (int)floor((x + 180.0) / 6.0) + 1;
        if (zone != abs(g->utm_zone) || (g->utm_zone < 0) != (y < 0)) {
            return 0;
        }
    }
    if (aoi != NULL) {
        OGR_G_SetPoint_2D(point, 0, x, y);
        return OGRPreparedGeometryContains(aoi, point);
    }
    return 1;
}

/* Chip positions over data of every required modality on each grid, at
   most: refused beyond EK_MAX_CHIPS before any is listed. */
static int count_chips(eodkit_ctx *ctx, const ek_plan *p, OGRGeometryH aoi)
{
    double total = 0, lattice = 0;
    size_t g;
    char where[512];
    int rc = EODKIT_OK;

    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        row_walk w;
        chip_span clip;
        long row, rows;
        size_t k;

        lattice += (double)p->grids[g].nx * (double)p->grids[g].ny;
        rc = aoi_clip(ctx, p, &p->grids[g], aoi, &clip);
        if (rc == EODKIT_OK) {
            rc = walk_start(ctx, p, g, &clip, &w);
        }
        while (rc == EODKIT_OK && walk_next(&w, &row, &rows)) {
            for (k = 0; k < w.nruns; k++) {
                total += (double)rows * (double)(w.runs[k].i1 - w.runs[k].i0 + 1);
            }
            rc = ek_cancelled(ctx);
        }
        walk_clear(&w);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    ek_recipe_where(p->recipe, p->recipe->chip_mark, where, sizeof where);
    if (!(lattice < (double)EK_MAX_CHIP_ID)) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: the chip lattices of the grids hold %.0f chip positions, "
                        "more than chip ids can number (2^62): use larger chips or "
                        "stride, or a coarser resolution",
                        where, lattice);
    }
    if (total <= (double)EK_MAX_CHIPS) {
        return EODKIT_OK;
    }
    return ek_error(
        ctx, EODKIT_ERR_INPUT,
        "%s: the data covers %.0f chip positions (chips of %d x %d px every "
        "%d x %d px); eodkit plans at most %zu candidate chips (doc/recipe.md, "
        "Limits): use larger chips or stride, a coarser resolution, or an AOI",
        where, total, p->chip_h, p->chip_w, p->stride_y, p->stride_x,
        (size_t)EK_MAX_CHIPS);
}

/* A candidate on its way into a unit: its unit column and id on its grid. */
typedef struct placed_chip {
    size_t ux, id;
} placed_chip;

static int compare_placed(const void *a, const void *b)
{
    const placed_chip *x = a, *y = b;

    if (x->ux != y->ux) {
        return x->ux < y->ux ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* Append the chips of one band of unit rows UY (BAND, N of them, in row
   order) to the plan, unit by unit; ids and keys are the grid's own (made
   global by number_grids). */
static int append_band(eodkit_ctx *ctx, ek_plan *p, const ek_grid *g, size_t uy,
                       placed_chip *band, size_t n, size_t *cap, size_t *units_cap)
{
    size_t k;
    int rc = EODKIT_OK;

    qsort(band, n, sizeof *band, compare_placed);
    rc = ek_grow(ctx, (void **)&p->chips, cap, p->ncandidates + n, sizeof *p->chips);
    for (k = 0; k < n && rc == EODKIT_OK; k++) {
        if (k == 0 || band[k].ux != band[k - 1].ux) {
            rc = ek_grow(ctx, (void **)&p->units, units_cap, p->nunits + 2,
                         sizeof *p->units);
            if (rc != EODKIT_OK) {
                break;
            }
            p->units[p->nunits].key = uy * (size_t)g->units_x + band[k].ux;
            p->units[p->nunits].first = p->ncandidates;
            p->nunits++;
        }
        p->chips[p->ncandidates++] = band[k].id;
    }
    return rc;
}

/* List the candidate chips of grid GI in unit order: the chips over data
   of every required modality (within CLIP) whose centre passes the zone
   and AOI tests. */
static int list_grid_chips(eodkit_ctx *ctx, ek_plan *p, size_t gi, OGRGeometryH aoi,
                           OGRPreparedGeometryH prepared, size_t *cap,
                           size_t *units_cap)
{
    const ek_grid *g = &p->grids[gi];
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    OGRCoordinateTransformationH to_lonlat = NULL;
    OGRGeometryH point = OGR_G_CreateGeometry(wkbPoint);
    placed_chip *band = NULL;
    size_t nband = 0, band_cap = 0, uy = 0, uc = (size_t)p->unit_chips, k;
    long row, rows, j, i;
    chip_span clip;
    row_walk w;
    int rc;

    memset(&w, 0, sizeof w);
    if (g->utm_zone != 0 || prepared != NULL) {
        to_lonlat = OCTNewCoordinateTransformation(g->srs, wgs84);
    }
    rc = aoi_clip(ctx, p, g, aoi, &clip);
    if (rc == EODKIT_OK) {
        rc = walk_start(ctx, p, gi, &clip, &w);
    }
    while (rc == EODKIT_OK && walk_next(&w, &row, &rows)) {
        for (j = row; j < row + rows && rc == EODKIT_OK; j++) {
            rc = ek_cancelled(ctx);
            if (rc == EODKIT_OK && nband > 0 && (size_t)j / uc != uy) {
                rc = append_band(ctx, p, g, uy, band, nband, cap, units_cap);
                nband = 0;
            }
            uy = (size_t)j / uc;
            for (k = 0; k < w.nruns && rc == EODKIT_OK; k++) {
                for (i = w.runs[k].i0; i <= w.runs[k].i1 && rc == EODKIT_OK; i++) {
                    if (!centre_ok(p, g, i, j, to_lonlat, prepared, point)) {
                        continue;
                    }
                    rc = ek_grow(ctx, (void **)&band, &band_cap, nband + 1,
                                 sizeof *band);
                    if (rc == EODKIT_OK) {
                        band[nband].ux = (size_t)i / uc;
                        band[nband].id = (size_t)j * (size_t)g->nx + (size_t)i;
                        nband++;
                    }
                }
            }
        }
    }
    if (rc == EODKIT_OK && nband > 0) {
        rc = append_band(ctx, p, g, uy, band, nband, cap, units_cap);
    }
    walk_clear(&w);
    free(band);
    if (to_lonlat != NULL) {
        OCTDestroyCoordinateTransformation(to_lonlat);
    }
    OGR_G_DestroyGeometry(point);
    OSRRelease(wgs84);
    return rc;
}

/* Keep grid GI's placements at KEPT (grids are being compacted). */
static void move_placements(ek_plan *p, size_t gi, size_t kept)
{
    size_t m, s;

    for (m = 0; m < p->nmodalities; m++) {
        ek_modality *mod = &p->modalities[m];

        for (s = 0; s < mod->nsources; s++) {
            mod->placements[kept * mod->nsources + s] =
                mod->placements[gi * mod->nsources + s];
        }
    }
}

/*
** The candidate chips of every grid, in work-unit order. crs: utm frames
** every zone the data's bounds touch: grids without candidates are dropped,
** then chip ids and unit keys are numbered over the grids kept.
*/
static int list_chips(eodkit_ctx *ctx, ek_plan *p, OGRGeometryH aoi)
{
    OGRPreparedGeometryH prepared = aoi != NULL ? OGRCreatePreparedGeometry(aoi) : NULL;
    size_t *chip_end = ek_calloc(ctx, p->ngrids + 1, sizeof *chip_end);
    size_t *unit_end = ek_calloc(ctx, p->ngrids + 1, sizeof *unit_end);
    size_t cap = 0, units_cap = 0, g, kept = 0, k, c0 = 0, u0 = 0;
    int rc = chip_end == NULL || unit_end == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        rc = list_grid_chips(ctx, p, g, aoi, prepared, &cap, &units_cap);
        chip_end[g] = p->ncandidates;
        unit_end[g] = p->nunits;
    }
    if (rc == EODKIT_OK) {
        rc = ek_grow(ctx, (void **)&p->units, &units_cap, p->nunits + 1,
                     sizeof *p->units);
    }
    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        if (chip_end[g] == c0) {
            OSRRelease(p->grids[g].srs);
            free(p->grids[g].wkt);
            free(p->grids[g].crs_code);
            continue;
        }
        move_placements(p, g, kept);
        p->grids[kept] = p->grids[g];
        chip_end[kept] = chip_end[g];
        unit_end[kept] = unit_end[g];
        kept++;
        c0 = chip_end[g];
    }
    if (rc == EODKIT_OK) {
        p->ngrids = kept;
        number_chips(p);
        c0 = u0 = 0;
        for (g = 0; g < p->ngrids; g++) {
            for (k = c0; k < chip_end[g]; k++) {
                p->chips[k] += p->grids[g].first_chip;
            }
            for (k = u0; k < unit_end[g]; k++) {
                p->units[k].key += p->grids[g].first_unit;
            }
            c0 = chip_end[g];
            u0 = unit_end[g];
        }
        p->units[p->nunits].key = 0;
        p->units[p->nunits].first = p->ncandidates;
    }
    free(chip_end);
    free(unit_end);
    if (prepared != NULL) {
        OGRDestroyPreparedGeometry(prepared);
    }
    return rc;
}

/* ---- chips on the Major TOM grid ---- */

/* The bounds of the parts of required modality M's files with data (their
   whole extent, or the parts GDAL reports data in), appended to *BOXES
   (xmin, ymin, xmax, ymax each) in CRS; with NEAR (lon/lat bounds), only
   those of files near it. */
static int modality_boxes(eodkit_ctx *ctx, const ek_modality *m,
                          OGRSpatialReferenceH crs, const double *near, double **boxes,
                          size_t *n, size_t *cap)
{
    ek_grid plain; /* CRS units as pixels: y comes out negated */
    size_t s, k;
    int rc = EODKIT_OK;

    memset(&plain, 0, sizeof plain);
    plain.srs = crs;
    plain.gt[1] = 1, plain.gt[5] = -1;
    for (s = 0; s < m->nsources && rc == EODKIT_OK; s++) {
        const ek_source *src = &m->sources[s];

        if (near != NULL && ek_lonlat_apart(src->lonlat, near)) {
            continue;
        }
        if (src->data != NULL &&
            ek_source_empty_is_nodata(src, m->has_nodata, m->nodata)) {
            rc = ek_grow(ctx, (void **)boxes, cap, 4 * (*n + src->ndata + 1),
                         sizeof **boxes);
            if (rc == EODKIT_OK) {
                rc = ek_source_data_on_grid(ctx, &plain, src, *boxes + 4 * *n);
            }
            for (k = 0; rc == EODKIT_OK && k < src->ndata; k++) {
                double *b = *boxes + 4 * (*n + k), top = -b[1];

                b[1] = -b[3];
                b[3] = top;
            }
            *n += rc == EODKIT_OK ? src->ndata : 0;
        } else {
            rc = ek_grow(ctx, (void **)boxes, cap, 4 * (*n + 1), sizeof **boxes);
            if (rc == EODKIT_OK) {
                rc = ek_source_bounds(ctx, crs, src, *boxes + 4 * *n);
                *n += rc == EODKIT_OK;
            }
        }
    }
    return rc;
}

/* One UTM zone (and hemisphere) of the Major TOM chips: its CRS and where
   each required modality holds data in it. */
typedef struct mt_zone {
    OGRSpatialReferenceH srs;
    OGRCoordinateTransformationH from_lonlat, to_lonlat;
    CPLQuadTree **data; /* per required modality: data boxes, as items k + 1 */
    double **boxes;
} mt_zone;

/* A chip on a Major TOM cell: its zone (index 0-59 north, 60-119 south),
   window corner in the zone's CRS, and cell. */
typedef struct mt_chip {
    int zone;
    double left, top;
    ek_cell cell;
} mt_chip;

static int compare_cell(const void *a, const void *b)
{
    const ek_cell *x = a, *y = b;

    if (x->row != y->row) {
        return x->row < y->row ? -1 : 1;
    }
    return (x->col > y->col) - (x->col < y->col);
}

static int compare_mt_chip(const void *a, const void *b)
{
    const mt_chip *x = a, *y = b;

    if (x->zone != y->zone) {
        return x->zone < y->zone ? -1 : 1;
    }
    if (x->top != y->top) {
        return x->top > y->top ? -1 : 1;
    }
    if (x->left != y->left) {
        return x->left < y->left ? -1 : 1;
    }
    return compare_cell(&x->cell, &y->cell);
}

static void zone_clear(mt_zone *z, size_t nmods)
{
    size_t m;

    for (m = 0; z->data != NULL && m < nmods; m++) {
        if (z->data[m] != NULL) {
            CPLQuadTreeDestroy(z->data[m]);
        }
        free(z->boxes[m]);
    }
    free(z->data);
    free(z->boxes);
    if (z->from_lonlat != NULL) {
        OCTDestroyCoordinateTransformation(z->from_lonlat);
    }
    if (z->to_lonlat != NULL) {
        OCTDestroyCoordinateTransformation(z->to_lonlat);
    }
    if (z->srs != NULL) {
        OSRRelease(z->srs);
    }
    memset(z, 0, sizeof *z);
}

/* Zone Z set up: its CRS, transformations and the data boxes of the
   required modalities in it. */
static int zone_open(eodkit_ctx *ctx, const ek_plan *p, int z, mt_zone *zone)
{
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    /* the zone's cell widened by a chip: files beyond cannot reach its
       chips (a degree of longitude is over 10 km up to 84 degrees) */
    double reach = fmax(p->chip_w * p->recipe->res_x, p->chip_h * p->recipe->res_y);
    double pad = 1.0 + reach / 10000.0, west = -180.0 + 6.0 * (z % 60);
    double near[4] = {west - pad, (z >= 60 ? -80.0 : 0.0) - pad, west + 6.0 + pad,
                      (z >= 60 ? 0.0 : 84.0) + pad};
    size_t m, k, nm = 0;
    int rc = EODKIT_OK;

    zone->srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(zone->srs, (z >= 60 ? 32700 : 32600) + z % 60 + 1);
    OSRSetAxisMappingStrategy(zone->srs, OAMS_TRADITIONAL_GIS_ORDER);
    zone->from_lonlat = OCTNewCoordinateTransformation(wgs84, zone->srs);
    zone->to_lonlat = OCTNewCoordinateTransformation(zone->srs, wgs84);
    OSRRelease(wgs84);
    zone->data = ek_calloc(ctx, p->nmodalities, sizeof *zone->data);
    zone->boxes = ek_calloc(ctx, p->nmodalities, sizeof *zone->boxes);
    if (zone->from_lonlat == NULL || zone->to_lonlat == NULL) {
        return ek_error_gdal(ctx, "cannot use UTM zone %d%s", z % 60 + 1,
                             z >= 60 ? "S" : "N");
    }
    if (zone->data == NULL || zone->boxes == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        size_t n = 0, cap = 0;
        CPLRectObj all = {0, 0, 0, 0};

        if (!p->modalities[m].recipe->required) {
            continue;
        }
        rc = modality_boxes(ctx, &p->modalities[m], zone->srs, near, &zone->boxes[nm],
                            &n, &cap);
        for (k = 0; rc == EODKIT_OK && k < n; k++) {
            const double *b = zone->boxes[nm] + 4 * k;

            all.minx = k == 0 || b[0] < all.minx ? b[0] : all.minx;
            all.miny = k == 0 || b[1] < all.miny ? b[1] : all.miny;
            all.maxx = k == 0 || b[2] > all.maxx ? b[2] : all.maxx;
            all.maxy = k == 0 || b[3] > all.maxy ? b[3] : all.maxy;
        }
        zone->data[nm] = rc == EODKIT_OK ? CPLQuadTreeCreate(&all, NULL) : NULL;
        for (k = 0; zone->data[nm] != NULL && k < n; k++) {
            const double *b = zone->boxes[nm] + 4 * k;
            CPLRectObj r = {b[0], b[1], b[2], b[3]};

            CPLQuadTreeInsertWithBounds(zone->data[nm], (void *)(intptr_t)(k + 1), &r);
        }
        nm++;
    }
    return rc;
}

/* Whether the window LEFT..RIGHT x BOTTOM..TOP overlaps data of every
   required modality of ZONE (NM of them). */
static int zone_has_data(const mt_zone *zone, size_t nm, double left, double bottom,
                         double right, double top)
{
    CPLRectObj w = {left, bottom, right, top};
    size_t m;

    for (m = 0; m < nm; m++) {
        int n = 0, i, found = 0;
        void **hits = CPLQuadTreeSearch(zone->data[m], &w, &n);

        for (i = 0; i < n && !found; i++) {
            const double *b = zone->boxes[m] + 4 * ((intptr_t)hits[i] - 1);

            found = b[0] < right && b[2] > left && b[1] < top && b[3] > bottom;
        }
        CPLFree(hits);
        if (!found) {
            return 0;
        }
    }
    return 1;
}

/* Keep the first of each run of equal cells among the N sorted CELLS;
   return how many are left. */
static size_t distinct_cells(ek_cell *cells, size_t n)
{
    size_t k, kept = 0;

    for (k = 0; k < n; k++) {
        if (kept == 0 || compare_cell(&cells[k], &cells[kept - 1]) != 0) {
            cells[kept++] = cells[k];
        }
    }
    return kept;
}

/* The Major TOM cells whose chip may meet the lon/lat boxes of the first
   required modality (each box widened by a chip), at most EK_MAX_CHIPS
   of them, sorted and distinct, into *CELLS. */
static int majortom_cells(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                          ek_cell **cells, size_t *ncells)
{
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    double *boxes = NULL, reach = fmax(p->chip_w * r->res_x, p->chip_h * r->res_y);
    size_t nboxes = 0, cap = 0, ccap = 0, b, m = 0, n = 0;
    double dlat = 180.0 / ek_majortom_rows(r->spacing);
    char where[512];
    int rc = EODKIT_OK;

    while (!p->modalities[m].recipe->required) {
        m++;
    }
    rc = modality_boxes(ctx, &p->modalities[m], wgs84, NULL, &boxes, &nboxes, &cap);
    OSRRelease(wgs84);
    for (b = 0; b < nboxes && rc == EODKIT_OK; b++) {
        const double *x = boxes + 4 * b;
        double south = fmax(x[1] - reach / 110000.0, -80.0);
        double north = fmin(x[3] + reach / 110000.0, 84.0);
        double widest = fmax(fabs(south), fabs(north));
        double west =
            x[0] - reach / (111320.0 * fmax(cos(widest * M_PI / 180.0), 0.01));
        double east =
            x[2] + reach / (111320.0 * fmax(cos(widest * M_PI / 180.0), 0.01));
        int row, row1 = (int)floor(north / dlat);

        for (row = (int)floor(south / dlat); row <= row1 && rc == EODKIT_OK; row++) {
            double dlon = 360.0 / ek_majortom_cols(r->spacing, row);
            long long col, col1 = (long long)floor(east / dlon);

            for (col = (long long)floor(west / dlon); col <= col1 && rc == EODKIT_OK;
                 col++) {
                rc = ek_grow(ctx, (void **)cells, &ccap, n + 1, sizeof **cells);
                if (rc == EODKIT_OK) {
                    int rr, cc;

                    /* through cell_at: columns wrap at 180 degrees */
                    ek_majortom_cell_at(r->spacing, (col + 0.5) * dlon,
                                        (row + 0.5) * dlat, &rr, &cc);
                    (*cells)[n].row = rr, (*cells)[n].col = cc;
                    n++;
                }
                if (rc == EODKIT_OK && n > 2 * EK_MAX_CHIPS) {
                    qsort(*cells, n, sizeof **cells, compare_cell);
                    n = distinct_cells(*cells, n);
                    if (n > EK_MAX_CHIPS) {
                        rc = ek_error(
                            ctx, EODKIT_ERR_INPUT,
                            "%s: the data lies on more than %zu Major TOM cells "
                            "of %g km; eodkit plans at most %zu candidate chips "
                            "(doc/recipe.md, Limits): use a larger spacing, or "
                            "an AOI",
                            ek_recipe_where(r, r->system_mark, where, sizeof where),
                            (size_t)EK_MAX_CHIPS, r->spacing, (size_t)EK_MAX_CHIPS);
                    }
                }
            }
        }
    }
    free(boxes);
    if (rc == EODKIT_OK && n > 0) { /* *cells is NULL without any */
        qsort(*cells, n, sizeof **cells, compare_cell);
        *ncells = distinct_cells(*cells, n);
    }
    if (rc == EODKIT_OK && *ncells > EK_MAX_CHIPS) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the data lies on %zu Major TOM cells of %g km; eodkit plans "
                      "at most %zu candidate chips (doc/recipe.md, Limits): use a "
                      "larger spacing, or an AOI",
                      ek_recipe_where(r, r->system_mark, where, sizeof where), *ncells,
                      r->spacing, (size_t)EK_MAX_CHIPS);
    }
    return rc;
}

/* The chip of CELL in the UTM zone of its centroid (ZONES[z], set up
   when first needed): *CHIP, and *FOUND 0 when the centroid lies beyond
   UTM (80 S to 84 N). Its centre is the cell centroid moved to the nearest
   pixel corner (even sizes; the nearest pixel centre for odd ones). */
static int cell_chip(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                     ek_cell cell, mt_zone *zones, mt_chip *chip, int *found)
{
    double lon, lat, x, y, z = 0;
    int zone, rc = EODKIT_OK;

    *found = 0;
    ek_majortom_centroid(r->spacing, cell.row, cell.col, &lon, &lat);
    if (lat < -80.0 || lat >= 84.0) {
        return EODKIT_OK;
    }
    zone = (int)floor((lon + 180.0) / 6.0);
    zone = (zone < 0 ? 0 : zone > 59 ? 59 : zone) + (lat < 0 ? 60 : 0);
    if (zones[zone].srs == NULL) {
        rc = zone_open(ctx, p, zone, &zones[zone]);
    }
    x = lon, y = lat;
    if (rc != EODKIT_OK || !OCTTransform(zones[zone].from_lonlat, 1, &x, &y, &z)) {
        return rc;
    }
    chip->zone = zone;
    chip->cell = cell;
    chip->left = r->res_x * floor(x / r->res_x - p->chip_w / 2.0 + 0.5);
    chip->top = r->res_y * floor(y / r->res_y + p->chip_h / 2.0 + 0.5);
    *found = 1;
    return EODKIT_OK;
}

/* The zone grids of the N sorted CHIPS and their windows, ids, cells and
   work units (one chip each). */
static int majortom_grids(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p,
                          const mt_chip *chips, size_t n)
{
    OGRSpatialReferenceH wgs84 = NULL;
    size_t k, first = 0;
    int rc = EODKIT_OK;

    p->windows = ek_calloc(ctx, n + 1, sizeof *p->windows);
    p->cells = ek_calloc(ctx, n + 1, sizeof *p->cells);
    p->chips = ek_calloc(ctx, n + 1, sizeof *p->chips);
    p->units = ek_calloc(ctx, n + 1, sizeof *p->units);
    p->grids = ek_calloc(ctx, 120, sizeof *p->grids);
    if (p->windows == NULL || p->cells == NULL || p->chips == NULL ||
        p->units == NULL || p->grids == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    wgs84 = ek_srs_lonlat();
    for (k = 0; k <= n && rc == EODKIT_OK; k++) {
        ek_grid *g;
        double x0, y1, x1, y0;
        size_t c;

        if (k < n && chips[k].zone == chips[first].zone) {
            continue;
        }
        if (k == first) {
            break; /* no chip at all */
        }
        /* chips[first, k) are one zone's */
        x0 = chips[first].left, y1 = chips[first].top;
        x1 = x0, y0 = y1;
        for (c = first; c < k; c++) {
            x0 = fmin(x0, chips[c].left);
            y1 = fmax(y1, chips[c].top);
            x1 = fmax(x1, chips[c].left + p->chip_w * r->res_x);
            y0 = fmin(y0, chips[c].top - p->chip_h * r->res_y);
        }
        g = &p->grids[p->ngrids++];
        g->utm_zone =
            chips[first].zone >= 60 ? -(chips[first].zone - 59) : chips[first].zone + 1;
        g->srs = OSRNewSpatialReference(NULL);
        OSRImportFromEPSG(g->srs, (g->utm_zone < 0 ? 32700 : 32600) + abs(g->utm_zone));
        rc = set_grid_crs(ctx, g);
        g->gt[0] = x0, g->gt[1] = r->res_x, g->gt[3] = y1, g->gt[5] = -r->res_y;
        if (!(round((x1 - x0) / r->res_x) <= EK_MAX_GRID_SIDE &&
              round((y1 - y0) / r->res_y) <= EK_MAX_GRID_SIDE)) {
            char where[512];

            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: pixels of %g x %g m over the chips of UTM zone %d%s "
                          "make a grid of more than %d pixels a side (doc/recipe.md, "
                          "Limits): choose a coarser grid.resolution, or an AOI",
                          ek_recipe_where(r, r->res_mark, where, sizeof where),
                          r->res_x, r->res_y, abs(g->utm_zone),
                          g->utm_zone < 0 ? "S" : "N", EK_MAX_GRID_SIDE);
            break;
        }
        g->width = (int)round((x1 - x0) / r->res_x);
        g->height = (int)round((y1 - y0) / r->res_y);
        grid_lonlat(g, wgs84);
        g->nx = g->units_x = (int)(k - first);
        g->ny = g->units_y = 1;
        g->first_chip = g->first_unit = first;
        for (c = first; c < k; c++) {
            p->windows[c].x = (int)round((chips[c].left - x0) / r->res_x);
            p->windows[c].y = (int)round((y1 - chips[c].top) / r->res_y);
            p->windows[c].w = p->chip_w;
            p->windows[c].h = p->chip_h;
            p->cells[c] = chips[c].cell;
            p->chips[c] = c;
            p->units[c].key = p->units[c].first = c;
        }
        first = k;
    }
    OSRRelease(wgs84);
    p->units[n].first = n;
    p->nchips = p->ncandidates = p->nunits = n;
    p->unit_chips = 1;
    p->unit_w = p->chip_w;
    p->unit_h = p->chip_h;
    return rc;
}

/*
** grid.system majortom: one chip centred on each Major TOM cell whose chip
** lies on data of every required modality, with its centre in the AOI, on
** the grid of the UTM zone of the cell's centroid (one grid per zone).
*/
static int majortom_chips(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p,
                          OGRGeometryH aoi)
{
    OGRPreparedGeometryH prepared = aoi != NULL ? OGRCreatePreparedGeometry(aoi) : NULL;
    OGRGeometryH point = OGR_G_CreateGeometry(wkbPoint);
    mt_zone *zones = ek_calloc(ctx, 120, sizeof *zones);
    ek_cell *cells = NULL;
    mt_chip *chips = NULL;
    size_t ncells = 0, n = 0, k, nm = 0, m;
    int rc = zones == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    for (m = 0; m < p->nmodalities; m++) {
        nm += p->modalities[m].recipe->required;
    }
    if (rc == EODKIT_OK) {
        rc = majortom_cells(ctx, r, p, &cells, &ncells);
    }
    if (rc == EODKIT_OK) {
        chips = ek_calloc(ctx, ncells + 1, sizeof *chips);
        rc = chips == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (k = 0; k < ncells && rc == EODKIT_OK; k++) {
        mt_chip c;
        double cx, cy, cz = 0, right, bottom;
        int found = 0;

        rc = ek_cancelled(ctx);
        if (rc == EODKIT_OK) {
            rc = cell_chip(ctx, r, p, cells[k], zones, &c, &found);
        }
        if (rc != EODKIT_OK || !found) {
            continue;
        }
        right = c.left + p->chip_w * r->res_x;
        bottom = c.top - p->chip_h * r->res_y;
        if (rc != EODKIT_OK ||
            !zone_has_data(&zones[c.zone], nm, c.left, bottom, right, c.top)) {
            continue;
        }
        cx = (c.left + right) / 2, cy = (c.top + bottom) / 2;
        if (prepared != NULL) {
            if (!OCTTransform(zones[c.zone].to_lonlat, 1, &cx, &cy, &cz)) {
                continue;
            }
            OGR_G_SetPoint_2D(point, 0, cx, cy);
            if (!OGRPreparedGeometryContains(prepared, point)) {
                continue;
            }
        }
        chips[n++] = c;
    }
    if (rc == EODKIT_OK) {
        qsort(chips, n, sizeof *chips, compare_mt_chip);
        rc = majortom_grids(ctx, r, p, chips, n);
    }
    for (k = 0; zones != NULL && k < 120; k++) {
        zone_clear(&zones[k], nm);
    }
    free(zones);
    free(cells);
    free(chips);
    OGR_G_DestroyGeometry(point);
    if (prepared != NULL) {
        OGRDestroyPreparedGeometry(prepared);
    }
    return rc;
}

int ek_plan_make(eodkit_ctx *ctx, const ek_recipe *r, ek_plan **plan)
{
    int rc = EODKIT_OK, next_id = 0;
    ek_plan *p = NULL;
    OGRGeometryH aoi = NULL;
    size_t i;

    *plan = NULL;
    p = ek_calloc(ctx, 1, sizeof *p);
    if (p == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    p->recipe = r;
    p->chip_w = r->chip_w, p->chip_h = r->chip_h;
    p->stride_x = r->stride_x, p->stride_y = r->stride_y;
    p->modalities = ek_calloc(ctx, r->nmodalities, sizeof *p->modalities);
    if (p->modalities == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < r->nmodalities && rc == EODKIT_OK; i++) {
        p->nmodalities = i + 1;
        p->modalities[i].recipe = &r->modalities[i];
        rc = open_inputs(ctx, r, &p->modalities[i], &next_id);
        if (rc == EODKIT_OK) {
            rc = describe_bands(ctx, r, &p->modalities[i]);
        }
    }
    p->nsources = next_id;
    for (i = 0; i < p->nmodalities; i++) {
        size_t k;

        for (k = 0; k < p->modalities[i].nsources; k++) {
            p->nremote += p->modalities[i].sources[k].remote;
        }
    }
    if (rc == EODKIT_OK && r->aoi != NULL) {
        rc = load_aoi(ctx, r, &aoi);
    }
    if (rc == EODKIT_OK && r->utm) {
        rc = sources_lonlat(ctx, p);
    }
    if (rc == EODKIT_OK && r->system == EK_SYSTEM_MAJORTOM) {
        rc = majortom_chips(ctx, r, p, aoi);
    } else if (rc == EODKIT_OK && r->utm) {
        rc = utm_grids(ctx, r, p, aoi);
    } else if (rc == EODKIT_OK) {
        p->grids = ek_calloc(ctx, 1, sizeof *p->grids);
        rc = p->grids == NULL ? EODKIT_ERR_NOMEM : single_grid(ctx, r, p, aoi);
    }
    if (rc == EODKIT_OK && p->windows == NULL) {
        number_chips(p);
    }
    if (rc == EODKIT_OK) {
        rc = place_sources(ctx, p);
    }
    if (rc == EODKIT_OK) {
        rc = check_resampling(ctx, r, p);
    }
    if (rc == EODKIT_OK && p->windows == NULL) {
        rc = count_chips(ctx, p, aoi);
    }
    if (rc == EODKIT_OK && p->windows == NULL) {
        rc = list_chips(ctx, p, aoi);
    }
    if (rc == EODKIT_OK && p->ncandidates == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      r->aoi != NULL
                          ? "%s: no chip centre lies inside the AOI over data"
                          : "%s: no chip lies on data of every required modality",
                      r->aoi != NULL ? r->aoi : r->path);
    }
    if (rc == EODKIT_OK) { /* on the grids kept (crs: utm drops zones without chips) */
        rc = ek_plan_vertical(ctx, r, p);
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
        for (j = 0; j < m->nparts; j++) {
            free(m->parts[j].bands);
        }
        free(m->parts);
        for (b = 0; b < m->nbands && m->band_names != NULL; b++) {
            free(m->band_names[b]);
        }
        free(m->band_names);
        free(m->placements);
        free(m->times);
        ek_vertical_free(m->vertical);
        ek_stac_free(m->stac);
    }
    free(p->modalities);
    for (i = 0; i < p->ngrids; i++) {
        if (p->grids[i].srs != NULL) {
            OSRRelease(p->grids[i].srs);
        }
        free(p->grids[i].wkt);
        free(p->grids[i].crs_code);
    }
    free(p->grids);
    free(p->chips);
    free(p->units);
    free(p->windows);
    free(p->cells);
    free(p);
}

void ek_plan_keep(ek_plan *p, const uint8_t *keep)
{
    size_t u, k, n = 0, nunits = 0;

    for (u = 0; u < p->nunits; u++) {
        size_t first = p->units[u].first, end = p->units[u + 1].first, key;

        key = p->units[u].key;
        p->units[nunits].first = n;
        for (k = first; k < end; k++) {
            if (keep[k]) {
                p->chips[n++] = p->chips[k];
            }
        }
        if (n > p->units[nunits].first) {
            p->units[nunits++].key = key;
        }
    }
    p->units[nunits].key = 0;
    p->units[nunits].first = n;
    p->nunits = nunits;
    p->ncandidates = n;
}

/* The grid whose chip ids (unit keys, with UNITS) include N. */
static size_t grid_of(const ek_plan *p, size_t n, int units)
{
    size_t lo = 0, hi = p->ngrids;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if ((units ? p->grids[mid].first_unit : p->grids[mid].first_chip) <= n) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

ek_chip ek_plan_chip(const ek_plan *p, size_t chip_id)
{
    ek_chip c;
    size_t local;
    int i, j;

    c.grid = grid_of(p, chip_id, 0);
    if (p->windows != NULL) {
        c.window = p->windows[chip_id];
        return c;
    }
    local = chip_id - p->grids[c.grid].first_chip;
    i = (int)(local % (size_t)p->grids[c.grid].nx);
    j = (int)(local / (size_t)p->grids[c.grid].nx);
    c.window.x = i * p->stride_x;
    c.window.y = j * p->stride_y;
    c.window.w = p->chip_w;
    c.window.h = p->chip_h;
    return c;
}

size_t ek_plan_find(const ek_plan *p, size_t chip_id)
{
    const ek_grid *g = &p->grids[grid_of(p, chip_id, 0)];
    size_t local = chip_id - g->first_chip, uc = (size_t)p->unit_chips;
    size_t key = g->first_unit + local / (size_t)g->nx / uc * (size_t)g->units_x +
                 local % (size_t)g->nx / uc;
    size_t lo = 0, hi = p->nunits, end;

    while (lo < hi) { /* the unit whose key is KEY */
        size_t mid = lo + (hi - lo) / 2;

        if (p->units[mid].key < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == p->nunits || p->units[lo].key != key) {
        return EK_NOT_CANDIDATE;
    }
    end = p->units[lo + 1].first;
    lo = p->units[lo].first;
    hi = end;
    while (lo < hi) { /* ascending ids within a unit */
        size_t mid = lo + (hi - lo) / 2;

        if (p->chips[mid] < chip_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < end && p->chips[lo] == chip_id ? lo : EK_NOT_CANDIDATE;
}

/* The first candidate index whose chip id is at least ID (the candidates
   are listed grid by grid, and grids number their ids in order). */
static size_t first_from(const ek_plan *p, size_t id)
{
    size_t lo = 0, hi = p->ncandidates;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (p->chips[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

void ek_plan_grid_chips(const ek_plan *p, size_t g, size_t *first, size_t *end)
{
    *first = first_from(p, p->grids[g].first_chip);
    *end =
        g + 1 < p->ngrids ? first_from(p, p->grids[g + 1].first_chip) : p->ncandidates;
}

size_t ek_plan_unit_window(const ek_plan *p, size_t u, ek_window *window)
{
    size_t g = grid_of(p, p->units[u].key, 1), local;
    const ek_grid *gr = &p->grids[g];
    int ux, uy, i0, i1, j0, j1;

    if (p->windows != NULL) { /* a unit is one chip */
        *window = p->windows[p->chips[p->units[u].first]];
        return g;
    }
    local = p->units[u].key - gr->first_unit;
    ux = (int)(local % (size_t)gr->units_x);
    uy = (int)(local / (size_t)gr->units_x);
    i0 = ux * p->unit_chips;
    i1 = i0 + p->unit_chips < gr->nx ? i0 + p->unit_chips : gr->nx;
    j0 = uy * p->unit_chips;
    j1 = j0 + p->unit_chips < gr->ny ? j0 + p->unit_chips : gr->ny;
    window->x = i0 * p->stride_x;
    window->y = j0 * p->stride_y;
    window->w = (i1 - 1 - i0) * p->stride_x + p->chip_w;
    window->h = (j1 - 1 - j0) * p->stride_y + p->chip_h;
    return g;
}

const ek_part *ek_modality_band(const ek_modality *m, int b, int *source_band)
{
    size_t k = 0;

    while (k + 1 < m->nparts && m->parts[k + 1].first_band <= b) {
        k++;
    }
    *source_band = m->parts[k].bands[b - m->parts[k].first_band];
    return &m->parts[k];
}

const ek_placement *ek_plan_placement(const ek_modality *m, size_t g, size_t s)
{
    return &m->placements[g * m->nsources + s];
}

void ek_grid_window_center(const ek_grid *g, const ek_window *w, double *x, double *y)
{
    double gt[6];

    ek_grid_window_gt(g, w, gt);
    *x = gt[0] + w->w / 2.0 * gt[1];
    *y = gt[3] + w->h / 2.0 * gt[5];
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
