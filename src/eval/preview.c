/*
** Eval: eodkit_preview(). A contact sheet of chips spread evenly over a
** split: each chip in colour (2-98 percentile stretch from stats.json), its
** labels laid over a copy of it (segmentation; detection and instance: the
** objects' boxes, over the class mask for instances) or as a bar beneath
** it, a caption, and a legend of the classes; written as PNG with libpng.
*/
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <png.h>

#include "core/ek_fs.h"
#include "eodkit/preview.h"
#include "ek_eval.h"

#define DEFAULT_CHIPS 16
#define MAX_CHIPS 1024
#define TILE_PIXELS 128 /* chips are enlarged by whole factors to about this */
#define MARGIN 8
#define GAP 8      /* between cells */
#define TILE_GAP 2 /* between a chip and its label overlay */
#define BAR 6      /* height of the class bar of chip-level labels */
#define CAPTION (2 + EK_FONT_HEIGHT + 2)
#define HEADER (EK_FONT_HEIGHT + 8)
#define LEGEND_ROW 14
#define SWATCH 10
#define MIN_WIDTH 240

static const unsigned char ink[3] = {34, 34, 34};
static const unsigned char paper[3] = {255, 255, 255};

typedef struct preview {
    eodkit_ctx *ctx;
    eodkit_preview_options opt;
    const char *out_path;
    ek_chipset *cs;
    json_t *modality; /* its entry in collection.json */
    const char *name;
    int64_t steps, channels, h, w; /* (T,) C, H, W of a chip */
    int band[3], nbands;
    double lo[3], hi[3];
    int has_nodata;
    double nodata;
    ek_classes cl;
    int has_classes;
    int has_label;  /* a "label" row per chip (not for detection) */
    int has_boxes;  /* detection and instance: objects drawn as boxes */
    size_t *picked; /* positions in the chip set */
    size_t npicked;
    int scale, tiles, tile_w, tile_h, cell_w, cell_h, cols, rows;
    int width, height, legend_y;
    unsigned char *img;
    json_t *placed; /* the summary's "chips" */
} preview;

/* ---- what to draw ---- */

static int is_optical(const json_t *mod)
{
    const char *kind = json_string_value(json_object_get(mod, "kind"));

    return kind != NULL &&
           (strcmp(kind, "optical") == 0 || strcmp(kind, "multispectral") == 0 ||
            strcmp(kind, "hyperspectral") == 0);
}

static int find_modality(preview *p)
{
    json_t *mods = json_object_get(p->cs->collection, "eodkit:modalities"), *m;
    char list[256] = "";
    size_t i, used = 0;

    json_array_foreach(mods, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));

        if (p->opt.modality != NULL ? name != NULL && strcmp(name, p->opt.modality) == 0
                                    : p->modality == NULL && is_optical(m)) {
            p->modality = m;
        }
        if (used < sizeof list) {
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     i ? ", " : "", name != NULL ? name : "?");
        }
    }
    if (p->modality == NULL && p->opt.modality == NULL) {
        p->modality = json_array_get(mods, 0);
    }
    if (p->modality == NULL) {
        return ek_error(p->ctx, EODKIT_ERR_INPUT,
                        "%s: no modality '%s' (its modalities: %s)", p->cs->dir,
                        p->opt.modality != NULL ? p->opt.modality : "", list);
    }
    p->name = json_string_value(json_object_get(p->modality, "name"));
    return EODKIT_OK;
}

static const char *band_name(const preview *p, int64_t b)
{
    const char *s = json_string_value(json_object_get(
        json_array_get(json_object_get(p->modality, "bands"), (size_t)b), "name"));

    return s != NULL ? s : "";
}

