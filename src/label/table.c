/*
** Label: scene-level labels from a table (labels.table). The scenes are the
** files of one modality (the first by default); the table (CSV or any
** table OGR reads, JSON, or JSON sidecars beside the scenes) gives each
** scene its labels. A scene is rendered as its number over its bounds on
** the grid; each chip then takes the labels of the scene it lies in
** (build/unit.c).
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_quad_tree.h>
#include <jansson.h>

#include "core/ek_fs.h"
#include "ek_label.h"
#include "geo/ek_vector.h"

/* One row of the table: what names its scene and its label values. */
typedef struct row {
    char *key;    /* the scene's name (key field or JSON member), or NULL */
    char *folder; /* a sidecar without a key field: its folder (real path) */
    char **values;
    size_t nvalues;
    char *where; /* "file", or "file: row N", for messages */
} row;

typedef struct rows {
    row *items;
    size_t n, cap;
} rows;

struct ek_table {
    size_t nscenes;
    char **names;   /* per scene: folder or file name */
    char **folders; /* per scene: its folder (real path) */
    int **ids;      /* per scene: class ids, ascending */
    size_t *nids;
    uint8_t *labelled; /* per scene: a row gave it labels */
    size_t ngrids;
    double *bounds;      /* [(g * nscenes + s) * 4]: x0, y0, x1, y1, grid pixels */
    CPLQuadTree **trees; /* per grid: labelled scenes by bounds */
};

/* ---- reading the table ---- */

static void rows_free(rows *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++) {
        free(rs->items[i].key);
        free(rs->items[i].folder);
        ek_fs_free_list(rs->items[i].values, rs->items[i].nvalues);
        free(rs->items[i].where);
    }
    free(rs->items);
}

static row *rows_add(eodkit_ctx *ctx, rows *rs)
{
    if (ek_grow(ctx, (void **)&rs->items, &rs->cap, rs->n + 1, sizeof *rs->items) !=
        EODKIT_OK) {
        return NULL;
    }
    memset(&rs->items[rs->n], 0, sizeof *rs->items);
    return &rs->items[rs->n++];
}

static int add_value(eodkit_ctx *ctx, row *r, const char *text, size_t len)
{
    char **grown = ek_realloc_array(ctx, r->values, r->nvalues + 1, sizeof *grown);

    if (grown == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    r->values = grown;
    r->values[r->nvalues] = ek_asprintf(ctx, "%.*s", (int)len, text);
    if (r->values[r->nvalues] == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    r->nvalues++;
    return EODKIT_OK;
}

/* TEXT's labels into R: split at SEP (when given), blanks around each
   trimmed, empty pieces left out. */
static int add_text(eodkit_ctx *ctx, row *r, const char *text, const char *sep)
{
    size_t seplen = sep != NULL ? strlen(sep) : 0;
    int rc = EODKIT_OK;

    while (rc == EODKIT_OK && text != NULL) {
        const char *end = sep != NULL ? strstr(text, sep) : NULL;
        size_t len = end != NULL ? (size_t)(end - text) : strlen(text);

        while (len > 0 && (*text == ' ' || *text == '\t')) {
            text++, len--;
        }
        while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
                           text[len - 1] == '\r' || text[len - 1] == '\n')) {
            len--;
        }
        if (len > 0) {
            rc = add_value(ctx, r, text, len);
        }
        text = end != NULL ? end + seplen : NULL;
    }
    return rc;
}

/* A JSON label value V (text, number, or a list of them) into R. */
static int add_json_value(eodkit_ctx *ctx, row *r, const json_t *v, const char *sep,
                          int in_list)
{
    char num[40];
    size_t i;
    json_t *item;

    if (json_is_string(v)) {
        return add_text(ctx, r, json_string_value(v), sep);
    }
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return add_value(ctx, r, num, strlen(num));
    }
    if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        return add_value(ctx, r, num, strlen(num));
    }
    if (json_is_array(v) && !in_list) {
        json_array_foreach(v, i, item)
        {
            int rc = add_json_value(ctx, r, item, NULL, 1);

            if (rc != EODKIT_OK) {
                return rc;
            }
        }
        return EODKIT_OK;
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: the labels field holds %s; expected text, a number or a "
                    "list of them",
                    r->where, json_is_null(v) ? "null" : "an object or nested list");
}

