/*
** Eval: the groups of --by and the spatial blocks the bootstrap resamples,
** shared by the evaluation of class labels (eval.c) and of objects
** (detect.c). Every chip gets a group and a block; every (group, block)
** pair holding a chip is a unit; a group's units are a run of unit numbers.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_eval.h"

/* The group of chip C under BY (BLOCK: its spatial block's key). */
static const char *group_of(const ek_chipset *cs, const char *by,
                            const ek_audit_chip *c, const char *block)
{
    const ek_audit_index *ix = cs->ix;

    if (by == NULL) {
        return "all";
    } else if (strcmp(by, "continent") == 0) {
        return ix->continents.names[c->continent];
    } else if (strcmp(by, "country") == 0) {
        return ix->countries.names[c->country];
    } else if (strcmp(by, "region") == 0) {
        return ix->regions.names[c->region];
    } else if (strcmp(by, "split") == 0) {
        return ix->splits.names[c->split];
    }
    return block;
}

/* The spatial block of chip C as text: the index's block, or the cell of
   CELL_X x CELL_Y pixels (block_chips x block_chips chips of the lattice)
   of its grid. */
static void block_of(ek_groups *g, const ek_audit_chip *c, int64_t cell_x,
                     int64_t cell_y, char *buf, size_t size)
{
    if (c->block >= 0) {
        snprintf(buf, size, "%lld", (long long)c->block);
        g->blocks_from_index = 1;
    } else {
        snprintf(buf, size, "%d:%lld,%lld", (int)c->grid, (long long)(c->x / cell_x),
                 (long long)(c->y / cell_y));
        g->blocks_from_lattice = 1;
    }
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Number every (group, block) pair that holds a chip: a unit. */
static int make_units(eodkit_ctx *ctx, ek_groups *g, size_t n)
{
    size_t i, u, most;
    uint64_t *keys = ek_calloc(ctx, n + 1, sizeof *keys);
    uint64_t nblocks = g->block_keys.n;

    g->chip_unit = ek_calloc(ctx, n + 1, sizeof *g->chip_unit);
    if (keys == NULL || g->chip_unit == NULL) {
        free(keys);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        keys[i] = (uint64_t)g->chip_group[i] * nblocks + (uint64_t)g->chip_block[i];
    }
    qsort(keys, n, sizeof *keys, compare_u64);
    for (i = 0, u = 0; i < n; i++) {
        if (i == 0 || keys[i] != keys[u - 1]) {
            keys[u++] = keys[i];
        }
    }
    g->nunits = u;
    for (i = 0; i < n; i++) {
        uint64_t key =
            (uint64_t)g->chip_group[i] * nblocks + (uint64_t)g->chip_block[i];
        uint64_t *at = bsearch(&key, keys, u, sizeof *keys, compare_u64);

        g->chip_unit[i] = (size_t)(at - keys);
    }
    /* 0, 1, 2, ...: units in key order come group by group, so a group's
       units are a run of these, and the whole's blocks their start */
    most = u > nblocks ? u : (size_t)nblocks;
    g->identity = ek_calloc(ctx, most + 1, sizeof *g->identity);
    if (g->identity == NULL) {
        free(keys);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < most; i++) {
        g->identity[i] = i;
    }
    for (u = 0; u < g->nunits; u++) {
        size_t k = (size_t)(keys[u] / nblocks);

        if (g->nunits_of[k] == 0) {
            g->units_of[k] = g->identity + u;
        }
        g->nunits_of[k]++;
    }
    free(keys);
    return EODKIT_OK;
}

/* A group's name and its number in order of first appearance. */
typedef struct named {
    const char *name;
    int32_t first;
} named;

static int numeric(const char *s, long long *v)
{
    char *end;

    *v = strtoll(s, &end, 10);
    return end != s && *end == '\0';
}

static int compare_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    long long u, v;

    if (numeric(x->name, &u) && numeric(y->name, &v)) {
        return (u > v) - (u < v);
    }
    return strcmp(x->name, y->name);
}

/* The groups in report order (splits as given; other names sorted, whole
   numbers by value so that blocks come in numeric order), and the chips'
   groups renumbered to match. */
