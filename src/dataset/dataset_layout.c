/*
** Dataset: the checks behind ek_dataset_read. What collection.json says the
** arrays and splits are, where index.gpkg puts each chip (split, shard,
** row) and what each shard's header must say, held to doc/format.md ("What
** readers check"), the same rules python/eodkit applies.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_dataset.h"

/* Chip dimensions and chip bytes beyond these are not a dataset's. */
#define MAX_DIM ((int64_t)1 << 31)
#define MAX_CHIP_BYTES ((int64_t)1 << 40)

/* ---- collection.json ---- */

/* Report that collection.json of DS is wrong: FMT, printf-style. */
static int bad_collection(eodkit_ctx *ctx, const ek_dataset *ds, const char *fmt, ...)
    EK_PRINTF(3, 4);

static int bad_collection(eodkit_ctx *ctx, const ek_dataset *ds, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return ek_error(ctx, EODKIT_ERR_INPUT, "%s/collection.json: %s", ds->path, text);
}

/* Nonzero when NAME can be a file or folder name of a dataset: not empty,
   no '/', not starting with '.'. */
static int is_plain_name(const char *name)
{
    return name != NULL && name[0] != '\0' && name[0] != '.' &&
           strchr(name, '/') == NULL;
}

/* Nonzero when NAME is a dtype of modalities and class ids (doc/format.md):
   uint8, uint16, int16, uint32, int32, float32 or float64. */
static int is_chip_dtype(const char *name)
{
    ek_npy_type t;

    return ek_npy_type_of(name, &t) == 0 && !(t.kind == 'i' && t.size == 8);
}

/* Fill A from the collection's entry O (a modality, or eodkit:label when
   LABEL): dtype, and a chip shape of MIN_DIMS to MAX_DIMS positive integers. */
static int describe_array(eodkit_ctx *ctx, const ek_dataset *ds, json_t *o,
                          const char *name, int min_dims, int max_dims,
                          ek_dataset_array *a)
{
    json_t *shape = json_object_get(o, "shape"), *v;
    int64_t bytes;
    size_t i;

    a->name = name;
    a->dtype = json_string_value(json_object_get(o, "dtype"));
    if (!is_chip_dtype(a->dtype)) {
        return bad_collection(ctx, ds,
                              "array '%s' has no dtype eodkit writes (uint8, uint16, "
                              "int16, uint32, int32, float32, float64)",
                              name);
    }
    ek_npy_type_of(a->dtype, &a->type);
    bytes = a->type.size;
    if (!json_is_array(shape) || json_array_size(shape) < (size_t)min_dims ||
        json_array_size(shape) > (size_t)max_dims) {
        return bad_collection(ctx, ds, "array '%s' has no chip shape", name);
    }
    json_array_foreach(shape, i, v)
    {
        json_int_t n = json_integer_value(v);

        if (!json_is_integer(v) || n < 1 || n > MAX_DIM ||
            bytes > MAX_CHIP_BYTES / (int64_t)n) {
            return bad_collection(ctx, ds,
                                  "array '%s' has a chip shape that is not positive "
                                  "integers of a sensible size",
                                  name);
        }
        bytes *= (int64_t)n;
        a->shape[a->ndim++] = (int64_t)n;
    }
    return EODKIT_OK;
}

/* Nonzero when O is an object with an integer "id" and a string "name". */
static int is_class(json_t *o)
{
    return json_is_integer(json_object_get(o, "id")) &&
           json_is_string(json_object_get(o, "name"));
}

/* Nonzero when eodkit:label LABEL lists its classes and background. */
static int classes_listed(json_t *label)
{
    json_t *classes = json_object_get(label, "classes"), *c;
    size_t i;

    if (!json_is_array(classes) || !is_class(json_object_get(label, "background"))) {
        return 0;
    }
    json_array_foreach(classes, i, c)
    {
        if (!is_class(c)) {
            return 0;
        }
    }
    return 1;
}

/* ---- the label arrays ---- */