/* Band of the modality named or numbered by TOKEN (LEN bytes), or -1. */
static int band_of(const preview *p, const char *token, size_t len)
{
    char text[64];
    char *end;
    long n;
    int64_t b;

    if (len == 0 || len >= sizeof text) {
        return -1;
    }
    memcpy(text, token, len);
    text[len] = '\0';
    n = strtol(text, &end, 10);
    if (*end == '\0') {
        return n >= 1 && n <= p->channels ? (int)n - 1 : -1;
    }
    for (b = 0; b < p->channels; b++) {
        if (strcasecmp(band_name(p, b), text) == 0) {
            return (int)b;
        }
    }
    return -1;
}

static int choose_bands(preview *p)
{
    static const char *const rgb[3] = {"red", "green", "blue"};
    const char *s = p->opt.bands;
    int k;

    if (s == NULL) {
        for (k = 0; k < 3; k++) {
            p->band[k] = band_of(p, rgb[k], strlen(rgb[k]));
        }
        if (p->band[0] < 0 || p->band[1] < 0 || p->band[2] < 0) {
            for (k = 0; k < 3; k++) {
                p->band[k] = k < p->channels ? k : 0; /* the first three */
            }
        }
        p->nbands = p->channels < 3 ? 1 : 3;
        return EODKIT_OK;
    }
    for (p->nbands = 1; s[strcspn(s, ",")] != '\0'; p->nbands++) {
        s += strcspn(s, ",") + 1;
    }
    if (p->nbands != 1 && p->nbands != 3) {
        return ek_error(p->ctx, EODKIT_ERR_USAGE,
                        "--bands takes one band or three (R,G,B)");
    }
    for (s = p->opt.bands, k = 0; k < p->nbands; k++) {
        size_t len = strcspn(s, ",");

        p->band[k] = band_of(p, s, len);
        if (p->band[k] < 0) {
            return ek_error(p->ctx, EODKIT_ERR_INPUT,
                            "%s: modality '%s' has no band '%.*s' (give names or "
                            "numbers from 1 to %lld)",
                            p->cs->dir, p->name, (int)len, s, (long long)p->channels);
        }
        s += len + 1;
    }
    return EODKIT_OK;
}

/* The 2nd and 98th percentiles of each band drawn, from stats.json (the
   minimum and maximum when they are missing). */
static void stretch(preview *p)
{
    json_t *bands = json_object_get(
        json_object_get(json_object_get(p->cs->stats, "modalities"), p->name), "bands");
    int k;

    for (k = 0; k < p->nbands; k++) {
        json_t *b = json_array_get(bands, (size_t)p->band[k]);
        json_t *pct = json_object_get(b, "percentiles");
        json_t *lo = json_object_get(pct, "2"), *hi = json_object_get(pct, "98");

        lo = json_is_number(lo) ? lo : json_object_get(b, "min");
        hi = json_is_number(hi) ? hi : json_object_get(b, "max");
        p->lo[k] = json_is_number(lo) ? json_number_value(lo) : 0;
        p->hi[k] = json_is_number(hi) ? json_number_value(hi) : p->lo[k] + 1;
        if (p->hi[k] <= p->lo[k]) {
            p->hi[k] = p->lo[k] + 1;
        }
    }
}

