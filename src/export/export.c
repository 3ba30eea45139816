/*
** Export: eodkit_export(). Walks the chips of the chosen splits in index
** order, writes each chip's image (a GeoTIFF with the chip's CRS and
** geotransform) and its objects as YOLO lines or COCO annotations (coco.c),
** all into OUT_DIR.partial, locked and put in place at OUT_DIR when
** complete by the output module that builds use (src/write/output.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include "core/ek_fs.h"
#include "core/ek_strbuf.h"
#include "ek_export.h"

/* Marks a folder as an export of eodkit (one --overwrite may replace). */
#define EXPORT_MARK ".eodkit-export"

/* The image source: one modality's rows. */
typedef struct image_source {
    const char *name;
    GDALDataType type;
    int bands;        /* T x C */
    size_t row_bytes; /* one chip */
    int has_nodata;
    double nodata;
    ek_shard_reader reader;
    unsigned char *row;
} image_source;

void ek_export_image_name(const ek_audit_chip *c, char *buf, size_t size)
{
    snprintf(buf, size, "%lld.tif", (long long)c->chip_id);
}

/* ---- the output folder ---- */

/* Whether DIR is a folder an earlier export wrote (it holds our mark). */
static int is_export(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s", dir, EXPORT_MARK);
    return ek_fs_is_file(path);
}

/* Exports, for the output folder's life cycle (src/write/output.c). */
static const ek_output_kind exports = {"an export of eodkit", is_export};

/* Lock OUT.partial (ek_output_lock), clear what a failed or killed export
   left in it (as a build without --resume does) and mark it as an export.
   Work in it that is not an export's (a killed build that --resume would
   continue) is refused, never cleared. */
static int begin_output(ek_export *e, const char *out)
{
    char *mark = NULL;
    int rc = ek_output_lock(e->ctx, out, &exports, &e->out);

    /* first keep the partial folder's work (after putting back what a
       killed replacement left) to see whose it is, then clear it */
    if (rc == EODKIT_OK) {
        rc = ek_output_begin(e->ctx, &e->out, e->opt.overwrite, 1);
    }
    if (rc == EODKIT_OK && ek_output_holds_work(&e->out) && !is_export(e->out.tmp)) {
        rc = ek_error(e->ctx, EODKIT_ERR_EXISTS,
                      "%s: holds unfinished work that is not an export (a killed "
                      "build, which 'eodkit build --resume' continues); it is kept: "
                      "finish or remove it, or export into another folder",
                      e->out.tmp);
    }
    if (rc == EODKIT_OK) {
        rc = ek_output_begin(e->ctx, &e->out, e->opt.overwrite, 0);
    }
    mark = rc == EODKIT_OK ? ek_path_join(e->ctx, e->out.tmp, EXPORT_MARK) : NULL;
    if (rc == EODKIT_OK) {
        rc = mark == NULL ? EODKIT_ERR_NOMEM : ek_fs_write_file(e->ctx, mark, "", 0);
    }
    free(mark);
    return rc;
}

/* ---- images ---- */

static GDALDataType gdal_type(const char *dtype)
{
    static const struct {
        const char *numpy;
        GDALDataType gdal;
    } types[] = {{"uint8", GDT_Byte},     {"uint16", GDT_UInt16},
                 {"int16", GDT_Int16},    {"uint32", GDT_UInt32},
                 {"int32", GDT_Int32},    {"float32", GDT_Float32},
                 {"float64", GDT_Float64}};
    size_t i;

    for (i = 0; dtype != NULL && i < sizeof types / sizeof *types; i++) {
        if (strcmp(types[i].numpy, dtype) == 0) {
            return types[i].gdal;
        }
    }
    return GDT_Unknown;
}

/* The modality E's images come from (the option's, or the first). */
static int open_images(ek_export *e, image_source *img)
{
    json_t *mods = json_object_get(e->cs->collection, "eodkit:modalities"), *m,
           *found = NULL;
    json_t *shape, *nodata;
    size_t i;

    memset(img, 0, sizeof *img);
    json_array_foreach(mods, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));

        if (found == NULL && (e->opt.modality == NULL ||
                              (name != NULL && strcmp(name, e->opt.modality) == 0))) {
            found = m;
        }
    }
    if (found == NULL) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT, "%s: no modality '%s'", e->cs->dir,
                        e->opt.modality != NULL ? e->opt.modality : "");
    }
    img->name = json_string_value(json_object_get(found, "name"));
    img->type = gdal_type(json_string_value(json_object_get(found, "dtype")));
    shape = json_object_get(found, "shape");
    nodata = json_object_get(found, "nodata");
    img->has_nodata = json_is_number(nodata);
    img->nodata = json_number_value(nodata);
    img->bands = 1;
    for (i = 0; i + 2 < json_array_size(shape); i++) {
        img->bands *= (int)json_integer_value(json_array_get(shape, i));
    }
    if (img->type == GDT_Unknown || json_array_size(shape) < 3 || img->bands < 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s/collection.json: modality '%s' has no chip shape or type",
                        e->cs->dir, img->name);
    }
    img->row_bytes = (size_t)img->bands * (size_t)(e->h * e->w) *
                     (size_t)GDALGetDataTypeSizeBytes(img->type);
    img->row = ek_calloc(e->ctx, img->row_bytes, 1);
    ek_shard_reader_init(&img->reader, e->cs, img->name, img->row_bytes);
    return img->row == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* Chip C's pixels of IMG as GeoTIFF PATH, with the chip's CRS and
   geotransform. */
