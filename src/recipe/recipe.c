/*
** Recipe: the schema of recipe.yaml. Walks the YAML document section by
** section, checks every key and type, fills defaults and resolves paths
** against the recipe's folder. Input files are opened later, by the planner.
*/
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gdalwarper.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
#include "ek_recipe_parse.h"

#define MAX_CHIP 16384
#define MAX_SPLITS 256

static const char *const top_keys[] = {"dataset", "grid",   "modalities", "labels",
                                       "regions", "sample", "filters",    "split",
                                       "output",  NULL};
static const char *const dataset_keys[] = {"name",     "title",     "description",
                                           "license",  "citation",  "version",
                                           "keywords", "providers", NULL};
static const char *const provider_keys[] = {"name", "url", "roles", NULL};
static const char *const grid_keys[] = {"crs",        "system",          "spacing",
                                        "resolution", "chip_size",       "stride",
                                        "aoi",        "error_threshold", NULL};
static const char *const like_keys[] = {"like", NULL};
static const char *const labels_keys[] = {
    "source", "layer", "attribute", "classes", "class_names", "background",
    "background_name", "all_touched", "task", "min_class_share", "ignore_index",
    /* detection, instance: parse_objects */
    "oriented", "box_size", "min_visibility",
    /* per task: labels_task.c */
    "pair", "resampling", "nodata", "table", "key", "match", "labels", "separator",
    "mixed", "unmatched", "scenes", NULL};
static const char *const regions_keys[] = {"source", "field", "margin", NULL};
static const char *const sample_keys[] = {
    "by", "max_per_group", "total", "allocation", "seed", "cell_size", NULL};
static const char *const filter_keys[] = {"max_nodata", "min_labeled", "max_cloud",
                                          "min_objects", NULL};
static const char *const split_keys[] = {
    "method",   "ratios",  "seed",     "block_size", "buffer",
    "hold_out", "periods", "stratify", "tolerance",  NULL};
static const char *const output_keys[] = {"dir", "format", "shard_size", NULL};

const char *const ek_task_names[] = {
    "segmentation", "classification", "multilabel", "detection",
    "instance",     "change",         "regression", NULL};
static const char *const methods[] = {"random", "blocks", "regions", "time", NULL};
static const char *const region_keys[] = {"continent", "country", "region", NULL};
static const char *const stratify_words[] = {"class", NULL};
static const char *const formats[] = {"npy", "gtiff", "zarr", NULL};
const char *const ek_sample_by_names[] = {"continent", "country", "region",
                                          "class",     "cell",    NULL};
const char *const ek_allocation_names[] = {"proportional", "equal", NULL};

const char *ek_recipe_where(const ek_recipe *r, ek_mark m, char *buf, size_t size)
{
    if (m.line > 0) {
        snprintf(buf, size, "%s:%d:%d", r->path, m.line, m.column);
    } else {
        snprintf(buf, size, "%s", r->path);
    }
    return buf;
}

int ek_recipe_find_modality(const ek_recipe *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nmodalities; i++) {
        if (strcmp(r->modalities[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

typedef struct text_ref {
    const char *text;
    size_t index;
} text_ref;

static int compare_exact(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    int c = strcmp(x->text, y->text);

    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

static int compare_folded(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    int c = strcasecmp(x->text, y->text);

    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

int ek_recipe_check_distinct(ek_yaml *y, const char *what, const char *const *texts,
                             yaml_node_t *const *nodes, size_t n, int fold)
{
    text_ref *refs = ek_calloc(y->ctx, n, sizeof *refs);
    size_t i, first = 0, at = n, earlier = 0;

    if (refs == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        refs[i].text = texts[i];
        refs[i].index = i;
    }
    /* Equal texts end up side by side, each run in input order: a run's
       first entry is the original, the others repeat it. */
    qsort(refs, n, sizeof *refs, fold ? compare_folded : compare_exact);
    for (i = 1; i < n; i++) {
        int same = fold ? strcasecmp(refs[i - 1].text, refs[i].text) == 0
                        : strcmp(refs[i - 1].text, refs[i].text) == 0;

        if (!same) {
            first = i;
        } else if (refs[i].index < at) {
            at = refs[i].index;
            earlier = refs[first].index;
        }
    }
    free(refs);
    if (at == n) {
        return EODKIT_OK;
    }
    if (strcmp(texts[at], texts[earlier]) == 0) {
        return ek_yaml_fail(y, nodes[at], "%s: '%s' is used twice", what, texts[at]);
    }
    return ek_yaml_fail(y, nodes[at],
                        "%s: '%s' and '%s' differ only in case: their files would "
                        "clash on file systems that ignore case",
                        what, texts[earlier], texts[at]);
}

/* chip_size / stride: N, or [h, w]. */
static int parse_pixels_pair(ek_yaml *y, yaml_node_t *n, const char *what, int *h,
                             int *w)
{
    long long vh = 0, vw = 0;
    int rc;

    if (n->type == YAML_SEQUENCE_NODE) {
        if (ek_yaml_seq_len(n) != 2) {
            return ek_yaml_fail(
                y, n, "%s: expected a number of pixels or [height, width]", what);
        }
        rc = ek_yaml_int(y, ek_yaml_seq_item(y, n, 0), what, 1, MAX_CHIP, &vh);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_int(y, ek_yaml_seq_item(y, n, 1), what, 1, MAX_CHIP, &vw);
        }
    } else {
        rc = ek_yaml_int(y, n, what, 1, MAX_CHIP, &vh);
        vw = vh;
    }
    *h = (int)vh;
    *w = (int)vw;
    return rc;
}

/* "1GiB", "512 MB", "1000000": a byte count. */
static int parse_bytes(ek_yaml *y, yaml_node_t *n, const char *what, long long *out)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1e3},
                 {"MB", 1e6},
                 {"GB", 1e9},
                 {"TB", 1e12},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0}};
    const char *t = ek_yaml_text(n);
    char *end = NULL;
    double v;
    size_t i;

    if (t == NULL) {
        return ek_yaml_fail(y, n, "%s: expected a size such as 1GiB", what);
    }
    v = strtod(t, &end);
    if (end == t) {
        return ek_yaml_fail(y, n, "%s: expected a size such as 1GiB, got '%s'", what,
                            t);
    }
    while (*end == ' ') {
        end++;
    }
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (!(v * units[i].factor >= 1) || v * units[i].factor > 9e18) {
                return ek_yaml_fail(y, n, "%s: '%s' is not a usable size", what, t);
            }
            *out = (long long)(v * units[i].factor);
            return EODKIT_OK;
        }
    }
    return ek_yaml_fail(
        y, n, "%s: unknown unit in '%s' (use B, KB, MB, GB, KiB, MiB, GiB)", what, t);
}