/* The text of JSON value V (a scene name): text or a whole number. */
static char *json_name(eodkit_ctx *ctx, const json_t *v)
{
    if (json_is_string(v)) {
        return ek_strdup(ctx, json_string_value(v));
    }
    if (json_is_integer(v)) {
        return ek_asprintf(ctx, "%lld", (long long)json_integer_value(v));
    }
    return NULL;
}

/* Field NAME of JSON object O; a dotted NAME ("properties.labels") walks
   into nested objects (STAC items keep their fields in "properties"). */
static json_t *json_field(const json_t *o, const char *name)
{
    const char *dot = strchr(name, '.');
    char head[256];

    if (json_object_get(o, name) != NULL || dot == NULL ||
        (size_t)(dot - name) >= sizeof head) {
        return json_object_get(o, name);
    }
    snprintf(head, sizeof head, "%.*s", (int)(dot - name), name);
    return json_field(json_object_get(o, head), dot + 1);
}

/* Record O (a JSON object) of file PATH as a row: its key field (when
   the table has one), else NAME (a member name) or, for a sidecar, its
   folder; its labels field. */
static int json_record(eodkit_ctx *ctx, const ek_table_recipe *t, const char *path,
                       const char *name, size_t index, const json_t *o, rows *rs)
{
    row *r = rows_add(ctx, rs);
    json_t *labels;

    if (r == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    r->where = name != NULL ? ek_asprintf(ctx, "%s: member '%s'", path, name)
               : index > 0  ? ek_asprintf(ctx, "%s: record %zu", path, index)
                            : ek_strdup(ctx, path);
    if (r->where == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (t->key != NULL) {
        r->key = json_name(ctx, json_field(o, t->key));
        if (r->key == NULL) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: no field '%s' holding text (labels.key)", r->where,
                            t->key);
        }
    } else if (name != NULL) {
        r->key = ek_strdup(ctx, name);
        if (r->key == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    } else {
        char *dir = ek_path_dirname(ctx, path);

        r->folder = dir != NULL ? realpath(dir, NULL) : NULL;
        free(dir);
        if (r->folder == NULL) {
            return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot resolve its folder", path);
        }
    }
    labels = json_field(o, t->field);
    if (labels == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no field '%s' (labels.labels)",
                        r->where, t->field);
    }
    return add_json_value(ctx, r, labels, t->separator, 0);
}

/*
** JSON file PATH: a sidecar (one object holding the labels field: the
** scene in its folder, or named by the key field), a list of records
** (named by the key field; a STAC ItemCollection's "features" too) or an
** object of records or label lists named by their member names.
*/
static int read_json(eodkit_ctx *ctx, const ek_table_recipe *t, const char *path,
                     rows *rs)
{
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err), *v;
    const char *name;
    size_t i;
    int rc = EODKIT_OK;

    if (doc == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s:%d:%d: not JSON: %s", path, err.line,
                        err.column, err.text);
    }
    if (json_is_object(doc) && json_field(doc, t->field) != NULL) {
        rc = json_record(ctx, t, path, NULL, 0, doc, rs);
    } else if (json_is_array(doc) || json_is_array(json_object_get(doc, "features"))) {
        json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "features");

        if (t->key == NULL) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: a list of records needs labels.key (the field naming "
                          "each record's scene)",
                          path);
        }
        json_array_foreach(list, i, v)
        {
            if (rc == EODKIT_OK) {
                rc = json_is_object(v)
                         ? json_record(ctx, t, path, NULL, i + 1, v, rs)
                         : ek_error(ctx, EODKIT_ERR_INPUT,
                                    "%s: record %zu is not an object", path, i + 1);
            }
        }
    } else if (json_is_object(doc)) {
        json_object_foreach(doc, name, v)
        {
            row *r;

            if (rc != EODKIT_OK) {
                break;
            }
            if (json_is_object(v)) {
                rc = json_record(ctx, t, path, name, 0, v, rs);
                continue;
            }
            r = rows_add(ctx, rs);
            rc = r == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            if (rc == EODKIT_OK) {
                r->key = ek_strdup(ctx, name);
                r->where = ek_asprintf(ctx, "%s: member '%s'", path, name);
                rc = r->key == NULL || r->where == NULL
                         ? EODKIT_ERR_NOMEM
                         : add_json_value(ctx, r, v, t->separator, 0);
            }
        }
    } else {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: expected an object with field '%s', a list of records or "
                      "an object of records",
                      path, t->field);
    }
    json_decref(doc);
    return rc;
}

