/*
** Sample: grouping the candidate chips of a plan, sharing the recipe's
** quota among the groups, and choosing in each group the chips with the
** smallest seeded draws (a hash of the seed and the chip id, so the choice
** depends on no order of work and a chip keeps its draw whatever else is
** planned).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_rand.h"
#include "geo/ek_srs.h"
#include "ek_sample.h"

/* Where a chip's group key lives before groups get names: a region index
   (-1: the sea), a class id, or a Major TOM cell (row, column). */
static int64_t cell_key(int row, int col)
{
    return (int64_t)(((uint64_t)(uint32_t)row << 32) | (uint32_t)col);
}

uint64_t ek_sample_draw(uint64_t seed, size_t chip_id)
{
    uint64_t state = seed ^ ((uint64_t)chip_id * 0xd1b54a32d192ed03ULL);

    return ek_rand_next(&state);
}

size_t ek_sample_compact(void *array, size_t size, const uint8_t *keep, size_t n)
{
    unsigned char *a = array;
    size_t k, m = 0;

    for (k = 0; k < n; k++) {
        if (keep[k]) {
            if (m != k) {
                memmove(a + m * size, a + k * size, size);
            }
            m++;
        }
    }
    return m;
}

/* ---- quotas ---- */

/* One group in the sharing of a total: its cap, weight, candidates and the
   remainder of its share. */
typedef struct share {
    size_t g;
    uint64_t cap, w, n, rem;
} share;

/* Groups by cap per weight, smallest first (exact: cross products). */
static int compare_ratio(const void *a, const void *b)
{
    const share *x = a, *y = b;
    uint64_t l = x->cap * y->w, r = y->cap * x->w;

    if (l != r) {
        return l < r ? -1 : 1;
    }
    return (x->g > y->g) - (x->g < y->g);
}

/* Largest remainder first, then the group with more candidates, then the
   earlier group. */
static int compare_remainder(const void *a, const void *b)
{
    const share *x = a, *y = b;

    if (x->rem != y->rem) {
        return x->rem > y->rem ? -1 : 1;
    }
    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    return (x->g > y->g) - (x->g < y->g);
}

int ek_sample_quotas(eodkit_ctx *ctx, const ek_sample_recipe *s, const size_t *n,
                     size_t ng, size_t *quota)
{
    share *sh;
    uint64_t total = 0, rest, weight = 0, given = 0;
    size_t g, first, k;

    for (g = 0; g < ng; g++) {
        quota[g] = s->max_per_group > 0 && n[g] > (size_t)s->max_per_group
                       ? (size_t)s->max_per_group
                       : n[g];
        total += quota[g];
    }
    if (s->total == 0 || (uint64_t)s->total >= total) {
        return EODKIT_OK;
    }
    sh = ek_calloc(ctx, ng + 1, sizeof *sh);
    if (sh == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < ng; g++) {
        sh[g].g = g;
        sh[g].cap = quota[g];
        sh[g].n = n[g];
        sh[g].w = s->allocation == EK_ALLOCATION_EQUAL ? 1 : n[g];
        weight += sh[g].w;
    }
    /* A group whose share of the rest exceeds its cap gets its cap, which
       only raises the others' shares: such groups are those with the
       smallest cap per weight, taken in that order. */
    qsort(sh, ng, sizeof *sh, compare_ratio);
    rest = (uint64_t)s->total;
    for (first = 0; first < ng && sh[first].cap * weight <= rest * sh[first].w;
         first++) {
        rest -= sh[first].cap;
        weight -= sh[first].w;
    }
    for (k = first; k < ng; k++) {
        quota[sh[k].g] = (size_t)(rest * sh[k].w / weight);
        sh[k].rem = rest * sh[k].w % weight;
        given += quota[sh[k].g];
    }
    qsort(sh + first, ng - first, sizeof *sh, compare_remainder);
    for (k = first; given < rest; k++, given++) {
        quota[sh[k].g]++;
    }
    free(sh);
    return EODKIT_OK;
}

/* ---- groups ---- */

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* A distinct key and its name. */
typedef struct named_key {
    int64_t key;
    const char *name;
    int32_t group; /* the named group it belongs to */
} named_key;

static int compare_name(const void *a, const void *b)
{
    const named_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : compare_i64(&x->key, &y->key);
}

/* The text of region K's field BY, or NULL. */
static const char *region_text(const ek_regions *r, int64_t k, ek_sample_by by)
{
    const ek_region *it = &r->items[k];

    return by == EK_SAMPLE_CONTINENT ? it->continent
           : by == EK_SAMPLE_COUNTRY ? it->country
                                     : it->region;
}

