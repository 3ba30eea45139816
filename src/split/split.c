/*
** Split: random and block splits with a guard band. Evaluation splits take
** precedence: a chip is dropped when a chip of a split listed after its own
** comes within the guard band, so val/test keep their chips and train gives
** way (as buffered cross-validation removes training data near tests).
*/
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_rand.h"
#include "core/ek_time.h"
#include "ek_split.h"
#include "geo/ek_srs.h"

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

/* A candidate's chip id and candidate index. */
typedef struct id_index {
    size_t id, k;
} id_index;

static int compare_id(const void *a, const void *b)
{
    const id_index *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

/* Chips dealt out after a seeded shuffle of the candidates in ascending
   chip id order (whatever order the plan lists them in). */
static int split_random(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t n = p->ncandidates, k;
    size_t *items = ek_calloc(ctx, n + 1, sizeof *items);
    int *assigned = ek_calloc(ctx, n + 1, sizeof *assigned);
    id_index *order = ek_calloc(ctx, n + 1, sizeof *order);
    uint64_t state = sr->seed;

    if (items == NULL || assigned == NULL || order == NULL) {
        free(items);
        free(assigned);
        free(order);
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < n; k++) {
        order[k].id = p->chips[k];
        order[k].k = k;
    }
    qsort(order, n, sizeof *order, compare_id);
    for (k = 0; k < n; k++) {
        items[k] = order[k].k;
    }
    free(order);
    ek_rand_shuffle(items, n, &state);
    deal(sr, items, n, assigned);
    for (k = 0; k < n; k++) {
        s->chip_split[k] = (int8_t)assigned[k];
    }
    free(items);
    free(assigned);
    return EODKIT_OK;
}

typedef struct block_key {
    int64_t grid, x, y;
    size_t chip; /* a chip of the block (its id orders ties) */
    size_t k;    /* its candidate index */
} block_key;

static int compare_key(const void *a, const void *b)
{
    const block_key *p = a, *q = b;

    if (p->grid != q->grid) {
        return p->grid < q->grid ? -1 : 1;
    }
    if (p->y != q->y) {
        return p->y < q->y ? -1 : 1;
    }
    if (p->x != q->x) {
        return p->x < q->x ? -1 : 1;
    }
    return (p->chip > q->chip) - (p->chip < q->chip);
}

static int same_block(const block_key *a, const block_key *b)
{
    return a->grid == b->grid && a->x == b->x && a->y == b->y;
}

/* Block of every candidate chip (by its centre, in its grid's CRS). */
static int find_blocks(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t k, n = 0, b;
    block_key *keys = ek_calloc(ctx, p->ncandidates + 1, sizeof *keys);
    int rc = EODKIT_OK;

    if (keys == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < p->ncandidates; k++) {
        ek_chip c = ek_plan_chip(p, p->chips[k]);
        double cx, cy;

        ek_grid_window_center(&p->grids[c.grid], &c.window, &cx, &cy);
        s->chip_block[k] = -1;
        /* block indices must stay whole numbers an int64 holds exactly */
        if (!(fabs(cx / sr->block_size) < 0x1p53 &&
              fabs(cy / sr->block_size) < 0x1p53)) {
            char where[512];

            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: split.block_size %g is too small for the grid's "
                "coordinates (%g, %g)",
                ek_recipe_where(p->recipe, sr->block_size_mark, where, sizeof where),
                sr->block_size, cx, cy);
            goto out;
        }
        keys[n].grid = (int64_t)c.grid;
        keys[n].x = (int64_t)floor(cx / sr->block_size);
        keys[n].y = (int64_t)floor(cy / sr->block_size);
        keys[n].chip = p->chips[k];
        keys[n].k = k;
        n++;
    }
    qsort(keys, n, sizeof *keys, compare_key);
    for (b = 0; b < n; b++) {
        s->nblocks += b == 0 || !same_block(&keys[b], &keys[b - 1]);
    }
    s->block_grid = ek_calloc(ctx, s->nblocks, sizeof *s->block_grid);
    s->block_x = ek_calloc(ctx, s->nblocks, sizeof *s->block_x);
    s->block_y = ek_calloc(ctx, s->nblocks, sizeof *s->block_y);
    s->block_split = ek_calloc(ctx, s->nblocks, sizeof *s->block_split);
    if (s->block_grid == NULL || s->block_x == NULL || s->block_y == NULL ||
        s->block_split == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    s->nblocks = 0;
    for (b = 0; b < n; b++) {
        if (b == 0 || !same_block(&keys[b], &keys[b - 1])) {
            s->block_grid[s->nblocks] = (int32_t)keys[b].grid;
            s->block_x[s->nblocks] = keys[b].x;
            s->block_y[s->nblocks] = keys[b].y;
            s->nblocks++;
        }
        s->chip_block[keys[b].k] = (int32_t)(s->nblocks - 1);
    }
out:
    free(keys);
    return rc;
}

/* ---- stratification: balance class shares across splits ---- */

typedef struct strata {
    size_t nblocks, nsplits;
    int nclasses;
    double *block;         /* [block * nclasses + c]: labelled pixels */
    double *split;         /* [split * nclasses + c] */
    double *all;           /* [c] shares of the whole */
    const double *weights; /* split ratios: splits with 0 take no blocks */
} strata;

/* Largest |share of class c in split k - share of c overall|, over the
   splits that take blocks; a split without labelled pixels is 1 away. */
static double class_deviation(const strata *st)
{
    double worst = 0;
    size_t k;
    int c;

    for (k = 0; k < st->nsplits; k++) {
        double total = 0;

        if (st->weights[k] <= 0) {
            continue;
        }
        for (c = 0; c < st->nclasses; c++) {
            total += st->split[k * (size_t)st->nclasses + (size_t)c];
        }
        if (total <= 0) {
            return 1;
        }
        for (c = 0; c < st->nclasses; c++) {
            double d = fabs(st->split[k * (size_t)st->nclasses + (size_t)c] / total -
                            st->all[c]);

            worst = d > worst ? d : worst;
        }
    }
    return worst;
}

/* Largest |share of the labelled pixels in split k - ratio of k|: swapping
   blocks must not empty a split of its labels to even out the others. */
static double size_deviation(const strata *st)
{
    double worst = 0, pixels = 0, ratios = 0;
    size_t k, i;

    for (i = 0; i < st->nsplits * (size_t)st->nclasses; i++) {
        pixels += st->split[i];
    }
    for (k = 0; k < st->nsplits; k++) {
        ratios += st->weights[k];
    }
    for (k = 0; pixels > 0 && k < st->nsplits; k++) {
        double in_k = 0, d;
        int c;

        for (c = 0; c < st->nclasses; c++) {
            in_k += st->split[k * (size_t)st->nclasses + (size_t)c];
        }
        d = fabs(in_k / pixels - st->weights[k] / ratios);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* What the block swaps minimise: the worse of the two deviations. */
static double imbalance(const strata *st)
{
    double c = class_deviation(st), n = size_deviation(st);

    return c > n ? c : n;
}

static void move_block(strata *st, size_t b, int from, int to)
{
    int c;

    for (c = 0; c < st->nclasses; c++) {
        double v = st->block[b * (size_t)st->nclasses + (size_t)c];

        st->split[(size_t)from * (size_t)st->nclasses + (size_t)c] -= v;
        st->split[(size_t)to * (size_t)st->nclasses + (size_t)c] += v;
    }
}

/*
** Improve the dealt BLOCK_SPLIT of the DEALT blocks (indices in ORDER) by
** swapping pairs of blocks of different splits while that lowers their
** imbalance; seeded, so the result is fixed by the recipe.
*/
static double balance(strata *st, const size_t *order, size_t dealt, int *block_split,
                      uint64_t *state)
{
    double best = imbalance(st);
    size_t step, steps = 200 * dealt + 1000;

    for (step = 0; step < steps && dealt > 1 && best > 0; step++) {
        size_t a = order[ek_rand_next(state) % dealt],
               b = order[ek_rand_next(state) % dealt];
        int sa = block_split[a], sb = block_split[b];
        double d;

        if (sa == sb) {
            continue;
        }
        move_block(st, a, sa, sb);
        move_block(st, b, sb, sa);
        d = imbalance(st);
        if (d < best) {
            best = d;
            block_split[a] = sb;
            block_split[b] = sa;
        } else {
            move_block(st, a, sb, sa);
            move_block(st, b, sa, sb);
        }
    }
    return best;
}

/* Class totals per block (of chips not held out) and overall. */
static int build_strata(eodkit_ctx *ctx, const ek_plan *p, const ek_split *s,
                        const ek_split_inputs *in, const int *held, strata *st)
{
    size_t k;
    double total = 0;
    int c;

    st->nblocks = s->nblocks;
    st->nsplits = s->nsplits;
    st->nclasses = in->nclasses;
    st->weights = p->recipe->split.ratios;
    st->block = ek_calloc(ctx, s->nblocks * (size_t)in->nclasses, sizeof *st->block);
    st->split = ek_calloc(ctx, s->nsplits * (size_t)in->nclasses, sizeof *st->split);
    st->all = ek_calloc(ctx, (size_t)in->nclasses, sizeof *st->all);
    if (st->block == NULL || st->split == NULL || st->all == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < p->ncandidates; k++) {
        if (held[k] >= 0) {
            continue;
        }
        for (c = 0; c < in->nclasses; c++) {
            double v = in->chip_classes[k * (size_t)in->nclasses + (size_t)c];

            st->block[(size_t)s->chip_block[k] * (size_t)in->nclasses + (size_t)c] += v;
            st->all[c] += v;
            total += v;
        }
    }
    for (c = 0; total > 0 && c < in->nclasses; c++) {
        st->all[c] /= total;
    }
    return EODKIT_OK;
}

static void free_strata(strata *st)
{
    free(st->block);
    free(st->split);
    free(st->all);
}

/* Deal the blocks that hold chips not held out to splits by the ratios
   (after a seeded shuffle), balancing class shares when asked; then give
   every candidate chip its split. */
static int assign_blocks(eodkit_ctx *ctx, const ek_plan *p, ek_split *s,
                         const ek_split_inputs *in, const int *held)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t *order = ek_calloc(ctx, s->nblocks, sizeof *order);
    uint8_t *free_block = ek_calloc(ctx, s->nblocks, 1);
    uint64_t state = sr->seed;
    size_t k, b, n = 0;
    strata st;
    int rc = order == NULL || free_block == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    memset(&st, 0, sizeof st);
    for (k = 0; rc == EODKIT_OK && k < p->ncandidates; k++) {
        if (held[k] < 0) {
            free_block[s->chip_block[k]] = 1;
        }
    }
    for (b = 0; rc == EODKIT_OK && b < s->nblocks; b++) {
        s->block_split[b] = -1;
        if (free_block[b]) {
            order[n++] = b;
        }
    }
    if (rc == EODKIT_OK) {
        ek_rand_shuffle(order, n, &state);
        deal(sr, order, n, s->block_split);
    }
    if (rc == EODKIT_OK && sr->stratify) {
        rc = build_strata(ctx, p, s, in, held, &st);
    }
    if (rc == EODKIT_OK && sr->stratify) {
        for (b = 0; b < n; b++) {
            size_t to = (size_t)s->block_split[order[b]];
            int c;

            for (c = 0; c < st.nclasses; c++) {
                st.split[to * (size_t)st.nclasses + (size_t)c] +=
                    st.block[order[b] * (size_t)st.nclasses + (size_t)c];
            }
        }
        balance(&st, order, n, s->block_split, &state);
    }
    for (k = 0; rc == EODKIT_OK && k < p->ncandidates; k++) {
        s->chip_split[k] =
            held[k] >= 0 ? (int8_t)held[k] : (int8_t)s->block_split[s->chip_block[k]];
    }
    free_strata(&st);
    free(order);
    free(free_block);
    return rc;
}

/* A chip of one grid with a split, for the guard band: its window's
   corner, and the cell of the bucket lattice it falls in. */
typedef struct guard_chip {
    size_t grid;
    int64_t bx, by; /* corner / (chip size + guard) */
    int x, y;
    int split; /* before the guard band */
    size_t k;
} guard_chip;

static int compare_guard(const void *a, const void *b)
{
    const guard_chip *p = a, *q = b;

    if (p->grid != q->grid) {
        return p->grid < q->grid ? -1 : 1;
    }
    if (p->by != q->by) {
        return p->by < q->by ? -1 : 1;
    }
    if (p->bx != q->bx) {
        return p->bx < q->bx ? -1 : 1;
    }
    return (p->k > q->k) - (p->k < q->k);
}

/* The first of the N sorted chips C at or after bucket (BX, BY) of grid G. */
static size_t first_in_bucket(const guard_chip *c, size_t n, size_t g, int64_t bx,
                              int64_t by)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c[mid].grid < g ||
            (c[mid].grid == g &&
             (c[mid].by < by || (c[mid].by == by && c[mid].bx < bx)))) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
** Drop chips that come within the guard band of a chip of a later split on
** the same grid: chips whose windows are less than guard_x apart
** across and less than guard_y apart down (on a lattice: chips (i, j) and
** (i + di, j + dj) with both |di| stride_x - chip_w < guard_x and |dj|
** stride_y - chip_h < guard_y). Chips are bucketed by (chip size + guard):
** a chip's neighbours lie in its bucket and the eight around it, so the
** cost follows the chips, never the grids' area.
*/
static int drop_guard_in_grids(eodkit_ctx *ctx, const ek_plan *p, ek_split *s,
                               const int8_t *assigned)
{
    int64_t reach_x = (int64_t)p->chip_w + s->guard_x;
    int64_t reach_y = (int64_t)p->chip_h + s->guard_y;
    guard_chip *c = NULL;
    size_t n = 0, cap = 0, k, a;
    int rc = EODKIT_OK;

    for (k = 0; k < p->ncandidates && rc == EODKIT_OK; k++) {
        ek_chip chip = ek_plan_chip(p, p->chips[k]);

        if (assigned[k] < 0) {
            continue;
        }
        rc = ek_grow(ctx, (void **)&c, &cap, n + 1, sizeof *c);
        if (rc == EODKIT_OK) {
            c[n].grid = chip.grid;
            c[n].x = chip.window.x, c[n].y = chip.window.y;
            c[n].bx = chip.window.x / reach_x, c[n].by = chip.window.y / reach_y;
            c[n].split = assigned[k];
            c[n].k = k;
            n++;
        }
    }
    if (rc != EODKIT_OK) {
        free(c);
        return rc;
    }
    if (n > 1) { /* c is NULL when no chip has a split */
        qsort(c, n, sizeof *c, compare_guard);
    }
    for (a = 0; a < n; a++) {
        int64_t dy;
        int near = 0;

        for (dy = -1; dy <= 1 && !near; dy++) {
            size_t b = first_in_bucket(c, n, c[a].grid, c[a].bx - 1, c[a].by + dy);

            for (; b < n && c[b].grid == c[a].grid && c[b].by == c[a].by + dy &&
                   c[b].bx <= c[a].bx + 1 && !near;
                 b++) {
                near = c[b].split > c[a].split &&
                       llabs((long long)c[b].x - c[a].x) < reach_x &&
                       llabs((long long)c[b].y - c[a].y) < reach_y;
            }
        }
        if (near) {
            s->chip_split[c[a].k] = EK_CHIP_GUARD;
            s->guard_dropped++;
        }
    }
    free(c);
    return EODKIT_OK;
}

typedef struct footprint {
    size_t k;                        /* candidate index */
    double west, south, east, north; /* lon/lat bounds */
} footprint;

/* Lon/lat bounds of every candidate chip of grid G lying within MARGIN
   metres of the grid's zone edges (where chips of the next zone begin). */
static int edge_footprints(eodkit_ctx *ctx, const ek_plan *p, size_t gi, double margin,
                           footprint **out, size_t *n)
{
    const ek_grid *g = &p->grids[gi];
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    OGRCoordinateTransformationH ct;
    double zone_west = -180.0 + 6.0 * (abs(g->utm_zone) - 1),
           zone_east = zone_west + 6.0;
    size_t cap = 0, k, end;
    int rc = EODKIT_OK;

    *out = NULL;
    *n = 0;
    ct = OCTNewCoordinateTransformation(g->srs, wgs84);
    OSRRelease(wgs84);
    if (ct == NULL) {
        return ek_error_gdal(ctx, "the grid CRS cannot be transformed to lon/lat");
    }
    ek_plan_grid_chips(p, gi, &k, &end);
    for (; k < end && rc == EODKIT_OK; k++) {
        ek_chip c = ek_plan_chip(p, p->chips[k]);
        double xs[4], ys[4], zs[4] = {0, 0, 0, 0}, pad;
        footprint f;
        int q;

        for (q = 0; q < 4; q++) {
            xs[q] = g->gt[0] + (c.window.x + ((q & 1) ? c.window.w : 0)) * g->gt[1];
            ys[q] = g->gt[3] + (c.window.y + ((q & 2) ? c.window.h : 0)) * g->gt[5];
        }
        if (!OCTTransform(ct, 4, xs, ys, zs)) {
            continue;
        }
        f.k = k;
        f.west = fmin(fmin(xs[0], xs[1]), fmin(xs[2], xs[3]));
        f.east = fmax(fmax(xs[0], xs[1]), fmax(xs[2], xs[3]));
        f.south = fmin(fmin(ys[0], ys[1]), fmin(ys[2], ys[3]));
        f.north = fmax(fmax(ys[0], ys[1]), fmax(ys[2], ys[3]));
        pad = margin / (111320.0 * cos(fabs(f.north) * M_PI / 180.0) + 1e-9);
        if (f.west - pad > zone_west && f.east + pad < zone_east &&
            fabs(f.south) > pad * 2 && fabs(f.north) > pad * 2) {
            continue; /* far from every zone edge and from the equator */
        }
        rc = ek_grow(ctx, (void **)out, &cap, *n + 1, sizeof **out);
        if (rc == EODKIT_OK) {
            (*out)[(*n)++] = f;
        }
    }
    OCTDestroyCoordinateTransformation(ct);
    return rc;
}

/* Gap in metres between two lon/lat boxes along one axis (0 if they meet). */
static double gap_metres(double a0, double a1, double b0, double b1,
                         double metres_per_degree)
{
    double gap = fmax(b0 - a1, a0 - b1);

    return gap > 0 ? gap * metres_per_degree : 0;
}

/* Chips of adjacent UTM zones overlap along the zone edges: apply the guard
   band across zones too, comparing lon/lat footprints in metres
   (conservatively: footprints are the chips' lon/lat bounding boxes). */
static int drop_guard_across_grids(eodkit_ctx *ctx, const ek_plan *p, ek_split *s,
                                   const int8_t *assigned)
{
    double res = p->grids[0].gt[1];
    double gx = s->guard_x * res, gy = s->guard_y * res;
    footprint **edges = ek_calloc(ctx, p->ngrids, sizeof *edges);
    size_t *counts = ek_calloc(ctx, p->ngrids, sizeof *counts);
    size_t a, b, i, j;
    int rc = EODKIT_OK;

    if (edges == NULL || counts == NULL) {
        free(edges);
        free(counts);
        return EODKIT_ERR_NOMEM;
    }
    for (a = 0; a < p->ngrids && rc == EODKIT_OK; a++) {
        rc = edge_footprints(ctx, p, a, fmax(gx, gy) + p->chip_w * res, &edges[a],
                             &counts[a]);
    }
    for (a = 0; a < p->ngrids && rc == EODKIT_OK; a++) {
        for (b = 0; b < p->ngrids; b++) {
            if (a == b) {
                continue;
            }
            for (i = 0; i < counts[a]; i++) {
                const footprint *fa = &edges[a][i];
                int own = assigned[fa->k];
                double mx = 111320.0 * cos(fabs(fa->north) * M_PI / 180.0);

                if (own < 0 || s->chip_split[fa->k] == EK_CHIP_GUARD) {
                    continue;
                }
                for (j = 0; j < counts[b]; j++) {
                    const footprint *fb = &edges[b][j];

                    if (assigned[fb->k] > own &&
                        gap_metres(fa->west, fa->east, fb->west, fb->east, mx) <= gx &&
                        gap_metres(fa->south, fa->north, fb->south, fb->north,
                                   110540.0) <= gy) {
                        s->chip_split[fa->k] = EK_CHIP_GUARD;
                        s->guard_dropped++;
                        break;
                    }
                }
            }
        }
    }
    for (a = 0; a < p->ngrids; a++) {
        free(edges[a]);
    }
    free(edges);
    free(counts);
    return rc;
}

/* The value of region K that hold-out H compares ("none": the sea). */
static const char *region_value(const ek_regions *r, int k, ek_region_key key)
{
    const ek_region *it = k >= 0 ? &r->items[k] : NULL;
    const char *v = it == NULL                 ? NULL
                    : key == EK_HOLD_CONTINENT ? it->continent
                    : key == EK_HOLD_COUNTRY   ? it->country
                                               : it->region;

    return v != NULL ? v : "none";
}

/* Which hold-out of SR catches region K of R (-1: the sea), or -1. */
static int held_by(const ek_split_recipe *sr, const ek_regions *r, int k)
{
    size_t h, v;

    for (h = 0; h < sr->nhold_out; h++) {
        const char *value = region_value(r, k, sr->hold_out[h].key);

        for (v = 0; v < sr->hold_out[h].nvalues; v++) {
            if (strcasecmp(value, sr->hold_out[h].values[v]) == 0) {
                return (int)h;
            }
        }
    }
    return -1;
}

/* *BY (newly allocated, one per region and one for the sea) for hold_out;
   an error without a region layer. */
static int regions_ready(eodkit_ctx *ctx, const ek_plan *p, const ek_split_inputs *in,
                         int **by)
{
    char where[512];

    if (in->regions == NULL) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: 'method: regions' needs a region layer (the built-in world layer "
            "is not installed; give one with --regions)",
            ek_recipe_where(p->recipe, p->recipe->split.mark, where, sizeof where));
    }
    *by = ek_calloc(ctx, in->regions->n + 1, sizeof **by);
    return *by == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* BY[k]: the hold-out that catches region k (BY[n]: the sea), or -1;
   HELD[k]: the hold-out split of each candidate chip (by its tag), or -1.
   Every hold-out must catch chips. */
static int hold_out(eodkit_ctx *ctx, const ek_plan *p, const ek_split_inputs *in,
                    int *held, int *by)
{
    static const char *const key_words[] = {"continent", "country", "region"};
    const ek_split_recipe *sr = &p->recipe->split;
    size_t *caught = ek_calloc(ctx, sr->nhold_out + 1, sizeof *caught);
    size_t c, h, k, n = in->regions->n;
    char where[512];
    int rc = EODKIT_OK;

    if (caught == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k <= n; k++) {
        by[k] = held_by(sr, in->regions, k < n ? (int)k : -1);
    }
    for (c = 0; c < p->ncandidates; c++) {
        int tag = in->region_tags->region[c];
        int hit = by[tag >= 0 ? (size_t)tag : n];

        held[c] = -1;
        if (hit >= 0) {
            held[c] = sr->hold_out[hit].split;
            caught[hit]++;
        }
    }
    for (h = 0; h < sr->nhold_out && rc == EODKIT_OK; h++) {
        if (caught[h] == 0) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: split.hold_out.%s: no chip lies in %s %s%s (tags come from %s)",
                ek_recipe_where(p->recipe, sr->hold_out[h].mark, where, sizeof where),
                sr->names[sr->hold_out[h].split], key_words[sr->hold_out[h].key],
                sr->hold_out[h].values[0], sr->hold_out[h].nvalues > 1 ? ", ..." : "",
                in->regions->path);
        }
    }
    free(caught);
    return rc;
}