/* The label arrays doc/format.md defines ("Labels per task"), in its order. */
typedef struct label_spec {
    const char *name;
    int per_object;
    const char *dtypes[2]; /* the dtypes it may have; {NULL}: the class ids' */
    int ndim;              /* of one row; -1: the chip shape of "label";
                              -2: two of them, [2, chip shape] */
    int64_t size;          /* the one dimension when NDIM is 1 */
} label_spec;

static const label_spec label_specs[] = {
    {"label", 0, {NULL, NULL}, -1, 0},
    {"instance", 0, {"uint16", "uint32"}, -1, 0},
    {"box_range", 0, {"int64", NULL}, 1, 2},
    {"boxes", 1, {"float32", NULL}, 1, 4},
    {"obb", 1, {"float32", NULL}, 1, 8},
    {"box_class", 1, {NULL, NULL}, 0, 0},
    {"box_id", 1, {"uint32", NULL}, 0, 0},
    {"box_visible", 1, {"float32", NULL}, 0, 0},
    {"box_truncated", 1, {"uint8", NULL}, 0, 0},
    {"label_classes", 0, {"uint8", "uint16"}, -2, 0},
};
#define NSPECS (sizeof label_specs / sizeof *label_specs)

/* The arrays of each task, as bits (1 << index in label_specs). */
#define LABEL_BIT 1u
#define OBB_BIT (1u << 4)
#define OBJECT_BITS 0x1fcu /* box_range to box_truncated */
#define CLASSES_BIT (1u << 9)

static const struct {
    const char *task;
    unsigned arrays;
} task_arrays[] = {
    {"segmentation", LABEL_BIT},
    {"classification", LABEL_BIT},
    {"multilabel", LABEL_BIT},
    {"detection", OBJECT_BITS},
    {"instance", LABEL_BIT | 2u | OBJECT_BITS},
    {"change", LABEL_BIT | CLASSES_BIT},
    {"regression", LABEL_BIT},
};

/* The label arrays eodkit:label LABEL's TASK has: "label" alone for
   datasets written before eodkit:label.arrays, "obb" only with `oriented:
   true`, "label_classes" only with two change sources (change.sources 2). */
static unsigned wanted_arrays(json_t *label, const char *task)
{
    unsigned want = 0;
    size_t i;

    if (json_object_get(label, "arrays") == NULL) {
        return LABEL_BIT;
    }
    for (i = 0; i < sizeof task_arrays / sizeof *task_arrays; i++) {
        if (strcmp(task, task_arrays[i].task) == 0) {
            want = task_arrays[i].arrays;
        }
    }
    if (!json_is_true(json_object_get(label, "oriented"))) {
        want &= ~OBB_BIT;
    }
    if (json_integer_value(
            json_object_get(json_object_get(label, "change"), "sources")) != 2) {
        want &= ~CLASSES_BIT;
    }
    return want;
}

/* "[2]", or the shape of CHIP when SPEC's is the label's, into BUF. */
static void spec_shape_text(const label_spec *spec, const ek_dataset_array *chip,
                            char *buf, size_t size)
{
    size_t used = 0;
    int i;

    if (spec->ndim >= 0) {
        snprintf(buf, size, spec->ndim == 1 ? "[%lld]" : "[]", (long long)spec->size);
        return;
    }
    used += (size_t)snprintf(buf, size, spec->ndim == -2 ? "[2" : "[");
    for (i = 0; i < chip->ndim && used < size; i++) {
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 i || spec->ndim == -2 ? ", " : "",
                                 (long long)chip->shape[i]);
    }
    if (used < size) {
        snprintf(buf + used, size - used, "]");
    }
}

/* Fill A from entry O of eodkit:label.arrays, the label array of SPEC:
   its per, dtype (CLASS_DTYPE for class ids) and shape (CHIP's for the
   label's) must be those doc/format.md gives it. */