static int parse_providers(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    size_t i;
    int rc;

    if (n->type != YAML_SEQUENCE_NODE) {
        return ek_yaml_fail(y, n, "dataset.providers: expected a list");
    }
    r->nproviders = ek_yaml_seq_len(n);
    r->providers = ek_calloc(y->ctx, r->nproviders, sizeof *r->providers);
    if (r->providers == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < r->nproviders; i++) {
        yaml_node_t *p = ek_yaml_seq_item(y, n, i);
        ek_provider *pr = &r->providers[i];
        yaml_node_t *v;

        rc = ek_yaml_check_map(y, p, "dataset.providers[]", provider_keys);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_require(y, p, "dataset.providers[]", "name", &v);
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_string(y, v, "dataset.providers[].name", &pr->name);
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_opt_string(y, p, "url", "dataset.providers[].url", &pr->url);
        }
        if (rc == EODKIT_OK && (v = ek_yaml_get(y, p, "roles")) != NULL) {
            rc = ek_yaml_string_list(y, v, "dataset.providers[].roles", &pr->roles,
                                     &pr->nroles);
        }
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    return EODKIT_OK;
}

static int parse_dataset(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    yaml_node_t *v;
    int rc;

    rc = ek_yaml_check_map(y, n, "dataset", dataset_keys);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "dataset", "name", &v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_string(y, v, "dataset.name", &r->name);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_check_name(y, v, "dataset.name", r->name);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "title", "dataset.title", &r->title);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "description", "dataset.description",
                                &r->description);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "license", "dataset.license", &r->license);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "citation", "dataset.citation", &r->citation);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "version", "dataset.version", &r->version);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "keywords")) != NULL) {
        rc = ek_yaml_string_list(y, v, "dataset.keywords", &r->keywords, &r->nkeywords);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "providers")) != NULL) {
        rc = parse_providers(y, r, v);
    }
    return rc;
}

/* Whether S is "<digits>" or "<digits>+<digits>". */
static int is_epsg_code(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (n > 0 && s[n] == '+') {
        s += n + 1;
        n = strspn(s, "0123456789");
    }
    return n > 0 && s[n] == '\0';
}

static int parse_crs(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    const char *t = ek_yaml_text(n);
    int rc;

    r->crs_mark = ek_yaml_mark(n);
    if (n->type == YAML_MAPPING_NODE) {
        yaml_node_t *v;

        rc = ek_yaml_check_map(y, n, "grid.crs", like_keys);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_require(y, n, "grid.crs", "like", &v);
        }
        return rc == EODKIT_OK ? ek_yaml_string(y, v, "grid.crs.like", &r->like) : rc;
    }
    if (t == NULL) {
        return ek_yaml_fail(y, n,
                            "grid.crs: expected a CRS (e.g. EPSG:32633), 'utm' or "
                            "'like: <modality>'");
    }
    if (strcmp(t, "utm") == 0) {
        r->utm = 1;
        return EODKIT_OK;
    }
    if (strncmp(t, "like:", 5) == 0) {
        t += 5;
        while (*t == ' ') {
            t++;
        }
        r->like = ek_strdup(y->ctx, t);
        return r->like == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (strncasecmp(t, "EPSG:", 5) == 0 && !is_epsg_code(t + 5)) {
        /* GDAL reads "EPSG:32724x" as EPSG:32724 and ignores the rest */
        return ek_yaml_fail(y, n,
                            "grid.crs: '%s' is not an EPSG code (EPSG:<number>, or "
                            "EPSG:<number>+<number> for a compound CRS)",
                            t);
    }
    return ek_yaml_string(y, n, "grid.crs", &r->crs);
}

static int parse_aoi(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    r->aoi_mark = ek_yaml_mark(n);
    return ek_yaml_path(y, r->dir, n, "grid.aoi", &r->aoi);
}

/* grid.system (node N, in grid map G): a reference grid, which chooses
   the CRS (the UTM zone of each cell) and lays one chip per cell. */
static int parse_system(ek_yaml *y, ek_recipe *r, yaml_node_t *g, yaml_node_t *n)
{
    const char *t = ek_yaml_text(n);
    yaml_node_t *v;
    int rc = EODKIT_OK;

    r->system_mark = ek_yaml_mark(n);
    if (t != NULL && strcmp(t, "utm-cells") == 0) {
        r->system = EK_SYSTEM_UTM_CELLS;
    } else if (t != NULL && strcmp(t, "majortom") == 0) {
        r->system = EK_SYSTEM_MAJORTOM;
    } else {
        return ek_yaml_fail(
            y, n,
            "grid.system: '%s' is not a reference grid eodkit knows: "
            "'utm-cells' (square UTM cells, as OlmoEarth) or 'majortom' "
            "(the Major TOM grid)",
            t != NULL ? t : "(not a name)");
    }
    r->utm = 1;
    if ((v = ek_yaml_get(y, g, "crs")) != NULL) {
        return ek_yaml_fail(y, v,
                            "grid.crs: grid.system chooses the CRS (the UTM zone of "
                            "each cell); remove grid.crs");
    }
    r->spacing = 10;
    if ((v = ek_yaml_get(y, g, "spacing")) != NULL) {
        if (r->system != EK_SYSTEM_MAJORTOM) {
            return ek_yaml_fail(y, v,
                                "grid.spacing: only 'system: majortom' has a spacing; "
                                "a utm-cells cell is chip_size x resolution");
        }
        rc = ek_yaml_number(y, v, "grid.spacing", &r->spacing);
        if (rc == EODKIT_OK && !(r->spacing >= 0.1 && r->spacing <= 1000)) {
            rc = ek_yaml_fail(y, v,
                              "grid.spacing: the Major TOM grid spacing is in km, "
                              "from 0.1 to 1000 (Major TOM Core: 10)");
        }
    }
    return rc;
}