/* Drop every chip that meets, or comes within regions.margin of, a held-out
   region of another split than its own (BY: see hold_out): no pixel of a
   held-out place is in another split, even where the layer's border is a
   little off. */
static void drop_hold_out_borders(const ek_plan *p, const ek_split_inputs *in,
                                  const int *by, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    const ek_region_tags *t = in->region_tags;
    size_t k, j;

    s->hold_out_margin = t->margin;
    for (k = 0; k < p->ncandidates; k++) {
        for (j = t->near_first[k]; j < t->near_first[k + 1] && s->chip_split[k] >= 0;
             j++) {
            int h = by[t->near[j]];

            if (h >= 0 && sr->hold_out[h].split != s->chip_split[k]) {
                s->chip_split[k] = EK_CHIP_GUARD;
                s->guard_dropped++;
                s->border_dropped++;
            }
        }
    }
}

/* The latest acquisition among the files of time modalities that meet chip
   ID; 0 when none has a time. */
static int chip_time(const ek_plan *p, size_t id, int64_t *t)
{
    ek_chip c = ek_plan_chip(p, id);
    size_t m, i;
    int found = 0;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];

        for (i = 0; mod->recipe->time.mode != EK_TIME_NONE && i < mod->nsources; i++) {
            const ek_placement *pl = ek_plan_placement(mod, c.grid, i);

            if (pl->gx1 > c.window.x && pl->gx0 < c.window.x + c.window.w &&
                pl->gy1 > c.window.y && pl->gy0 < c.window.y + c.window.h &&
                (!found || mod->sources[i].time > *t)) {
                *t = mod->sources[i].time;
                found = 1;
            }
        }
    }
    return found;
}