static int describe_label_array(eodkit_ctx *ctx, const ek_dataset *ds,
                                const label_spec *spec, json_t *o,
                                const char *class_dtype, const ek_dataset_array *chip,
                                ek_dataset_array *a)
{
    const char *per = json_string_value(json_object_get(o, "per"));
    const char *dtype = json_string_value(json_object_get(o, "dtype"));
    const char *first = spec->dtypes[0] != NULL ? spec->dtypes[0] : class_dtype;
    json_t *shape = json_object_get(o, "shape"), *v;
    int pair = spec->ndim == -2; /* [2, chip shape] */
    int ndim = spec->ndim >= 0 ? spec->ndim : chip->ndim + pair;
    int ok = per != NULL && dtype != NULL && json_is_array(shape) &&
             strcmp(per, spec->per_object ? "object" : "chip") == 0 &&
             (strcmp(dtype, first) == 0 ||
              (spec->dtypes[1] != NULL && strcmp(dtype, spec->dtypes[1]) == 0)) &&
             json_array_size(shape) == (size_t)ndim;
    size_t i;

    memset(a, 0, sizeof *a);
    json_array_foreach(shape, i, v)
    {
        int64_t want = spec->ndim >= 0 ? spec->size
                       : pair          ? (i == 0 ? 2 : chip->shape[i - 1])
                                       : chip->shape[i];

        ok = ok && json_is_integer(v) && (int64_t)json_integer_value(v) == want;
        if (ok) {
            a->shape[a->ndim++] = want;
        }
    }
    if (!ok) {
        char text[160];

        spec_shape_text(spec, chip, text, sizeof text);
        return bad_collection(ctx, ds,
                              "array '%s' is not as doc/format.md defines it (per %s, "
                              "%s%s%s, shape %s)",
                              spec->name, spec->per_object ? "object" : "chip", first,
                              spec->dtypes[1] != NULL ? " or " : "",
                              spec->dtypes[1] != NULL ? spec->dtypes[1] : "", text);
    }
    a->name = spec->name;
    a->dtype = dtype;
    ek_npy_type_of(dtype, &a->type);
    a->per_object = spec->per_object;
    a->ranges = strcmp(spec->name, "box_range") == 0;
    return EODKIT_OK;
}

/* The label arrays of eodkit:label LABEL into DS's arrays: those of its
   task, each as doc/format.md defines it (a regression target has no
   classes, and its values are float32). */
static int describe_labels(eodkit_ctx *ctx, ek_dataset *ds, json_t *label)
{
    json_t *arrays = json_object_get(label, "arrays"), *o;
    const char *task = json_string_value(json_object_get(label, "task"));
    const char *dtype = json_string_value(json_object_get(label, "dtype"));
    ek_dataset_array chip;
    const char *name;
    unsigned want, seen = 0;
    size_t i;
    int regression, rc = EODKIT_OK;

    memset(&chip, 0, sizeof chip);
    if (arrays != NULL && task == NULL) {
        return bad_collection(ctx, ds, "eodkit:label has no task");
    }
    regression = task != NULL && strcmp(task, "regression") == 0;
    if (!regression && !classes_listed(label)) {
        return bad_collection(ctx, ds,
                              "eodkit:label has no classes and background ({id, name} "
                              "each)");
    }
    if (!is_chip_dtype(dtype)) {
        return bad_collection(ctx, ds,
                              "eodkit:label has no dtype eodkit writes (uint8, uint16, "
                              "int16, uint32, int32, float32, float64)");
    }
    if (regression && strcmp(dtype, "float32") != 0) {
        return bad_collection(ctx, ds,
                              "eodkit:label of task regression has dtype %s, not "
                              "float32",
                              dtype);
    }
    want = wanted_arrays(label, task);
    if (want & LABEL_BIT) {
        rc = describe_array(ctx, ds, label, "label", 0, 2, &chip);
    }
    if (rc != EODKIT_OK || arrays == NULL) { /* before eodkit:label.arrays: "label" */
        ds->arrays[ds->narrays] = chip;
        ds->narrays += rc == EODKIT_OK;
        return rc;
    }
    if (!json_is_object(arrays)) {
        return bad_collection(ctx, ds, "eodkit:label.arrays is not an object");
    }
    json_object_foreach(arrays, name, o)
    {
        for (i = 0; i < NSPECS && strcmp(label_specs[i].name, name) != 0; i++) {
        }
        if (i == NSPECS || !(want & (1u << i))) {
            return bad_collection(
                ctx, ds,
                "eodkit:label.arrays lists '%s', which task '%s' does "
                "not have",
                name, task);
        }
        rc = describe_label_array(ctx, ds, &label_specs[i], o, dtype, &chip,
                                  &ds->arrays[ds->narrays]);
        if (rc != EODKIT_OK) {
            return rc;
        }
        ds->has_objects |= ds->arrays[ds->narrays++].ranges;
        seen |= 1u << i;
    }
    for (i = 0; i < NSPECS; i++) {
        if ((want & (1u << i)) && !(seen & (1u << i))) {
            return bad_collection(
                ctx, ds,
                "eodkit:label.arrays has no array '%s' (task '%s' has "
                "one)",
                label_specs[i].name, task);
        }
    }
    return EODKIT_OK;
}