static int parse_grid(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    yaml_node_t *v;
    int rc;

    rc = ek_yaml_check_map(y, n, "grid", grid_keys);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "system")) != NULL) {
        rc = parse_system(y, r, n, v);
    } else if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "spacing")) != NULL) {
        rc = ek_yaml_fail(y, v, "grid.spacing: only 'system: majortom' has a spacing");
    }
    if (rc == EODKIT_OK && r->system == EK_SYSTEM_NONE &&
        (v = ek_yaml_get(y, n, "crs")) != NULL) {
        rc = parse_crs(y, r, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "resolution")) != NULL) {
        rc = ek_yaml_number_pair(y, v, "grid.resolution", &r->res_x, &r->res_y);
        r->has_resolution = 1;
        r->res_mark = ek_yaml_mark(v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "grid", "chip_size", &v);
    }
    if (rc == EODKIT_OK) {
        r->chip_mark = ek_yaml_mark(v);
        rc = parse_pixels_pair(y, v, "grid.chip_size", &r->chip_h, &r->chip_w);
    }
    r->stride_x = r->chip_w;
    r->stride_y = r->chip_h;
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "stride")) != NULL) {
        rc = parse_pixels_pair(y, v, "grid.stride", &r->stride_y, &r->stride_x);
        if (rc == EODKIT_OK && r->system != EK_SYSTEM_NONE &&
            (r->stride_x != r->chip_w || r->stride_y != r->chip_h)) {
            rc = ek_yaml_fail(y, v,
                              "grid.stride: a reference grid (grid.system) has one "
                              "chip per cell; remove grid.stride");
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "aoi")) != NULL) {
        rc = parse_aoi(y, r, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "error_threshold")) != NULL) {
        rc = ek_yaml_number(y, v, "grid.error_threshold", &r->error_threshold);
        if (rc == EODKIT_OK && (r->error_threshold < 0 || r->error_threshold > 1)) {
            rc = ek_yaml_fail(y, v,
                              "grid.error_threshold: must be between 0 (exact) and 1 "
                              "pixel");
        }
    }
    if (rc == EODKIT_OK && r->system != EK_SYSTEM_NONE && !r->has_resolution) {
        rc = ek_yaml_fail(y, n, "grid: 'resolution' is required with 'system: %s'",
                          r->system == EK_SYSTEM_MAJORTOM ? "majortom" : "utm-cells");
    } else if (rc == EODKIT_OK && (r->crs != NULL || r->utm) && !r->has_resolution) {
        rc = ek_yaml_fail(y, n,
                          "grid: 'resolution' is required with 'crs: %s' (or use "
                          "'crs: like: <modality>' for a modality's own grid)",
                          r->utm ? "utm" : r->crs);
    }
    return rc;
}

static int parse_modalities(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    size_t i, len = ek_yaml_seq_len(n);
    const char **names = NULL;
    yaml_node_t **nodes = NULL;
    int rc;

    if (n->type != YAML_SEQUENCE_NODE || len == 0) {
        return ek_yaml_fail(y, n,
                            "modalities: expected a list of at least one modality");
    }
    r->modalities = ek_calloc(y->ctx, len, sizeof *r->modalities);
    if (r->modalities == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len; i++) {
        r->nmodalities = i + 1;
        rc = ek_recipe_parse_modality(y, r, &r->modalities[i],
                                      ek_yaml_seq_item(y, n, i));
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    /* Names become file names (<split>/<name>-NNNNN.npy). */
    names = ek_calloc(y->ctx, len, sizeof *names);
    nodes = ek_calloc(y->ctx, len, sizeof *nodes);
    rc = names == NULL || nodes == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        names[i] = r->modalities[i].name;
        nodes[i] = ek_yaml_get(y, ek_yaml_seq_item(y, n, i), "name");
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_check_distinct(y, "modalities[].name", names, nodes, len, 1);
    }
    free(names);
    free(nodes);
    return rc;
}

static int parse_class_id(ek_yaml *y, yaml_node_t *n, const char *what, int *id)
{
    long long v = 0;
    int rc = ek_yaml_int(y, n, what, 0, EK_MAX_CLASS_ID, &v);

    *id = (int)v;
    return rc;
}

/* Class id ID of value C->value (at node N) must not be the background or
   the ignore index: its pixels would silently become unlabelled. */
static int check_class_id(ek_yaml *y, const ek_labels_recipe *l,
                          const ek_class_entry *c, yaml_node_t *n)
{
    if (c->id == l->background) {
        return ek_yaml_fail(y, n,
                            "labels.classes: '%s' gets class id %d, the background id "
                            "(labels.background); leave it out of classes to make it "
                            "background",
                            c->value, c->id);
    }
    if (l->has_ignore && c->id == l->ignore_index) {
        return ek_yaml_fail(y, n,
                            "labels.classes: '%s' gets class id %d, the ignore index "
                            "(labels.ignore_index)",
                            c->value, c->id);
    }
    return EODKIT_OK;
}

/* classes: {value: id, ...} or [value, ...] (ids 1, 2, ...). The background
   and ignore index are known already. */
static int parse_classes(ek_yaml *y, ek_labels_recipe *l, yaml_node_t *n)
{
    size_t i, len;
    const char **values = NULL;
    yaml_node_t **nodes = NULL;
    int rc = EODKIT_OK;

    l->classes_mark = ek_yaml_mark(n);
    if (n->type == YAML_SCALAR_NODE) {
        return ek_yaml_fail(y, n,
                            "labels.classes: expected {value: class id, ...} or a "
                            "list of values");
    }
    len = n->type == YAML_MAPPING_NODE ? ek_yaml_map_len(n) : ek_yaml_seq_len(n);
    if (len == 0) {
        return ek_yaml_fail(y, n, "labels.classes: no classes given");
    }
    if (n->type == YAML_SEQUENCE_NODE && len > EK_MAX_CLASS_ID) {
        return ek_yaml_fail(y, n,
                            "labels.classes: a list gives ids 1 to %d, so at most %d "
                            "values; map values to ids instead",
                            EK_MAX_CLASS_ID, EK_MAX_CLASS_ID);
    }
    l->classes = ek_calloc(y->ctx, len, sizeof *l->classes);
    values = ek_calloc(y->ctx, len, sizeof *values);
    nodes = ek_calloc(y->ctx, len, sizeof *nodes);
    if (l->classes == NULL || values == NULL || nodes == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        ek_class_entry *c = &l->classes[i];
        yaml_node_t *value;

        l->nclasses = i + 1;
        if (n->type == YAML_MAPPING_NODE) {
            ek_yaml_map_pair(y, n, i, &nodes[i], &value);
            rc = ek_yaml_string(y, nodes[i], "labels.classes", &c->value);
            if (rc == EODKIT_OK) {
                rc = parse_class_id(y, value, "labels.classes", &c->id);
            }
        } else {
            value = nodes[i] = ek_yaml_seq_item(y, n, i);
            rc = ek_yaml_string(y, value, "labels.classes", &c->value);
            c->id = (int)i + 1;
        }
        if (rc == EODKIT_OK) {
            rc = check_class_id(y, l, c, value);
        }
        values[i] = c->value;
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_check_distinct(y, "labels.classes", values, nodes, len, 0);
    }
    free(values);
    free(nodes);
    return rc;
}