/* method time: each chip goes to the period its latest acquisition falls
   in; chips before the first period are in no split. */
static int split_by_time(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t *count = ek_calloc(ctx, sr->nsplits, sizeof *count);
    int64_t first = INT64_MAX, last = INT64_MIN, t = 0;
    size_t c, k;
    char where[512], a[32], b[32], start[32];
    int rc = EODKIT_OK, any = 0;

    if (count == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (c = 0; c < p->ncandidates; c++) {
        s->chip_block[c] = -1;
        s->chip_split[c] = EK_CHIP_SKIP;
        if (!chip_time(p, p->chips[c], &t)) {
            continue;
        }
        any = 1;
        first = t < first ? t : first;
        last = t > last ? t : last;
        for (k = sr->nsplits; k-- > 0;) {
            if (t >= sr->period_start[k]) {
                s->chip_split[c] = (int8_t)k;
                count[k]++;
                break;
            }
        }
    }
    ek_recipe_where(p->recipe, sr->periods_mark, where, sizeof where);
    if (!any) {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: split.periods: 'method: time' needs a modality with 'time' (its "
            "acquisition dates)",
            where);
    }
    for (k = 0; rc == EODKIT_OK && k < sr->nsplits; k++) {
        if (count[k] == 0) {
            ek_time_format(first, a, sizeof a);
            ek_time_format(last, b, sizeof b);
            ek_time_format(sr->period_start[k], start, sizeof start);
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: split.periods.%s: no chip falls in the period from %s (the "
                "acquisitions span %s to %s)",
                where, sr->names[k], start, a, b);
        }
    }
    free(count);
    return rc;
}

/* Class-share deviation of the final splits (stratify), checked against the
   tolerance. */
static int check_strata(eodkit_ctx *ctx, const ek_plan *p, ek_split *s,
                        const ek_split_inputs *in, const int *held)
{
    const ek_split_recipe *sr = &p->recipe->split;
    strata st;
    size_t k;
    char where[512];
    int c, rc;

    memset(&st, 0, sizeof st);
    rc = build_strata(ctx, p, s, in, held, &st);
    for (k = 0; rc == EODKIT_OK && k < p->ncandidates; k++) {
        if (s->chip_split[k] < 0 || held[k] >= 0) {
            continue;
        }
        for (c = 0; c < in->nclasses; c++) {
            st.split[(size_t)s->chip_split[k] * (size_t)in->nclasses + (size_t)c] +=
                in->chip_classes[k * (size_t)in->nclasses + (size_t)c];
        }
    }
    if (rc == EODKIT_OK) {
        s->class_deviation = class_deviation(&st);
        if (s->class_deviation > sr->tolerance) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: split.stratify: the best assignment of blocks found leaves a "
                "class share %.3f away from the whole after the guard band "
                "(tolerance %.3f); try another block_size, a smaller buffer or a "
                "larger tolerance",
                ek_recipe_where(p->recipe, sr->mark, where, sizeof where),
                s->class_deviation, sr->tolerance);
        }
    }
    free_strata(&st);
    return rc;
}