static int write_image(ek_export *e, image_source *img, size_t chip,
                       const ek_audit_chip *c, const char *path)
{
    const ek_audit_grid *g = &e->cs->grids[c->grid];
    char **options = CSLSetNameValue(NULL, "COMPRESS", "DEFLATE");
    GDALDatasetH ds = NULL;
    double gt[6];
    int b, rc = ek_shard_reader_row(e->ctx, &img->reader, chip, img->row);

    memcpy(gt, g->gt, sizeof gt);
    gt[0] = g->gt[0] + (double)c->x * g->gt[1] + (double)c->y * g->gt[2];
    gt[3] = g->gt[3] + (double)c->x * g->gt[4] + (double)c->y * g->gt[5];
    if (rc == EODKIT_OK) {
        ds = GDALCreate(GDALGetDriverByName("GTiff"), path, (int)e->w, (int)e->h,
                        img->bands, img->type, options);
        rc = ds == NULL ? ek_error_gdal(e->ctx, "%s: cannot create it", path) : rc;
    }
    if (rc == EODKIT_OK) {
        GDALSetGeoTransform(ds, gt);
        GDALSetProjection(ds, g->wkt);
        for (b = 1; img->has_nodata && b <= img->bands; b++) {
            GDALSetRasterNoDataValue(GDALGetRasterBand(ds, b), img->nodata);
        }
        if (GDALDatasetRasterIO(ds, GF_Write, 0, 0, (int)e->w, (int)e->h, img->row,
                                (int)e->w, (int)e->h, img->type, img->bands, NULL, 0, 0,
                                0) != CE_None) {
            rc = ek_error_gdal(e->ctx, "%s: cannot write it", path);
        }
    }
    if (ds != NULL) {
        CPLErrorReset();
        GDALClose(ds); /* writes what is still cached */
        if (CPLGetLastErrorType() >= CE_Failure && rc == EODKIT_OK) {
            rc = ek_error_gdal(e->ctx, "%s: cannot write it", path);
        }
    }
    CSLDestroy(options);
    return rc;
}

/* ---- YOLO ---- */

/* YOLO's class index of class id ID: its rank among the classes other
   than the background (names in data.yaml in this order). */
static int yolo_class(const ek_export *e, int32_t id)
{
    size_t i;
    int k = 0;

    for (i = 0; i < e->cl.k && e->cl.ids[i] != id; i++) {
        k += e->cl.ids[i] != e->cl.background;
    }
    return k;
}

/* The YOLO lines of E's chip into PATH: "class xc yc w h" (or, oriented,
   "class x1 y1 ... x4 y4"), normalised by the chip size. */
static int write_yolo_labels(ek_export *e, const char *path)
{
    const ek_chip_objects *o = &e->obj;
    ek_strbuf t;
    size_t i;
    int k, rc;

    ek_strbuf_init(&t, e->ctx);
    for (i = 0; i < o->n; i++) {
        double b[4], w = (double)e->w, h = (double)e->h;

        for (k = 0; k < 4; k++) {
            b[k] = o->boxes[4 * i + (size_t)k];
        }
        ek_strbuf_printf(&t, "%d", yolo_class(e, o->cls[i]));
        if (e->objects.oriented) {
            for (k = 0; k < 8; k++) {
                ek_strbuf_printf(&t, " %.6f",
                                 (double)o->obb[8 * i + (size_t)k] / (k % 2 ? h : w));
            }
        } else {
            ek_strbuf_printf(&t, " %.6f %.6f %.6f %.6f", (b[0] + b[2]) / 2 / w,
                             (b[1] + b[3]) / 2 / h, (b[2] - b[0]) / w,
                             (b[3] - b[1]) / h);
        }
        ek_strbuf_puts(&t, "\n");
    }
    rc = t.status == EODKIT_OK
             ? ek_fs_write_file(e->ctx, path, t.data != NULL ? t.data : "", t.len)
             : t.status;
    ek_strbuf_free(&t);
    return rc;
}