/* Refuse grouping by a region key the layer cannot give. */
static int check_regions(eodkit_ctx *ctx, const ek_plan *p, const ek_regions *r)
{
    static const char *const fields[] = {
        [EK_SAMPLE_CONTINENT] = "continents (no field continent or CONTINENT)",
        [EK_SAMPLE_COUNTRY] = "country codes (no field such as iso_a3, ISO_A3 or "
                              "iso_a2)",
        [EK_SAMPLE_REGION] = "values in its region field (regions.field, else the "
                             "continent field)"};
    const ek_sample_recipe *s = &p->recipe->sample;
    char where[512];
    size_t k;

    ek_recipe_where(p->recipe, s->by_mark, where, sizeof where);
    if (r == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: sample.by: %s needs a region layer, and the built-in "
                        "world layer is not installed; give one with --regions or "
                        "regions.source",
                        where, ek_sample_by_names[s->by]);
    }
    for (k = 0; k < r->n; k++) {
        if (region_text(r, (int64_t)k, s->by) != NULL) {
            return EODKIT_OK;
        }
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: sample.by: %s: the region layer %s has no %s; sample by "
                    "another key or give a layer that has them (--regions, "
                    "regions.source)",
                    where, ek_sample_by_names[s->by], r->path, fields[s->by]);
}

/* Each candidate's group key into KEYS: its region, class or cell. */
static int group_keys(eodkit_ctx *ctx, const ek_plan *p, const ek_sample_inputs *in,
                      int64_t *keys)
{
    const ek_sample_recipe *s = &p->recipe->sample;
    OGRSpatialReferenceH wgs84 = NULL;
    OGRCoordinateTransformationH *to_lonlat = NULL;
    size_t k, g;
    int rc = EODKIT_OK;

    if (s->by != EK_SAMPLE_CELL) {
        for (k = 0; k < p->ncandidates; k++) {
            keys[k] = s->by == EK_SAMPLE_CLASS ? in->chip_class[k] : in->region_tags[k];
        }
        return EODKIT_OK;
    }
    wgs84 = ek_srs_lonlat();
    to_lonlat = ek_calloc(ctx, p->ngrids, sizeof *to_lonlat);
    rc = to_lonlat == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        to_lonlat[g] = OCTNewCoordinateTransformation(p->grids[g].srs, wgs84);
        if (to_lonlat[g] == NULL) {
            rc = ek_error_gdal(ctx, "the grid CRS cannot be transformed to lon/lat");
        }
    }
    for (k = 0; k < p->ncandidates && rc == EODKIT_OK; k++) {
        ek_chip c = ek_plan_chip(p, p->chips[k]);
        double x, y, z = 0;
        int row, col;

        /* the centre the index records (center_lon, center_lat) */
        ek_grid_window_center(&p->grids[c.grid], &c.window, &x, &y);
        if (!OCTTransform(to_lonlat[c.grid], 1, &x, &y, &z)) {
            rc = ek_error_gdal(ctx, "chip %zu: cannot transform its centre to lon/lat",
                               p->chips[k]);
            break;
        }
        ek_majortom_cell_at(s->cell_km, x, y, &row, &col);
        keys[k] = cell_key(row, col);
    }
    for (g = 0; to_lonlat != NULL && g < p->ngrids; g++) {
        if (to_lonlat[g] != NULL) {
            OCTDestroyCoordinateTransformation(to_lonlat[g]);
        }
    }
    free(to_lonlat);
    OSRRelease(wgs84);
    return rc;
}

/* The name of group key KEY into BUF (SIZE bytes), or a constant. */
static const char *key_name(const ek_plan *p, const ek_sample_inputs *in, int64_t key,
                            char *buf, size_t size)
{
    const ek_sample_recipe *s = &p->recipe->sample;
    const char *t;

    switch (s->by) {
    case EK_SAMPLE_CLASS:
        snprintf(buf, size, "%lld", (long long)key);
        return buf;
    case EK_SAMPLE_CELL:
        ek_majortom_name((int)(int32_t)((uint64_t)key >> 32), (int)(int32_t)key, buf,
                         size);
        return buf;
    default:
        if (key < 0) {
            return EK_SAMPLE_SEA;
        }
        t = region_text(in->regions, key, s->by);
        return t != NULL ? t : EK_SAMPLE_UNKNOWN;
    }
}