static int order_groups(eodkit_ctx *ctx, ek_groups *g, const char *by, size_t n)
{
    named *order = ek_calloc(ctx, g->keys.n + 1, sizeof *order);
    int32_t *rank = ek_calloc(ctx, g->keys.n + 1, sizeof *rank);
    size_t i;

    g->ngroups = g->keys.n;
    g->names = ek_calloc(ctx, g->ngroups + 1, sizeof *g->names);
    g->units_of = ek_calloc(ctx, g->ngroups + 1, sizeof *g->units_of);
    g->nunits_of = ek_calloc(ctx, g->ngroups + 1, sizeof *g->nunits_of);
    if (order == NULL || rank == NULL || g->names == NULL || g->units_of == NULL ||
        g->nunits_of == NULL) {
        free(order);
        free(rank);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < g->ngroups; i++) {
        order[i] = (named){g->keys.names[i], (int32_t)i};
    }
    if (by != NULL && strcmp(by, "split") != 0) {
        qsort(order, g->ngroups, sizeof *order, compare_named);
    }
    for (i = 0; i < g->ngroups; i++) {
        rank[order[i].first] = (int32_t)i;
        g->names[i] = order[i].name;
    }
    for (i = 0; i < n; i++) {
        g->chip_group[i] = rank[g->chip_group[i]];
    }
    free(order);
    free(rank);
    return EODKIT_OK;
}

int ek_groups_make(eodkit_ctx *ctx, const ek_chipset *cs, const char *by,
                   int block_chips, ek_groups *g)
{
    json_t *stride =
        json_object_get(json_object_get(cs->collection, "eodkit:grid"), "stride");
    int64_t sy = json_integer_value(json_array_get(stride, 0));
    int64_t sx = json_integer_value(json_array_get(stride, 1));
    int64_t cell_x = (sx > 0 ? sx : 1) * block_chips;
    int64_t cell_y = (sy > 0 ? sy : 1) * block_chips;
    size_t n = cs->n, i;
    char block[64];
    int rc = EODKIT_OK;

    memset(g, 0, sizeof *g);
    g->chip_group = ek_calloc(ctx, n + 1, sizeof *g->chip_group);
    g->chip_block = ek_calloc(ctx, n + 1, sizeof *g->chip_block);
    if (g->chip_group == NULL || g->chip_block == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        const ek_audit_chip *c = &cs->ix->chips[cs->chips[i]];

        block_of(g, c, cell_x, cell_y, block, sizeof block);
        g->chip_block[i] = ek_names_intern(ctx, &g->block_keys, block);
        g->chip_group[i] = ek_names_intern(ctx, &g->keys, group_of(cs, by, c, block));
        if (g->chip_block[i] < 0 || g->chip_group[i] < 0) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc == EODKIT_OK) {
        rc = order_groups(ctx, g, by, n);
    }
    if (rc == EODKIT_OK) {
        rc = make_units(ctx, g, n);
    }
    return rc;
}

void ek_groups_clear(ek_groups *g)
{
    free(g->chip_group);
    free(g->chip_block);
    free(g->chip_unit);
    free(g->identity);
    free(g->names);
    free(g->units_of);
    free(g->nunits_of);
    ek_names_free(&g->keys);
    ek_names_free(&g->block_keys);
    memset(g, 0, sizeof *g);
}

const char *ek_groups_source(const ek_groups *g)
{
    return g->blocks_from_index && g->blocks_from_lattice ? "index+lattice"
           : g->blocks_from_index                         ? "index"
                                                          : "lattice";
}

void ek_groups_rank(const double *values, size_t ngroups, size_t stride, int *best,
                    int *worst)
{
    size_t i;

    *best = -1;
    *worst = -1;
    for (i = 0; i < ngroups; i++) {
        double v = values[i * stride];

        if (v != v) { /* NaN: undefined for this group */
            continue;
        }
        if (*best < 0 || v > values[(size_t)*best * stride]) {
            *best = (int)i;
        }
        /* the last of equals: a tie names two groups, not one twice */
        if (*worst < 0 || v <= values[(size_t)*worst * stride]) {
            *worst = (int)i;
        }
    }
}