/* data.yaml: where the splits' images are, and the class names. */
static int write_yolo_yaml(ek_export *e, const char *out)
{
    ek_strbuf t;
    char *path = NULL, cwd[4096] = "";
    size_t s, i;
    int k = 0, rc;

    /* a relative path would be taken relative to the trainer's own folder */
    if (out[0] != '/' && getcwd(cwd, sizeof cwd) == NULL) {
        return ek_error(e->ctx, EODKIT_ERR_IO, "cannot tell the current folder");
    }
    path = ek_path_join(e->ctx, e->out.tmp, "data.yaml");
    ek_strbuf_init(&t, e->ctx);
    ek_strbuf_printf(&t, "# written by eodkit export from %s\npath: %s%s%s\n",
                     e->cs->dir, cwd, cwd[0] != '\0' ? "/" : "", out);
    for (s = 0; s < e->cs->nsplits; s++) {
        const char *name = e->cs->ix->splits.names[e->cs->splits[s]];

        ek_strbuf_printf(&t, "%s: images/%s\n", name, name);
    }
    ek_strbuf_puts(&t, "names:\n");
    for (i = 0; i < e->cl.k; i++) {
        if (e->cl.ids[i] != e->cl.background) {
            ek_strbuf_printf(&t, "  %d: \"%s\"\n", k++, e->cl.names[i]);
        }
    }
    rc = path == NULL            ? EODKIT_ERR_NOMEM
         : t.status == EODKIT_OK ? ek_fs_write_file(e->ctx, path, t.data, t.len)
                                 : t.status;
    ek_strbuf_free(&t);
    free(path);
    return rc;
}

/* ---- the splits ---- */

/* Export split S (into cs->splits) of E: its chips in index order. *STATS
   receives {images, objects, skipped}. */
