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
    size_t nchips = p->nchips, id, n = 0;
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
    int64_t grid, x, y;
    size_t chip; /* a chip of the block, to recover its index */
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

/* Block of every candidate chip (by its centre, in its grid's CRS) and the
   split of every block. */
static int assign_blocks(eodkit_ctx *ctx, const ek_plan *p, ek_split *s)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t id, n = 0, b;
    block_key *keys = ek_calloc(ctx, p->ncandidates, sizeof *keys);
    size_t *order = NULL;
    uint64_t state = sr->seed;
    int rc = EODKIT_OK;

    if (keys == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (id = 0; id < p->nchips; id++) {
        ek_chip c = ek_plan_chip(p, id);
        const ek_grid *g = &p->grids[c.grid];
        double cx = g->gt[0] + (c.window.x + c.window.w / 2.0) * g->gt[1];
        double cy = g->gt[3] + (c.window.y + c.window.h / 2.0) * g->gt[5];

        s->chip_block[id] = -1;
        if (p->candidate[id]) {
            keys[n].grid = (int64_t)c.grid;
            keys[n].x = (int64_t)floor(cx / sr->block_size);
            keys[n].y = (int64_t)floor(cy / sr->block_size);
            keys[n].chip = id;
            n++;
        }
    }
    qsort(keys, n, sizeof *keys, compare_key);
    for (b = 0; b < n; b++) {
        s->nblocks += b == 0 || !same_block(&keys[b], &keys[b - 1]);
    }
    s->block_grid = ek_calloc(ctx, s->nblocks, sizeof *s->block_grid);
    s->block_x = ek_calloc(ctx, s->nblocks, sizeof *s->block_x);
    s->block_y = ek_calloc(ctx, s->nblocks, sizeof *s->block_y);
    s->block_split = ek_calloc(ctx, s->nblocks, sizeof *s->block_split);
    order = ek_calloc(ctx, s->nblocks, sizeof *order);
    if (s->block_grid == NULL || s->block_x == NULL || s->block_y == NULL ||
        s->block_split == NULL || order == NULL) {
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
        s->chip_block[keys[b].chip] = (int32_t)(s->nblocks - 1);
    }
    for (b = 0; b < s->nblocks; b++) {
        order[b] = b;
    }
    ek_rand_shuffle(order, s->nblocks, &state);
    deal(sr, order, s->nblocks, s->block_split);
    for (id = 0; id < p->nchips; id++) {
        s->chip_split[id] =
            p->candidate[id] ? (int8_t)s->block_split[s->chip_block[id]] : EK_CHIP_SKIP;
    }
out:
    free(keys);
    free(order);
    return rc;
}

/* Drop chips of grid G that come within the guard band of a chip of a later
   split on the same grid. */
static void drop_guard_in_grid(const ek_plan *p, size_t gi, ek_split *s,
                               const int8_t *assigned)
{
    const ek_grid *g = &p->grids[gi];
    int di_max = (s->guard_x + p->chip_w + p->stride_x - 1) / p->stride_x;
    int dj_max = (s->guard_y + p->chip_h + p->stride_y - 1) / p->stride_y;
    int i, j;

    for (j = 0; j < g->ny; j++) {
        for (i = 0; i < g->nx; i++) {
            size_t id = g->first_chip + (size_t)j * (size_t)g->nx + (size_t)i;
            int own = assigned[id], di, dj, conflict = 0;

            if (own < 0) {
                continue;
            }
            for (dj = -dj_max; dj <= dj_max && !conflict; dj++) {
                for (di = -di_max; di <= di_max && !conflict; di++) {
                    int ni = i + di, nj = j + dj, other;
                    int sep_x = abs(di) * p->stride_x - p->chip_w;
                    int sep_y = abs(dj) * p->stride_y - p->chip_h;

                    if (ni < 0 || nj < 0 || ni >= g->nx || nj >= g->ny) {
                        continue;
                    }
                    other = assigned[g->first_chip + (size_t)nj * (size_t)g->nx +
                                     (size_t)ni];
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

typedef struct footprint {
    size_t id;
    double west, south, east, north; /* lon/lat bounds */
} footprint;

/* Lon/lat bounds of every candidate chip of grid G lying within MARGIN
   metres of the grid's zone edges (where chips of the next zone begin). */
static int edge_footprints(eodkit_ctx *ctx, const ek_plan *p, size_t gi, double margin,
                           footprint **out, size_t *n)
{
    const ek_grid *g = &p->grids[gi];
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(NULL);
    OGRCoordinateTransformationH ct;
    double zone_west = -180.0 + 6.0 * (abs(g->utm_zone) - 1),
           zone_east = zone_west + 6.0;
    size_t cap = 0, k;
    int rc = EODKIT_OK;

    *out = NULL;
    *n = 0;
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation(g->srs, wgs84);
    OSRRelease(wgs84);
    if (ct == NULL) {
        return ek_error_gdal(ctx, "the grid CRS cannot be transformed to lon/lat");
    }
    for (k = 0; k < (size_t)g->nx * (size_t)g->ny && rc == EODKIT_OK; k++) {
        size_t id = g->first_chip + k;
        ek_chip c = ek_plan_chip(p, id);
        double xs[4], ys[4], zs[4] = {0, 0, 0, 0}, pad;
        footprint f;
        int q;

        if (!p->candidate[id]) {
            continue;
        }
        for (q = 0; q < 4; q++) {
            xs[q] = g->gt[0] + (c.window.x + ((q & 1) ? c.window.w : 0)) * g->gt[1];
            ys[q] = g->gt[3] + (c.window.y + ((q & 2) ? c.window.h : 0)) * g->gt[5];
        }
        if (!OCTTransform(ct, 4, xs, ys, zs)) {
            continue;
        }
        f.id = id;
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
                int own = assigned[fa->id];
                double mx = 111320.0 * cos(fabs(fa->north) * M_PI / 180.0);

                if (own < 0 || s->chip_split[fa->id] == EK_CHIP_GUARD) {
                    continue;
                }
                for (j = 0; j < counts[b]; j++) {
                    const footprint *fb = &edges[b][j];

                    if (assigned[fb->id] > own &&
                        gap_metres(fa->west, fa->east, fb->west, fb->east, mx) <= gx &&
                        gap_metres(fa->south, fa->north, fb->south, fb->north,
                                   110540.0) <= gy) {
                        s->chip_split[fa->id] = EK_CHIP_GUARD;
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

int ek_split_make(eodkit_ctx *ctx, const ek_plan *p, ek_split **out)
{
    const ek_split_recipe *sr = &p->recipe->split;
    size_t nchips = p->nchips, g;
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
    s->guard_x = (int)ceil(sr->buffer * p->chip_w - 1e-9);
    s->guard_y = (int)ceil(sr->buffer * p->chip_h - 1e-9);
    assigned = ek_calloc(ctx, nchips, sizeof *assigned);
    if (assigned == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    memcpy(assigned, s->chip_split, nchips * sizeof *assigned);
    for (g = 0; g < p->ngrids; g++) {
        drop_guard_in_grid(p, g, s, assigned);
    }
    if (p->ngrids > 1) {
        rc = drop_guard_across_grids(ctx, p, s, assigned);
    }
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
    free(s->block_grid);
    free(s->block_x);
    free(s->block_y);
    free(s->block_split);
    free(s);
}