static int describe_arrays(eodkit_ctx *ctx, ek_dataset *ds)
{
    json_t *mods = json_object_get(ds->collection, "eodkit:modalities");
    json_t *label = json_object_get(ds->collection, "eodkit:label"), *m;
    size_t i, j, nmods;
    int rc = EODKIT_OK;

    if (!json_is_array(mods)) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s/collection.json: a STAC collection, but not one eodkit wrote",
            ds->path);
    }
    if (label != NULL && !json_is_null(label) && !json_is_object(label)) {
        return bad_collection(ctx, ds, "eodkit:label is not an object");
    }
    ds->arrays = ek_calloc(ctx, json_array_size(mods) + NSPECS, sizeof *ds->arrays);
    if (ds->arrays == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    json_array_foreach(mods, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));

        if (!is_plain_name(name) || strcmp(name, "label") == 0) {
            return bad_collection(ctx, ds,
                                  "eodkit:modalities holds a modality without a name "
                                  "that can be a file name");
        }
        for (j = 0; j < i; j++) {
            if (strcmp(ds->arrays[j].name, name) == 0) {
                return bad_collection(ctx, ds, "modality '%s' is listed twice", name);
            }
        }
        rc = describe_array(ctx, ds, m, name, 3, 4, &ds->arrays[ds->narrays++]);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    nmods = ds->narrays;
    if (json_is_object(label)) {
        rc = describe_labels(ctx, ds, label);
    }
    for (i = nmods; rc == EODKIT_OK && i < ds->narrays; i++) {
        for (j = 0; j < nmods; j++) {
            if (strcmp(ds->arrays[j].name, ds->arrays[i].name) == 0) {
                return bad_collection(ctx, ds,
                                      "modality '%s' has the name of a label array",
                                      ds->arrays[i].name);
            }
        }
    }
    return rc;
}