/* Field NAME of LAYER (file PATH), or an error listing its fields. */
static int table_field(eodkit_ctx *ctx, OGRLayerH layer, const char *path,
                       const char *name, const char *key, int *field)
{
    char hint[512];

    *field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), name);
    if (*field >= 0) {
        return EODKIT_OK;
    }
    ek_field_hint(OGR_L_GetLayerDefn(layer), name, hint, sizeof hint);
    return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no column '%s'%s (labels.%s)", path,
                    name, hint, key);
}

/* A table OGR reads (CSV, spreadsheets, ...): its first layer, one row per
   feature, named by the key column. */
static int read_ogr(eodkit_ctx *ctx, const ek_table_recipe *t, const char *path,
                    rows *rs)
{
    GDALDatasetH ds =
        GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH layer = ds != NULL ? GDALDatasetGetLayer(ds, 0) : NULL;
    OGRFeatureH f;
    int key = -1, labels = -1, rc = EODKIT_OK;
    size_t line = 1;

    if (layer == NULL) {
        rc = ek_error_with_gdal(
            ctx, EODKIT_ERR_INPUT,
            "%s: cannot read it as a table (CSV, or JSON with a .json "
            "name)",
            path);
        goto out;
    }
    if (t->key == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: a table needs labels.key (the column naming each row's "
                      "scene)",
                      path);
        goto out;
    }
    rc = table_field(ctx, layer, path, t->key, "key", &key);
    if (rc == EODKIT_OK) {
        rc = table_field(ctx, layer, path, t->field, "labels", &labels);
    }
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
        row *r = rows_add(ctx, rs);

        line++;
        rc = r == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        if (rc == EODKIT_OK) {
            r->key = ek_strdup(ctx, OGR_F_GetFieldAsString(f, key));
            r->where = ek_asprintf(ctx, "%s: row %zu", path, line);
            rc = r->key == NULL || r->where == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
        if (rc == EODKIT_OK && OGR_F_IsFieldSetAndNotNull(f, labels)) {
            rc = add_text(ctx, r, OGR_F_GetFieldAsString(f, labels), t->separator);
        }
        OGR_F_Destroy(f);
    }
out:
    if (ds != NULL) {
        GDALClose(ds);
    }
    return rc;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && strcasecmp(s + n - m, tail) == 0;
}

/* Every file labels.table matches, read into RS. */
static int read_table(eodkit_ctx *ctx, const ek_recipe *r, rows *rs)
{
    const ek_table_recipe *t = &r->labels.table;
    char **paths = NULL, where[512];
    size_t n = 0, i;
    int rc = ek_fs_glob(ctx, t->path, &paths, &n);

    if (rc == EODKIT_OK && n == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      strpbrk(t->path, "*?[") == NULL
                          ? "%s: no such file (%s: labels.table)"
                          : "%s: no file matches this pattern (%s: labels.table)",
                      t->path, ek_recipe_where(r, t->mark, where, sizeof where));
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        rc = ends_with(paths[i], ".json") ? read_json(ctx, t, paths[i], rs)
                                          : read_ogr(ctx, t, paths[i], rs);
    }
    ek_fs_free_list(paths, n);
    return rc;
}

/* ---- scenes ---- */

