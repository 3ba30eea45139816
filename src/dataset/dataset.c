/*
** Dataset: opening a built dataset (its files read and checked, see
** dataset_layout.c) and describing it (eodkit info).
*/
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_strbuf.h"
#include "ek_dataset.h"

json_t *ek_dataset_load_json(eodkit_ctx *ctx, const char *dir, const char *name)
{
    char *path = ek_path_join(ctx, dir, name);
    json_error_t err;
    json_t *j = NULL;

    if (path == NULL) {
        return NULL;
    }
    if (!ek_fs_is_file(path)) {
        ek_error(ctx, EODKIT_ERR_INPUT, "%s: not an eodkit dataset (no %s)", dir, name);
    } else if ((j = json_load_file(path, 0, &err)) == NULL) {
        ek_error(ctx, EODKIT_ERR_INPUT, "%s:%d:%d: not valid JSON: %s", path, err.line,
                 err.column, err.text);
    }
    free(path);
    return j;
}

int ek_json_text(eodkit_ctx *ctx, json_t *doc, int precision, char **text)
{
    char *dumped =
        doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(precision))
                    : NULL;

    *text = dumped != NULL ? ek_asprintf(ctx, "%s\n", dumped) : NULL;
    free(dumped);
    json_decref(doc);
    return *text != NULL ? EODKIT_OK : ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
}

/* Per-thread totals for nftw, which takes no user pointer. */
static _Thread_local long long walk_bytes;
static _Thread_local int walk_files;

static int count_file(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F) {
        walk_bytes += (long long)st->st_size;
        walk_files++;
    }
    return 0;
}

/* The JSON object file NAME of DS's folder into *OUT. */
static int load_object(eodkit_ctx *ctx, const ek_dataset *ds, const char *name,
                       json_t **out)
{
    *out = ek_dataset_load_json(ctx, ds->path, name);
    if (*out == NULL) {
        return eodkit_ctx_status(ctx) != EODKIT_OK ? eodkit_ctx_status(ctx)
                                                   : EODKIT_ERR_NOMEM;
    }
    return json_is_object(*out) ? EODKIT_OK
                                : ek_error(ctx, EODKIT_ERR_INPUT,
                                           "%s/%s: not a JSON object", ds->path, name);
}

/* Read DS's index.gpkg into its splits (ek_dataset_read_index). */
static int read_index(eodkit_ctx *ctx, ek_dataset *ds)
{
    char *path = ek_path_join(ctx, ds->path, "index.gpkg");
    sqlite3 *db = NULL;
    int rc = EODKIT_OK;

    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (!ek_fs_is_file(path)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: not an eodkit dataset (no index.gpkg)", ds->path);
    } else if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open the chip index: %s", path,
                      db != NULL ? sqlite3_errmsg(db) : "out of memory");
    } else {
        rc = ek_dataset_read_index(ctx, ds, db, path);
    }
    sqlite3_close(db);
    free(path);
    return rc;
}

/* Check the header of shard K of array A of split S, holding ROWS rows;
   for box_range its rows too, against the index's objects of its chips
   (from chip FIRST of the split), with the shard's objects into *OBJECTS. */
static int check_shard(eodkit_ctx *ctx, const ek_dataset *ds, const ek_dataset_split *s,
                       size_t k, const ek_dataset_array *a, int64_t rows, int64_t first,
                       int64_t *objects)
{
    char *path = ek_asprintf(ctx, "%s/%s/%s-%05zu.npy", ds->path, s->name, a->name, k);
    ek_npy nf;
    int rc;

    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (!ek_fs_is_file(path)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: missing (an incomplete dataset)",
                      path);
    } else {
        rc = ek_npy_open(ctx, path, &nf);
        if (rc == EODKIT_OK) {
            rc = ek_dataset_check_shard(ctx, a, rows, &nf, path);
            if (rc == EODKIT_OK && a->ranges) {
                rc = ek_dataset_check_ranges(ctx, &nf, path, s->objects + first,
                                             objects);
            }
            ek_npy_close(&nf);
        }
    }
    free(path);
    return rc;
}

/* Check every shard of split S of DS: those with a row per chip, then
   those with a row per object (as many as box_range gives each shard). */