static int setup(preview *p, const char *dataset_dir)
{
    json_t *shape, *nodata;
    const char *task;
    size_t n, i;
    int rc = ek_chipset_open(p->ctx, dataset_dir, p->opt.split, 0, &p->cs);

    if (rc == EODKIT_OK && p->cs->nsplits != 1) {
        rc = ek_error(p->ctx, EODKIT_ERR_USAGE, "a sheet shows chips of one split");
    }
    if (rc == EODKIT_OK) {
        rc = find_modality(p);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    shape = json_object_get(p->modality, "shape");
    n = json_array_size(shape);
    p->steps = n == 4 ? json_integer_value(json_array_get(shape, 0)) : 1;
    p->channels = json_integer_value(json_array_get(shape, n - 3));
    p->h = json_integer_value(json_array_get(shape, n - 2));
    p->w = json_integer_value(json_array_get(shape, n - 1));
    nodata = json_object_get(p->modality, "nodata");
    p->has_nodata = json_is_number(nodata);
    p->nodata = json_number_value(nodata);
    if ((n != 3 && n != 4) || p->steps < 1 || p->channels < 1 || p->h < 1 || p->w < 1) {
        return ek_error(p->ctx, EODKIT_ERR_INPUT,
                        "%s/collection.json: modality '%s' has no chip shape",
                        dataset_dir, p->name);
    }
    rc = choose_bands(p);
    if (rc == EODKIT_OK) {
        stretch(p);
    }
    task = json_string_value(
        json_object_get(json_object_get(p->cs->collection, "eodkit:label"), "task"));
    p->has_classes = task != NULL && strcmp(task, "regression") != 0;
    if (rc == EODKIT_OK && p->has_classes) {
        rc = ek_classes_read(p->ctx, p->cs->collection, dataset_dir, &p->cl);
        p->has_boxes = p->cl.objects;
        p->has_label = !p->cl.objects || p->cl.per_pixel;
    }
    if (rc == EODKIT_OK && p->cs->n == 0) {
        rc = ek_error(p->ctx, EODKIT_ERR_INPUT, "%s: split %s has no chips",
                      dataset_dir, p->cs->ix->splits.names[p->cs->splits[0]]);
    }
    /* chips spread evenly over the split */
    p->npicked = (size_t)(p->opt.chips > 0 ? p->opt.chips : DEFAULT_CHIPS);
    p->npicked = p->npicked < p->cs->n ? p->npicked : p->cs->n;
    p->picked =
        rc == EODKIT_OK ? ek_calloc(p->ctx, p->npicked, sizeof *p->picked) : NULL;
    if (rc == EODKIT_OK && p->picked == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; rc == EODKIT_OK && i < p->npicked; i++) {
        p->picked[i] = i * p->cs->n / p->npicked;
    }
    return rc;
}

/* ---- layout ---- */

static const char *legend_text(const preview *p, size_t i, char *buf, size_t size)
{
    int background = !p->cl.multilabel && p->cl.ids[i] == p->cl.background;

    snprintf(buf, size, "%d %s%s", (int)p->cl.ids[i], p->cl.names[i],
             background && p->cl.per_pixel ? " (not drawn)" : "");
    return buf;
}

/* Lay out the legend from Y (when DRAW, draw it too); return its height. */
static int legend(preview *p, int y, int draw)
{
    int x = MARGIN, lines = 1;
    size_t i;

    for (i = 0; p->has_classes && i < p->cl.k; i++) {
        char text[128];
        unsigned char rgb[3];
        int item =
            SWATCH + 4 + ek_font_width(legend_text(p, i, text, sizeof text)) + 12;
        int sx, sy;

        if (x > MARGIN && x + item > p->width - MARGIN) {
            x = MARGIN;
            y += LEGEND_ROW;
            lines++;
        }
        if (draw) {
            ek_classes_colour(&p->cl, i, rgb);
            for (sy = 0; sy < SWATCH; sy++) {
                for (sx = 0; sx < SWATCH && x + sx < p->width; sx++) {
                    int edge =
                        sx == 0 || sy == 0 || sx == SWATCH - 1 || sy == SWATCH - 1;

                    memcpy(p->img + ((size_t)(y + sy) * (size_t)p->width +
                                     (size_t)(x + sx)) *
                                        3,
                           edge ? ink : rgb, 3);
                }
            }
            ek_font_draw(p->img, p->width, p->height, x + SWATCH + 4,
                         y + (SWATCH - EK_FONT_HEIGHT) / 2, text, ink);
        }
        x += item;
    }
    return p->has_classes ? lines * LEGEND_ROW : 0;
}

static int layout(preview *p)
{
    int big = (int)(p->h > p->w ? p->h : p->w), grid_w;

    p->scale = big < TILE_PIXELS ? TILE_PIXELS / big : 1;
    p->tile_w = (int)p->w * p->scale;
    p->tile_h = (int)p->h * p->scale;
    p->tiles = p->has_classes && (p->cl.per_pixel || p->has_boxes) ? 2 : 1;
    p->cell_w = p->tiles * p->tile_w + (p->tiles - 1) * TILE_GAP;
    p->cell_h = p->tile_h + (p->has_label && !p->cl.per_pixel ? BAR + 2 : 0) + CAPTION;
    p->cols = (int)ceil(sqrt((double)p->npicked));
    p->rows = (int)((p->npicked + (size_t)p->cols - 1) / (size_t)p->cols);
    grid_w = 2 * MARGIN + p->cols * p->cell_w + (p->cols - 1) * GAP;
    p->width = grid_w > MIN_WIDTH ? grid_w : MIN_WIDTH;
    p->legend_y = MARGIN + HEADER + p->rows * p->cell_h + (p->rows - 1) * GAP + GAP;
    p->height = p->legend_y + legend(p, p->legend_y, 0) + MARGIN;
    if ((double)p->width * p->height > 1e9) {
        return ek_error(p->ctx, EODKIT_ERR_USAGE,
                        "a sheet of %d x %d pixels is too large", p->width, p->height);
    }
    p->img = ek_calloc(p->ctx, (size_t)p->width * (size_t)p->height, 3);
    if (p->img == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    memset(p->img, paper[0], (size_t)p->width * (size_t)p->height * 3);
    return EODKIT_OK;
}

/* ---- drawing ---- */

/* Value V of band K stretched to 0-255 (rounded half up). */
static unsigned char stretched(const preview *p, int k, double v)
{
    double t = (v - p->lo[k]) / (p->hi[k] - p->lo[k]);

    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return (unsigned char)floor(255 * t + 0.5);
}

/* The chip's colours (H x W x 3) from modality row ROW of element type T;
   nodata (any band drawn) and NaN are black. */
static void colours(const preview *p, const unsigned char *row, ek_npy_type t,
                    unsigned char *rgb)
{
    int64_t plane = p->h * p->w, pix;
    const unsigned char *last =
        row + (size_t)((p->steps - 1) * p->channels * plane) * (size_t)t.size;
    int k;

    for (pix = 0; pix < plane; pix++) {
        unsigned char px[3];
        int missing = 0;

        for (k = 0; k < p->nbands; k++) {
            double v = ek_npy_value(
                last + (size_t)(p->band[k] * plane + pix) * (size_t)t.size, t);

            missing |= isnan(v) || (p->has_nodata && v == p->nodata);
            px[k] = stretched(p, k, v);
        }
        for (k = 0; k < 3; k++) {
            rgb[pix * 3 + k] = missing ? 0 : px[p->nbands == 3 ? k : 0];
        }
    }
}

/* Blend the class colours of label row LABEL over RGB (segmentation): half
   colour, half image; the background stays as it is, the ignore index
   turns pale. */
static void overlay(const preview *p, const unsigned char *label, unsigned char *rgb)
{
    int64_t pix, plane = p->h * p->w;
    int k;

    for (pix = 0; pix < plane; pix++) {
        int v = (int)ek_npy_value(label + (size_t)pix * (size_t)p->cl.label_type.size,
                                  p->cl.label_type);
        int32_t c = (size_t)v < p->cl.nlut ? p->cl.lut[v] : EK_CLASS_NONE;
        unsigned char colour[3] = {255, 255, 255};

        if (c >= 0 && p->cl.ids[c] == p->cl.background) {
            continue;
        }
        if (c >= 0) {
            ek_classes_colour(&p->cl, (size_t)c, colour);
        }
        for (k = 0; k < 3; k++) {
            rgb[pix * 3 + k] = (unsigned char)((rgb[pix * 3 + k] + colour[k]) / 2);
        }
    }
}

/* The outlines of the objects O of a chip in their classes' colours over
   its H x W x 3 image RGB. */
static void draw_boxes(const preview *p, const ek_chip_objects *o, unsigned char *rgb)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        const float *b = o->boxes + 4 * i;
        int32_t c =
            (size_t)o->cls[i] < p->cl.nlut ? p->cl.lut[o->cls[i]] : EK_CLASS_NONE;
        int64_t x0 = (int64_t)floor(b[0]), y0 = (int64_t)floor(b[1]);
        int64_t x1 = (int64_t)ceil(b[2]) - 1, y1 = (int64_t)ceil(b[3]) - 1, x, y;
        unsigned char colour[3] = {255, 255, 255};

        if (c >= 0) {
            ek_classes_colour(&p->cl, (size_t)c, colour);
        }
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 >= p->w ? p->w - 1 : x1, y1 = y1 >= p->h ? p->h - 1 : y1;
        for (y = y0; y <= y1; y++) {
            for (x = x0; x <= x1; x++) {
                if (y == y0 || y == y1 || x == x0 || x == x1) {
                    memcpy(rgb + (size_t)(y * p->w + x) * 3, colour, 3);
                }
            }
        }
    }
}

