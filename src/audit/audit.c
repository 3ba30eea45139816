/*
** Audit: eodkit_audit() reads a built dataset (index, STAC collection,
** statistics, provenance, training shards), measures geography, classes,
** time, leakage and bias into one JSON document (audit.json), stores the
** sampling weights in the index, and renders the HTML report and datasheet
** from that document, so every number they show is one audit.json holds.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "core/ek_fs.h"
#include "core/ek_json.h"
#include "dataset/ek_dataset.h"
#include "ek_audit.h"

#define DEFAULT_BINS 32

/* The distribution of EO datasets over continents found by the review this
   project answers (Schmitt et al., "There Are No Data Like More Data",
   IEEE GRSM 2023); Asia's share is the review's rest: Asia and global. */
static const struct {
    const char *continent;
    double share;
} reference[] = {
    {"Africa", 0.05},        {"Asia", 0.51},    {"Europe", 0.21},
    {"North America", 0.18}, {"Oceania", 0.01}, {"South America", 0.04},
};
#define NREFERENCE (sizeof reference / sizeof reference[0])
#define REFERENCE_SOURCE                                                               \
    "Schmitt et al. (2023), There Are No Data Like More Data: Datasets for Deep "      \
    "Learning in Earth Observation, IEEE GRSM; Asia: the rest, Asia and global "       \
    "datasets"

/* Everything one audit run holds. */
typedef struct audit {
    eodkit_ctx *ctx;
    const char *dir;
    eodkit_audit_options opt;
    json_t *collection, *stats, *provenance;
    ek_chip_labels labels;
    ek_chip_table *ix;
    ek_regions *tagger; /* --regions */
    ek_regions *drawn;  /* the map's layer (may be TAGGER) */
    ek_dataset_grid *grids;
    size_t ngrids;
    ek_leakage leak;
    double *w_continent, *w_class;
    json_t *doc; /* audit.json */
    char *html_path, *json_path, *sheet_path;
    int oom; /* a scratch allocation failed */
} audit;

/* Nonzero for continent names that mean no land ("none", Natural Earth's
   "Seven seas (open ocean)") or no tag at all. */
static int is_sea(const char *name)
{
    return strcmp(name, EK_TAG_SEA) == 0 || strncmp(name, "Seven seas", 10) == 0;
}

static int is_land(const char *name)
{
    return !is_sea(name) && strcmp(name, EK_TAG_UNKNOWN) != 0;
}

/* Zeroed scratch memory for N items of SIZE bytes; on failure NULL, and A
   remembers it (measure() then fails with EODKIT_ERR_NOMEM). */
static void *scratch(audit *a, size_t n, size_t size)
{
    void *p = ek_calloc(a->ctx, n, size);

    a->oom |= p == NULL;
    return p;
}

static double ratio(double part, double whole)
{
    return whole > 0 ? part / whole : 0;
}

static json_t *real_or_null(int known, double v)
{
    return known ? json_real(v) : json_null();
}

/* ---- inputs ---- */

static int load_inputs(audit *a)
{
    ek_dataset *ds = NULL;
    json_t *label;
    int rc = ek_dataset_read(a->ctx, a->dir, a->opt.in_build, &ds);

    if (rc != EODKIT_OK) {
        return rc;
    }
    a->collection = json_incref(ds->collection);
    a->stats = json_incref(ds->stats);
    eodkit_dataset_close(ds);
    a->provenance = ek_dataset_load_json(a->ctx, a->dir, "provenance.json");
    if (a->provenance == NULL) {
        return eodkit_ctx_status(a->ctx);
    }
    label = json_object_get(a->collection, "eodkit:label");
    a->labels.task = json_string_value(json_object_get(label, "task"));
    a->labels.background = (int)json_integer_value(
        json_object_get(json_object_get(label, "background"), "id"));
    return ek_chip_table_read(a->ctx, a->dir, a->collection, &a->labels, &a->ix);
}

/* The grids of provenance.json and the grid of every chip. */
static int load_grids(audit *a)
{
    int rc = ek_dataset_grids_read(a->ctx, a->provenance, &a->grids, &a->ngrids);

    if (rc == EODKIT_OK) {
        ek_chip_table_set_grids(a->ix, a->grids, a->ngrids);
    }
    return rc;
}

/* The region layers: the one chips are re-tagged with (--regions) and the one
   the map draws (that one, else the build's, else the built-in world). A map
   layer that cannot be read only costs the map its countries. */
static int load_regions(audit *a)
{
    json_t *input;
    const char *path = NULL;
    size_t i;
    int rc;

    if (a->opt.regions != NULL) {
        rc = ek_regions_open(a->ctx, a->opt.regions, a->opt.region_field, "--regions",
                             &a->tagger);
        if (rc == EODKIT_OK) {
            rc = ek_audit_retag(a->ctx, a->ix, a->tagger, a->grids, a->ngrids);
        }
        a->drawn = a->tagger;
        return rc;
    }
    json_array_foreach(json_object_get(a->provenance, "inputs"), i, input)
    {
        const char *p = json_string_value(json_object_get(input, "path"));
        const char *role = json_string_value(json_object_get(input, "role"));

        if (path == NULL && p != NULL && role != NULL && strcmp(role, "regions") == 0 &&
            ek_fs_is_file(p)) {
            path = p;
        }
    }
    if (path == NULL) {
        path = ek_regions_default();
    }
    if (path != NULL &&
        ek_regions_open(a->ctx, path, NULL, "the audit map", &a->drawn) != EODKIT_OK) {
        if (eodkit_ctx_status(a->ctx) == EODKIT_ERR_NOMEM) {
            return EODKIT_ERR_NOMEM;
        }
        ek_error_clear(a->ctx);
        a->drawn = NULL;
    }
    return EODKIT_OK;
}

/* ---- sections of audit.json ---- */

/* Why split NAME, of the split description SPLIT (provenance.json), has no
   chip, as a sentence fragment. */
static json_t *empty_split_reason(const json_t *split, const char *name)
{
    const char *method = json_string_value(json_object_get(split, "method"));
    const json_t *assigned = json_object_get(json_object_get(split, "assigned"), name);
    const json_t *blocks = json_object_get(split, "blocks");
    double ratio =
        json_number_value(json_object_get(json_object_get(split, "ratios"), name));
    size_t nblocks = 0, mine;
    const char *key;
    json_t *list;

    if (method == NULL || assigned == NULL) {
        return json_string("no chip was given to it or kept (built by an older eodkit: "
                           "no details)");
    }
    if (json_integer_value(assigned) > 0) {
        return json_sprintf(
            "the filters rejected %s %lld chip%s the split gave it "
            "(filters.max_nodata, min_labeled, max_cloud; the build summary's "
            "'rejected' counts them)",
            json_integer_value(assigned) > 1 ? "all" : "the",
            (long long)json_integer_value(assigned),
            json_integer_value(assigned) > 1 ? "s" : "");
    }
    if (strcmp(method, "random") == 0) {
        json_int_t all = 0;

        json_object_foreach((json_t *)json_object_get(split, "assigned"), key, list)
        {
            all += json_integer_value(list);
        }
        return json_sprintf("its ratio %g of the %lld candidate chips rounds to none; "
                            "raise its ratio or make more chips",
                            ratio, (long long)all);
    }
    if (blocks == NULL) {
        return json_sprintf("the split method '%s' gave it no chip", method);
    }
    json_object_foreach((json_t *)blocks, key, list)
    {
        nblocks += json_array_size(list);
    }
    mine = json_array_size(json_object_get(blocks, name));
    if (mine == 0) {
        return json_sprintf("its ratio %g of the %zu blocks of %g CRS units rounds to "
                            "no block; a smaller split.block_size makes more blocks",
                            ratio, nblocks,
                            json_number_value(json_object_get(split, "block_size")));
    }
    return json_sprintf("the guard band (split.buffer: %g chips) dropped every chip "
                        "of its %zu block%s",
                        json_number_value(json_object_get(split, "buffer_chips")), mine,
                        mine == 1 ? "" : "s");
}