static int check_shards(eodkit_ctx *ctx, const ek_dataset *ds,
                        const ek_dataset_split *s)
{
    int64_t first = 0;
    size_t k, a;
    int rc = EODKIT_OK;

    for (k = 0; rc == EODKIT_OK && k < s->nshards; k++) {
        int64_t objects = 0;

        for (a = 0; rc == EODKIT_OK && a < ds->narrays; a++) {
            if (!ds->arrays[a].per_object) {
                rc = check_shard(ctx, ds, s, k, &ds->arrays[a], s->shard_chips[k],
                                 first, &objects);
            }
        }
        for (a = 0; rc == EODKIT_OK && a < ds->narrays; a++) {
            if (ds->arrays[a].per_object) {
                rc = check_shard(ctx, ds, s, k, &ds->arrays[a], objects, first, NULL);
            }
        }
        first += s->shard_chips[k];
    }
    return rc;
}

int ek_dataset_read(eodkit_ctx *ctx, const char *path, int unfinished, ek_dataset **out)
{
    ek_dataset *ds;
    char *mark = NULL;
    size_t s;
    int rc = EODKIT_OK;

    *out = NULL;
    if (!ek_fs_is_dir(path)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such dataset folder", path);
    }
    mark = ek_path_join(ctx, path, ".eodkit-partial");
    if (mark != NULL && !unfinished && ek_fs_exists(mark)) {
        free(mark);
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: an unfinished build (it holds .eodkit-partial), not a dataset "
            "(build again to finish it)",
            path);
    }
    free(mark);
    ds = ek_calloc(ctx, 1, sizeof *ds);
    if (ds == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ds->path = ek_strdup(ctx, path);
    rc = ds->path != NULL ? load_object(ctx, ds, "collection.json", &ds->collection)
                          : EODKIT_ERR_NOMEM;
    if (rc == EODKIT_OK) {
        rc = load_object(ctx, ds, "stats.json", &ds->stats);
    }
    if (rc == EODKIT_OK) {
        rc = load_object(ctx, ds, "provenance.json", &ds->provenance);
    }
    if (rc == EODKIT_OK) {
        rc = ek_dataset_describe(ctx, ds);
    }
    if (rc == EODKIT_OK) {
        rc = read_index(ctx, ds);
    }
    for (s = 0; rc == EODKIT_OK && s < ds->nsplits; s++) {
        rc = check_shards(ctx, ds, &ds->splits[s]);
    }
    if (rc != EODKIT_OK) {
        eodkit_dataset_close(ds);
        return rc;
    }
    *out = ds;
    return EODKIT_OK;
}

int eodkit_dataset_open(eodkit_ctx *ctx, const char *path, eodkit_dataset **out)
{
    int rc = ek_dataset_read(ctx, path, 0, out);

    if (rc == EODKIT_OK) {
        walk_bytes = 0;
        walk_files = 0;
        nftw(path, count_file, 16, FTW_PHYS);
        (*out)->bytes = walk_bytes;
        (*out)->files = walk_files;
    }
    return rc;
}

void eodkit_dataset_close(eodkit_dataset *ds)
{
    size_t s;

    if (ds == NULL) {
        return;
    }
    for (s = 0; s < ds->nsplits; s++) {
        free(ds->splits[s].shard_chips);
        free(ds->splits[s].objects);
    }
    free(ds->splits);
    free(ds->arrays);
    json_decref(ds->collection);
    json_decref(ds->stats);
    json_decref(ds->provenance);
    free(ds->path);
    free(ds);
}

/* The splits without chips and why, from the dataset's audit.json
   (dataset.empty_splits), or NULL when it has none (or no audit). */
static json_t *empty_splits(eodkit_ctx *ctx, const ek_dataset *ds)
{
    char *path = ek_path_join(ctx, ds->path, "audit.json");
    json_t *audit = path != NULL ? json_load_file(path, 0, NULL) : NULL;
    json_t *empty = json_object_get(json_object_get(audit, "dataset"), "empty_splits");

    empty = json_object_size(empty) > 0 ? json_incref(empty) : NULL;
    json_decref(audit);
    free(path);
    return empty;
}