/* Copy the H x W x 3 image RGB into the sheet at X, Y, enlarged SCALE times. */
static void put_tile(preview *p, const unsigned char *rgb, int x, int y)
{
    int ty, tx;

    for (ty = 0; ty < p->tile_h; ty++) {
        for (tx = 0; tx < p->tile_w; tx++) {
            const unsigned char *src =
                rgb +
                ((size_t)(ty / p->scale) * (size_t)p->w + (size_t)(tx / p->scale)) * 3;

            memcpy(p->img +
                       ((size_t)(y + ty) * (size_t)p->width + (size_t)(x + tx)) * 3,
                   src, 3);
        }
    }
}

/* The bar under a chip with chip-level labels: the colour of its class, or
   of each class present (multilabel; grey when none is). */
static void put_bar(preview *p, const unsigned char *label, int x, int y)
{
    size_t present[64], n = 0, i;
    int bx, by;

    if (p->cl.multilabel) {
        for (i = 0; i < p->cl.k && n < 64; i++) {
            if (ek_npy_value(label + i * (size_t)p->cl.label_type.size,
                             p->cl.label_type) != 0) {
                present[n++] = i;
            }
        }
    } else {
        int v = (int)ek_npy_value(label, p->cl.label_type);
        int32_t c = (size_t)v < p->cl.nlut ? p->cl.lut[v] : EK_CLASS_NONE;

        if (c >= 0) {
            present[n++] = (size_t)c;
        }
    }
    for (bx = 0; bx < p->tile_w; bx++) {
        unsigned char rgb[3] = {200, 200, 200};

        if (n > 0) {
            ek_classes_colour(&p->cl, present[(size_t)bx * n / (size_t)p->tile_w], rgb);
        }
        for (by = 0; by < BAR; by++) {
            memcpy(p->img +
                       ((size_t)(y + by) * (size_t)p->width + (size_t)(x + bx)) * 3,
                   rgb, 3);
        }
    }
}