/* class_names: {id: name, ...}; each id named once, and the id of a class. */
static int parse_class_names(ek_yaml *y, ek_labels_recipe *l, yaml_node_t *n)
{
    yaml_node_t **name_of = NULL; /* by class id: the node naming it */
    unsigned char *used = NULL;   /* by class id: a class has it */
    size_t i;
    int rc = EODKIT_OK;

    if (n->type != YAML_MAPPING_NODE) {
        return ek_yaml_fail(y, n, "labels.class_names: expected {class id: name, ...}");
    }
    name_of = ek_calloc(y->ctx, EK_MAX_CLASS_ID + 1, sizeof *name_of);
    used = ek_calloc(y->ctx, EK_MAX_CLASS_ID + 1, 1);
    if (name_of == NULL || used == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < l->nclasses && rc == EODKIT_OK; i++) {
        used[l->classes[i].id] = 1;
    }
    for (i = 0; i < ek_yaml_map_len(n) && rc == EODKIT_OK; i++) {
        yaml_node_t *key, *value;
        int id;

        ek_yaml_map_pair(y, n, i, &key, &value);
        rc = parse_class_id(y, key, "labels.class_names", &id);
        if (rc == EODKIT_OK && !used[id]) {
            rc = ek_yaml_fail(y, key, "labels.class_names: no class has id %d", id);
        }
        if (rc == EODKIT_OK && name_of[id] != NULL) {
            rc = ek_yaml_fail(y, key, "labels.class_names: class id %d is named twice",
                              id);
        }
        if (rc == EODKIT_OK) {
            name_of[id] = value;
        }
    }
    for (i = 0; i < l->nclasses && rc == EODKIT_OK; i++) {
        yaml_node_t *value = name_of[l->classes[i].id];

        if (value != NULL) {
            rc = ek_yaml_string(y, value, "labels.class_names", &l->classes[i].name);
        }
    }
    free(name_of);
    free(used);
    return rc;
}

/* The keys of tasks with objects (detection, instance) in labels map N:
   present only with those tasks. */
static int parse_objects(ek_yaml *y, ek_labels_recipe *l, yaml_node_t *n)
{
    static const char *const keys[] = {"oriented", "box_size", "min_visibility"};
    yaml_node_t *v;
    size_t i;
    int rc = EODKIT_OK;

    l->min_visibility = 0.5;
    for (i = 0; i < sizeof keys / sizeof *keys; i++) {
        v = ek_yaml_get(y, n, keys[i]);
        if (v != NULL && !EK_TASK_HAS_OBJECTS(l->task)) {
            return ek_yaml_fail(y, v,
                                "labels.%s: only for task detection or instance (the "
                                "task is %s)",
                                keys[i], ek_task_names[l->task]);
        }
    }
    if ((v = ek_yaml_get(y, n, "oriented")) != NULL) {
        rc = ek_yaml_bool(y, v, "labels.oriented", &l->oriented);
        if (rc == EODKIT_OK && l->oriented && l->task != EK_TASK_DETECTION) {
            rc = ek_yaml_fail(y, v, "labels.oriented: only for task detection");
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "box_size")) != NULL) {
        l->box_size_mark = ek_yaml_mark(v);
        rc = ek_yaml_number_pair(y, v, "labels.box_size", &l->box_w, &l->box_h);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_fraction(y, n, "min_visibility", "labels.min_visibility",
                                  &l->min_visibility);
    }
    if (rc == EODKIT_OK && l->min_visibility <= 0) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "min_visibility"),
                          "labels.min_visibility: must be greater than 0");
    }
    return rc;
}

static int parse_labels(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_labels_recipe *l = &r->labels;
    yaml_node_t *v;
    int index;
    int rc;

    l->present = 1;
    l->band = 1;
    l->task = EK_TASK_SEGMENTATION;
    rc = ek_yaml_check_map(y, n, "labels", labels_keys);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "task")) != NULL) {
        l->task_mark = ek_yaml_mark(v);
        rc = ek_yaml_choice(y, v, "labels.task", ek_task_names, &index);
        l->task = (ek_task)index;
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_parse_label_source(y, r, n);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "layer", "labels.layer", &l->layer);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "attribute")) != NULL) {
        l->attribute_mark = ek_yaml_mark(v);
        rc = ek_yaml_string(y, v, "labels.attribute", &l->attribute);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "background")) != NULL) {
        rc = parse_class_id(y, v, "labels.background", &l->background);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "ignore_index")) != NULL) {
        rc = parse_class_id(y, v, "labels.ignore_index", &l->ignore_index);
        l->has_ignore = 1;
    }
    if (rc == EODKIT_OK && l->has_ignore && l->ignore_index == l->background) {
        rc = ek_yaml_fail(y, v,
                          "labels.ignore_index: must differ from the background id");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "classes")) != NULL) {
        rc = parse_classes(y, l, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "class_names")) != NULL) {
        if (l->classes == NULL) {
            rc = ek_yaml_fail(y, v, "labels.class_names: needs 'classes'");
        } else {
            rc = parse_class_names(y, l, v);
        }
    }
    l->background_name = ek_strdup(y->ctx, "background");
    if (rc == EODKIT_OK && l->background_name == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "background_name", "labels.background_name",
                                &l->background_name);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "all_touched")) != NULL) {
        rc = ek_yaml_bool(y, v, "labels.all_touched", &l->all_touched);
    }
    if (rc == EODKIT_OK) {
        rc = parse_objects(y, l, n);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_fraction(y, n, "min_class_share", "labels.min_class_share",
                                  &l->min_class_share);
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_parse_label_task(y, r, n);
    }
    return rc;
}

static int parse_regions(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    yaml_node_t *v;
    int rc = ek_yaml_check_map(y, n, "regions", regions_keys);

    r->regions_mark = ek_yaml_mark(n);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "source")) != NULL) {
        r->regions_mark = ek_yaml_mark(v);
        rc = ek_yaml_path(y, r->dir, v, "regions.source", &r->regions);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "field", "regions.field", &r->region_field);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "margin")) != NULL) {
        rc = ek_yaml_number(y, v, "regions.margin", &r->region_margin);
        if (rc == EODKIT_OK && !(r->region_margin >= 0 && r->region_margin <= 1e6)) {
            rc = ek_yaml_fail(y, v,
                              "regions.margin: must be between 0 and 1000000 metres");
        }
    }
    return rc;
}