static int describe_splits(eodkit_ctx *ctx, ek_dataset *ds)
{
    json_t *splits = json_object_get(ds->collection, "eodkit:splits"), *v;
    const char *name;

    if (!json_is_object(splits)) {
        return bad_collection(ctx, ds, "no eodkit:splits object");
    }
    ds->splits = ek_calloc(ctx, json_object_size(splits) + 1, sizeof *ds->splits);
    if (ds->splits == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    json_object_foreach(splits, name, v)
    {
        ek_dataset_split *s = &ds->splits[ds->nsplits++];
        json_t *chips = json_object_get(v, "chips"),
               *shards = json_object_get(v, "shards");

        s->name = name;
        if (!is_plain_name(name)) {
            return bad_collection(ctx, ds,
                                  "eodkit:splits names a split '%s' that cannot be a "
                                  "folder name",
                                  name);
        }
        if (!json_is_integer(chips) || !json_is_integer(shards)) {
            return bad_collection(
                ctx, ds, "split '%s' of eodkit:splits has no chips and shards", name);
        }
        s->chips = (int64_t)json_integer_value(chips);
        s->shards = (int64_t)json_integer_value(shards);
        if (s->chips < 0 || s->shards < 0 || s->shards > s->chips) {
            return bad_collection(ctx, ds,
                                  "split '%s' of eodkit:splits has impossible chip and "
                                  "shard counts",
                                  name);
        }
    }
    return EODKIT_OK;
}

int ek_dataset_describe(eodkit_ctx *ctx, ek_dataset *ds)
{
    int rc = describe_arrays(ctx, ds);

    return rc == EODKIT_OK ? describe_splits(ctx, ds) : rc;
}

/* ---- index.gpkg ---- */

/* Columns of table chips that place a chip (doc/format.md), then the one
   that counts its objects (tasks with objects). */
static const char *const layout_columns[] = {"fid", "split", "shard", "row", "objects"};
#define NLAYOUT 4

static const char *type_name(int type)
{
    switch (type) {
    case SQLITE_INTEGER:
        return "an integer";
    case SQLITE_FLOAT:
        return "a real number";
    case SQLITE_TEXT:
        return "text";
    case SQLITE_BLOB:
        return "a blob";
    default:
        return "NULL";
    }
}

/* Whether table chips of DB has the layout columns (and when OBJECTS, the
   objects column); EODKIT_ERR_INPUT naming PATH when DB is no SQLite
   database, has no such table, or lacks one. */
static int check_columns(eodkit_ctx *ctx, sqlite3 *db, const char *path, int objects)
{
    sqlite3_stmt *st = NULL;
    int found[NLAYOUT + 1] = {0}, any = 0, step = SQLITE_DONE;
    size_t i;
    int rc = EODKIT_OK;

    if (sqlite3_prepare_v2(db, "PRAGMA table_info(chips)", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: cannot open the chip index (a GeoPackage): %s", path,
                      sqlite3_errmsg(db));
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);

        any = 1;
        for (i = 0; name != NULL && i < NLAYOUT + 1; i++) {
            found[i] |= strcmp(name, layout_columns[i]) == 0;
        }
    }
    if (step != SQLITE_DONE) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: cannot open the chip index (a GeoPackage): %s", path,
                      sqlite3_errmsg(db));
        goto out;
    }
    if (!any) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: no layer 'chips' (not an eodkit chip index)", path);
        goto out;
    }
    for (i = 0; i < NLAYOUT + (objects != 0); i++) {
        if (!found[i]) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: layer 'chips' has no column '%s' (not an eodkit chip index)", path,
                layout_columns[i]);
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* The split of DS named NAME, or NULL. */
static ek_dataset_split *find_split(ek_dataset *ds, const char *name)
{
    size_t s;

    for (s = 0; s < ds->nsplits; s++) {
        if (strcmp(ds->splits[s].name, name) == 0) {
            return &ds->splits[s];
        }
    }
    return NULL;
}

static int unknown_split(eodkit_ctx *ctx, const ek_dataset *ds, const char *path,
                         long long fid, const char *name)
{
    char list[256] = "";
    size_t s, used = 0;

    for (s = 0; s < ds->nsplits && used < sizeof list; s++) {
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", s ? ", " : "",
                                 ds->splits[s].name);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: chip %lld is in split '%s', which collection.json does not "
                    "list (its splits: %s)",
                    path, fid, name, list);
}

/* Place chip FID at SHARD, ROW of split S: the next row of its shard, or
   row 0 of the next shard (shard 0 for its first chip). */
