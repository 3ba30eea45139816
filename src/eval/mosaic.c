/*
** Eval: eodkit_mosaic(). Puts every chip's prediction back at its window on
** its grid, strip by strip of output rows (memory bounded by the strip),
** averaging scores or voting class ids where chips overlap, into a tiled
** GeoTIFF per grid that GDAL's COG driver then lays out as a COG.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cpl_error.h>
#include <gdal.h>

#include "core/ek_fs.h"
#include "eodkit/mosaic.h"
#include "ek_eval.h"

#define STRIP_BYTES ((int64_t)64 << 20)

enum { MODE_VOTE, MODE_MEAN, MODE_ARGMAX };

static const char *const mode_names[] = {"vote", "mean", "argmax"};

/* A chip of a grid: its window's corner and its prediction row. */
typedef struct placed {
    int64_t x, y;
    size_t row;
} placed;

/* One output file: the chips of one grid. */
typedef struct tile_set {
    int grid;
    placed *chips; /* by y, then x */
    size_t n;
    int64_t x0, y0, width, height; /* the chips' bounding box on the grid */
    double gt[6];                  /* the grid's geotransform moved to x0, y0 */
    char *path, *strips, *cog;     /* final, intermediate, finished but hidden */
} tile_set;

typedef struct mosaic {
    eodkit_ctx *ctx;
    eodkit_mosaic_options opt;
    const char *out_path;
    ek_chipset *cs;
    ek_pred pred;
    ek_classes cl;
    int has_classes;
    int regression; /* a regression target: values are always averaged */
    int mode;
    int64_t chip_h, chip_w;
    int bands;
    GDALDataType type;
    double nodata;
    int max_votes; /* chips that can overlap one pixel */
    tile_set *sets;
    size_t nsets;
} mosaic;

/* A strip of output rows being assembled. */
typedef struct strip {
    int64_t y0, rows, width;
    double *sum;     /* bands x rows x width (mean, argmax) */
    uint32_t *added; /* bands x rows x width: values added to sum (NaN is not) */
    int32_t *votes;  /* rows x width x max_votes (vote) */
    uint32_t *count; /* chips that covered each pixel */
    void *out;       /* bands x rows x width of the output type */
} strip;

/* ---- what to write ---- */

static int choose_mode(mosaic *m)
{
    const ek_pred *p = &m->pred;
    int32_t top;

    if (m->opt.argmax && p->channels < 2) {
        return ek_error(m->ctx, EODKIT_ERR_USAGE,
                        "%s: --argmax needs scores with several channels, (n, K, H, W) "
                        "or (n, K)",
                        p->path);
    }
    if (m->opt.argmax && m->regression) {
        return ek_error(
            m->ctx, EODKIT_ERR_USAGE,
            "%s: --argmax is for class scores; a regression target's values "
            "are averaged",
            p->path);
    }
    m->mode = m->opt.argmax                                        ? MODE_ARGMAX
              : !p->is_float && p->channels == 1 && !m->regression ? MODE_VOTE
                                                                   : MODE_MEAN;
    if (m->mode == MODE_MEAN) {
        m->bands = (int)p->channels;
        m->type = GDT_Float32;
        m->nodata = NAN;
        return EODKIT_OK;
    }
    /* a class map: the smallest type that holds every id and a nodata value */
    top = m->mode == MODE_ARGMAX ? (int32_t)p->channels - 1
          : m->has_classes       ? m->cl.max_id
                                 : 65534;
    if (top >= 65535) {
        return ek_error(m->ctx, EODKIT_ERR_INPUT,
                        "%s: %lld channels; a class map holds at most 65535 classes",
                        p->path, (long long)p->channels);
    }
    m->bands = 1;
    m->type = top < 255 ? GDT_Byte : GDT_UInt16;
    m->nodata = top < 255 ? 255 : 65535;
    return EODKIT_OK;
}

static int compare_placed(const void *a, const void *b)
{
    const placed *p = a, *q = b;

    if (p->y != q->y) {
        return (p->y > q->y) - (p->y < q->y);
    }
    if (p->x != q->x) {
        return (p->x > q->x) - (p->x < q->x);
    }
    return (p->row > q->row) - (p->row < q->row);
}

/* OUT_PATH for a dataset with one grid; else with "_<EPSG code>" (or
   "_grid<G>") before its .tif/.tiff extension. */