/* A number of chips (sample.max_per_group, sample.total): a whole number, at
   least 1. */
static int parse_chip_count(ek_yaml *y, yaml_node_t *v, const char *what,
                            long long *out)
{
    int rc = ek_yaml_int(y, v, what, LLONG_MIN, LLONG_MAX, out);

    if (rc == EODKIT_OK && *out < 1) {
        rc = ek_yaml_fail(y, v, "%s: must be at least 1 chip, not %lld", what, *out);
    }
    return rc;
}

/* sample.by: class needs the chips' classes before any image is read: from
   labels.source (vector or raster), rendered in a labels-only pass. */
static int check_sample_class(ek_yaml *y, const ek_recipe *r, yaml_node_t *v)
{
    const ek_labels_recipe *l = &r->labels;

    if (!l->present) {
        return ek_yaml_fail(y, v,
                            "sample.by: class needs labels (a chip's class is "
                            "the class most of its labelled pixels have)");
    }
    if (l->task == EK_TASK_REGRESSION) {
        return ek_yaml_fail(y, v,
                            "sample.by: class: a regression target has no classes; "
                            "sample by continent, country, region or cell");
    }
    if (l->table.path != NULL) {
        return ek_yaml_fail(
            y, v,
            "sample.by: class needs labels.source (vector or raster labels, whose "
            "classes are known before any image is read); scene labels from "
            "labels.table are not supported: sample by continent, country, region "
            "or cell");
    }
    return EODKIT_OK;
}

static int parse_sample(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_sample_recipe *s = &r->sample;
    yaml_node_t *v, *total = NULL;
    long long seed;
    int index = 0;
    int rc;

    s->present = 1;
    s->mark = ek_yaml_mark(n);
    s->cell_km = 100;
    rc = ek_yaml_check_map(y, n, "sample", sample_keys);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "sample", "by", &v);
    }
    if (rc == EODKIT_OK) {
        s->by_mark = ek_yaml_mark(v);
        rc = ek_yaml_choice(y, v, "sample.by", ek_sample_by_names, &index);
        s->by = (ek_sample_by)index;
    }
    if (rc == EODKIT_OK && s->by == EK_SAMPLE_CLASS) {
        rc = check_sample_class(y, r, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "max_per_group")) != NULL) {
        rc = parse_chip_count(y, v, "sample.max_per_group", &s->max_per_group);
    }
    if (rc == EODKIT_OK && (total = ek_yaml_get(y, n, "total")) != NULL) {
        rc = parse_chip_count(y, total, "sample.total", &s->total);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "allocation")) != NULL) {
        rc = total != NULL ? ek_yaml_choice(y, v, "sample.allocation",
                                            ek_allocation_names, &index)
                           : ek_yaml_fail(y, v,
                                          "sample.allocation: only used with "
                                          "'total'");
        s->allocation = (ek_allocation)index;
    } else if (rc == EODKIT_OK && total != NULL) {
        rc = ek_yaml_fail(y, total,
                          "sample.total: say how it is shared among the groups: "
                          "'allocation: proportional' or 'allocation: equal'");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "seed")) != NULL) {
        rc = ek_yaml_int(y, v, "sample.seed", 0, 0x7fffffffffffffffLL, &seed);
        s->seed = (uint64_t)seed;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "cell_size")) != NULL) {
        rc = s->by == EK_SAMPLE_CELL
                 ? ek_yaml_number(y, v, "sample.cell_size", &s->cell_km)
                 : ek_yaml_fail(y, v,
                                "sample.cell_size: only 'by: cell' has a cell "
                                "size");
        if (rc == EODKIT_OK && !(s->cell_km >= 0.1 && s->cell_km <= 1000)) {
            rc = ek_yaml_fail(y, v,
                              "sample.cell_size: the cells are Major TOM cells, in "
                              "km, from 0.1 to 1000");
        }
    }
    if (rc == EODKIT_OK && s->max_per_group == 0 && s->total == 0) {
        rc = ek_yaml_fail(y, n,
                          "sample: give 'max_per_group' (most chips of a group), "
                          "'total' (chips in all), or both");
    }
    return rc;
}

static int parse_filters(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    yaml_node_t *v;
    int rc = ek_yaml_check_map(y, n, "filters", filter_keys);

    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_fraction(y, n, "max_nodata", "filters.max_nodata",
                                  &r->max_nodata);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_fraction(y, n, "min_labeled", "filters.min_labeled",
                                  &r->min_labeled);
    }
    if (rc == EODKIT_OK) {
        rc =
            ek_yaml_opt_fraction(y, n, "max_cloud", "filters.max_cloud", &r->max_cloud);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "min_objects")) != NULL) {
        rc = ek_yaml_int(y, v, "filters.min_objects", 0, 1000000, &r->min_objects);
        if (rc == EODKIT_OK &&
            (!r->labels.present || !EK_TASK_HAS_OBJECTS(r->labels.task))) {
            rc = ek_yaml_fail(y, v,
                              "filters.min_objects: only with labels of task detection "
                              "or instance");
        }
    }
    if (rc == EODKIT_OK && r->min_labeled > 0 && !r->labels.present) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "min_labeled"),
                          "filters.min_labeled: the recipe has no labels");
    }
    return rc;
}

/* What a dataset folder holds beside its split folders (doc/format.md),
   with the side files SQLite makes beside index.gpkg while writing it. */
static const char *const dataset_entries[] = {"collection.json",
                                              "index.gpkg",
                                              "index.gpkg-journal",
                                              "index.gpkg-wal",
                                              "index.gpkg-shm",
                                              "stats.json",
                                              "provenance.json",
                                              "recipe.yaml",
                                              "items",
                                              "audit.json",
                                              "audit.html",
                                              "datasheet.md",
                                              NULL};

/* Split name S (the text of key N of WHAT): a folder of the dataset. */
static int check_split_name(ek_yaml *y, yaml_node_t *n, const char *what, const char *s)
{
    size_t i;
    int rc = ek_yaml_check_name(y, n, what, s);

    for (i = 0; rc == EODKIT_OK && dataset_entries[i] != NULL; i++) {
        if (strcasecmp(s, dataset_entries[i]) == 0) {
            rc = ek_yaml_fail(y, n,
                              "%s: a split named '%s' would collide with the dataset's "
                              "%s",
                              what, s, dataset_entries[i]);
        }
    }
    return rc;
}