static int place_chip(eodkit_ctx *ctx, ek_dataset_split *s, const char *path,
                      long long fid, int64_t shard, int64_t row)
{
    size_t last = s->nshards - 1;

    if (s->nshards > 0 && shard == (int64_t)last && row == s->shard_chips[last]) {
        s->shard_chips[last]++;
        return EODKIT_OK;
    }
    if (shard == (int64_t)s->nshards && row == 0) {
        if (ek_grow(ctx, (void **)&s->shard_chips, &s->cap, s->nshards + 1,
                    sizeof *s->shard_chips) != EODKIT_OK) {
            return EODKIT_ERR_NOMEM;
        }
        s->shard_chips[s->nshards++] = 1;
        return EODKIT_OK;
    }
    if (s->nshards == 0) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: chips of split '%s' are not in (shard, row) order: its "
            "first chip %lld is at shard %lld, row %lld, not shard 0, row 0",
            path, s->name, fid, (long long)shard, (long long)row);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: chips of split '%s' are not in (shard, row) order: chip %lld "
                    "is at shard %lld, row %lld after shard %zu, row %lld",
                    path, s->name, fid, (long long)shard, (long long)row, last,
                    (long long)s->shard_chips[last] - 1);
}

/* Keep OBJECTS, the objects count of the chip just placed in split S. */
static int keep_objects(eodkit_ctx *ctx, ek_dataset_split *s, int64_t objects)
{
    if (ek_grow(ctx, (void **)&s->objects, &s->objects_cap, s->nchips + 1,
                sizeof *s->objects) != EODKIT_OK) {
        return EODKIT_ERR_NOMEM;
    }
    s->objects[s->nchips++] = objects;
    return EODKIT_OK;
}

/* Check the layout columns (and with objects, the objects count) of the
   chip at the current row of ST. */
static int read_chip(eodkit_ctx *ctx, ek_dataset *ds, sqlite3_stmt *st,
                     const char *path, ek_dataset_split **cur)
{
    static const int wanted[NLAYOUT] = {SQLITE_INTEGER, SQLITE_TEXT, SQLITE_INTEGER,
                                        SQLITE_INTEGER};
    long long fid = (long long)sqlite3_column_int64(st, 0);
    int counted = sqlite3_column_type(st, NLAYOUT);
    const char *split;
    size_t i;
    int rc;

    for (i = 0; i < NLAYOUT; i++) {
        int type = sqlite3_column_type(st, (int)i);

        if (type == SQLITE_NULL) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: chip %lld has no %s", path, fid,
                            layout_columns[i]);
        }
        if (type != wanted[i]) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: chip %lld has a %s that is %s, not %s", path, fid,
                            layout_columns[i], type_name(type), type_name(wanted[i]));
        }
    }
    if (counted == SQLITE_NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: chip %lld has no objects count",
                        path, fid);
    }
    if (counted != SQLITE_INTEGER) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: chip %lld has an objects count that is %s, not an integer",
                        path, fid, type_name(counted));
    }
    split = (const char *)sqlite3_column_text(st, 1);
    if (split == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (*cur == NULL || strcmp((*cur)->name, split) != 0) {
        *cur = find_split(ds, split);
    }
    if (*cur == NULL) {
        return unknown_split(ctx, ds, path, fid, split);
    }
    rc = place_chip(ctx, *cur, path, fid, (int64_t)sqlite3_column_int64(st, 2),
                    (int64_t)sqlite3_column_int64(st, 3));
    if (rc == EODKIT_OK && ds->has_objects) {
        rc = keep_objects(ctx, *cur, (int64_t)sqlite3_column_int64(st, NLAYOUT));
    }
    return rc;
}