/* Bytes of one value of numpy dtype name DTYPE ("uint16" -> 2). */
static size_t dtype_bytes(const char *dtype)
{
    size_t digits = dtype != NULL ? strcspn(dtype, "0123456789") : 0;

    return dtype != NULL && dtype[digits] != '\0' ? (size_t)atoi(dtype + digits) / 8
                                                  : 0;
}

static int draw_chips(preview *p)
{
    size_t label_bytes = p->has_label ? p->cl.label_bytes : 0;
    size_t row_bytes =
        (size_t)(p->steps * p->channels * p->h * p->w) *
        dtype_bytes(json_string_value(json_object_get(p->modality, "dtype")));
    unsigned char *rgb = ek_calloc(p->ctx, (size_t)(p->h * p->w), 3);
    unsigned char *row = ek_calloc(p->ctx, row_bytes + 1, 1);
    unsigned char *label = ek_calloc(p->ctx, label_bytes + 1, 1);
    ek_shard_reader image, labels;
    ek_object_reader boxes;
    ek_chip_objects objects;
    size_t i;
    int rc = rgb == NULL || row == NULL || label == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    memset(&objects, 0, sizeof objects);
    memset(&boxes, 0, sizeof boxes);
    ek_shard_reader_init(&image, p->cs, p->name, row_bytes);
    ek_shard_reader_init(&labels, p->cs, "label", label_bytes);
    if (rc == EODKIT_OK && p->has_boxes) {
        rc = ek_object_reader_init(p->ctx, &boxes, p->cs);
    }
    p->placed = json_array();
    for (i = 0; i < p->npicked && rc == EODKIT_OK; i++) {
        size_t chip = p->cs->chips[p->picked[i]];
        const ek_audit_chip *c = &p->cs->ix->chips[chip];
        int x = MARGIN + (int)(i % (size_t)p->cols) * (p->cell_w + GAP);
        int y = MARGIN + HEADER + (int)(i / (size_t)p->cols) * (p->cell_h + GAP);
        int below = y + p->tile_h;
        char caption[32];

        rc = ek_shard_reader_row(p->ctx, &image, chip, row);
        if (rc == EODKIT_OK && p->has_label) {
            rc = ek_shard_reader_row(p->ctx, &labels, chip, label);
        }
        if (rc == EODKIT_OK && p->has_boxes) {
            rc = ek_object_reader_chip(p->ctx, &boxes, chip, &objects);
        }
        if (rc != EODKIT_OK) {
            break;
        }
        colours(p, row, image.npy.type, rgb);
        put_tile(p, rgb, x, y);
        if (p->tiles == 2) {
            if (p->cl.per_pixel) {
                overlay(p, label, rgb);
            }
            if (p->has_boxes) {
                draw_boxes(p, &objects, rgb);
            }
            put_tile(p, rgb, x + p->tile_w + TILE_GAP, y);
        } else if (p->has_label) {
            put_bar(p, label, x, below + 2);
            below += BAR + 2;
        }
        snprintf(caption, sizeof caption, "#%lld", (long long)c->chip_id);
        ek_font_draw(p->img, p->width, p->height, x, below + 2, caption, ink);
        json_array_append_new(
            p->placed,
            json_pack("{sIsIsisIsisiso}", "fid", (json_int_t)c->fid, "chip_id",
                      (json_int_t)c->chip_id, "shard", (int)c->shard, "row",
                      (json_int_t)c->row, "x", x, "y", y, "overlay_x",
                      p->tiles == 2 ? json_integer(x + p->tile_w + TILE_GAP)
                                    : json_null()));
    }
    ek_shard_reader_close(&image);
    ek_shard_reader_close(&labels);
    ek_object_reader_close(&boxes);
    ek_chip_objects_free(&objects);
    free(rgb);
    free(row);
    free(label);
    return rc;
}