static json_t *dataset_section(audit *a)
{
    const ek_chip_table *ix = a->ix;
    json_t *o = json_object(), *splits = json_object(), *grid = json_object();
    json_t *empty = json_object(), *g = json_object_get(a->collection, "eodkit:grid");
    size_t *per = scratch(a, ix->splits.n + 1, sizeof *per), i;
    OGRSpatialReferenceH srs = NULL;
    const char *wkt = a->ngrids > 0 ? a->grids[0].wkt : NULL;
    char *units = NULL;

    for (i = 0; i < ix->n && per != NULL; i++) {
        per[ix->chips[i].split]++;
    }
    for (i = 0; i < ix->splits.n && per != NULL; i++) {
        json_object_set_new(splits, ix->splits.names[i],
                            json_integer((json_int_t)per[i]));
        if (per[i] == 0) {
            json_object_set_new(
                empty, ix->splits.names[i],
                empty_split_reason(json_object_get(a->provenance, "split"),
                                   ix->splits.names[i]));
        }
    }
    free(per);
    json_object_set(o, "name", json_object_get(a->collection, "id"));
    json_object_set(o, "title", json_object_get(a->collection, "title"));
    json_object_set(o, "license", json_object_get(a->collection, "license"));
    json_object_set_new(
        o, "task", a->labels.task != NULL ? json_string(a->labels.task) : json_null());
    json_object_set_new(o, "chips", json_integer((json_int_t)ix->n));
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "empty_splits", empty);
    json_object_set(o, "split_method",
                    json_object_get(json_object_get(a->provenance, "split"), "method"));
    json_object_set(grid, "crs", json_object_get(g, "crs"));
    json_object_set(grid, "resolution", json_object_get(g, "resolution"));
    json_object_set(grid, "chip_size", json_object_get(g, "chip_size"));
    json_object_set(grid, "stride", json_object_get(g, "stride"));
    srs = wkt != NULL ? OSRNewSpatialReference(wkt) : NULL;
    if (srs != NULL) {
        if (OSRIsGeographic(srs)) {
            OSRGetAngularUnits(srs, &units);
        } else {
            OSRGetLinearUnits(srs, &units);
        }
    }
    json_object_set_new(grid, "units", json_string(units != NULL ? units : "unknown"));
    if (srs != NULL) {
        OSRDestroySpatialReference(srs);
    }
    json_object_set_new(o, "grid", grid);
    return o;
}

/* Continent names in report order into *NAMES (*N of them, newly allocated
   array of pointers into the reference list and T): the review's six, the
   other continents of T sorted, then T's sea and unknown. */
static int continent_order(eodkit_ctx *ctx, const ek_strtab *t, const char ***names,
                           size_t *n)
{
    const char **list = ek_calloc(ctx, t->n + NREFERENCE, sizeof *list);
    size_t i, k, m = 0, first_other;

    if (list == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < NREFERENCE; k++) {
        list[m++] = reference[k].continent;
    }
    first_other = m;
    for (i = 0; i < t->n; i++) {
        int known = 0;

        for (k = 0; k < NREFERENCE; k++) {
            known |= strcmp(t->names[i], reference[k].continent) == 0;
        }
        if (!known && is_land(t->names[i])) {
            /* insertion into the sorted tail */
            for (k = m; k > first_other && strcmp(list[k - 1], t->names[i]) > 0; k--) {
                list[k] = list[k - 1];
            }
            list[k] = t->names[i];
            m++;
        }
    }
    for (i = 0; i < t->n; i++) {
        if (!is_land(t->names[i])) {
            list[m++] = t->names[i];
        }
    }
    *names = list;
    *n = m;
    return EODKIT_OK;
}

static double reference_share(const char *continent, int *known)
{
    size_t k;

    for (k = 0; k < NREFERENCE; k++) {
        if (strcmp(reference[k].continent, continent) == 0) {
            *known = 1;
            return reference[k].share;
        }
    }
    *known = 0;
    return 0;
}

typedef struct count_item {
    const char *name;
    size_t count;
} count_item;

static int compare_count(const void *a, const void *b)
{
    const count_item *p = a, *q = b;

    if (p->count != q->count) {
        return p->count > q->count ? -1 : 1;
    }
    return strcmp(p->name, q->name);
}

/* {name: chips} of table T from per-entry COUNTS, most chips first, zero
   counts left out. */
static json_t *ranked_counts(audit *a, const ek_strtab *t, const size_t *counts)
{
    count_item *items = scratch(a, t->n + 1, sizeof *items);
    json_t *o = json_object();
    size_t i, m = 0;

    for (i = 0; i < t->n && items != NULL; i++) {
        if (counts[i] > 0) {
            items[m++] = (count_item){t->names[i], counts[i]};
        }
    }
    if (items != NULL) {
        qsort(items, m, sizeof *items, compare_count);
    }
    for (i = 0; i < m; i++) {
        json_object_set_new(o, items[i].name, json_integer((json_int_t)items[i].count));
    }
    free(items);
    return o;
}

static int geography_section(audit *a, json_t **out)
{
    const ek_chip_table *ix = a->ix;
    size_t nsplits = ix->splits.n, ncont = ix->continents.n, i, k, s, norder = 0;
    size_t *cont = ek_calloc(a->ctx, ncont * (nsplits + 1) + 1, sizeof *cont);
    size_t *country = ek_calloc(a->ctx, ix->countries.n + 1, sizeof *country);
    size_t *region = ek_calloc(a->ctx, ix->regions.n + 1, sizeof *region);
    const char **order = NULL;
    json_t *o = NULL, *conts, *countries, *by_split, *ranked, *v;
    const char *key;
    int rc = EODKIT_OK;

    if (cont == NULL || country == NULL || region == NULL ||
        continent_order(a->ctx, &ix->continents, &order, &norder) != EODKIT_OK) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < ix->n; i++) {
        const ek_chip_row *c = &ix->chips[i];

        cont[c->continent]++;
        cont[ncont * (1 + (size_t)c->split) + (size_t)c->continent]++;
        country[c->country]++;
        region[c->region]++;
    }
    o = json_object();
    conts = json_object();
    for (k = 0; k < norder; k++) {
        json_t *e = json_object();
        size_t n = 0;
        int known;
        double ref = reference_share(order[k], &known);

        for (i = 0; i < ncont; i++) {
            n += strcmp(ix->continents.names[i], order[k]) == 0 ? cont[i] : 0;
        }
        if (n == 0 && !known) {
            json_decref(e);
            continue;
        }
        json_object_set_new(e, "chips", json_integer((json_int_t)n));
        json_object_set_new(e, "share", json_real(ratio((double)n, (double)ix->n)));
        json_object_set_new(e, "reference_share", real_or_null(known, ref));
        json_object_set_new(conts, order[k], e);
    }
    json_object_set_new(o, "continents", conts);
    countries = json_object();
    ranked = ranked_counts(a, &ix->countries, country);
    json_object_foreach(ranked, key, v)
    {
        int32_t id = ek_strtab_find(&ix->countries, key);
        const ek_chip_country *info = &ix->country_info[id];
        json_t *e = json_object();

        json_object_set_new(e, "name",
                            info->name != NULL ? json_string(info->name) : json_null());
        json_object_set_new(e, "continent",
                            json_string(ix->continents.names[info->continent]));
        json_object_set(e, "chips", v);
        json_object_set_new(
            e, "share", json_real(ratio((double)json_integer_value(v), (double)ix->n)));
        json_object_set_new(countries, key, e);
    }
    json_decref(ranked);
    json_object_set_new(o, "countries", countries);
    json_object_set_new(o, "regions", ranked_counts(a, &ix->regions, region));
    by_split = json_object();
    for (s = 0; s < nsplits; s++) {
        json_object_set_new(by_split, ix->splits.names[s],
                            ranked_counts(a, &ix->continents, cont + ncont * (1 + s)));
    }
    json_object_set_new(o, "by_split", by_split);
    json_object_set_new(o, "reference_source", json_string(REFERENCE_SOURCE));
    json_object_set_new(o, "tags_from",
                        json_string(a->opt.regions != NULL ? a->opt.regions
                                    : ix->has_tags         ? "index.gpkg"
                                                           : "none (untagged index)"));