/* Scene name of file PATH under MATCH: its folder's name, or its file name
   without the extension. */
static char *scene_name(eodkit_ctx *ctx, const char *path, ek_table_match match)
{
    const char *base = ek_path_basename(path), *dot = strrchr(base, '.');
    char *dir, *name;

    if (match == EK_MATCH_FILE) {
        return ek_asprintf(ctx, "%.*s",
                           (int)(dot != NULL ? dot - base : (long)strlen(base)), base);
    }
    dir = ek_path_dirname(ctx, path);
    name = dir != NULL ? ek_strdup(ctx, ek_path_basename(dir)) : NULL;
    free(dir);
    return name;
}

/* The scene of file PATH among the first N of T, or N when new. */
static size_t find_scene(const ek_table *t, size_t n, const char *folder,
                         const char *name, ek_table_match match)
{
    size_t s;

    for (s = 0; s < n; s++) {
        if (strcmp(t->names[s], name) == 0 &&
            (match == EK_MATCH_FILE || strcmp(t->folders[s], folder) == 0)) {
            return s;
        }
    }
    return n;
}

/* The scenes: the files of the scene modality's first part, one scene per
   distinct folder (match: folder) or file name, with their bounds on every
   grid. */
static int make_scenes(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       ek_table *t)
{
    const ek_table_recipe *tr = &r->labels.table;
    int mi = tr->scenes != NULL ? ek_recipe_find_modality(r, tr->scenes) : 0;
    const ek_modality *m = &p->modalities[mi];
    const ek_part *part = &m->parts[0];
    size_t i, g, n = 0;
    int rc = EODKIT_OK;

    t->ngrids = p->ngrids;
    t->names = ek_calloc(ctx, part->count + 1, sizeof *t->names);
    t->folders = ek_calloc(ctx, part->count + 1, sizeof *t->folders);
    t->bounds = ek_calloc(ctx, (part->count + 1) * p->ngrids * 4, sizeof *t->bounds);
    if (t->names == NULL || t->folders == NULL || t->bounds == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = part->first; i < part->first + part->count && rc == EODKIT_OK; i++) {
        char *dir = ek_path_dirname(ctx, m->sources[i].path);
        char *folder = dir != NULL ? realpath(dir, NULL) : NULL;
        char *name = scene_name(ctx, m->sources[i].path, tr->match);
        size_t s;

        free(dir);
        if (folder == NULL || name == NULL) {
            free(folder);
            free(name);
            return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot resolve its folder",
                            m->sources[i].path);
        }
        s = find_scene(t, n, folder, name, tr->match);
        for (g = 0; g < p->ngrids; g++) {
            const ek_placement *pl = ek_plan_placement(m, g, i);
            double *b = &t->bounds[(g * (part->count + 1) + s) * 4];
            int first = s == n;

            b[0] = first || pl->gx0 < b[0] ? pl->gx0 : b[0];
            b[1] = first || pl->gy0 < b[1] ? pl->gy0 : b[1];
            b[2] = first || pl->gx1 > b[2] ? pl->gx1 : b[2];
            b[3] = first || pl->gy1 > b[3] ? pl->gy1 : b[3];
        }
        if (s == n) {
            t->names[n] = name;
            t->folders[n] = folder;
            n++;
        } else {
            free(name);
            free(folder);
        }
    }
    /* bounds were laid out for part->count + 1 scenes per grid: compact */
    for (g = 1; g < p->ngrids; g++) {
        memmove(&t->bounds[g * n * 4], &t->bounds[g * (part->count + 1) * 4],
                n * 4 * sizeof *t->bounds);
    }
    t->nscenes = n;
    t->ids = ek_calloc(ctx, n + 1, sizeof *t->ids);
    t->nids = ek_calloc(ctx, n + 1, sizeof *t->nids);
    t->labelled = ek_calloc(ctx, n + 1, 1);
    return t->ids == NULL || t->nids == NULL || t->labelled == NULL ? EODKIT_ERR_NOMEM
                                                                    : EODKIT_OK;
}