int ek_split_make(eodkit_ctx *ctx, const ek_plan *p, const ek_split_inputs *in,
                  ek_split **out)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t nchips = p->ncandidates + 1, k;
    ek_split *s;
    int8_t *assigned = NULL;
    int *held = NULL, *by = NULL;
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
    held = ek_calloc(ctx, nchips, sizeof *held);
    if (s->chip_split == NULL || s->chip_block == NULL || held == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    if (sr->method == EK_SPLIT_RANDOM) {
        memset(s->chip_block, 0xff, nchips * sizeof *s->chip_block);
        rc = split_random(ctx, p, s);
        goto out;
    }
    if (sr->method == EK_SPLIT_TIME) {
        rc = split_by_time(ctx, p, s);
        goto out;
    }
    for (k = 0; k < nchips; k++) {
        held[k] = -1;
    }
    rc = find_blocks(ctx, p, s);
    if (rc == EODKIT_OK && sr->method == EK_SPLIT_REGIONS) {
        rc = regions_ready(ctx, p, in, &by);
    }
    if (rc == EODKIT_OK && sr->method == EK_SPLIT_REGIONS) {
        rc = hold_out(ctx, p, in, held, by);
    }
    if (rc == EODKIT_OK) {
        rc = assign_blocks(ctx, p, s, in, held);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    if (sr->method == EK_SPLIT_REGIONS) {
        drop_hold_out_borders(p, in, by, s);
    }
    /* at most EK_MAX_BUFFER x 16384 pixels: an int holds it */
    s->guard_x = (int)ceil(sr->buffer * p->chip_w - 1e-9);
    s->guard_y = (int)ceil(sr->buffer * p->chip_h - 1e-9);
    assigned = ek_calloc(ctx, nchips, sizeof *assigned);
    if (assigned == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    memcpy(assigned, s->chip_split, nchips * sizeof *assigned);
    rc = drop_guard_in_grids(ctx, p, s, assigned);
    if (rc == EODKIT_OK && p->ngrids > 1) {
        rc = drop_guard_across_grids(ctx, p, s, assigned);
    }
    if (rc == EODKIT_OK && sr->stratify) {
        rc = check_strata(ctx, p, s, in, held);
    }
out:
    free(by);
    free(assigned);
    free(held);
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
    free(s->block_grid);
    free(s->block_x);
    free(s->block_y);
    free(s->block_split);
    free(s);
}