static json_t *info_object(eodkit_ctx *ctx, const ek_dataset *ds)
{
    json_t *c = ds->collection, *empty = empty_splits(ctx, ds);
    json_t *o = json_object();
    json_t *label = json_object_get(c, "eodkit:label");

    json_object_set_new(o, "path", json_string(ds->path));
    json_object_set(o, "name", json_object_get(c, "id"));
    json_object_set(o, "title", json_object_get(c, "title"));
    json_object_set(o, "license", json_object_get(c, "license"));
    json_object_set(o, "grid", json_object_get(c, "eodkit:grid"));
    json_object_set_new(
        o, "bbox",
        json_deep_copy(json_array_get(
            json_object_get(json_object_get(json_object_get(c, "extent"), "spatial"),
                            "bbox"),
            0)));
    json_object_set(o, "modalities", json_object_get(c, "eodkit:modalities"));
    if (label != NULL) {
        json_object_set(o, "label", label);
        json_object_set(
            o, "class_pixels",
            json_object_get(json_object_get(ds->stats, "classes"), "pixels"));
        if (json_object_get(json_object_get(ds->stats, "classes"), "objects") != NULL) {
            json_object_set(
                o, "class_objects",
                json_object_get(json_object_get(ds->stats, "classes"), "objects"));
        }
    }
    json_object_set(o, "splits", json_object_get(c, "eodkit:splits"));
    if (empty != NULL) {
        json_object_set_new(o, "empty_splits", empty);
    }
    json_object_set_new(o, "bytes", json_integer(ds->bytes));
    json_object_set_new(o, "files", json_integer(ds->files));
    return o;
}

int eodkit_dataset_info_json(eodkit_ctx *ctx, const eodkit_dataset *ds, char **out)
{
    return ek_json_text(ctx, info_object(ctx, ds), 0, out);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "-";
}