/* A mapping N of split names (WHAT) may hold at most MAX_SPLITS. */
static int check_split_count(ek_yaml *y, yaml_node_t *n, const char *what)
{
    if (ek_yaml_map_len(n) > MAX_SPLITS) {
        return ek_yaml_fail(y, n, "%s: at most %d splits", what, MAX_SPLITS);
    }
    return EODKIT_OK;
}

static int set_default_ratios(eodkit_ctx *ctx, ek_split_recipe *s)
{
    static const char *const names[] = {"train", "val", "test"};
    static const double ratios[] = {0.8, 0.1, 0.1};
    size_t i;

    s->names = ek_calloc(ctx, 3, sizeof *s->names);
    s->ratios = ek_calloc(ctx, 3, sizeof *s->ratios);
    if (s->names == NULL || s->ratios == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < 3; i++) {
        s->names[i] = ek_strdup(ctx, names[i]);
        s->ratios[i] = ratios[i];
        s->nsplits = i + 1;
        if (s->names[i] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

static int parse_ratios(ek_yaml *y, ek_split_recipe *s, yaml_node_t *n)
{
    size_t i, len = ek_yaml_map_len(n);
    yaml_node_t **keys = NULL;
    double sum = 0;
    int rc = EODKIT_OK;

    if (n->type != YAML_MAPPING_NODE || len == 0) {
        return ek_yaml_fail(y, n, "split.ratios: expected {split name: fraction, ...}");
    }
    rc = check_split_count(y, n, "split.ratios");
    if (rc != EODKIT_OK) {
        return rc;
    }
    s->names = ek_calloc(y->ctx, len, sizeof *s->names);
    s->ratios = ek_calloc(y->ctx, len, sizeof *s->ratios);
    keys = ek_calloc(y->ctx, len, sizeof *keys);
    if (s->names == NULL || s->ratios == NULL || keys == NULL) {
        free(keys);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        yaml_node_t *value;

        ek_yaml_map_pair(y, n, i, &keys[i], &value);
        s->nsplits = i + 1;
        rc = ek_yaml_string(y, keys[i], "split.ratios", &s->names[i]);
        if (rc == EODKIT_OK) {
            rc = check_split_name(y, keys[i], "split.ratios", s->names[i]);
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_number(y, value, "split.ratios", &s->ratios[i]);
        }
        if (rc == EODKIT_OK && (s->ratios[i] < 0 || s->ratios[i] > 1)) {
            rc = ek_yaml_fail(y, value, "split.ratios: %s must be between 0 and 1",
                              s->names[i]);
        }
        sum += rc == EODKIT_OK ? s->ratios[i] : 0;
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_check_distinct(y, "split.ratios", (const char *const *)s->names,
                                      keys, len, 1);
    }
    free(keys);
    if (rc == EODKIT_OK && fabs(sum - 1.0) > 1e-6) {
        rc = ek_yaml_fail(
            y, n, "split.ratios: the ratios sum to %g; they must sum to 1", sum);
    }
    return rc;
}

/* Index of split NAME in S, adding it (ratio 0) when new. */
static int split_index(eodkit_ctx *ctx, ek_split_recipe *s, const char *name)
{
    size_t k;
    char **names;
    double *ratios;

    for (k = 0; k < s->nsplits; k++) {
        if (strcmp(s->names[k], name) == 0) {
            return (int)k;
        }
    }
    names = ek_realloc_array(ctx, s->names, s->nsplits + 1, sizeof *names);
    ratios = names != NULL
                 ? ek_realloc_array(ctx, s->ratios, s->nsplits + 1, sizeof *ratios)
                 : NULL;
    if (names != NULL) {
        s->names = names;
    }
    if (ratios == NULL) {
        return -1;
    }
    s->ratios = ratios;
    s->names[s->nsplits] = ek_strdup(ctx, name);
    s->ratios[s->nsplits] = 0;
    return s->names[s->nsplits] == NULL ? -1 : (int)s->nsplits++;
}

/* Split name NAME (key N of WHAT) must not differ from one of S's splits only
   in case: their folders would be one on file systems that ignore case. */
static int check_split_case(ek_yaml *y, const ek_split_recipe *s, yaml_node_t *n,
                            const char *what, const char *name)
{
    size_t k;

    for (k = 0; k < s->nsplits; k++) {
        if (strcasecmp(s->names[k], name) == 0 && strcmp(s->names[k], name) != 0) {
            return ek_yaml_fail(y, n,
                                "%s: '%s' and '%s' differ only in case: their files "
                                "would clash on file systems that ignore case",
                                what, s->names[k], name);
        }
    }
    return EODKIT_OK;
}

/* hold_out: {split: {continent|country|region: [values]}, ...} */
static int parse_hold_out(ek_yaml *y, ek_split_recipe *s, yaml_node_t *n)
{
    size_t i, len = ek_yaml_map_len(n);
    int rc = EODKIT_OK;

    if (n->type != YAML_MAPPING_NODE || len == 0) {
        return ek_yaml_fail(
            y, n, "split.hold_out: expected {split: {continent: [names]}, ...}");
    }
    rc = check_split_count(y, n, "split.hold_out");
    if (rc != EODKIT_OK) {
        return rc;
    }
    s->hold_out = ek_calloc(y->ctx, len, sizeof *s->hold_out);
    if (s->hold_out == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        ek_hold_out *h = &s->hold_out[i];
        yaml_node_t *key, *value, *k, *v;
        const char *name;
        int index;

        ek_yaml_map_pair(y, n, i, &key, &value);
        s->nhold_out = i + 1;
        h->mark = ek_yaml_mark(value);
        name = ek_yaml_text(key);
        rc = name == NULL
                 ? ek_yaml_fail(y, key, "split.hold_out: expected a split name")
                 : check_split_name(y, key, "split.hold_out", name);
        if (rc == EODKIT_OK) {
            rc = check_split_case(y, s, key, "split.hold_out", name);
        }
        if (rc == EODKIT_OK &&
            (value->type != YAML_MAPPING_NODE || ek_yaml_map_len(value) != 1)) {
            rc = ek_yaml_fail(y, value,
                              "split.hold_out.%s: expected one of {continent: [...]}, "
                              "{country: [ISO codes]}, {region: [...]}",
                              name);
        }
        if (rc == EODKIT_OK) {
            ek_yaml_map_pair(y, value, 0, &k, &v);
            rc = ek_yaml_choice(y, k, "split.hold_out key", region_keys, &index);
            h->key = (ek_region_key)index;
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_string_list(y, v, "split.hold_out values", &h->values,
                                     &h->nvalues);
        }
        if (rc == EODKIT_OK) {
            h->split = split_index(y->ctx, s, name);
            rc = h->split < 0 ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
    }
    return rc;
}

/* periods: {split: first date, ...} in time order. */
static int parse_periods(ek_yaml *y, ek_split_recipe *s, yaml_node_t *n)
{
    size_t i, len = ek_yaml_map_len(n);
    int rc = EODKIT_OK;

    s->periods_mark = ek_yaml_mark(n);
    if (n->type != YAML_MAPPING_NODE || len < 2) {
        return ek_yaml_fail(y, n,
                            "split.periods: expected {split: first date, ...} with at "
                            "least two splits, in time order");
    }
    rc = check_split_count(y, n, "split.periods");
    if (rc != EODKIT_OK) {
        return rc;
    }
    s->period_start = ek_calloc(y->ctx, len, sizeof *s->period_start);
    if (s->period_start == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        yaml_node_t *key, *value;
        const char *name, *date;
        int index;

        ek_yaml_map_pair(y, n, i, &key, &value);
        name = ek_yaml_text(key);
        date = ek_yaml_text(value);
        rc = name == NULL ? ek_yaml_fail(y, key, "split.periods: expected a split name")
                          : check_split_name(y, key, "split.periods", name);
        if (rc == EODKIT_OK) {
            rc = check_split_case(y, s, key, "split.periods", name);
        }
        if (rc == EODKIT_OK &&
            (date == NULL || ek_time_parse_iso(date, 0, &s->period_start[i]) != 0)) {
            rc = ek_yaml_fail(
                y, value, "split.periods.%s: expected a date such as 2017-06-01", name);
        }
        if (rc == EODKIT_OK && i > 0 && s->period_start[i] <= s->period_start[i - 1]) {
            rc = ek_yaml_fail(y, value,
                              "split.periods.%s: periods must be in time order", name);
        }
        if (rc == EODKIT_OK) {
            index = split_index(y->ctx, s, name);
            rc = index < 0 ? EODKIT_ERR_NOMEM : EODKIT_OK;
            if (rc == EODKIT_OK && index != (int)i) {
                rc = ek_yaml_fail(y, key, "split.periods: '%s' is used twice", name);
            }
        }
    }
    return rc;
}

/* Keys that only some methods use. */
static int check_method_keys(ek_yaml *y, ek_split_recipe *s, yaml_node_t *n)
{
    static const struct {
        const char *key;
        int blocks, regions, time, random;
        const char *hint;
    } uses[] = {
        {"block_size", 1, 1, 0, 0, "'method: blocks' or 'method: regions'"},
        {"buffer", 1, 1, 0, 0,
         "'method: blocks' or 'method: regions' (random and time splits "
         "have no guard band)"},
        {"stratify", 1, 1, 0, 0, "'method: blocks' or 'method: regions'"},
        {"tolerance", 1, 1, 0, 0, "'stratify: class'"},
        {"hold_out", 0, 1, 0, 0, "'method: regions'"},
        {"periods", 0, 0, 1, 0, "'method: time'"},
        {"ratios", 1, 1, 0, 1,
         "'method: random', 'blocks' or 'regions' (time splits use "
         "'periods')"},
    };
    size_t k;

    for (k = 0; k < sizeof uses / sizeof uses[0]; k++) {
        yaml_node_t *v = ek_yaml_get(y, n, uses[k].key);
        int ok = s->method == EK_SPLIT_BLOCKS    ? uses[k].blocks
                 : s->method == EK_SPLIT_REGIONS ? uses[k].regions
                 : s->method == EK_SPLIT_TIME    ? uses[k].time
                                                 : uses[k].random;

        if (v != NULL && !ok) {
            return ek_yaml_fail(y, v, "split.%s: only used with %s", uses[k].key,
                                uses[k].hint);
        }
    }
    return EODKIT_OK;
}

static int parse_split(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_split_recipe *s = &r->split;
    yaml_node_t *v;
    long long seed;
    int index;
    int rc;

    s->mark = ek_yaml_mark(n);
    s->tolerance = 0.05;
    rc = ek_yaml_check_map(y, n, "split", split_keys);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "method")) != NULL) {
        rc = ek_yaml_choice(y, v, "split.method", methods, &index);
        s->method = (ek_split_method)index;
    }
    if (rc == EODKIT_OK) {
        rc = check_method_keys(y, s, n);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "ratios")) != NULL) {
        rc = parse_ratios(y, s, v);
    }
    if (rc == EODKIT_OK && s->method != EK_SPLIT_TIME && s->names == NULL) {
        rc = set_default_ratios(y->ctx, s);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "seed")) != NULL) {
        rc = ek_yaml_int(y, v, "split.seed", 0, 0x7fffffffffffffffLL, &seed);
        s->seed = (uint64_t)seed;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "block_size")) != NULL) {
        s->block_size_mark = ek_yaml_mark(v);
        rc = ek_yaml_number(y, v, "split.block_size", &s->block_size);
        if (rc == EODKIT_OK && s->block_size <= 0) {
            rc = ek_yaml_fail(y, v, "split.block_size: must be greater than 0");
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "buffer")) != NULL) {
        rc = ek_yaml_number(y, v, "split.buffer", &s->buffer);
        if (rc == EODKIT_OK && !(s->buffer >= 0 && s->buffer <= EK_MAX_BUFFER)) {
            rc = ek_yaml_fail(y, v, "split.buffer: must be between 0 and %d chips",
                              EK_MAX_BUFFER);
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "stratify")) != NULL) {
        rc = ek_yaml_choice(y, v, "split.stratify", stratify_words, &index);
        s->stratify = rc == EODKIT_OK;
        if (rc == EODKIT_OK && !r->labels.present) {
            rc = ek_yaml_fail(y, v, "split.stratify: needs labels");
        }
        if (rc == EODKIT_OK &&
            (r->labels.task == EK_TASK_REGRESSION || r->labels.table.path != NULL)) {
            rc = ek_yaml_fail(y, v,
                              "split.stratify: balances class pixels, which a %s has "
                              "none of",
                              r->labels.table.path != NULL ? "table of scene labels"
                                                           : "regression target");
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_fraction(y, n, "tolerance", "split.tolerance", &s->tolerance);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "hold_out")) != NULL) {
        rc = parse_hold_out(y, s, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "periods")) != NULL) {
        rc = parse_periods(y, s, v);
    }
    if (rc == EODKIT_OK && s->method == EK_SPLIT_REGIONS && s->hold_out == NULL) {
        rc = ek_yaml_fail(y, n,
                          "split: 'method: regions' needs 'hold_out' (e.g. {test: "
                          "{continent: [Africa]}})");
    }
    if (rc == EODKIT_OK && s->method == EK_SPLIT_TIME && s->period_start == NULL) {
        rc = ek_yaml_fail(y, n,
                          "split: 'method: time' needs 'periods' (e.g. {train: "
                          "2016-01-01, test: 2018-01-01})");
    }
    if (rc == EODKIT_OK &&
        (s->method == EK_SPLIT_BLOCKS || s->method == EK_SPLIT_REGIONS) &&
        s->block_size == 0) {
        rc = ek_yaml_fail(y, n, "split: 'method: %s' needs 'block_size' (CRS units)",
                          methods[s->method]);
    }
    return rc;
}