/*
** Name the groups of the NK distinct sorted KEYS into S (names in strcmp
** order; keys of the same name, as the regions of one continent, make one
** group) and give each key its group in *GROUP_OF (by key index).
*/
static int name_groups(eodkit_ctx *ctx, const ek_plan *p, const ek_sample_inputs *in,
                       const int64_t *keys, size_t nk, ek_sample *s, int32_t **group_of)
{
    named_key *nk_list = ek_calloc(ctx, nk + 1, sizeof *nk_list);
    char **texts = ek_calloc(ctx, nk + 1, sizeof *texts);
    size_t k;
    int rc = nk_list == NULL || texts == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *group_of = ek_calloc(ctx, nk + 1, sizeof **group_of);
    s->names = ek_calloc(ctx, nk + 1, sizeof *s->names);
    if (*group_of == NULL || s->names == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < nk && rc == EODKIT_OK; k++) {
        char buf[48];

        texts[k] = ek_strdup(ctx, key_name(p, in, keys[k], buf, sizeof buf));
        rc = texts[k] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        nk_list[k].key = keys[k];
        nk_list[k].name = texts[k];
    }
    if (rc == EODKIT_OK) {
        qsort(nk_list, nk, sizeof *nk_list, compare_name);
    }
    for (k = 0; k < nk && rc == EODKIT_OK; k++) {
        const int64_t *at;

        if (k == 0 || strcmp(nk_list[k].name, nk_list[k - 1].name) != 0) {
            s->names[s->ngroups] = ek_strdup(ctx, nk_list[k].name);
            rc = s->names[s->ngroups] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            s->ngroups++;
        }
        at = bsearch(&nk_list[k].key, keys, nk, sizeof *keys, compare_i64);
        (*group_of)[at - keys] = (int32_t)(s->ngroups - 1);
    }
    for (k = 0; texts != NULL && k < nk; k++) {
        free(texts[k]);
    }
    free(texts);
    free(nk_list);
    return rc;
}