static void draw_header(preview *p)
{
    const char *id = json_string_value(json_object_get(p->cs->collection, "id"));
    char bands[192] = "", text[512];
    size_t used = 0;
    int k;

    for (k = 0; k < p->nbands && used < sizeof bands; k++) {
        used += (size_t)snprintf(bands + used, sizeof bands - used, "%s%s",
                                 k ? ", " : "", band_name(p, p->band[k]));
    }
    snprintf(text, sizeof text, "%s: %s, %s (%s), 2-98%% stretch, %zu of %zu chips",
             id != NULL ? id : p->cs->dir, p->cs->ix->splits.names[p->cs->splits[0]],
             p->name, bands, p->npicked, p->cs->n);
    ek_font_draw(p->img, p->width, p->height, MARGIN, MARGIN, text, ink);
}

/* ---- the PNG ---- */

typedef struct png_failure {
    jmp_buf jump;
    char message[256];
} png_failure;

static void on_png_error(png_structp png, png_const_charp message)
{
    png_failure *f = png_get_error_ptr(png);

    snprintf(f->message, sizeof f->message, "%s", message);
    longjmp(f->jump, 1);
}

static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message; /* the library never prints */
}

/* Write P's sheet to file PATH as an 8-bit RGB PNG. */
static int write_png(preview *p, const char *path)
{
    png_failure failure = {0};
    FILE *f = fopen(path, "wb");
    png_structp png = NULL;
    png_infop info = NULL;
    int y, rc = EODKIT_OK;

    if (f == NULL) {
        return ek_error(p->ctx, EODKIT_ERR_IO, "%s: cannot create", path);
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                  on_png_warning);
    info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        rc = ek_error(p->ctx, EODKIT_ERR_NOMEM, "%s: out of memory for libpng", path);
    } else if (setjmp(failure.jump) != 0) {
        rc = ek_error(p->ctx, EODKIT_ERR_IO, "%s: %s", path, failure.message);
    } else {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, 8,
                     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (y = 0; y < p->height; y++) {
            png_write_row(png, p->img + (size_t)y * (size_t)p->width * 3);
        }
        png_write_end(png, NULL);
    }
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0 && rc == EODKIT_OK) {
        rc = ek_error(p->ctx, EODKIT_ERR_IO, "%s: cannot write", path);
    }
    return rc;
}