/* The scene row R names, or -1 (none) or -2 (several) with their names. */
static long scene_of_row(const ek_table *t, const row *r, size_t *other)
{
    long found = -1;
    size_t s;

    for (s = 0; s < t->nscenes; s++) {
        int hit = r->folder != NULL ? strcmp(t->folders[s], r->folder) == 0
                                    : strcmp(t->names[s], r->key) == 0;

        if (hit && found >= 0) {
            *other = s;
            return -2 - found;
        }
        if (hit) {
            found = (long)s;
        }
    }
    return found;
}

/* ---- classes ---- */

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* V as a class id when it is a whole number 0..65535. */
static int as_id(const char *v, int *id)
{
    char *end;
    long n = strtol(v, &end, 10);

    *id = (int)n;
    return end != v && *end == '\0' && n >= 0 && n <= EK_MAX_CLASS_ID;
}

/* The class id of label value V: from the recipe's map (-1: unmapped), the
   value itself (INTEGERS), or its place among the sorted NAMES. */
static int class_of(const ek_labels_recipe *lr, const char *v, int integers,
                    char **names, size_t nnames)
{
    size_t i;
    int id;

    if (lr->classes != NULL) {
        for (i = 0; i < lr->nclasses; i++) {
            char *end;
            double a = strtod(lr->classes[i].value, &end), b;
            int numeric = end != lr->classes[i].value && *end == '\0';
            char *end2;

            b = strtod(v, &end2);
            if (strcmp(lr->classes[i].value, v) == 0 ||
                (numeric && end2 != v && *end2 == '\0' && a == b)) {
                return lr->classes[i].id;
            }
        }
        return -1;
    }
    if (integers) {
        return as_id(v, &id) ? id : -1;
    }
    {
        char **hit = bsearch(&v, names, nnames, sizeof *names, compare_text);

        return hit == NULL ? -1 : (int)(hit - names) + 1;
    }
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* The class table of L and each matched row's class ids (ROW_SCENE: the
   scene of each row, or -1). */
static int make_classes(eodkit_ctx *ctx, const ek_recipe *r, ek_labels *l,
                        const rows *rs, const long *row_scene)
{
    const ek_labels_recipe *lr = &r->labels;
    ek_table *t = l->table;
    char **names = NULL;
    size_t nnames = 0, i, j, kept;
    int integers = 1, rc = EODKIT_OK, id;

    for (i = 0; i < rs->n; i++) {
        for (j = 0; j < rs->items[i].nvalues; j++) {
            integers &= as_id(rs->items[i].values[j], &id);
            nnames++;
        }
    }
    if (lr->classes == NULL && !integers) { /* sorted distinct texts: ids 1, 2, ... */
        names = ek_calloc(ctx, nnames + 1, sizeof *names);
        rc = names == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (i = 0, nnames = 0; rc == EODKIT_OK && i < rs->n; i++) {
            for (j = 0; j < rs->items[i].nvalues; j++) {
                names[nnames++] = rs->items[i].values[j];
            }
        }
        if (rc == EODKIT_OK) {
            qsort(names, nnames, sizeof *names, compare_text);
        }
        for (i = 0, kept = 0; rc == EODKIT_OK && i < nnames; i++) {
            if (kept == 0 || strcmp(names[kept - 1], names[i]) != 0) {
                names[kept++] = names[i];
            }
        }
        nnames = kept;
        for (i = 0; rc == EODKIT_OK && i < nnames; i++) {
            rc = ek_labels_add_class(ctx, l, (int)i + 1, names[i]);
        }
    } else if (lr->classes != NULL) {
        rc = ek_labels_map_classes(ctx, l);
    }
    for (i = 0; rc == EODKIT_OK && i < rs->n; i++) {
        const row *rw = &rs->items[i];
        long s = row_scene[i];
        int *ids;
        size_t n = 0;

        if (s < 0) {
            continue;
        }
        ids = ek_calloc(ctx, rw->nvalues + 1, sizeof *ids);
        rc = ids == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (j = 0; rc == EODKIT_OK && j < rw->nvalues; j++) {
            id = class_of(lr, rw->values[j], integers, names, nnames);
            if (id < 0 || id == lr->background) {
                continue; /* unmapped values, like unmapped features, are skipped */
            }
            if (lr->classes == NULL && integers) {
                rc = ek_labels_add_class(ctx, l, id, rw->values[j]);
            }
            ids[n++] = id;
        }
        qsort(ids, n, sizeof *ids, compare_int);
        for (j = 0, kept = 0; j < n; j++) {
            if (kept == 0 || ids[kept - 1] != ids[j]) {
                ids[kept++] = ids[j];
            }
        }
        t->ids[s] = ids;
        t->nids[s] = kept;
        t->labelled[s] = 1;
        if (rc == EODKIT_OK && lr->task == EK_TASK_CLASSIFICATION && kept > 1) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: scene '%s' has %zu classes; task classification gives a "
                          "chip one class (use task: multilabel)",
                          rw->where, t->names[s], kept);
        }
    }
    free(names);
    return rc;
}