/* Group every candidate of P: S->group (by candidate), names and counts. */
static int make_groups(eodkit_ctx *ctx, const ek_plan *p, const ek_sample_inputs *in,
                       ek_sample *s)
{
    size_t n = p->ncandidates, nk = 0, k;
    int64_t *keys = ek_calloc(ctx, n + 1, sizeof *keys);
    int64_t *distinct = ek_calloc(ctx, n + 1, sizeof *distinct);
    int32_t *group_of = NULL;
    int rc = keys == NULL || distinct == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    s->group = ek_calloc(ctx, n + 1, sizeof *s->group);
    if (s->group == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    if (rc == EODKIT_OK) {
        rc = group_keys(ctx, p, in, keys);
    }
    if (rc == EODKIT_OK) {
        memcpy(distinct, keys, n * sizeof *keys);
        qsort(distinct, n, sizeof *distinct, compare_i64);
        for (k = 0; k < n; k++) {
            if (nk == 0 || distinct[k] != distinct[nk - 1]) {
                distinct[nk++] = distinct[k];
            }
        }
        rc = name_groups(ctx, p, in, distinct, nk, s, &group_of);
    }
    if (rc == EODKIT_OK) {
        s->candidates = ek_calloc(ctx, s->ngroups + 1, sizeof *s->candidates);
        s->chosen = ek_calloc(ctx, s->ngroups + 1, sizeof *s->chosen);
        rc = s->candidates == NULL || s->chosen == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (k = 0; k < n && rc == EODKIT_OK; k++) {
        const int64_t *at =
            bsearch(&keys[k], distinct, nk, sizeof *distinct, compare_i64);

        s->group[k] = group_of[at - distinct];
        s->candidates[s->group[k]]++;
    }
    s->ncandidates = n;
    free(group_of);
    free(distinct);
    free(keys);
    return rc;
}

/* ---- choosing ---- */

/*
** KEEP the chips of S's groups with the smallest draws, QUOTA[g] of group
** g: the draws of each group are sorted (bucketed by group) and the
** QUOTA[g]-th smallest is its threshold.
*/
static int choose(eodkit_ctx *ctx, const ek_plan *p, ek_sample *s, const size_t *quota,
                  uint8_t *keep)
{
    uint64_t seed = p->recipe->sample.seed;
    size_t n = p->ncandidates, g, k;
    size_t *start = ek_calloc(ctx, s->ngroups + 1, sizeof *start);
    size_t *fill = ek_calloc(ctx, s->ngroups + 1, sizeof *fill);
    uint64_t *draws = ek_calloc(ctx, n + 1, sizeof *draws);
    uint64_t *limit = ek_calloc(ctx, s->ngroups + 1, sizeof *limit);
    int rc = start == NULL || fill == NULL || draws == NULL || limit == NULL
                 ? EODKIT_ERR_NOMEM
                 : EODKIT_OK;

    for (g = 0; g < s->ngroups && rc == EODKIT_OK; g++) {
        start[g + 1] = start[g] + s->candidates[g];
        fill[g] = start[g];
    }
    for (k = 0; k < n && rc == EODKIT_OK; k++) {
        draws[fill[s->group[k]]++] = ek_sample_draw(seed, p->chips[k]);
    }
    for (g = 0; g < s->ngroups && rc == EODKIT_OK; g++) {
        rc = ek_cancelled(ctx);
        qsort(draws + start[g], s->candidates[g], sizeof *draws, compare_u64);
        limit[g] = quota[g] > 0 ? draws[start[g] + quota[g] - 1] : 0;
    }
    for (k = 0; k < n && rc == EODKIT_OK; k++) {
        g = (size_t)s->group[k];
        keep[k] = quota[g] > 0 && ek_sample_draw(seed, p->chips[k]) <= limit[g];
        s->chosen[g] += keep[k];
        s->nchosen += keep[k];
    }
    free(start);
    free(fill);
    free(draws);
    free(limit);
    return rc;
}

int ek_sample_make(eodkit_ctx *ctx, const ek_plan *p, const ek_sample_inputs *in,
                   ek_sample **out, uint8_t **keep_out)
{
    const ek_sample_recipe *sr = &p->recipe->sample;
    ek_sample *s = ek_calloc(ctx, 1, sizeof *s);
    uint8_t *keep = ek_calloc(ctx, p->ncandidates + 1, 1);
    size_t *quota = NULL;
    int rc = s == NULL || keep == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *out = NULL;
    *keep_out = NULL;
    if (rc == EODKIT_OK && sr->by != EK_SAMPLE_CLASS && sr->by != EK_SAMPLE_CELL) {
        rc = check_regions(ctx, p, in->regions);
    }
    if (rc == EODKIT_OK) {
        rc = make_groups(ctx, p, in, s);
    }
    if (rc == EODKIT_OK) {
        quota = ek_calloc(ctx, s->ngroups + 1, sizeof *quota);
        rc = quota == NULL
                 ? EODKIT_ERR_NOMEM
                 : ek_sample_quotas(ctx, sr, s->candidates, s->ngroups, quota);
    }
    if (rc == EODKIT_OK) {
        rc = choose(ctx, p, s, quota, keep);
    }
    free(quota);
    if (rc != EODKIT_OK) {
        ek_sample_free(s);
        free(keep);
        return rc;
    }
    ek_sample_compact(s->group, sizeof *s->group, keep, p->ncandidates);
    *out = s;
    *keep_out = keep;
    return EODKIT_OK;
}

void ek_sample_free(ek_sample *s)
{
    size_t g;

    if (s == NULL) {
        return;
    }
    for (g = 0; s->names != NULL && g < s->ngroups; g++) {
        free(s->names[g]);
    }
    free(s->names);
    free(s->candidates);
    free(s->chosen);
    free(s->group);
    free(s);
}

json_t *ek_sample_json(const ek_sample_recipe *r, const ek_sample *s,
                       const size_t *kept)
{
    json_t *o = json_object(), *groups = json_object();
    size_t g, all = 0;

    if (o == NULL || groups == NULL) {
        json_decref(o);
        json_decref(groups);
        return NULL;
    }
    json_object_set_new(o, "by", json_string(ek_sample_by_names[r->by]));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(o, "max_per_group",
                        r->max_per_group > 0 ? json_integer(r->max_per_group)
                                             : json_null());
    json_object_set_new(o, "total",
                        r->total > 0 ? json_integer(r->total) : json_null());
    json_object_set_new(o, "allocation",
                        r->total > 0 ? json_string(ek_allocation_names[r->allocation])
                                     : json_null());
    if (r->by == EK_SAMPLE_CELL) {
        json_object_set_new(o, "cell_size_km", json_real(r->cell_km));
    }
    for (g = 0; g < s->ngroups; g++) {
        all += kept[g];
        json_object_set_new(
            groups, s->names[g],
            json_pack("{s:I, s:I, s:I}", "candidates", (json_int_t)s->candidates[g],
                      "chosen", (json_int_t)s->chosen[g], "kept", (json_int_t)kept[g]));
    }
    json_object_set_new(o, "candidates", json_integer((json_int_t)s->ncandidates));
    json_object_set_new(o, "chosen", json_integer((json_int_t)s->nchosen));
    json_object_set_new(o, "kept", json_integer((json_int_t)all));
    json_object_set_new(o, "groups", groups);
    return o;
}
