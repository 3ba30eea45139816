/*
** Split: random and block splits with a guard band. Evaluation splits take
** precedence: a chip is dropped when a chip of a split listed after its own
** comes within the guard band, so val/test keep their chips and train gives
** way (as buffered cross-validation removes training data near tests).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_rand.h"
#include "ek_split.h"

void ek_split_counts(const double *ratios, size_t nsplits, size_t n, size_t *counts)
{
    size_t given = 0, k;

    for (k = 0; k < nsplits; k++) {
        counts[k] = (size_t)floor(ratios[k] * (double)n + 1e-9);
        given += counts[k];
    }
    while (given < n) {
        size_t best = 0;
        double best_rest = -1;

        for (k = 0; k < nsplits; k++) {
            double rest = ratios[k] * (double)n - (double)counts[k];

            if (rest > best_rest + 1e-12) {
                best_rest = rest;
                best = k;
            }
        }
        counts[best]++;
        given++;
    }
}

/* Deal the N shuffled ITEMS out to splits by the recipe's ratios. */
static void deal(const ek_split_recipe *sr, const size_t *items, size_t n, int *out)
{
    size_t counts[128], k, i = 0, c;

    ek_split_counts(sr->ratios, sr->nsplits, n, counts);
    for (k = 0; k < sr->nsplits; k++) {
        for (c = 0; c < counts[k]; c++) {
            out[items[i++]] = (int)k;
        }
    }
}

static int split_random(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t nchips = (size_t)p->grid.nx * (size_t)p->grid.ny, id, n = 0;
    size_t *items = ek_calloc(ctx, p->ncandidates, sizeof *items);
    int *assigned = ek_calloc(ctx, nchips, sizeof *assigned);
    uint64_t state = sr->seed;

    if (items == NULL || assigned == NULL) {
        free(items);
        free(assigned);
        return EODKIT_ERR_NOMEM;
    }
    for (id = 0; id < nchips; id++) {
        if (p->candidate[id]) {
            items[n++] = id;
        }
    }
    ek_rand_shuffle(items, n, &state);
    deal(sr, items, n, assigned);
    for (id = 0; id < nchips; id++) {
        s->chip_split[id] = p->candidate[id] ? (int8_t)assigned[id] : EK_CHIP_SKIP;
    }
    free(items);
    free(assigned);
    return EODKIT_OK;
}

typedef struct block_key {
    int64_t x, y;
    size_t chip; /* a chip of the block, to recover its index */
} block_key;

static int compare_key(const void *a, const void *b)
{
    const block_key *p = a, *q = b;

    if (p->y != q->y) {
        return p->y < q->y ? -1 : 1;
    }
    if (p->x != q->x) {
        return p->x < q->x ? -1 : 1;
    }
    return (p->chip > q->chip) - (p->chip < q->chip);
}