static int parse_output(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    yaml_node_t *v;
    int index;
    int rc = ek_yaml_check_map(y, n, "output", output_keys);

    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "dir")) != NULL) {
        rc = ek_yaml_path(y, r->dir, v, "output.dir", &r->output_dir);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "format")) != NULL) {
        rc = ek_yaml_choice(y, v, "output.format", formats, &index);
        if (rc == EODKIT_OK && index != 0) {
            rc = ek_yaml_fail(y, v, "output.format: '%s' is not supported yet; use npy",
                              formats[index]);
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "shard_size")) != NULL) {
        rc = parse_bytes(y, v, "output.shard_size", &r->shard_bytes);
    }
    return rc;
}

static int fill_defaults(eodkit_ctx *ctx, ek_recipe *r)
{
    if (r->title == NULL && (r->title = ek_strdup(ctx, r->name)) == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (r->description == NULL && (r->description = ek_strdup(ctx, "")) == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (r->license == NULL && (r->license = ek_strdup(ctx, "proprietary")) == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (r->crs == NULL && r->like == NULL && !r->utm &&
        (r->like = ek_strdup(ctx, r->modalities[0].name)) == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (r->split.names == NULL) {
        return set_default_ratios(ctx, &r->split);
    }
    return EODKIT_OK;
}

static int parse_document(ek_yaml *y, ek_recipe *r)
{
    yaml_node_t *root = ek_yaml_root(y);
    yaml_node_t *v;
    int rc;

    rc = ek_yaml_check_map(y, root, "the recipe", top_keys);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, root, "the recipe", "dataset", &v);
    }
    if (rc == EODKIT_OK) {
        rc = parse_dataset(y, r, v);
    }
    /* modalities before grid: 'like:' refers to them. */
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, root, "the recipe", "modalities", &v);
    }
    if (rc == EODKIT_OK) {
        rc = parse_modalities(y, r, v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, root, "the recipe", "grid", &v);
    }
    if (rc == EODKIT_OK) {
        rc = parse_grid(y, r, v);
    }
    if (rc == EODKIT_OK && r->like != NULL && ek_recipe_find_modality(r, r->like) < 0) {
        rc = ek_error(y->ctx, EODKIT_ERR_INPUT,
                      "%s:%d:%d: grid.crs: 'like: %s' names no modality of the recipe",
                      y->file, r->crs_mark.line, r->crs_mark.column, r->like);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "labels")) != NULL) {
        rc = parse_labels(y, r, v);
    }
    r->region_margin = -1;
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "regions")) != NULL) {
        rc = parse_regions(y, r, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "sample")) != NULL) {
        rc = parse_sample(y, r, v);
    }
    r->max_nodata = 1.0;
    r->max_cloud = 1.0;
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "filters")) != NULL) {
        rc = parse_filters(y, r, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "split")) != NULL) {
        rc = parse_split(y, r, v);
    }
    r->shard_bytes = 1LL << 30;
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, root, "output")) != NULL) {
        rc = parse_output(y, r, v);
    }
    if (rc == EODKIT_OK) {
        rc = fill_defaults(y->ctx, r);
    }
    return rc;
}