out:
    free(cont);
    free(country);
    free(region);
    free(order);
    *out = o;
    return rc;
}

/* Class id -> name of the labels, background included. */
static json_t *class_names(const json_t *label)
{
    json_t *names = json_object(), *bg = json_object_get(label, "background"), *c;
    size_t i;
    char id[24];

    snprintf(id, sizeof id, "%lld",
             (long long)json_integer_value(json_object_get(bg, "id")));
    json_object_set(names, id, json_object_get(bg, "name"));
    json_array_foreach(json_object_get(label, "classes"), i, c)
    {
        snprintf(id, sizeof id, "%lld",
                 (long long)json_integer_value(json_object_get(c, "id")));
        json_object_set(names, id, json_object_get(c, "name"));
    }
    return names;
}

/* {split: {class: n}} for every split of the index and every class of
   NAMES (0 where COUNTS, from stats.json, has none). */
static json_t *per_split_classes(const ek_chip_table *ix, const json_t *names,
                                 const json_t *counts)
{
    json_t *o = json_object(), *ignored;
    const char *id;
    size_t s;

    for (s = 0; s < ix->splits.n; s++) {
        json_t *per = json_object(),
               *from = json_object_get(counts, ix->splits.names[s]);

        json_object_foreach((json_t *)names, id, ignored)
        {
            json_object_set_new(
                per, id, json_integer(json_integer_value(json_object_get(from, id))));
        }
        json_object_set_new(o, ix->splits.names[s], per);
    }
    return o;
}

/* {split: {class: share}} of per-split counts COUNTS. */
static json_t *shares_of(const json_t *counts)
{
    json_t *o = json_object(), *per, *v;
    const char *split, *cls;

    json_object_foreach((json_t *)counts, split, per)
    {
        json_t *s = json_object();
        double total = 0;

        json_object_foreach(per, cls, v)
        {
            total += json_number_value(v);
        }
        json_object_foreach(per, cls, v)
        {
            json_object_set_new(s, cls, json_real(ratio(json_number_value(v), total)));
        }
        json_object_set_new(o, split, s);
    }
    return o;
}

/* The largest class of IX's chips (label or dominant class), -1 when no chip
   has one. */
static int32_t max_class(const ek_chip_table *ix)
{
    int32_t most = -1;
    size_t i;

    for (i = 0; i < ix->n; i++) {
        most = ix->chips[i].cls > most ? ix->chips[i].cls : most;
    }
    return most;
}

/* {split: {class: chips whose label or dominant class it is}} for every
   class of NAMES. */
static json_t *dominant_classes(audit *a, const json_t *names)
{
    const ek_chip_table *ix = a->ix;
    size_t nclasses = (size_t)(max_class(ix) + 1), i, s;
    size_t *count = scratch(a, ix->splits.n * nclasses + 1, sizeof *count);
    json_t *o = json_object(), *ignored;
    const char *id;

    for (i = 0; i < ix->n && count != NULL; i++) {
        if (ix->chips[i].cls >= 0) {
            count[(size_t)ix->chips[i].split * nclasses + (size_t)ix->chips[i].cls]++;
        }
    }
    for (s = 0; s < ix->splits.n && count != NULL; s++) {
        json_t *per = json_object();

        json_object_foreach((json_t *)names, id, ignored)
        {
            long c = strtol(id, NULL, 10);

            json_object_set_new(
                per, id,
                json_integer(c >= 0 && (size_t)c < nclasses
                                 ? (json_int_t)count[s * nclasses + (size_t)c]
                                 : 0));
        }
        json_object_set_new(o, ix->splits.names[s], per);
    }
    free(count);
    return o;
}

static json_t *classes_section(audit *a)
{
    const json_t *label = json_object_get(a->collection, "eodkit:label");
    const json_t *classes = json_object_get(a->stats, "classes");
    const ek_chip_table *ix = a->ix;
    json_t *o, *names, *pixels;

    if (label == NULL) {
        return json_null();
    }
    o = json_object();
    names = class_names(label);
    pixels = per_split_classes(ix, names, json_object_get(classes, "pixels"));
    json_object_set(o, "task", json_object_get(label, "task"));
    json_object_set(o, "background", json_object_get(label, "background"));
    json_object_set_new(o, "names", names);
    json_object_set_new(o, "pixels", pixels);
    json_object_set_new(o, "pixel_shares", shares_of(pixels));
    json_object_set_new(
        o, "chips", per_split_classes(ix, names, json_object_get(classes, "chips")));
    if (json_object_get(classes, "labels") != NULL) {
        json_object_set_new(
            o, "labels",
            per_split_classes(ix, names, json_object_get(classes, "labels")));
    }
    json_object_set_new(o, "dominant", dominant_classes(a, names));
    return o;
}

static json_t *time_section(audit *a)
{
    const ek_chip_table *ix = a->ix;
    json_t *o = json_object(), *years = json_object(), *months = json_object();
    size_t *year = scratch(a, EK_CHIP_MAX_YEAR + 1, sizeof *year);
    size_t month[13] = {0}, known = 0, i;
    char text[16];

    for (i = 0; i < ix->n && year != NULL; i++) {
        if (ix->chips[i].year > 0) {
            year[ix->chips[i].year]++;
            month[ix->chips[i].month]++;
            known++;
        }
    }
    for (i = 1; i <= EK_CHIP_MAX_YEAR && year != NULL; i++) { /* in calendar order */
        if (year[i] > 0) {
            snprintf(text, sizeof text, "%d", (int)i);
            json_object_set_new(years, text, json_integer((json_int_t)year[i]));
        }
    }
    free(year);
    for (i = 1; i <= 12; i++) {
        snprintf(text, sizeof text, "%02d", (int)i);
        json_object_set_new(months, text, json_integer((json_int_t)month[i]));
    }
    json_object_set_new(o, "column", json_boolean(ix->has_datetime));
    json_object_set_new(o, "known", json_integer((json_int_t)known));
    json_object_set_new(o, "unknown", json_integer((json_int_t)(ix->n - known)));
    json_object_set_new(o, "years", years);
    json_object_set_new(o, "months", months);
    return o;
}

/* Nodata of the chips of split SPLIT of IX (every chip when SPLIT < 0):
   {"chips", "with_nodata": chips holding a nodata pixel, "share": the mean
   of their nodata_frac, which is the share of nodata pixels (the chips of a
   dataset have one size), "max": the largest nodata_frac}. Chips whose
   nodata_frac is NULL count in "chips" only; share and max are null when no
   chip has one. */
static json_t *nodata_of(const ek_chip_table *ix, int32_t split)
{
    size_t i, chips = 0, known = 0, with_nodata = 0;
    double sum = 0, max = 0;

    for (i = 0; i < ix->n; i++) {
        double frac = ix->chips[i].nodata_frac;

        if (split >= 0 && ix->chips[i].split != split) {
            continue;
        }
        chips++;
        if (isnan(frac)) {
            continue;
        }
        known++;
        sum += frac;
        with_nodata += frac > 0;
        max = frac > max ? frac : max;
    }
    return json_pack("{s:I, s:I, s:o, s:o}", "chips", (json_int_t)chips, "with_nodata",
                     (json_int_t)with_nodata, "share",
                     real_or_null(known > 0, ratio(sum, (double)known)), "max",
                     real_or_null(known > 0, max));
}