static int export_split(ek_export *e, image_source *img, size_t s, json_t **stats)
{
    eodkit_ctx *ctx = e->ctx;
    const char *split = e->cs->ix->splits.names[e->cs->splits[s]];
    char *images = ek_asprintf(ctx, "%s/images/%s", e->out.tmp, split);
    char *labels = e->yolo ? ek_asprintf(ctx, "%s/labels/%s", e->out.tmp, split)
                           : ek_asprintf(ctx, "%s/annotations", e->out.tmp);
    json_t *doc = e->yolo ? NULL : ek_coco_new(e, split);
    int64_t written = 0, objects = 0, skipped = 0, next_id = 1;
    size_t i;
    int rc = images == NULL || labels == NULL || (!e->yolo && doc == NULL)
                 ? EODKIT_ERR_NOMEM
                 : EODKIT_OK;

    if (rc == EODKIT_OK && !e->opt.no_images) {
        rc = ek_fs_mkdirs(ctx, images);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_mkdirs(ctx, labels);
    }
    for (i = 0; i < e->cs->n && rc == EODKIT_OK; i++) {
        size_t chip = e->cs->chips[i];
        const ek_audit_chip *c = &e->cs->ix->chips[chip];
        char name[64], *path = NULL;

        if (c->split != e->cs->splits[s]) {
            continue;
        }
        ek_crash_point("export", (long)i);
        rc = ek_object_reader_chip(ctx, &e->objects, chip, &e->obj);
        if (rc == EODKIT_OK && (int64_t)e->obj.n < e->opt.min_objects) {
            skipped++;
            continue;
        }
        if (rc == EODKIT_OK && e->instance) {
            rc = ek_shard_reader_row(ctx, &e->masks, chip, e->mask);
        }
        ek_export_image_name(c, name, sizeof name);
        if (rc == EODKIT_OK && !e->opt.no_images) {
            path = ek_path_join(ctx, images, name);
            rc = path == NULL ? EODKIT_ERR_NOMEM : write_image(e, img, chip, c, path);
            free(path);
        }
        if (rc == EODKIT_OK && e->yolo) {
            snprintf(strrchr(name, '.'), 5, ".txt");
            path = ek_path_join(ctx, labels, name);
            rc = path == NULL ? EODKIT_ERR_NOMEM : write_yolo_labels(e, path);
            free(path);
        } else if (rc == EODKIT_OK) {
            rc = ek_coco_add(e, doc, c, &next_id);
        }
        written++;
        objects += (int64_t)e->obj.n;
    }
    if (rc == EODKIT_OK && !e->yolo) {
        char *path = ek_asprintf(ctx, "%s/%s.json", labels, split);

        rc = path == NULL ? EODKIT_ERR_NOMEM
             : json_dump_file(doc, path, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0
                 ? ek_error(ctx, EODKIT_ERR_IO, "%s: cannot write it", path)
                 : EODKIT_OK;
        free(path);
    }
    *stats = json_pack("{s:I, s:I, s:I}", "images", (json_int_t)written, "objects",
                       (json_int_t)objects, "skipped", (json_int_t)skipped);
    json_decref(doc);
    free(images);
    free(labels);
    return rc;
}

/* The chips, classes, objects and instance masks of the dataset. */
static int open_dataset(ek_export *e, const char *dir)
{
    json_t *size, *arrays;
    int rc = ek_chipset_open(e->ctx, dir, e->opt.splits, 1, &e->cs);

    if (rc == EODKIT_OK) {
        rc = ek_object_reader_init(e->ctx, &e->objects, e->cs);
    }
    if (rc == EODKIT_OK) {
        rc = ek_classes_read(e->ctx, e->cs->collection, dir, &e->cl);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    size =
        json_object_get(json_object_get(e->cs->collection, "eodkit:grid"), "chip_size");
    e->h = json_integer_value(json_array_get(size, 0));
    e->w = json_integer_value(json_array_get(size, 1));
    arrays =
        json_object_get(json_object_get(e->cs->collection, "eodkit:label"), "arrays");
    e->instance = json_object_get(arrays, "instance") != NULL;
    if (e->instance) {
        const char *dtype = json_string_value(
            json_object_get(json_object_get(arrays, "instance"), "dtype"));

        e->mask_size = dtype != NULL && strcmp(dtype, "uint32") == 0 ? 4 : 2;
        e->mask_bytes = (size_t)(e->h * e->w) * (size_t)e->mask_size;
        e->mask = ek_calloc(e->ctx, e->mask_bytes, 1);
        ek_shard_reader_init(&e->masks, e->cs, "instance", e->mask_bytes);
        rc = e->mask == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

int eodkit_export(eodkit_ctx *ctx, const char *format, const char *dataset_dir,
                  const char *out_dir, const eodkit_export_options *opt,
                  char **summary_json)
{
    ek_export e;
    image_source img;
    json_t *splits = json_object(), *stats = NULL;
    size_t s;
    int rc = EODKIT_OK, begun = 0;

    memset(&e, 0, sizeof e);
    memset(&img, 0, sizeof img);
    e.out.lock = -1;
    if (summary_json != NULL) {
        *summary_json = NULL;
    }
    e.ctx = ctx;
    if (opt != NULL) {
        e.opt = *opt;
    }
    if (format == NULL ||
        (strcmp(format, "coco") != 0 && strcmp(format, "yolo") != 0)) {
        rc =
            ek_error(ctx, EODKIT_ERR_USAGE, "unknown export format '%s' (coco or yolo)",
                     format != NULL ? format : "");
    }
    e.yolo = rc == EODKIT_OK && strcmp(format, "yolo") == 0;
    if (rc == EODKIT_OK && e.opt.min_objects < 0) {
        rc = ek_error(ctx, EODKIT_ERR_USAGE, "min_objects must be 0 or more");
    }
    if (rc == EODKIT_OK) {
        rc = open_dataset(&e, dataset_dir);
    }
    if (rc == EODKIT_OK) {
        rc = open_images(&e, &img);
    }
    if (rc == EODKIT_OK) {
        rc = begin_output(&e, out_dir);
        begun = rc == EODKIT_OK;
    }
    ek_gdal_capture_begin(ctx);
    for (s = 0; e.cs != NULL && s < e.cs->nsplits && rc == EODKIT_OK; s++) {
        rc = export_split(&e, &img, s, &stats);
        json_object_set_new(splits, e.cs->ix->splits.names[e.cs->splits[s]], stats);
    }
    ek_gdal_capture_end();
    if (rc == EODKIT_OK && e.yolo) {
        rc = write_yolo_yaml(&e, out_dir);
    }
    if (rc == EODKIT_OK) {
        rc = ek_output_commit(ctx, &e.out, e.opt.overwrite);
    }
    /* after a failure, the partial folder too, once this export began in it */
    ek_output_release(&e.out, !begun);
    if (rc == EODKIT_OK && summary_json != NULL) {
        rc = ek_json_text(ctx,
                          json_pack("{s:s, s:s, s:s, s:O}", "format", format, "dataset",
                                    dataset_dir, "folder", out_dir, "splits", splits),
                          0, summary_json);
    }
    json_decref(splits);
    ek_shard_reader_close(&img.reader);
    free(img.row);
    ek_shard_reader_close(&e.masks);
    free(e.mask);
    ek_chip_objects_free(&e.obj);
    ek_object_reader_close(&e.objects);
    ek_classes_clear(&e.cl);
    ek_chipset_free(e.cs);
    return rc;
}