int ek_dataset_read_index(eodkit_ctx *ctx, ek_dataset *ds, sqlite3 *db,
                          const char *path)
{
    sqlite3_stmt *st = NULL;
    ek_dataset_split *cur = NULL;
    size_t s;
    int step = SQLITE_DONE, rc = check_columns(ctx, db, path, ds->has_objects);

    if (rc != EODKIT_OK) {
        return rc;
    }
    /* tasks with objects: each chip's objects, which box_range must agree with */
    if (sqlite3_prepare_v2(
            db,
            ds->has_objects
                ? "SELECT fid, split, shard, row, objects FROM chips "
                  "ORDER BY fid"
                : "SELECT fid, split, shard, row, 0 FROM chips ORDER BY fid",
            -1, &st, NULL) != SQLITE_OK) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: cannot read the chip index: %s", path,
                      sqlite3_errmsg(db));
        goto out;
    }
    while (rc == EODKIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = read_chip(ctx, ds, st, path, &cur);
    }
    if (rc == EODKIT_OK && step != SQLITE_DONE) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: cannot read the chip index: %s", path,
                      sqlite3_errmsg(db));
    }
    for (s = 0; rc == EODKIT_OK && s < ds->nsplits; s++) {
        const ek_dataset_split *sp = &ds->splits[s];
        int64_t chips = 0;
        size_t k;

        for (k = 0; k < sp->nshards; k++) {
            chips += sp->shard_chips[k];
        }
        if (chips != sp->chips || (int64_t)sp->nshards != sp->shards) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: split '%s' has %lld chips in %zu shards, but "
                          "collection.json says %lld chips in %lld shards",
                          path, sp->name, (long long)chips, sp->nshards,
                          (long long)sp->chips, (long long)sp->shards);
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- shards ---- */

/* "(3, 6, 32, 32)" for ROWS chips of shape SHAPE (NDIM) into BUF. */
static void shape_text(int64_t rows, const int64_t *shape, int ndim, char *buf,
                       size_t size)
{
    ek_npy nf;
    int i;

    memset(&nf, 0, sizeof nf);
    nf.shape[0] = rows;
    for (i = 0; i < ndim; i++) {
        nf.shape[i + 1] = shape[i];
    }
    nf.ndim = ndim + 1;
    ek_npy_shape_text(&nf, buf, size);
}

int ek_dataset_check_shard(eodkit_ctx *ctx, const ek_dataset_array *a, int64_t rows,
                           const ek_npy *nf, const char *path)
{
    char have[160], want[160];
    int i, same = nf->ndim == a->ndim + 1 && nf->shape[0] == rows;

    if (nf->type.kind != a->type.kind || nf->type.size != a->type.size) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: elements of type '%s', but collection.json says %s", path,
                        nf->descr, a->dtype);
    }
    for (i = 0; same && i < a->ndim; i++) {
        same = nf->shape[i + 1] == a->shape[i];
    }
    if (!same) {
        ek_npy_shape_text(nf, have, sizeof have);
        shape_text(rows, a->shape, a->ndim, want, sizeof want);
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: shape %s, but the index and collection.json say %s", path,
                        have, want);
    }
    return EODKIT_OK;
}

int ek_dataset_check_ranges(eodkit_ctx *ctx, ek_npy *nf, const char *path,
                            const int64_t *objects, int64_t *total)
{
    int64_t rows[2 * 512], end = 0, r = 0;
    int rc = EODKIT_OK;

    while (rc == EODKIT_OK && r < nf->shape[0]) {
        int64_t n = nf->shape[0] - r < 512 ? nf->shape[0] - r : 512, i;

        rc = ek_npy_read_rows(ctx, nf, path, r, n, rows);
        for (i = 0; rc == EODKIT_OK && i < n; i++, r++) {
            int64_t first = rows[2 * i], count = rows[2 * i + 1];

            if (count < 0 || count > EK_MAX_OBJECTS) {
                rc =
                    ek_error(ctx, EODKIT_ERR_INPUT,
                             "%s: row %lld says %lld objects (0 to %lld can be)", path,
                             (long long)r, (long long)count, (long long)EK_MAX_OBJECTS);
            } else if (first != end) {
                rc = ek_error(ctx, EODKIT_ERR_INPUT,
                              "%s: row %lld says its objects start at row %lld of the "
                              "per-object arrays, not %lld (each chip's follow the "
                              "previous chip's)",
                              path, (long long)r, (long long)first, (long long)end);
            } else if (objects != NULL && count != objects[r]) {
                rc = ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: row %lld says %lld objects, but index.gpkg says %lld", path,
                    (long long)r, (long long)count, (long long)objects[r]);
            } else {
                end += count;
            }
        }
    }
    *total = end;
    return rc;
}