/* The nodata section: nodata_of every chip, and "by_split". */
static json_t *nodata_section(audit *a)
{
    json_t *o = nodata_of(a->ix, -1), *by_split = json_object();
    size_t s;

    for (s = 0; s < a->ix->splits.n; s++) {
        json_object_set_new(by_split, a->ix->splits.names[s],
                            nodata_of(a->ix, (int32_t)s));
    }
    json_object_set_new(o, "by_split", by_split);
    return o;
}

/* A group of the build's sampling and its candidates, for ranking. */
typedef struct sample_group {
    const char *name;
    json_int_t candidates;
} sample_group;

static int compare_sample_group(const void *a, const void *b)
{
    const sample_group *x = a, *y = b;

    if (x->candidates != y->candidates) {
        return x->candidates > y->candidates ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* The build's sampling (provenance.json "sample"): its settings and, per
   group, most candidates first, the chips before sampling (candidates),
   after it (chosen) and in the dataset (kept), each with its share; null
   when the build did not sample. */
static json_t *sample_section(audit *a)
{
    static const char *const counts[] = {"candidates", "chosen", "kept"};
    const json_t *s = json_object_get(a->provenance, "sample");
    const json_t *groups = json_object_get(s, "groups"), *v;
    json_t *o, *out_groups;
    sample_group *list;
    const char *key;
    size_t n = 0, i, c;

    if (!json_is_object(s)) {
        return json_null();
    }
    o = json_deep_copy(s);
    out_groups = json_object();
    list = scratch(a, json_object_size(groups) + 1, sizeof *list);
    json_object_foreach((json_t *)groups, key, v)
    {
        if (list != NULL) {
            list[n++] = (sample_group){
                key, json_integer_value(json_object_get(v, "candidates"))};
        }
    }
    if (list != NULL) {
        qsort(list, n, sizeof *list, compare_sample_group);
    }
    for (i = 0; i < n; i++) {
        const json_t *g = json_object_get(groups, list[i].name);
        json_t *e = json_object();

        for (c = 0; c < sizeof counts / sizeof *counts; c++) {
            json_int_t k = json_integer_value(json_object_get(g, counts[c]));
            char share[32];

            snprintf(share, sizeof share, "%s_share", c == 0 ? "candidate" : counts[c]);
            json_object_set_new(e, counts[c], json_integer(k));
            json_object_set_new(
                e, share,
                json_real(ratio((double)k, (double)json_integer_value(
                                               json_object_get(s, counts[c])))));
        }
        json_object_set_new(out_groups, list[i].name, e);
    }
    free(list);
    json_object_set_new(o, "groups", out_groups);
    return o;
}

/* Fold the leakage PART of one grid, whose rect r is chip CHIP[r], into
   TOTAL. */
static void merge_leakage(ek_leakage *total, const ek_leakage *part, const size_t *chip)
{
    size_t k;

    for (k = 0; k < total->nsplits * total->nsplits; k++) {
        total->pair_pixels[k] += part->pair_pixels[k];
    }
    total->shared_pixels += part->shared_pixels;
    if (!part->has_pairs) {
        return;
    }
    if (!total->has_pairs || part->min_distance_pixels < total->min_distance_pixels) {
        total->min_distance_pixels = part->min_distance_pixels;
        total->closest[0] = chip[part->closest[0]];
        total->closest[1] = chip[part->closest[1]];
    }
    if (!total->has_pairs || part->min_distance_crs < total->min_distance_crs) {
        total->min_distance_crs = part->min_distance_crs;
    }
    if (!total->has_pairs || part->min_gap_pixels < total->min_gap_pixels) {
        total->min_gap_pixels = part->min_gap_pixels;
    }
    total->has_pairs = 1;
}

/* Leakage within each grid (chips of different grids share no pixel). */
static int measure_leakage(audit *a)
{
    const ek_chip_table *ix = a->ix;
    json_t *res =
        json_object_get(json_object_get(a->collection, "eodkit:grid"), "resolution");
    ek_leak_rect *rects = ek_calloc(a->ctx, ix->n + 1, sizeof *rects);
    size_t *chip = ek_calloc(a->ctx, ix->n + 1, sizeof *chip), g, i, n;
    int rc = EODKIT_OK;

    a->leak.nsplits = ix->splits.n;
    a->leak.pair_pixels =
        ek_calloc(a->ctx, ix->splits.n * ix->splits.n + 1, sizeof *a->leak.pair_pixels);
    if (rects == NULL || chip == NULL || a->leak.pair_pixels == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < a->ngrids && rc == EODKIT_OK; g++) {
        ek_leakage part;

        for (i = 0, n = 0; i < ix->n; i++) {
            const ek_chip_row *c = &ix->chips[i];

            if ((size_t)c->grid == g) {
                rects[n] = (ek_leak_rect){c->x, c->y, c->w, c->h, c->split};
                chip[n++] = i;
            }
        }
        rc = ek_leakage_compute(a->ctx, rects, n, ix->splits.n,
                                json_number_value(json_array_get(res, 0)),
                                json_number_value(json_array_get(res, 1)), &part);
        if (rc == EODKIT_OK) {
            merge_leakage(&a->leak, &part, chip);
            ek_leakage_clear(&part);
        }
    }
    free(rects);
    free(chip);
    return rc;
}

static int leakage_section(audit *a, json_t **out)
{
    const ek_chip_table *ix = a->ix;
    json_t *split = json_object_get(a->provenance, "split");
    json_t *guard = json_object_get(split, "guard_pixels");
    const char *method = json_string_value(json_object_get(split, "method"));
    json_t *o, *pairs, *closest;
    size_t i, j, k;
    int rc, touching, guard_ok = 1;

    *out = NULL;
    rc = measure_leakage(a);
    if (rc != EODKIT_OK) {
        return rc;
    }
    o = json_object();
    pairs = json_object();
    for (i = 0; i < ix->splits.n; i++) {
        for (j = i + 1; j < ix->splits.n; j++) {
            char *key =
                ek_asprintf(a->ctx, "%s|%s", ix->splits.names[i], ix->splits.names[j]);

            if (key == NULL) {
                json_decref(o);
                json_decref(pairs);
                return EODKIT_ERR_NOMEM;
            }
            json_object_set_new(
                pairs, key, json_integer(a->leak.pair_pixels[i * ix->splits.n + j]));
            free(key);
        }
    }
    touching = a->leak.has_pairs && a->leak.shared_pixels == 0 &&
               a->leak.min_distance_pixels == 0;
    if (a->leak.has_pairs && json_array_size(guard) == 2) {
        int64_t gy = json_integer_value(json_array_get(guard, 0));
        int64_t gx = json_integer_value(json_array_get(guard, 1));

        guard_ok = a->leak.min_gap_pixels >= (gx < gy ? gx : gy);
    }
    json_object_set_new(o, "method", json_string(method != NULL ? method : "unknown"));
    json_object_set_new(o, "grids", json_integer((json_int_t)a->ngrids));
    json_object_set_new(o, "compared", json_boolean(a->leak.has_pairs));
    json_object_set_new(o, "shared_pixels", json_integer(a->leak.shared_pixels));
    json_object_set_new(o, "shared_pixels_by_pair", pairs);
    json_object_set_new(o, "min_distance_pixels",
                        real_or_null(a->leak.has_pairs, a->leak.min_distance_pixels));
    json_object_set_new(o, "min_distance_crs",
                        real_or_null(a->leak.has_pairs, a->leak.min_distance_crs));
    json_object_set_new(o, "min_gap_pixels",
                        a->leak.has_pairs ? json_integer(a->leak.min_gap_pixels)
                                          : json_null());
    closest = json_null();
    if (a->leak.has_pairs) {
        closest = json_array();
        for (k = 0; k < 2; k++) {
            const ek_chip_row *c = &ix->chips[a->leak.closest[k]];
            json_t *e = json_object();

            json_object_set_new(e, "chip_id", json_integer(c->chip_id));
            json_object_set_new(e, "split", json_string(ix->splits.names[c->split]));
            json_array_append_new(closest, e);
        }
    }
    json_object_set_new(o, "closest_chips", closest);
    json_object_set(o, "guard_pixels", guard != NULL ? guard : json_null());
    json_object_set_new(o, "guard_respected",
                        json_array_size(guard) == 2 && a->leak.has_pairs
                            ? json_boolean(guard_ok)
                            : json_null());
    json_object_set_new(o, "touching", json_boolean(touching));
    json_object_set_new(
        o, "leaky", json_boolean(a->leak.shared_pixels > 0 || touching || !guard_ok));
    json_object_set_new(o, "verdict",
                        json_string(!a->leak.has_pairs          ? "not compared"
                                    : a->leak.shared_pixels > 0 ? "shared pixels"
                                    : touching                  ? "touching"
                                    : !guard_ok                 ? "guard band violated"
                                                                : "separated"));
    *out = o;
    return EODKIT_OK;
}

/* Entropy of the non-background classes of COUNTS ({class id: n}) over
   CATEGORIES classes, each class in its slot of NAMES so splits line up;
   the counts are also added to ALL. */
static double class_entropy(audit *a, const json_t *counts, const json_t *names,
                            const char *background, size_t categories, double *all)
{
    double *mine = scratch(a, json_object_size(names) + 1, sizeof *mine);
    const char *cls, *name;
    json_t *v, *ignored;
    size_t slot, n = json_object_size(names);
    double h;

    if (mine == NULL) {
        return 0;
    }
    json_object_foreach((json_t *)counts, cls, v)
    {
        if (strcmp(cls, background) == 0) {
            continue;
        }
        slot = 0;
        json_object_foreach((json_t *)names, name, ignored)
        {
            if (strcmp(name, cls) == 0) {
                break;
            }
            slot++;
        }
        if (slot < n) {
            mine[slot] += json_number_value(v);
            all[slot] += json_number_value(v);
        }
    }
    h = ek_audit_entropy(mine, n, categories);
    free(mine);
    return h;
}

/* Share of land chips outside Europe + North America, and the entropies of
   continents (over the review's six and any other continent present) and of
   classes (chips per label for classification, else pixels per class). */
static json_t *bias_section(audit *a, const json_t *geography, const json_t *classes)
{
    json_t *o = json_object(), *v, *by_split, *counts_by_split, *names, *per;
    const char *key, *split;
    double land = 0, outside = 0, *counts, *all;
    size_t n = 0, categories = NREFERENCE, k;
    int known;
    char bg[24];

    counts = scratch(a, json_object_size(json_object_get(geography, "continents")) + 1,
                     sizeof *counts);
    json_object_foreach(json_object_get(geography, "continents"), key, v)
    {
        double chips = (double)json_integer_value(json_object_get(v, "chips"));

        if (!is_land(key) || counts == NULL) {
            continue;
        }
        reference_share(key, &known);
        categories += !known;
        land += chips;
        outside +=
            strcmp(key, "Europe") != 0 && strcmp(key, "North America") != 0 ? chips : 0;
        counts[n++] = chips;
    }
    json_object_set_new(o, "land_chips", json_integer((json_int_t)land));
    json_object_set_new(o, "outside_europe_north_america",
                        real_or_null(land > 0, ratio(outside, land)));
    json_object_set_new(
        o, "continent_entropy",
        real_or_null(land > 0 && counts != NULL,
                     counts != NULL ? ek_audit_entropy(counts, n, categories) : 0));
    json_object_set_new(o, "continent_categories",
                        json_integer((json_int_t)categories));
    free(counts);
    if (!json_is_object(classes)) {
        json_object_set_new(o, "class_basis", json_null());
        json_object_set_new(o, "class_entropy", json_null());
        json_object_set_new(o, "class_categories", json_integer(0));
        return o;
    }
    counts_by_split = json_object_get(classes, "labels");
    json_object_set_new(o, "class_basis",
                        json_string(counts_by_split != NULL ? "labels" : "pixels"));
    if (counts_by_split == NULL) {
        counts_by_split = json_object_get(classes, "pixels");
    }
    categories = json_array_size(
        json_object_get(json_object_get(a->collection, "eodkit:label"), "classes"));
    names = json_object_get(classes, "names");
    all = scratch(a, json_object_size(names) + 1, sizeof *all);
    by_split = json_object();
    snprintf(bg, sizeof bg, "%d", a->labels.background);
    json_object_foreach(counts_by_split, split, per)
    {
        if (all != NULL) {
            double h = class_entropy(a, per, names, bg, categories, all);

            json_object_set_new(by_split, split, real_or_null(categories >= 2, h));
        }
    }
    for (k = 0; all != NULL && k < json_object_size(names) && all[k] == 0; k++) {
    }
    json_object_set_new(
        o, "class_entropy",
        real_or_null(all != NULL && k < json_object_size(names) && categories >= 2,
                     all != NULL
                         ? ek_audit_entropy(all, json_object_size(names), categories)
                         : 0));
    json_object_set_new(o, "class_categories", json_integer((json_int_t)categories));
    json_object_set_new(o, "class_entropy_by_split", by_split);
    free(all);
    return o;
}

/* A group of the weights' summary: its name and its number in the chips'
   groups (-1: no chip is in it). */
typedef struct named_group {
    const char *name;
    int32_t group;
} named_group;

/* Weights per chip W that equalise the groups GROUP (0 .. NG - 1)
   within each split, and their summary {split: {group: {chips, weight}}}
   with the groups of ORDER (NORDER of them) in that order. */
static int weights_of(audit *a, const int32_t *group, size_t ng,
                      const named_group *order, size_t norder, double *w,
                      json_t **summary)
{
    const ek_chip_table *ix = a->ix;
    size_t ns = ix->splits.n, i, s, k;
    int32_t *split = ek_calloc(a->ctx, ix->n + 1, sizeof *split);
    size_t *count = ek_calloc(a->ctx, ns * ng + 1, sizeof *count);
    size_t *first = ek_calloc(a->ctx, ns * ng + 1, sizeof *first);
    json_t *o = NULL;
    int rc = EODKIT_ERR_NOMEM;

    if (split == NULL || count == NULL || first == NULL) {
        goto out;
    }
    for (i = 0; i < ix->n; i++) {
        split[i] = ix->chips[i].split;
        k = (size_t)split[i] * ng + (size_t)group[i];
        first[k] = count[k]++ == 0 ? i : first[k];
    }
    rc = ek_audit_weights(a->ctx, split, group, ix->n, ns, ng, w);
    if (rc != EODKIT_OK) {
        goto out;
    }
    o = json_object();
    for (s = 0; s < ns; s++) {
        json_t *per = json_object();

        for (k = 0; k < norder; k++) {
            size_t at;

            if (order[k].group < 0) {
                continue;
            }
            at = s * ng + (size_t)order[k].group;
            if (count[at] == 0) {
                continue;
            }
            json_object_set_new(per, order[k].name,
                                json_pack("{s:I, s:f}", "chips", (json_int_t)count[at],
                                          "weight", w[first[at]]));
        }
        json_object_set_new(o, ix->splits.names[s], per);
    }
out:
    free(split);
    free(count);
    free(first);
    *summary = o;
    return rc;
}

/* Continent weights: the chips' continents, in report order. */
static int continent_weights(audit *a, int32_t *group, json_t **summary)
{
    const ek_chip_table *ix = a->ix;
    const char **names = NULL;
    named_group *order = NULL;
    size_t i, norder = 0;
    int rc = continent_order(a->ctx, &ix->continents, &names, &norder);

    *summary = NULL;
    order = rc == EODKIT_OK ? ek_calloc(a->ctx, norder + 1, sizeof *order) : NULL;
    if (rc == EODKIT_OK && order == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; rc == EODKIT_OK && i < norder; i++) {
        order[i] = (named_group){names[i], ek_strtab_find(&ix->continents, names[i])};
    }
    for (i = 0; rc == EODKIT_OK && i < ix->n; i++) {
        group[i] = ix->chips[i].continent;
    }
    if (rc == EODKIT_OK) {
        rc = weights_of(a, group, ix->continents.n, order, norder, a->w_continent,
                        summary);
    }
    free(names);
    free(order);
    return rc;
}

/* Class weights: a chip's group is its class + 1, 0 for none; the summary
   lists the classes of NAMES, then "none". */
static int class_weights(audit *a, const json_t *names, int32_t *group,
                         json_t **summary)
{
    const ek_chip_table *ix = a->ix;
    int32_t nclasses = max_class(ix) + 1;
    named_group *order = ek_calloc(a->ctx, json_object_size(names) + 2, sizeof *order);
    size_t i, norder = 0;
    const char *id;
    json_t *ignored;
    int rc;

    *summary = NULL;
    if (order == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    json_object_foreach((json_t *)names, id, ignored)
    {
        long c = strtol(id, NULL, 10);

        order[norder++] =
            (named_group){id, c >= 0 && c < nclasses ? (int32_t)c + 1 : -1};
    }
    order[norder++] = (named_group){"none", 0};
    for (i = 0; i < ix->n; i++) {
        group[i] = ix->chips[i].cls + 1;
    }
    rc = weights_of(a, group, (size_t)nclasses + 1, order, norder, a->w_class, summary);
    free(order);
    return rc;
}

static int weights_section(audit *a, const json_t *classes, json_t **out)
{
    const ek_chip_table *ix = a->ix;
    int32_t *group = ek_calloc(a->ctx, ix->n + 1, sizeof *group);
    json_t *o = json_object(), *summary = NULL;
    int rc;

    *out = NULL;
    a->w_continent = ek_calloc(a->ctx, ix->n + 1, sizeof *a->w_continent);
    a->w_class = ek_calloc(a->ctx, ix->n + 1, sizeof *a->w_class);
    rc = group == NULL || a->w_continent == NULL || a->w_class == NULL
             ? EODKIT_ERR_NOMEM
             : continent_weights(a, group, &summary);
    if (rc == EODKIT_OK) {
        json_object_set_new(o, "continent", summary);
        rc = class_weights(a, json_object_get(classes, "names"), group, &summary);
    }
    if (rc == EODKIT_OK) {
        json_object_set_new(o, "class", summary);
    }
    json_object_set_new(
        o, "class_basis",
        json_string(a->labels.task == NULL ? "none (no labels): every chip weighs 1"
                    : strcmp(a->labels.task, "classification") == 0
                        ? "the chip's label"
                        : "the chip's dominant class: its most frequent non-background "
                          "class in class_hist (lowest id on ties)"));
    free(group);
    if (rc != EODKIT_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return EODKIT_OK;
}

/* Append formatted text to BUF (SIZE bytes, *USED of them in use); text
   that does not fit is cut off. */
static void EK_PRINTF(4, 5)
    append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used + 1 >= size) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    *used = n < 0 || (size_t)n >= size - *used ? size - 1 : *used + (size_t)n;
}

/* The classes some split with chips lacks (no pixels of them, or for
   classification no chip with that label), into CLASSES as "missing":
   [{"id", "name", "splits"}]; one warning about them into W (each class
   is in audit.json, the warning names the first few). Empty splits (in
   EMPTY) have their own warning. */
static void missing_classes(json_t *w, json_t *classes, const json_t *empty)
{
    const json_t *counts = json_object_get(classes, "labels");
    const json_t *bg = json_object_get(json_object_get(classes, "background"), "id");
    const char *what = counts != NULL ? "chips" : "pixels";
    const char *id, *split;
    json_t *name, *per, *missing = json_array(), *m;
    char text[1024] = "", bgid[24];
    size_t used = 0, i;

    if (counts == NULL) {
        counts = json_object_get(classes, "pixels");
    }
    snprintf(bgid, sizeof bgid, "%lld", (long long)json_integer_value(bg));
    json_object_foreach(json_object_get(classes, "names"), id, name)
    {
        json_t *splits = json_array();

        json_object_foreach((json_t *)counts, split, per)
        {
            if (strcmp(id, bgid) != 0 && json_object_get(empty, split) == NULL &&
                json_integer_value(json_object_get(per, id)) == 0) {
                json_array_append_new(splits, json_string(split));
            }
        }
        if (json_array_size(splits) > 0) {
            json_array_append_new(
                missing,
                json_pack("{s:I, s:s, s:o}", "id", (json_int_t)strtoll(id, NULL, 10),
                          "name", json_is_string(name) ? json_string_value(name) : id,
                          "splits", splits));
        } else {
            json_decref(splits);
        }
    }
    json_object_set_new(classes, "missing", missing);
    json_array_foreach(missing, i, m)
    {
        const json_t *splits = json_object_get(m, "splits"), *sp;
        size_t k;

        if (i == 3 && json_array_size(missing) > 4) {
            append(text, sizeof text, &used, "; and %zu more",
                   json_array_size(missing) - 3);
            break;
        }
        append(text, sizeof text, &used, "%sclass '%s' (%lld) has no %s in split%s ",
               i > 0 ? "; " : "", json_string_value(json_object_get(m, "name")),
               (long long)json_integer_value(json_object_get(m, "id")), what,
               json_array_size(splits) > 1 ? "s" : "");
        json_array_foreach(splits, k, sp)
        {
            append(text, sizeof text, &used, "%s'%s'", k > 0 ? ", " : "",
                   json_string_value(sp));
        }
    }
    if (json_array_size(missing) == 1) {
        json_array_append_new(w, json_sprintf("MISSING CLASS: %s: it cannot be learnt "
                                              "or evaluated there.",
                                              text));
    } else if (json_array_size(missing) > 1) {
        json_array_append_new(
            w,
            json_sprintf("MISSING CLASS: %zu classes are missing from some split, so "
                         "they cannot be learnt or evaluated there: %s (audit.json "
                         "classes.missing lists them all).",
                         json_array_size(missing), text));
    }
}

/* A warning into W when no chip of GEO (the geography section) has a
   continent: the dataset was built without a region layer. */
static void untagged_warning(json_t *w, const json_t *geo)
{
    const json_t *continents = json_object_get(geo, "continents"), *c;
    json_int_t chips = 0, unknown = json_integer_value(json_object_get(
                              json_object_get(continents, EK_TAG_UNKNOWN), "chips"));
    const char *name;

    json_object_foreach((json_t *)continents, name, c)
    {
        chips += json_integer_value(json_object_get(c, "chips"));
    }
    if (chips > 0 && unknown == chips) {
        json_array_append_new(
            w, json_string("NOT TAGGED: countries and continents are not tagged (the "
                           "dataset was built without a region layer), so the "
                           "geography and its bias figures say nothing; audit with "
                           "--regions FILE, e.g. the world layer eodkit installs in "
                           "share/eodkit/world_map.gpkg."));
    }
}

static json_t *warnings_of(const json_t *leak, const json_t *dataset, json_t *classes)
{
    const json_t *empty = json_object_get(dataset, "empty_splits");
    const char *split;
    json_t *why;
    json_t *w = json_array();
    const char *method = json_string_value(json_object_get(leak, "method"));
    const char *verdict = json_string_value(json_object_get(leak, "verdict"));

    if (strcmp(verdict, "shared pixels") == 0) {
        json_array_append_new(
            w,
            json_sprintf(
                "SPLIT LEAKAGE: %lld grid pixels lie in chips of two or more splits "
                "(split method '%s'): models are evaluated on pixels they were trained "
                "on.%s",
                (long long)json_integer_value(json_object_get(leak, "shared_pixels")),
                method,
                strcmp(method, "time") == 0
                    ? " Expected for a time split (the same places at other dates), "
                      "but it does not test spatial generalisation."
                    : " Use split method 'blocks' with a buffer of at least 1 chip."));
    } else if (strcmp(verdict, "touching") == 0) {
        json_array_append_new(
            w, json_sprintf(
                   "SPLIT LEAKAGE RISK: chips of different splits touch (0 pixels "
                   "apart, split method '%s'); neighbouring pixels are strongly "
                   "correlated, so evaluation scores are optimistic. Use split "
                   "method 'blocks' with a buffer of at least 1 chip.",
                   method));
    } else if (strcmp(verdict, "guard band violated") == 0) {
        json_array_append_new(
            w,
            json_sprintf("GUARD BAND VIOLATED: chips of different splits come within "
                         "%lld pixels, less than the recorded guard band.",
                         (long long)json_integer_value(
                             json_object_get(leak, "min_gap_pixels"))));
    }
    if (json_integer_value(json_object_get(dataset, "chips")) == 0) {
        json_array_append_new(w, json_string("The dataset has no chips."));
        return w;
    }
    json_object_foreach((json_t *)empty, split, why)
    {
        json_array_append_new(w,
                              json_sprintf("EMPTY SPLIT: split '%s' has no chips: %s.",
                                           split, json_string_value(why)));
    }
    if (json_is_object(classes)) {
        missing_classes(w, classes, empty);
    }
    return w;
}

/* Build audit.json in A->doc. */
static int measure(audit *a)
{
    json_t *geo = NULL, *leak = NULL, *weights = NULL, *bands = NULL, *classes,
           *dataset, *time_s, *regions;
    const char *train = json_string_value(json_object_get(a->stats, "split"));
    int bins = a->opt.histogram_bins > 0 ? a->opt.histogram_bins : DEFAULT_BINS;
    int rc;

    classes = classes_section(a);
    rc = geography_section(a, &geo);
    if (rc == EODKIT_OK) {
        rc = leakage_section(a, &leak);
    }
    if (rc == EODKIT_OK) {
        rc = weights_section(a, classes, &weights);
    }
    if (rc == EODKIT_OK) {
        rc = ek_audit_histograms(a->ctx, a->dir, train != NULL ? train : "train",
                                 json_object_get(a->collection, "eodkit:modalities"),
                                 a->stats, bins, &bands);
    }
    if (rc != EODKIT_OK) {
        json_decref(classes);
        json_decref(geo);
        json_decref(leak);
        json_decref(weights);
        return rc;
    }
    dataset = dataset_section(a);
    time_s = time_section(a);
    regions = json_object();
    json_object_set_new(
        regions, "source",
        json_string(a->opt.regions != NULL ? a->opt.regions : "index.gpkg"));
    json_object_set_new(
        regions, "field",
        json_string(a->opt.regions != NULL && a->opt.region_field != NULL
                        ? a->opt.region_field
                        : "continent"));
    json_object_set_new(regions, "map_layer",
                        a->drawn != NULL ? json_string(a->drawn->path) : json_null());
    a->doc = json_object();
    json_object_set_new(a->doc, "generator",
                        json_string("eodkit " EODKIT_VERSION_STRING));
    json_object_set_new(a->doc, "dataset", dataset);
    json_object_set_new(a->doc, "regions", regions);
    json_object_set_new(a->doc, "geography", geo);
    json_object_set_new(a->doc, "classes", classes);
    json_object_set_new(a->doc, "sample", sample_section(a));
    json_object_set_new(a->doc, "time", time_s);
    json_object_set_new(a->doc, "nodata", nodata_section(a));
    json_object_set_new(a->doc, "bands",
                        json_pack("{s:s?, s:i, s:o}", "split", train, "bins", bins,
                                  "modalities", bands));
    json_object_set_new(a->doc, "leakage", leak);
    json_object_set_new(a->doc, "bias", bias_section(a, geo, classes));
    json_object_set_new(a->doc, "weights", weights);
    json_object_set_new(a->doc, "warnings", warnings_of(leak, dataset, classes));
    untagged_warning(json_object_get(a->doc, "warnings"), geo);
    return a->oom ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* ---- outputs ---- */

static int write_outputs(audit *a)
{
    ek_audit_map map = {a->drawn, a->grids, a->ngrids};
    ek_audit_docs docs = {a->collection, a->stats, a->provenance, a->doc, NULL};
    char *recipe_path = ek_path_join(a->ctx, a->dir, "recipe.yaml"), *recipe = NULL;
    size_t len;
    int rc;

    a->json_path = ek_path_join(a->ctx, a->dir, "audit.json");
    a->sheet_path = ek_path_join(a->ctx, a->dir, "datasheet.md");
    a->html_path = a->opt.html != NULL ? ek_strdup(a->ctx, a->opt.html)
                                       : ek_path_join(a->ctx, a->dir, "audit.html");
    if (a->json_path == NULL || a->sheet_path == NULL || a->html_path == NULL ||
        recipe_path == NULL) {
        free(recipe_path);
        return EODKIT_ERR_NOMEM;
    }
    if (ek_fs_is_file(recipe_path) &&
        ek_fs_read_file(a->ctx, recipe_path, &recipe, &len) != EODKIT_OK) {
        free(recipe_path);
        return eodkit_ctx_status(a->ctx);
    }
    docs.recipe = recipe;
    rc = ek_write_json(a->ctx, a->doc, a->dir, "audit.json");
    if (rc == EODKIT_OK) {
        rc = ek_audit_write_weights(a->ctx, a->ix, a->w_continent, a->w_class);
    }
    if (rc == EODKIT_OK) {
        rc = ek_audit_html_write(a->ctx, a->html_path, a->doc, a->ix, &map);
    }
    if (rc == EODKIT_OK) {
        rc = ek_audit_datasheet_write(a->ctx, a->sheet_path, &docs);
    }
    free(recipe);
    free(recipe_path);
    return rc;
}

/* Groups of the build's sampling the summary lists (most candidates). */
#define SUMMARY_SAMPLE_GROUPS 6

/* The summary's view of the build's sampling (audit.json "sample"): its
   key, totals, number of groups and the largest groups as {name:
   [candidates, chosen, kept]}, classes by name; null without sampling. */
static json_t *sample_summary(audit *a)
{
    const json_t *s = json_object_get(a->doc, "sample"), *g;
    const json_t *names = json_object_get(json_object_get(a->doc, "classes"), "names");
    const char *by = json_string_value(json_object_get(s, "by")), *key;
    json_t *o, *largest;
    size_t k = 0;

    if (!json_is_object(s)) {
        return json_null();
    }
    largest = json_object();
    json_object_foreach((json_t *)json_object_get(s, "groups"), key, g)
    {
        const char *name = json_string_value(json_object_get(names, key));

        if (k++ == SUMMARY_SAMPLE_GROUPS) {
            break;
        }
        json_object_set_new(
            largest,
            by != NULL && strcmp(by, "class") == 0 && name != NULL ? name : key,
            json_pack("[O, O, O]", json_object_get(g, "candidates"),
                      json_object_get(g, "chosen"), json_object_get(g, "kept")));
    }
    o = json_pack("{s:O, s:O, s:O, s:O, s:I, s:o}", "by", json_object_get(s, "by"),
                  "candidates", json_object_get(s, "candidates"), "chosen",
                  json_object_get(s, "chosen"), "kept", json_object_get(s, "kept"),
                  "groups", (json_int_t)json_object_size(json_object_get(s, "groups")),
                  "largest", largest);
    return o != NULL ? o : json_null();
}

/* The summary eodkit_audit() returns, newly referenced. */
static json_t *summary_of(audit *a, double seconds)
{
    json_t *o = json_object(), *bias = json_object_get(a->doc, "bias");
    json_t *leak = json_object_get(a->doc, "leakage");
    json_t *geo = json_object_get(a->doc, "geography");
    json_t *dataset = json_object_get(a->doc, "dataset");
    size_t continents = 0;
    const char *key;
    json_t *v;

    json_object_foreach(json_object_get(geo, "continents"), key, v)
    {
        continents +=
            json_integer_value(json_object_get(v, "chips")) > 0 && is_land(key);
    }
    json_object_set_new(o, "dataset", json_string(a->dir));
    json_object_set_new(o, "audit", json_string(a->json_path));
    json_object_set_new(o, "html", json_string(a->html_path));
    json_object_set_new(o, "datasheet", json_string(a->sheet_path));
    json_object_set(o, "chips", json_object_get(dataset, "chips"));
    json_object_set(o, "splits", json_object_get(dataset, "splits"));
    json_object_set_new(o, "continents", json_integer((json_int_t)continents));
    json_object_set_new(
        o, "countries",
        json_integer((json_int_t)json_object_size(json_object_get(geo, "countries"))));
    json_object_set(o, "outside_europe_north_america",
                    json_object_get(bias, "outside_europe_north_america"));
    json_object_set(o, "continent_entropy", json_object_get(bias, "continent_entropy"));
    json_object_set(o, "class_entropy", json_object_get(bias, "class_entropy"));
    json_object_set_new(o, "sample", sample_summary(a));
    json_object_set(o, "split_method", json_object_get(leak, "method"));
    json_object_set(o, "shared_pixels", json_object_get(leak, "shared_pixels"));
    json_object_set(o, "min_distance_pixels",
                    json_object_get(leak, "min_distance_pixels"));
    json_object_set(o, "min_gap_pixels", json_object_get(leak, "min_gap_pixels"));
    json_object_set(o, "leaky", json_object_get(leak, "leaky"));
    json_object_set(o, "verdict", json_object_get(leak, "verdict"));
    json_object_set(o, "warnings", json_object_get(a->doc, "warnings"));
    json_object_set_new(o, "seconds", json_real(round(seconds * 1000) / 1000));
    return o;
}

int eodkit_audit(eodkit_ctx *ctx, const char *dataset_dir,
                 const eodkit_audit_options *opt, char **summary_json)
{
    audit a = {0};
    struct timespec t0, t1;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (summary_json != NULL) {
        *summary_json = NULL;
    }
    a.ctx = ctx;
    a.dir = dataset_dir;
    if (opt != NULL) {
        a.opt = *opt;
    }
    if (a.opt.histogram_bins < 0 || a.opt.histogram_bins > 4096) {
        return ek_error(ctx, EODKIT_ERR_USAGE,
                        "histogram bins must be 1 to 4096, not %d",
                        a.opt.histogram_bins);
    }
    GDALAllRegister();
    rc = load_inputs(&a);
    if (rc == EODKIT_OK) {
        rc = load_grids(&a);
    }
    if (rc == EODKIT_OK) {
        rc = load_regions(&a);
    }
    if (rc == EODKIT_OK) {
        rc = measure(&a);
    }
    if (rc == EODKIT_OK) {
        rc = write_outputs(&a);
    }
    if (rc == EODKIT_OK && summary_json != NULL) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rc = ek_json_text(ctx,
                          summary_of(&a, (double)(t1.tv_sec - t0.tv_sec) +
                                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9),
                          0, summary_json);
    }
    if (a.drawn != a.tagger) {
        ek_regions_free(a.drawn);
    }
    ek_regions_free(a.tagger);
    ek_leakage_clear(&a.leak);
    free(a.grids);
    ek_chip_table_free(a.ix);
    json_decref(a.collection);
    json_decref(a.stats);
    json_decref(a.provenance);
    json_decref(a.doc);
    free(a.w_continent);
    free(a.w_class);
    free(a.json_path);
    free(a.sheet_path);
    free(a.html_path);
    return rc;
}

static void add_fixed3(ek_strbuf *b, const json_t *v)
{
    if (json_is_number(v)) {
        ek_strbuf_printf(b, "%.3f", json_number_value(v));
    } else {
        ek_strbuf_puts(b, "n/a");
    }
}

int eodkit_audit_summary_text(eodkit_ctx *ctx, const char *summary_json, char **text)
{
    json_t *s = json_loads(summary_json, 0, NULL), *v, *w;
    ek_strbuf b;
    const char *key;
    size_t i;
    double outside;
    long long continents, countries;

    *text = NULL;
    if (s == NULL) {
        return ek_error(ctx, EODKIT_ERR_USAGE, "not an audit summary (invalid JSON)");
    }
    ek_strbuf_init(&b, ctx);
    ek_strbuf_printf(&b, "audit          %s: %lld chips (",
                     json_string_value(json_object_get(s, "dataset")),
                     (long long)json_integer_value(json_object_get(s, "chips")));
    i = 0;
    json_object_foreach(json_object_get(s, "splits"), key, v)
    {
        ek_strbuf_printf(&b, "%s%s %lld", i++ ? ", " : "", key,
                         (long long)json_integer_value(v));
    }
    ek_strbuf_puts(&b, ")\n");
    outside = json_number_value(json_object_get(s, "outside_europe_north_america"));
    continents = (long long)json_integer_value(json_object_get(s, "continents"));
    countries = (long long)json_integer_value(json_object_get(s, "countries"));
    ek_strbuf_printf(&b, "geography      %lld continent%s, %lld countr%s", continents,
                     continents == 1 ? "" : "s", countries,
                     countries == 1 ? "y" : "ies");
    if (json_is_number(json_object_get(s, "outside_europe_north_america"))) {
        ek_strbuf_printf(&b, "; %.1f%% outside Europe + North America (review: 61%%)",
                         outside * 100);
    }
    ek_strbuf_puts(&b, "\n");
    ek_strbuf_puts(&b, "entropy        continents ");
    add_fixed3(&b, json_object_get(s, "continent_entropy"));
    ek_strbuf_puts(&b, ", classes ");
    add_fixed3(&b, json_object_get(s, "class_entropy"));
    ek_strbuf_puts(&b, " (1 = even)\n");
    w = json_object_get(s, "sample");
    if (json_is_object(w)) {
        ek_strbuf_printf(
            &b,
            "sample         by %s: %lld candidates -> %lld chosen -> %lld in the "
            "dataset, %lld group%s (",
            json_string_value(json_object_get(w, "by")),
            (long long)json_integer_value(json_object_get(w, "candidates")),
            (long long)json_integer_value(json_object_get(w, "chosen")),
            (long long)json_integer_value(json_object_get(w, "kept")),
            (long long)json_integer_value(json_object_get(w, "groups")),
            json_integer_value(json_object_get(w, "groups")) == 1 ? "" : "s");
        i = 0;
        json_object_foreach(json_object_get(w, "largest"), key, v)
        {
            ek_strbuf_printf(&b, "%s%s %lld -> %lld", i++ ? ", " : "", key,
                             (long long)json_integer_value(json_array_get(v, 0)),
                             (long long)json_integer_value(json_array_get(v, 1)));
        }
        if ((size_t)json_integer_value(json_object_get(w, "groups")) > i) {
            ek_strbuf_puts(&b, ", ...");
        }
        ek_strbuf_puts(&b, ")\n");
    }
    v = json_object_get(s, "min_distance_pixels");
    ek_strbuf_printf(
        &b, "leakage        %s (%s split): %lld shared pixels, ",
        json_is_true(json_object_get(s, "leaky")) ? "LEAKY" : "ok",
        json_string_value(json_object_get(s, "split_method")),
        (long long)json_integer_value(json_object_get(s, "shared_pixels")));
    if (json_is_number(v)) {
        ek_strbuf_printf(&b, "splits %g pixels apart\n", json_number_value(v));
    } else {
        ek_strbuf_puts(&b, "one split only\n");
    }
    ek_strbuf_printf(&b, "written        %s, %s, %s\n",
                     json_string_value(json_object_get(s, "audit")),
                     json_string_value(json_object_get(s, "html")),
                     json_string_value(json_object_get(s, "datasheet")));
    json_array_foreach(json_object_get(s, "warnings"), i, w)
    {
        ek_strbuf_printf(&b, "warning: %s\n", json_string_value(w));
    }
    json_decref(s);
    return ek_strbuf_detach(&b, text);
}