static char *file_name(mosaic *m, int g)
{
    const char *crs = m->cs->grids[g].crs, *dot = strrchr(m->out_path, '.');
    size_t stem = strlen(m->out_path);
    char code[32];

    if (m->cs->ngrids == 1) {
        return ek_strdup(m->ctx, m->out_path);
    }
    if (dot != NULL &&
        (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0)) {
        stem = (size_t)(dot - m->out_path);
    }
    if (crs != NULL && strncmp(crs, "EPSG:", 5) == 0) {
        snprintf(code, sizeof code, "%s", crs + 5);
    } else {
        snprintf(code, sizeof code, "grid%d", g);
    }
    return ek_asprintf(m->ctx, "%.*s_%s%s", (int)stem, m->out_path, code,
                       m->out_path + stem);
}

/* One tile set per grid with chips, in grid order. */
static int plan_sets(mosaic *m)
{
    const ek_chipset *cs = m->cs;
    size_t g, i;

    m->sets = ek_calloc(m->ctx, cs->ngrids, sizeof *m->sets);
    if (m->sets == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < cs->ngrids; g++) {
        tile_set *t = &m->sets[m->nsets];
        const double *gt = cs->grids[g].gt;
        int64_t x1 = 0, y1 = 0;

        t->grid = (int)g;
        t->chips = ek_calloc(m->ctx, cs->n + 1, sizeof *t->chips);
        if (t->chips == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (i = 0; i < cs->n; i++) {
            const ek_audit_chip *c = &cs->ix->chips[cs->chips[i]];

            if ((size_t)c->grid != g) {
                continue;
            }
            t->x0 = t->n == 0 || c->x < t->x0 ? c->x : t->x0;
            t->y0 = t->n == 0 || c->y < t->y0 ? c->y : t->y0;
            x1 = t->n == 0 || c->x + m->chip_w > x1 ? c->x + m->chip_w : x1;
            y1 = t->n == 0 || c->y + m->chip_h > y1 ? c->y + m->chip_h : y1;
            t->chips[t->n++] = (placed){c->x, c->y, i};
        }
        if (t->n == 0) {
            free(t->chips);
            t->chips = NULL;
            continue;
        }
        qsort(t->chips, t->n, sizeof *t->chips, compare_placed);
        t->width = x1 - t->x0;
        t->height = y1 - t->y0;
        memcpy(t->gt, gt, sizeof t->gt);
        t->gt[0] = gt[0] + (double)t->x0 * gt[1] + (double)t->y0 * gt[2];
        t->gt[3] = gt[3] + (double)t->x0 * gt[4] + (double)t->y0 * gt[5];
        t->path = file_name(m, (int)g);
        t->strips = t->path != NULL
                        ? ek_asprintf(m->ctx, "%s.eodkit-strips.tif", t->path)
                        : NULL;
        t->cog =
            t->path != NULL ? ek_asprintf(m->ctx, "%s.eodkit-partial", t->path) : NULL;
        if (t->path == NULL || t->strips == NULL || t->cog == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        m->nsets++;
    }
    return EODKIT_OK;
}

/* ---- assembling strips ---- */

static int strip_alloc(mosaic *m, strip *s, int64_t rows, int64_t width)
{
    size_t pixels = (size_t)(rows * width);

    memset(s, 0, sizeof *s);
    s->width = width;
    s->count = ek_calloc(m->ctx, pixels, sizeof *s->count);
    s->out = ek_calloc(m->ctx, pixels * (size_t)m->bands,
                       (size_t)GDALGetDataTypeSizeBytes(m->type));
    if (m->mode == MODE_VOTE) {
        s->votes = ek_calloc(m->ctx, pixels * (size_t)m->max_votes, sizeof *s->votes);
    } else {
        s->sum = ek_calloc(m->ctx, pixels * (size_t)m->pred.channels, sizeof *s->sum);
        s->added =
            ek_calloc(m->ctx, pixels * (size_t)m->pred.channels, sizeof *s->added);
    }
    return s->count == NULL || s->out == NULL ||
                   (s->votes == NULL && (s->sum == NULL || s->added == NULL))
               ? EODKIT_ERR_NOMEM
               : EODKIT_OK;
}

static void strip_free(strip *s)
{
    free(s->sum);
    free(s->added);
    free(s->votes);
    free(s->count);
    free(s->out);
}

/* Add the prediction row last read, of chip C, to the rows of S it covers. */
static int add_chip(mosaic *m, const tile_set *t, strip *s, const placed *c)
{
    const ek_pred *p = &m->pred;
    int64_t cy = c->y - t->y0, cx = c->x - t->x0, plane = s->rows * s->width;
    int64_t r0 = cy > s->y0 ? cy : s->y0;
    int64_t r1 = cy + m->chip_h < s->y0 + s->rows ? cy + m->chip_h : s->y0 + s->rows;
    int64_t r, col, k;
    int per_chip = p->h * p->w == 1;

    for (r = r0; r < r1; r++) {
        for (col = 0; col < m->chip_w; col++) {
            int64_t at = (r - s->y0) * s->width + cx + col;
            int64_t src = per_chip ? 0 : (r - cy) * m->chip_w + col;

            if (s->count[at] >= (uint32_t)m->max_votes) {
                return ek_error(m->ctx, EODKIT_ERR_INPUT,
                                "%s/index.gpkg: more chips overlap than the chip "
                                "lattice allows",
                                m->cs->dir);
            }
            if (m->mode != MODE_VOTE) {
                for (k = 0; k < p->channels; k++) {
                    double v = ek_pred_value(p, k, src);

                    if (!isnan(v)) { /* a chip without a value there */
                        s->sum[k * plane + at] += v;
                        s->added[k * plane + at]++;
                    }
                }
            } else {
                double v = ek_pred_value(p, 0, src);
                int ok = v >= 0 && v < m->nodata &&
                         (!m->has_classes ||
                          ((size_t)v < m->cl.nlut && m->cl.lut[(size_t)v] >= 0));

                if (!ok && m->has_classes) {
                    return ek_pred_bad_class(m->ctx, p, &m->cl, (int64_t)c->row, v);
                }
                if (!ok) {
                    return ek_error(m->ctx, EODKIT_ERR_INPUT,
                                    "%s: row %zu predicts %.17g; class ids are 0 to "
                                    "65534",
                                    p->path, c->row, v);
                }
                s->votes[at * m->max_votes + s->count[at]] = (int32_t)v;
            }
            s->count[at]++;
        }
    }
    return EODKIT_OK;
}

/* The most frequent of the N votes V (the smallest on ties). */
static int32_t majority(const int32_t *v, int n)
{
    int32_t best = v[0];
    int best_n = 0, i, j;

    for (i = 0; i < n; i++) {
        int same = 0;

        for (j = 0; j < n; j++) {
            same += v[j] == v[i];
        }
        if (same > best_n || (same == best_n && v[i] < best)) {
            best = v[i];
            best_n = same;
        }
    }
    return best;
}

static void store(const mosaic *m, void *out, size_t i, double v)
{
    if (m->type == GDT_Float32) {
        ((float *)out)[i] = (float)v;
    } else if (m->type == GDT_Byte) {
        ((unsigned char *)out)[i] = (unsigned char)v;
    } else {
        ((uint16_t *)out)[i] = (uint16_t)v;
    }
}

/* Turn S's sums or votes into output values. */
static void finish_strip(const mosaic *m, strip *s)
{
    int64_t plane = s->rows * s->width, i, k, channels = m->pred.channels;

    for (i = 0; i < plane; i++) {
        int n = s->count[i];

        if (m->mode == MODE_VOTE) {
            store(m, s->out, (size_t)i,
                  n > 0 ? majority(s->votes + i * m->max_votes, n) : m->nodata);
        } else if (m->mode == MODE_MEAN) {
            for (k = 0; k < channels; k++) {
                uint32_t added = s->added[k * plane + i];

                store(m, s->out, (size_t)(k * plane + i),
                      added > 0 ? s->sum[k * plane + i] / added : m->nodata);
            }
        } else {
            int64_t best = 0;

            for (k = 1; k < channels; k++) {
                /* ties keep the lower channel; NaN never wins */
                if (s->sum[k * plane + i] > s->sum[best * plane + i] ||
                    isnan(s->sum[best * plane + i])) {
                    best = k;
                }
            }
            store(m, s->out, (size_t)i, n > 0 ? (double)best : m->nodata);
        }
    }
}

/* Rows per strip: as many as fit STRIP_BYTES, at least one. */
static int64_t strip_rows(const mosaic *m, const tile_set *t)
{
    int64_t per_row =
        t->width *
        ((int64_t)sizeof(uint32_t) + m->bands * GDALGetDataTypeSizeBytes(m->type) +
         (m->mode == MODE_VOTE
              ? m->max_votes * (int64_t)sizeof(int32_t)
              : m->pred.channels * (int64_t)(sizeof(double) + sizeof(uint32_t))));
    int64_t rows = STRIP_BYTES / (per_row > 0 ? per_row : 1);

    return rows < 1 ? 1 : rows > t->height ? t->height : rows;
}

/* Every strip of T's raster into the intermediate file DS. */
static int write_strips(mosaic *m, const tile_set *t, GDALDatasetH ds)
{
    int64_t rows = strip_rows(m, t), y0;
    size_t lo = 0, j;
    strip s;
    int rc = strip_alloc(m, &s, rows, t->width);

    for (y0 = 0; y0 < t->height && rc == EODKIT_OK; y0 += rows) {
        size_t pixels = (size_t)(rows * t->width);

        s.y0 = y0;
        s.rows = y0 + rows <= t->height ? rows : t->height - y0;
        memset(s.count, 0, pixels * sizeof *s.count);
        if (s.sum != NULL) {
            memset(s.sum, 0, pixels * (size_t)m->pred.channels * sizeof *s.sum);
            memset(s.added, 0, pixels * (size_t)m->pred.channels * sizeof *s.added);
        }
        /* chips are sorted by row: skip those that end above the strip */
        while (lo < t->n && t->chips[lo].y - t->y0 + m->chip_h <= y0) {
            lo++;
        }
        for (j = lo; j < t->n && t->chips[j].y - t->y0 < y0 + s.rows && rc == EODKIT_OK;
             j++) {
            rc = ek_pred_read(m->ctx, &m->pred, (int64_t)t->chips[j].row);
            if (rc == EODKIT_OK) {
                rc = add_chip(m, t, &s, &t->chips[j]);
            }
        }
        if (rc != EODKIT_OK) {
            break;
        }
        finish_strip(m, &s);
        if (GDALDatasetRasterIOEx(
                ds, GF_Write, 0, (int)y0, (int)t->width, (int)s.rows, s.out,
                (int)t->width, (int)s.rows, m->type, m->bands, NULL, 0, 0,
                (GSpacing)s.rows * t->width * GDALGetDataTypeSizeBytes(m->type),
                NULL) != CE_None) {
            rc = ek_error_gdal(m->ctx, "%s: cannot write rows %lld to %lld", t->strips,
                               (long long)y0, (long long)(y0 + s.rows - 1));
        }
    }
    strip_free(&s);
    return rc;
}

/* ---- the files ---- */

/* Colour table of a Byte class map: the classes' colours, nodata clear. */
static void colour_table(const mosaic *m, GDALRasterBandH band)
{
    GDALColorTableH ct = GDALCreateColorTable(GPI_RGB);
    GDALColorEntry clear = {0, 0, 0, 0};
    size_t i;

    for (i = 0; i < m->cl.k; i++) {
        unsigned char rgb[3];
        GDALColorEntry e;

        ek_classes_colour(&m->cl, i, rgb);
        e = (GDALColorEntry){rgb[0], rgb[1], rgb[2], 255};
        GDALSetColorEntry(ct, m->cl.ids[i], &e);
    }
    GDALSetColorEntry(ct, (int)m->nodata, &clear);
    GDALSetRasterColorTable(band, ct);
    GDALDestroyColorTable(ct);
}

/* Name of band B: the class it scores, when the channels are classes. */
static void describe_band(const mosaic *m, GDALRasterBandH band, int b)
{
    char name[64];
    const char *text = NULL;

    if (m->mode != MODE_MEAN) {
        text = "class";
    } else if (m->regression) {
        text = "target";
    } else if (m->has_classes && m->cl.multilabel && (size_t)m->bands == m->cl.k) {
        text = m->cl.names[b];
    } else if (m->has_classes && !m->cl.multilabel && b < (int)m->cl.nlut &&
               m->cl.lut[b] >= 0) {
        text = m->cl.names[m->cl.lut[b]];
    }
    if (text == NULL) {
        snprintf(name, sizeof name, "channel %d", b);
        text = name;
    }
    GDALSetDescription(band, text);
}

/* The intermediate tiled GeoTIFF of T, with georeferencing and nodata. */
static int create_strips(mosaic *m, const tile_set *t, GDALDatasetH *ds)
{
    const ek_audit_grid *g = &m->cs->grids[t->grid];
    const char *options[] = {"TILED=YES", "COMPRESS=DEFLATE", "ZLEVEL=1",
                             "BIGTIFF=IF_SAFER", NULL};
    GDALDriverH gtiff = GDALGetDriverByName("GTiff");
    double gt[6];
    int b;

    memcpy(gt, t->gt, sizeof gt); /* GDALSetGeoTransform takes it non-const */
    *ds = gtiff != NULL ? GDALCreate(gtiff, t->strips, (int)t->width, (int)t->height,
                                     m->bands, m->type, (char **)options)
                        : NULL;
    if (*ds == NULL) {
        return ek_error_gdal(m->ctx, "%s: cannot create", t->strips);
    }
    GDALSetGeoTransform(*ds, gt);
    if (g->wkt != NULL) {
        GDALSetProjection(*ds, g->wkt);
    }
    for (b = 0; b < m->bands; b++) {
        GDALRasterBandH band = GDALGetRasterBand(*ds, b + 1);

        GDALSetRasterNoDataValue(band, m->nodata);
        describe_band(m, band, b);
        if (m->mode != MODE_MEAN && m->has_classes && m->type == GDT_Byte) {
            colour_table(m, band);
        }
    }
    return EODKIT_OK;
}

/* Write T's COG under its hidden name (removing the intermediate file). */
static int write_set(mosaic *m, const tile_set *t)
{
    const char *options[] = {"COMPRESS=DEFLATE", "PREDICTOR=YES",
                             m->mode == MODE_MEAN ? "OVERVIEW_RESAMPLING=AVERAGE"
                                                  : "OVERVIEW_RESAMPLING=MODE",
                             NULL};
    GDALDriverH cog = GDALGetDriverByName("COG");
    GDALDatasetH strips = NULL, done = NULL;
    int rc;

    if (cog == NULL) {
        return ek_error(m->ctx, EODKIT_ERR_GDAL, "this GDAL has no COG driver");
    }
    rc = create_strips(m, t, &strips);
    if (rc == EODKIT_OK) {
        rc = write_strips(m, t, strips);
    }
    if (rc == EODKIT_OK) {
        done = GDALCreateCopy(cog, t->cog, strips, FALSE, (char **)options, NULL, NULL);
        rc = done == NULL ? ek_error_gdal(m->ctx, "%s: cannot write the COG", t->path)
                          : EODKIT_OK;
    }
    if (done != NULL) {
        CPLErrorReset();
        GDALClose(done); /* void before GDAL 3.8: failures show as the last error */
        if (rc == EODKIT_OK && CPLGetLastErrorType() >= CE_Failure) {
            rc = ek_error_gdal(m->ctx, "%s: cannot finish the COG", t->path);
        }
    }
    if (strips != NULL) {
        GDALClose(strips);
    }
    unlink(t->strips);
    return rc;
}

/* ---- the summary ---- */

static json_t *summary(const mosaic *m)
{
    json_t *o = json_object(), *files = json_array(), *splits = json_array();
    size_t i, s;

    for (s = 0; s < m->cs->nsplits; s++) {
        json_array_append_new(splits,
                              json_string(m->cs->ix->splits.names[m->cs->splits[s]]));
    }
    for (i = 0; i < m->nsets; i++) {
        const tile_set *t = &m->sets[i];
        const ek_audit_grid *g = &m->cs->grids[t->grid];
        json_t *gt = json_array();
        int k;

        for (k = 0; k < 6; k++) {
            json_array_append_new(gt, json_real(t->gt[k]));
        }
        json_array_append_new(
            files, json_pack("{sssosIsIsIsIsosisssisI}", "path", t->path, "crs",
                             g->crs != NULL ? json_string(g->crs) : json_null(),
                             "grid_x", (json_int_t)t->x0, "grid_y", (json_int_t)t->y0,
                             "width", (json_int_t)t->width, "height",
                             (json_int_t)t->height, "geotransform", gt, "bands",
                             m->bands, "dtype", GDALGetDataTypeName(m->type), "grid",
                             t->grid, "chips", (json_int_t)t->n));
    }
    json_object_set_new(o, "mode", json_string(mode_names[m->mode]));
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "chips", json_integer((json_int_t)m->cs->n));
    json_object_set_new(o, "nodata",
                        m->mode == MODE_MEAN ? json_string("nan")
                                             : json_integer((int)m->nodata));
    json_object_set_new(o, "files", files);
    return o;
}

/* ---- the entry point ---- */

static int setup(mosaic *m, const char *dataset_dir, const char *pred_path)
{
    json_t *grid, *size, *stride;
    const char *task;
    int64_t sy, sx;
    int rc = ek_chipset_open(m->ctx, dataset_dir,
                             m->opt.splits != NULL ? m->opt.splits : "test", 0, &m->cs);

    if (rc != EODKIT_OK) {
        return rc;
    }
    if (m->cs->n == 0) {
        return ek_error(m->ctx, EODKIT_ERR_INPUT, "%s: split %s has no chips",
                        dataset_dir, m->opt.splits != NULL ? m->opt.splits : "test");
    }
    grid = json_object_get(m->cs->collection, "eodkit:grid");
    size = json_object_get(grid, "chip_size");
    stride = json_object_get(grid, "stride");
    m->chip_h = json_integer_value(json_array_get(size, 0));
    m->chip_w = json_integer_value(json_array_get(size, 1));
    sy = json_integer_value(json_array_get(stride, 0));
    sx = json_integer_value(json_array_get(stride, 1));
    m->max_votes = (int)(((m->chip_h + sy - 1) / (sy > 0 ? sy : 1)) *
                         ((m->chip_w + sx - 1) / (sx > 0 ? sx : 1)));
    task = json_string_value(
        json_object_get(json_object_get(m->cs->collection, "eodkit:label"), "task"));
    /* without class labels (none, or regression) any ids up to 65534 go */
    m->regression = task != NULL && strcmp(task, "regression") == 0;
    m->has_classes = task != NULL && !m->regression;
    if (m->has_classes) {
        rc = ek_classes_read(m->ctx, m->cs->collection, dataset_dir, &m->cl);
    }
    if (rc == EODKIT_OK && m->has_classes && m->cl.objects) {
        return EODKIT_OK; /* boxes: ek_mosaic_detections */
    }
    if (rc == EODKIT_OK) {
        rc = ek_pred_open(m->ctx, pred_path, m->cs, &m->pred);
    }
    if (rc == EODKIT_OK) {
        rc = choose_mode(m);
    }
    return rc;
}

int eodkit_mosaic(eodkit_ctx *ctx, const char *dataset_dir, const char *pred_path,
                  const char *out_path, const eodkit_mosaic_options *opt,
                  char **summary_json)
{
    mosaic m = {0};
    size_t i;
    int rc;

    if (summary_json != NULL) {
        *summary_json = NULL;
    }
    m.ctx = ctx;
    m.out_path = out_path;
    if (opt != NULL) {
        m.opt = *opt;
    }
    rc = setup(&m, dataset_dir, pred_path);
    if (rc == EODKIT_OK && m.has_classes && m.cl.objects) {
        rc = ek_mosaic_detections(ctx, m.cs, &m.cl, pred_path, out_path, &m.opt,
                                  summary_json);
        ek_classes_clear(&m.cl);
        ek_chipset_free(m.cs);
        return rc;
    }
    if (rc == EODKIT_OK) {
        rc = plan_sets(&m);
    }
    ek_gdal_capture_begin(ctx);
    for (i = 0; i < m.nsets && rc == EODKIT_OK; i++) {
        rc = write_set(&m, &m.sets[i]);
    }
    ek_gdal_capture_end();
    /* every file is complete: only now replace what was there */
    for (i = 0; i < m.nsets && rc == EODKIT_OK; i++) {
        rc = ek_fs_rename(ctx, m.sets[i].cog, m.sets[i].path);
    }
    if (rc == EODKIT_OK && summary_json != NULL) {
        rc = ek_json_text(ctx, summary(&m), 17, summary_json);
    }
    for (i = 0; i < m.nsets; i++) {
        if (rc != EODKIT_OK) {
            unlink(m.sets[i].cog);
        }
        free(m.sets[i].chips);
        free(m.sets[i].path);
        free(m.sets[i].strips);
        free(m.sets[i].cog);
    }
    free(m.sets);
    ek_pred_close(&m.pred);
    ek_classes_clear(&m.cl);
    ek_chipset_free(m.cs);
    return rc;
}