/* ---- the summary and the entry point ---- */

static json_t *summary(const preview *p)
{
    json_t *bands = json_array(), *ranges = json_array();
    int k;

    for (k = 0; k < p->nbands; k++) {
        json_array_append_new(bands, json_string(band_name(p, p->band[k])));
        json_array_append_new(ranges, json_pack("[ff]", p->lo[k], p->hi[k]));
    }
    return json_pack("{sssisisssssososisisisisisisO}", "path", p->out_path, "width",
                     p->width, "height", p->height, "split",
                     p->cs->ix->splits.names[p->cs->splits[0]], "modality", p->name,
                     "bands", bands, "stretch", ranges, "scale", p->scale, "tile_width",
                     p->tile_w, "tile_height", p->tile_h, "columns", p->cols, "rows",
                     p->rows, "legend_y", p->legend_y, "chips", p->placed);
}

int eodkit_preview(eodkit_ctx *ctx, const char *dataset_dir, const char *out_path,
                   const eodkit_preview_options *opt, char **summary_json)
{
    preview p = {0};
    char *tmp = NULL;
    int rc = EODKIT_OK;

    if (summary_json != NULL) {
        *summary_json = NULL;
    }
    p.ctx = ctx;
    p.out_path = out_path;
    if (opt != NULL) {
        p.opt = *opt;
    }
    if (p.opt.chips < 0 || p.opt.chips > MAX_CHIPS) {
        rc = ek_error(ctx, EODKIT_ERR_USAGE, "a sheet holds 1 to %d chips, not %d",
                      MAX_CHIPS, p.opt.chips);
    }
    if (rc == EODKIT_OK) {
        rc = setup(&p, dataset_dir);
    }
    if (rc == EODKIT_OK) {
        rc = layout(&p);
    }
    if (rc == EODKIT_OK) {
        draw_header(&p);
        rc = draw_chips(&p);
    }
    if (rc == EODKIT_OK) {
        legend(&p, p.legend_y, 1);
        tmp = ek_asprintf(ctx, "%s.eodkit-partial", out_path);
        rc = tmp != NULL ? write_png(&p, tmp) : EODKIT_ERR_NOMEM;
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename(ctx, tmp, out_path);
    }
    if (rc != EODKIT_OK && tmp != NULL) {
        unlink(tmp);
    }
    if (rc == EODKIT_OK && summary_json != NULL) {
        rc = ek_json_text(ctx, summary(&p), 17, summary_json);
    }
    free(tmp);
    free(p.img);
    free(p.picked);
    json_decref(p.placed);
    ek_classes_clear(&p.cl);
    ek_chipset_free(p.cs);
    return rc;
}