static void human_bytes(long long n, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

static void describe_modalities(ek_strbuf *t, json_t *mods)
{
    size_t i, b;
    json_t *m;

    ek_strbuf_printf(t, "\n%-14s %-8s %-6s %-18s %s\n", "modality", "dtype", "bands",
                     "chip shape", "band names");
    json_array_foreach(mods, i, m)
    {
        json_t *shape = json_object_get(m, "shape"), *band, *dim;
        char dims[64];
        size_t d, used = 0;

        /* (C, H, W), or (T, C, H, W) for stacks and pairs */
        json_array_foreach(shape, d, dim)
        {
            used +=
                (size_t)snprintf(dims + used, sizeof dims - used, "%s%lld",
                                 d ? ", " : "(", (long long)json_integer_value(dim));
            used = used < sizeof dims ? used : sizeof dims - 1;
        }
        snprintf(dims + used, sizeof dims - used, ")");
        ek_strbuf_printf(t, "%-14s %-8s %-6zu %-18s ", str(m, "name"), str(m, "dtype"),
                         json_array_size(json_object_get(m, "bands")), dims);
        json_array_foreach(json_object_get(m, "bands"), b, band)
        {
            ek_strbuf_printf(t, "%s%s", b ? ", " : "", str(band, "name"));
        }
        ek_strbuf_printf(t, "\n");
    }
}

/* One row per class of LABEL with its COUNTS ({split: {"class id": n}})
   per split, headed by "(WHAT)". */
static void class_table(ek_strbuf *t, json_t *label, json_t *counts, json_t *splits,
                        const char *what)
{
    const char *split;
    json_t *ignored, *cls;
    size_t i;

    ek_strbuf_printf(t, "%-20s %6s", "class", "id");
    json_object_foreach(splits, split, ignored)
    {
        ek_strbuf_printf(t, " %14s", split);
    }
    ek_strbuf_printf(t, "   (%s)\n", what);
    json_array_foreach(json_object_get(label, "classes"), i, cls)
    {
        char id[16];

        snprintf(id, sizeof id, "%lld",
                 (long long)json_integer_value(json_object_get(cls, "id")));
        ek_strbuf_printf(t, "%-20s %6s", str(cls, "name"), id);
        json_object_foreach(splits, split, ignored)
        {
            json_t *n = json_object_get(json_object_get(counts, split), id);

            ek_strbuf_printf(t, " %14lld",
                             n != NULL ? (long long)json_integer_value(n) : 0LL);
        }
        ek_strbuf_printf(t, "\n");
    }
}

static void describe_labels(ek_strbuf *t, json_t *label, json_t *pixels,
                            json_t *objects, json_t *splits)
{
    json_t *bg = json_object_get(label, "background");

    if (strcmp(str(label, "task"), "regression") == 0) {
        ek_strbuf_printf(t,
                         "\nlabels         regression, %s target (NaN: no value), %s\n",
                         str(label, "dtype"), str(label, "resampling"));
        return;
    }
    ek_strbuf_printf(t, "\nlabels         %s, %s, background %lld (%s)\n",
                     str(label, "task"), str(label, "dtype"),
                     (long long)json_integer_value(json_object_get(bg, "id")),
                     str(bg, "name"));
    class_table(t, label, pixels, splits, "pixels");
    if (objects != NULL) {
        class_table(t, label, objects, splits, "objects");
    }
}

int eodkit_dataset_info_text(eodkit_ctx *ctx, const eodkit_dataset *ds, char **out)
{
    json_t *o = info_object(ctx, ds);
    json_t *grid = json_object_get(o, "grid"), *bbox = json_object_get(o, "bbox");
    json_t *splits = json_object_get(o, "splits"), *label = json_object_get(o, "label");
    json_t *sp;
    const char *name;
    ek_strbuf t;
    char size[32];

    ek_strbuf_init(&t, ctx);
    human_bytes(ds->bytes, size, sizeof size);
    ek_strbuf_printf(&t, "dataset        %s (%s)\n", str(o, "name"), str(o, "title"));
    ek_strbuf_printf(&t, "path           %s\n", ds->path);
    ek_strbuf_printf(&t, "license        %s\n", str(o, "license"));
    ek_strbuf_printf(
        &t, "grid           %s, pixel %g x %g, chips %lld x %lld, stride %lld x %lld\n",
        json_is_string(json_object_get(grid, "crs")) ? str(grid, "crs")
                                                     : "custom CRS (WKT)",
        json_number_value(json_array_get(json_object_get(grid, "resolution"), 0)),
        json_number_value(json_array_get(json_object_get(grid, "resolution"), 1)),
        (long long)json_integer_value(
            json_array_get(json_object_get(grid, "chip_size"), 0)),
        (long long)json_integer_value(
            json_array_get(json_object_get(grid, "chip_size"), 1)),
        (long long)json_integer_value(
            json_array_get(json_object_get(grid, "stride"), 0)),
        (long long)json_integer_value(
            json_array_get(json_object_get(grid, "stride"), 1)));
    ek_strbuf_printf(&t, "extent         lon %.5f .. %.5f, lat %.5f .. %.5f\n",
                     json_number_value(json_array_get(bbox, 0)),
                     json_number_value(json_array_get(bbox, 2)),
                     json_number_value(json_array_get(bbox, 1)),
                     json_number_value(json_array_get(bbox, 3)));
    ek_strbuf_printf(&t, "size           %s in %d files\n", size, ds->files);
    describe_modalities(&t, json_object_get(o, "modalities"));
    if (label != NULL) {
        describe_labels(&t, label, json_object_get(o, "class_pixels"),
                        json_object_get(o, "class_objects"), splits);
    }
    ek_strbuf_printf(&t, "\n%-14s %8s %7s\n", "split", "chips", "shards");
    json_object_foreach(splits, name, sp)
    {
        ek_strbuf_printf(&t, "%-14s %8lld %7lld\n", name,
                         (long long)json_integer_value(json_object_get(sp, "chips")),
                         (long long)json_integer_value(json_object_get(sp, "shards")));
    }
    json_object_foreach(json_object_get(o, "empty_splits"), name, sp)
    {
        ek_strbuf_printf(&t, "warning: split '%s' has no chips: %s\n", name,
                         json_string_value(sp));
    }
    json_decref(o);
    return ek_strbuf_detach(&t, out);
}