/* ---- opening ---- */

/* Match every row to a scene; unmatched rows are an error unless skipped,
   as are two rows for one scene. */
static int match_rows(eodkit_ctx *ctx, const ek_recipe *r, const ek_table *t,
                      const rows *rs, long *row_scene)
{
    const ek_table_recipe *tr = &r->labels.table;
    char where[512];
    size_t i, other = 0;
    long *taken = ek_calloc(ctx, t->nscenes + 1, sizeof *taken);

    if (taken == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ek_recipe_where(r, tr->mark, where, sizeof where);
    for (i = 0; i < rs->n; i++) {
        const row *rw = &rs->items[i];
        long s = scene_of_row(t, rw, &other);
        int rc = EODKIT_OK;

        if (s == -1 && !tr->skip_unmatched) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                rw->folder != NULL
                    ? "%s: no scene file lies in its folder %s (%s: labels.table; "
                      "scenes are the files of modality '%s'; 'unmatched: skip' "
                      "ignores such rows)"
                    : "%s: key '%s' names no scene (%s: labels.table; with 'match: "
                      "%s' a scene is named by %s of a file of modality '%s', e.g. "
                      "'%s'; 'unmatched: skip' ignores such rows)",
                rw->where, rw->folder != NULL ? rw->folder : rw->key, where,
                tr->match == EK_MATCH_FOLDER ? "folder" : "file",
                tr->match == EK_MATCH_FOLDER ? "the name of the folder"
                                             : "the name (without extension)",
                tr->scenes != NULL ? tr->scenes : r->modalities[0].name,
                t->nscenes > 0 ? t->names[0] : "");
        } else if (s <= -2) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: '%s' names two scenes (files in %s and in %s); use "
                          "'match: file' or a key that tells them apart (%s)",
                          rw->where, rw->key, t->folders[-2 - s], t->folders[other],
                          where);
        } else if (s >= 0 && taken[s] > 0) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: scene '%s' has labels already (%s); one row per scene",
                          rw->where, t->names[s], rs->items[taken[s] - 1].where);
        }
        if (rc != EODKIT_OK) {
            free(taken);
            return rc;
        }
        row_scene[i] = s >= 0 ? s : -1;
        if (s >= 0) {
            taken[s] = (long)i + 1;
        }
    }
    free(taken);
    return EODKIT_OK;
}

/* Index the labelled scenes of every grid by their bounds. */
static int index_scenes(eodkit_ctx *ctx, const ek_plan *p, ek_table *t)
{
    size_t g, s;

    t->trees = ek_calloc(ctx, p->ngrids, sizeof *t->trees);
    if (t->trees == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < p->ngrids; g++) {
        CPLRectObj extent = {0, 0, p->grids[g].width, p->grids[g].height};

        t->trees[g] = CPLQuadTreeCreate(&extent, NULL);
        for (s = 0; s < t->nscenes; s++) {
            const double *b = &t->bounds[(g * t->nscenes + s) * 4];
            CPLRectObj rect = {b[0], b[1], b[2], b[3]};

            if (t->labelled[s] && b[2] > 0 && b[0] < extent.maxx && b[3] > 0 &&
                b[1] < extent.maxy) {
                CPLQuadTreeInsertWithBounds(t->trees[g], (void *)(intptr_t)(s + 1),
                                            &rect);
            }
        }
    }
    return EODKIT_OK;
}