/* Block of every candidate chip (by its centre) and the split of every block. */
static int assign_blocks(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    const ek_grid *g = &p->grid;
    size_t nchips = (size_t)g->nx * (size_t)g->ny, id, n = 0, b;
    block_key *keys = ek_calloc(ctx, p->ncandidates, sizeof *keys);
    size_t *order = NULL;
    uint64_t state = sr->seed;
    int rc = EODKIT_OK;

    if (keys == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (id = 0; id < nchips; id++) {
        ek_window w = ek_plan_chip_window(p, id);
        double cx = g->gt[0] + (w.x + w.w / 2.0) * g->gt[1];
        double cy = g->gt[3] + (w.y + w.h / 2.0) * g->gt[5];

        s->chip_block[id] = -1;
        if (p->candidate[id]) {
            keys[n].x = (int64_t)floor(cx / sr->block_size);
            keys[n].y = (int64_t)floor(cy / sr->block_size);
            keys[n].chip = id;
            n++;
        }
    }
    qsort(keys, n, sizeof *keys, compare_key);
    for (b = 0; b < n; b++) {
        if (b == 0 || keys[b].x != keys[b - 1].x || keys[b].y != keys[b - 1].y) {
            s->nblocks++;
        }
    }
    s->block_x = ek_calloc(ctx, s->nblocks, sizeof *s->block_x);
    s->block_y = ek_calloc(ctx, s->nblocks, sizeof *s->block_y);
    s->block_split = ek_calloc(ctx, s->nblocks, sizeof *s->block_split);
    order = ek_calloc(ctx, s->nblocks, sizeof *order);
    if (s->block_x == NULL || s->block_y == NULL || s->block_split == NULL ||
        order == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    s->nblocks = 0;
    for (b = 0; b < n; b++) {
        if (b == 0 || keys[b].x != keys[b - 1].x || keys[b].y != keys[b - 1].y) {
            s->block_x[s->nblocks] = keys[b].x;
            s->block_y[s->nblocks] = keys[b].y;
            s->nblocks++;
        }
        s->chip_block[keys[b].chip] = (int32_t)(s->nblocks - 1);
    }
    for (b = 0; b < s->nblocks; b++) {
        order[b] = b;
    }
    ek_rand_shuffle(order, s->nblocks, &state);
    deal(sr, order, s->nblocks, s->block_split);
    for (id = 0; id < nchips; id++) {
        s->chip_split[id] =
            p->candidate[id] ? (int8_t)s->block_split[s->chip_block[id]] : EK_CHIP_SKIP;
    }
out:
    free(keys);
    free(order);
    return rc;
}

/* Drop chips that come within the guard band of a chip of a later split. */
static void drop_guard(const ek_plan *p, ek_split *s, const int8_t *assigned)
{
    const ek_grid *g = &p->grid;
    int di_max = (s->guard_x + g->chip_w + g->stride_x - 1) / g->stride_x;
    int dj_max = (s->guard_y + g->chip_h + g->stride_y - 1) / g->stride_y;
    int i, j;

    for (j = 0; j < g->ny; j++) {
        for (i = 0; i < g->nx; i++) {
            size_t id = (size_t)j * (size_t)g->nx + (size_t)i;
            int own = assigned[id], di, dj, conflict = 0;

            if (own < 0) {
                continue;
            }
            for (dj = -dj_max; dj <= dj_max && !conflict; dj++) {
                for (di = -di_max; di <= di_max && !conflict; di++) {
                    int ni = i + di, nj = j + dj, other;
                    int sep_x = abs(di) * g->stride_x - g->chip_w;
                    int sep_y = abs(dj) * g->stride_y - g->chip_h;

                    if (ni < 0 || nj < 0 || ni >= g->nx || nj >= g->ny) {
                        continue;
                    }
                    other = assigned[(size_t)nj * (size_t)g->nx + (size_t)ni];
                    conflict = other > own && sep_x < s->guard_x && sep_y < s->guard_y;
                }
            }
            if (conflict) {
                s->chip_split[id] = EK_CHIP_GUARD;
                s->guard_dropped++;
            }
        }
    }
}

int ek_split_make(eodkit_ctx *ctx, const ek_plan *p, ek_split **out)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t nchips = (size_t)p->grid.nx * (size_t)p->grid.ny;
    ek_split *s;
    int8_t *assigned = NULL;
    int rc;

    *out = NULL;
    if (sr->nsplits > 127) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: at most 127 splits",
                        p->recipe->path);
    }
    s = ek_calloc(ctx, 1, sizeof *s);
    if (s == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    s->nsplits = sr->nsplits;
    s->chip_split = ek_calloc(ctx, nchips, sizeof *s->chip_split);
    s->chip_block = ek_calloc(ctx, nchips, sizeof *s->chip_block);
    if (s->chip_split == NULL || s->chip_block == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    if (sr->method == EK_SPLIT_RANDOM) {
        memset(s->chip_block, 0xff, nchips * sizeof *s->chip_block);
        rc = split_random(ctx, p, s);
        goto out;
    }
    rc = assign_blocks(ctx, p, s);
    if (rc != EODKIT_OK) {
        goto out;
    }
    s->guard_x = (int)ceil(sr->buffer * p->grid.chip_w - 1e-9);
    s->guard_y = (int)ceil(sr->buffer * p->grid.chip_h - 1e-9);
    assigned = ek_calloc(ctx, nchips, sizeof *assigned);
    if (assigned == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    memcpy(assigned, s->chip_split, nchips * sizeof *assigned);
    drop_guard(p, s, assigned);
out:
    free(assigned);
    if (rc != EODKIT_OK) {
        ek_split_free(s);
        return rc;
    }
    *out = s;
    return EODKIT_OK;
}

void ek_split_free(ek_split *s)
{
    if (s == NULL) {
        return;
    }
    free(s->chip_split);
    free(s->chip_block);
    free(s->block_x);
    free(s->block_y);
    free(s->block_split);
    free(s);
}