int eodkit_recipe_load(eodkit_ctx *ctx, const char *path, eodkit_recipe **recipe)
{
    int rc;
    ek_yaml y = {0};
    ek_recipe *r = NULL;

    *recipe = NULL;
    y.ctx = ctx;
    r = ek_calloc(ctx, 1, sizeof *r);
    if (r == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    r->error_threshold = 0; /* exact transforms: see doc/recipe.md */
    r->path = ek_strdup(ctx, path);
    r->dir = ek_path_dirname(ctx, path);
    if (r->path == NULL || r->dir == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    rc = ek_yaml_load(&y, path);
    if (rc == EODKIT_OK) {
        rc = parse_document(&y, r);
    }
out:
    ek_yaml_free(&y);
    if (rc != EODKIT_OK) {
        eodkit_recipe_free(r);
        return rc;
    }
    *recipe = r;
    return EODKIT_OK;
}

static void free_strings(char **s, size_t n)
{
    ek_fs_free_list(s, n);
}

void eodkit_recipe_free(eodkit_recipe *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->nmodalities; i++) {
        ek_recipe_free_modality(&r->modalities[i]);
    }
    free(r->modalities);
    for (i = 0; i < r->labels.nclasses; i++) {
        free(r->labels.classes[i].value);
        free(r->labels.classes[i].name);
    }
    free(r->labels.classes);
    free(r->labels.source);
    free(r->labels.layer);
    free(r->labels.attribute);
    free(r->labels.background_name);
    ek_recipe_free_label_task(&r->labels);
    free_strings(r->split.names, r->split.nsplits);
    for (i = 0; i < r->split.nhold_out; i++) {
        free_strings(r->split.hold_out[i].values, r->split.hold_out[i].nvalues);
    }
    free(r->split.hold_out);
    free(r->split.period_start);
    free(r->split.ratios);
    for (i = 0; i < r->nproviders; i++) {
        free(r->providers[i].name);
        free(r->providers[i].url);
        free_strings(r->providers[i].roles, r->providers[i].nroles);
    }
    free(r->providers);
    free_strings(r->keywords, r->nkeywords);
    free(r->path);
    free(r->dir);
    free(r->name);
    free(r->title);
    free(r->description);
    free(r->license);
    free(r->citation);
    free(r->version);
    free(r->crs);
    free(r->like);
    free(r->aoi);
    free(r->regions);
    free(r->region_field);
    free(r->output_dir);
    free(r);
}