int ek_table_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, ek_labels *l)
{
    rows rs = {0};
    long *row_scene = NULL;
    int rc;

    l->table = ek_calloc(ctx, 1, sizeof *l->table);
    if (l->table == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->max_id = r->labels.background;
    rc = read_table(ctx, r, &rs);
    if (rc == EODKIT_OK) {
        rc = make_scenes(ctx, r, p, l->table);
    }
    if (rc == EODKIT_OK) {
        row_scene = ek_calloc(ctx, rs.n + 1, sizeof *row_scene);
        rc = row_scene == NULL ? EODKIT_ERR_NOMEM
                               : match_rows(ctx, r, l->table, &rs, row_scene);
    }
    if (rc == EODKIT_OK) {
        rc = make_classes(ctx, r, l, &rs, row_scene);
    }
    if (rc == EODKIT_OK) {
        rc = index_scenes(ctx, p, l->table);
    }
    l->dtype = l->max_id > 255 ? GDT_UInt16 : GDT_Byte;
    l->plane_type = GDT_UInt32;
    free(row_scene);
    rows_free(&rs);
    return rc;
}

void ek_table_free(ek_table *t)
{
    size_t s;

    if (t == NULL) {
        return;
    }
    for (s = 0; s < t->nscenes; s++) {
        free(t->ids[s]);
    }
    ek_fs_free_list(t->names, t->nscenes);
    ek_fs_free_list(t->folders, t->nscenes);
    for (s = 0; t->trees != NULL && s < t->ngrids; s++) {
        if (t->trees[s] != NULL) {
            CPLQuadTreeDestroy(t->trees[s]);
        }
    }
    free(t->trees);
    free(t->ids);
    free(t->nids);
    free(t->labelled);
    free(t->bounds);
    free(t);
}

static int compare_found(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

void ek_table_render(const ek_labels *l, const ek_plan *p, size_t g, const ek_window *w,
                     void *out)
{
    const ek_table *t = l->table;
    CPLRectObj rect = {w->x, w->y, w->x + w->w, w->y + w->h};
    uint32_t *o = out;
    void **found;
    int n = 0, i, x, y;

    (void)p;
    memset(o, 0, (size_t)w->w * (size_t)w->h * sizeof *o);
    found = CPLQuadTreeSearch(t->trees[g], &rect, &n);
    qsort(found, (size_t)n, sizeof *found, compare_found);
    for (i = 0; i < n; i++) {
        uint32_t s = (uint32_t)(intptr_t)found[i];
        const double *b = &t->bounds[(g * t->nscenes + s - 1) * 4];
        /* pixels whose centre lies inside the bounds */
        int x0 = (int)ceil(b[0] - 0.5), x1 = (int)ceil(b[2] - 0.5);
        int y0 = (int)ceil(b[1] - 0.5), y1 = (int)ceil(b[3] - 0.5);

        x0 = x0 > w->x ? x0 : w->x;
        y0 = y0 > w->y ? y0 : w->y;
        x1 = x1 < w->x + w->w ? x1 : w->x + w->w;
        y1 = y1 < w->y + w->h ? y1 : w->y + w->h;
        for (y = y0; y < y1; y++) {
            for (x = x0; x < x1; x++) {
                o[(size_t)(y - w->y) * (size_t)w->w + (size_t)(x - w->x)] = s;
            }
        }
    }
    CPLFree(found);
}

void ek_table_scene_labels(const ek_labels *l, uint32_t s, const int **ids, size_t *n)
{
    *ids = l->table->ids[s - 1];
    *n = l->table->nids[s - 1];
}

const char *ek_table_scene_name(const ek_labels *l, uint32_t s)
{
    return l->table->names[s - 1];
}
