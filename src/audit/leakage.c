/*
** Audit: split leakage, measured exactly on the chips' grid windows. Shared
** pixels come from a sweep over bands of rows inside which the set of chips
** does not change; the smallest distance between chips of different splits
** from a k-d tree over the windows whose one-split subtrees are skipped.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ek_audit.h"

/* ---- shared pixels: a sweep over row bands ---- */

typedef struct keyed {
    int64_t key;
    size_t item;
} keyed;

static int compare_keyed(const void *a, const void *b)
{
    const keyed *p = a, *q = b;

    if (p->key != q->key) {
        return p->key < q->key ? -1 : 1;
    }
    return (p->item > q->item) - (p->item < q->item);
}

/* One end of a chip's column interval inside a band. */
typedef struct edge {
    int64_t x;
    int32_t split;
    int32_t delta; /* +1 opens, -1 closes */
} edge;

static int compare_edge(const void *a, const void *b)
{
    const edge *p = a, *q = b;

    return (p->x > q->x) - (p->x < q->x);
}

typedef struct sweep {
    const ek_leak_rect *rects;
    size_t nsplits;
    size_t *active, nactive;
    size_t *where; /* per rect: its position in ACTIVE */
    edge *edges;
    int64_t *cover; /* per split: open intervals at the sweep position */
    size_t *covering;
} sweep;

/* Count pixels of the band of BAND_H rows where two or more splits' column
   intervals overlap, into L. */
static void sweep_band(sweep *s, int64_t band_h, ek_leakage *l)
{
    size_t ne = 0, k, i, j, present = 0, ncov;
    int32_t first = s->rects[s->active[0]].split;
    int mixed = 0;
    int64_t prev;

    for (k = 0; k < s->nactive; k++) {
        const ek_leak_rect *r = &s->rects[s->active[k]];

        mixed |= r->split != first;
        s->edges[ne++] = (edge){r->x, r->split, 1};
        s->edges[ne++] = (edge){r->x + r->w, r->split, -1};
    }
    if (!mixed) {
        return;
    }
    qsort(s->edges, ne, sizeof *s->edges, compare_edge);
    prev = s->edges[0].x;
    for (k = 0; k < ne;) {
        int64_t x = s->edges[k].x;

        if (present >= 2 && x > prev) {
            int64_t pixels = (x - prev) * band_h;

            l->shared_pixels += pixels;
            ncov = 0;
            for (i = 0; i < s->nsplits; i++) {
                if (s->cover[i] > 0) {
                    s->covering[ncov++] = i;
                }
            }
            for (i = 0; i < ncov; i++) {
                for (j = i + 1; j < ncov; j++) {
                    l->pair_pixels[s->covering[i] * s->nsplits + s->covering[j]] +=
                        pixels;
                }
            }
        }
        for (; k < ne && s->edges[k].x == x; k++) {
            int64_t *c = &s->cover[s->edges[k].split];

            present -= *c > 0;
            *c += s->edges[k].delta;
            present += *c > 0;
        }
        prev = x;
    }
}

static void activate(sweep *s, size_t item)
{
    s->where[item] = s->nactive;
    s->active[s->nactive++] = item;
}

static void deactivate(sweep *s, size_t item)
{
    size_t at = s->where[item], last = s->active[--s->nactive];

    s->active[at] = last;
    s->where[last] = at;
}

static int shared_pixels(eodkit_ctx *ctx, const ek_leak_rect *rects, size_t n,
                         ek_leakage *l)
{
    sweep s = {rects, l->nsplits, NULL, 0, NULL, NULL, NULL, NULL};
    keyed *tops = ek_calloc(ctx, n, sizeof *tops);
    keyed *bottoms = ek_calloc(ctx, n, sizeof *bottoms);
    size_t m = 0, t = 0, b = 0, i;
    int rc = EODKIT_OK;

    s.active = ek_calloc(ctx, n, sizeof *s.active);
    s.where = ek_calloc(ctx, n, sizeof *s.where);
    s.edges = ek_calloc(ctx, 2 * n, sizeof *s.edges);
    s.cover = ek_calloc(ctx, l->nsplits, sizeof *s.cover);
    s.covering = ek_calloc(ctx, l->nsplits, sizeof *s.covering);
    if (tops == NULL || bottoms == NULL || s.active == NULL || s.where == NULL ||
        s.edges == NULL || s.cover == NULL || s.covering == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (rects[i].w > 0 && rects[i].h > 0) {
            tops[m] = (keyed){rects[i].y, i};
            bottoms[m] = (keyed){rects[i].y + rects[i].h, i};
            m++;
        }
    }
    qsort(tops, m, sizeof *tops, compare_keyed);
    qsort(bottoms, m, sizeof *bottoms, compare_keyed);
    while (b < m) {
        /* Every top has a later bottom, so the next boundary is the smaller
           of the next top and the next bottom. */
        int64_t y =
            t < m && tops[t].key < bottoms[b].key ? tops[t].key : bottoms[b].key;
        int64_t next;

        for (; b < m && bottoms[b].key == y; b++) {
            deactivate(&s, bottoms[b].item);
        }
        for (; t < m && tops[t].key == y; t++) {
            activate(&s, tops[t].item);
        }
        if (b == m) {
            break;
        }
        next = t < m && tops[t].key < bottoms[b].key ? tops[t].key : bottoms[b].key;
        if (s.nactive >= 2) {
            sweep_band(&s, next - y, l);
        }
    }
out:
    free(tops);
    free(bottoms);
    free(s.active);
    free(s.where);
    free(s.edges);
    free(s.cover);
    free(s.covering);
    return rc;
}

/* ---- smallest distance: a k-d tree over the windows ---- */

#define KD_LEAF 8

typedef struct kd_node {
    int64_t x0, y0, x1, y1; /* bounds of its windows, end exclusive */
    size_t lo, hi;          /* its items: order[lo .. hi) */
    int32_t left, right;    /* children; -1 for a leaf */
    int32_t split;          /* the one split of its items, or -1 */
} kd_node;

typedef struct kd_tree {
    const ek_leak_rect *r;
    size_t *order;
    kd_node *nodes;
    size_t nnodes, cap;
} kd_tree;

/* Twice the centre of window I along AXIS (integers, no rounding). */
static int64_t centre2(const ek_leak_rect *r, size_t i, int axis)
{
    return axis == 0 ? 2 * r[i].x + r[i].w : 2 * r[i].y + r[i].h;
}

static void swap_items(size_t *a, size_t i, size_t j)
{
    size_t t = a[i];

    a[i] = a[j];
    a[j] = t;
}

/* Reorder A[LO .. HI) so that A[K] holds the item a sort by centre along
   AXIS would put there, smaller ones before and larger ones after
   (quickselect with three-way partitions: lattices repeat keys a lot). */
static void select_nth(const ek_leak_rect *r, size_t *a, size_t lo, size_t hi, size_t k,
                       int axis)
{
    while (hi - lo > 1) {
        int64_t p0 = centre2(r, a[lo], axis),
                p1 = centre2(r, a[lo + (hi - lo) / 2], axis);
        int64_t p2 = centre2(r, a[hi - 1], axis), pivot;
        size_t lt = lo, i = lo, gt = hi;

        /* median of three */
        pivot = p0 < p1 ? (p1 < p2 ? p1 : (p0 < p2 ? p2 : p0))
                        : (p0 < p2 ? p0 : (p1 < p2 ? p2 : p1));
        while (i < gt) {
            int64_t v = centre2(r, a[i], axis);

            if (v < pivot) {
                swap_items(a, lt++, i++);
            } else if (v > pivot) {
                swap_items(a, i, --gt);
            } else {
                i++;
            }
        }
        if (k < lt) {
            hi = lt;
        } else if (k >= gt) {
            lo = gt;
        } else {
            return;
        }
    }
}

/* Build the subtree over order[LO .. HI); return its node index, or -1
   when out of memory. */
static int32_t kd_build(eodkit_ctx *ctx, kd_tree *t, size_t lo, size_t hi)
{
    const ek_leak_rect *r = t->r;
    int64_t cx0 = INT64_MAX, cx1 = INT64_MIN, cy0 = INT64_MAX, cy1 = INT64_MIN;
    kd_node nd = {INT64_MAX, INT64_MAX, INT64_MIN,
                  INT64_MIN, lo,        hi,
                  -1,        -1,        r[t->order[lo]].split};
    size_t i, mid;
    int32_t self, left, right;

    for (i = lo; i < hi; i++) {
        const ek_leak_rect *q = &r[t->order[i]];
        int64_t cx = centre2(r, t->order[i], 0), cy = centre2(r, t->order[i], 1);

        nd.x0 = q->x < nd.x0 ? q->x : nd.x0;
        nd.y0 = q->y < nd.y0 ? q->y : nd.y0;
        nd.x1 = q->x + q->w > nd.x1 ? q->x + q->w : nd.x1;
        nd.y1 = q->y + q->h > nd.y1 ? q->y + q->h : nd.y1;
        cx0 = cx < cx0 ? cx : cx0;
        cx1 = cx > cx1 ? cx : cx1;
        cy0 = cy < cy0 ? cy : cy0;
        cy1 = cy > cy1 ? cy : cy1;
        if (q->split != nd.split) {
            nd.split = -1;
        }
    }
    if (ek_grow(ctx, (void **)&t->nodes, &t->cap, t->nnodes + 1, sizeof *t->nodes) !=
        EODKIT_OK) {
        return -1;
    }
    self = (int32_t)t->nnodes++;
    t->nodes[self] = nd;
    if (hi - lo <= KD_LEAF) {
        return self;
    }
    mid = lo + (hi - lo) / 2;
    select_nth(r, t->order, lo, hi, mid, cx1 - cx0 >= cy1 - cy0 ? 0 : 1);
    left = kd_build(ctx, t, lo, mid);
    right = left < 0 ? -1 : kd_build(ctx, t, mid, hi);
    if (right < 0) {
        return -1;
    }
    t->nodes[self].left = left;
    t->nodes[self].right = right;
    return self;
}

enum { METRIC_EUCLID, METRIC_CHEBYSHEV };

typedef struct search {
    const kd_tree *t;
    int metric;
    double wx, wy; /* scale of a column / row gap */
    double best;   /* squared for METRIC_EUCLID */
    size_t pair[2];
} search;

/* Gap in pixels between [A0, A1) and [B0, B1): 0 when they meet. */
static int64_t gap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t g = b0 - a1 > a0 - b1 ? b0 - a1 : a0 - b1;

    return g > 0 ? g : 0;
}

static double measure(const search *s, int64_t gx, int64_t gy)
{
    double dx = (double)gx * s->wx, dy = (double)gy * s->wy;

    if (s->metric == METRIC_CHEBYSHEV) {
        return dx > dy ? dx : dy;
    }
    return dx * dx + dy * dy;
}

static double to_node(const search *s, const ek_leak_rect *a, const kd_node *nd)
{
    return measure(s, gap(a->x, a->x + a->w, nd->x0, nd->x1),
                   gap(a->y, a->y + a->h, nd->y0, nd->y1));
}

static void query(search *s, size_t a, int32_t node)
{
    const kd_tree *t = s->t;
    const ek_leak_rect *ra = &t->r[a];
    const kd_node *nd = &t->nodes[node];
    size_t i;

    if (nd->split == ra->split || to_node(s, ra, nd) >= s->best) {
        return;
    }
    if (nd->left < 0) {
        for (i = nd->lo; i < nd->hi; i++) {
            const ek_leak_rect *rb = &t->r[t->order[i]];
            double d;

            if (rb->split == ra->split) {
                continue;
            }
            d = measure(s, gap(ra->x, ra->x + ra->w, rb->x, rb->x + rb->w),
                        gap(ra->y, ra->y + ra->h, rb->y, rb->y + rb->h));
            if (d < s->best) {
                s->best = d;
                s->pair[0] = a;
                s->pair[1] = t->order[i];
            }
        }
        return;
    }
    if (to_node(s, ra, &t->nodes[nd->left]) <= to_node(s, ra, &t->nodes[nd->right])) {
        query(s, a, nd->left);
        query(s, a, nd->right);
    } else {
        query(s, a, nd->right);
        query(s, a, nd->left);
    }
}

/* Smallest METRIC distance between windows of different splits. */
static search closest(const kd_tree *t, size_t n, int metric, double wx, double wy)
{
    search s = {t, metric, wx, wy, INFINITY, {0, 0}};
    size_t a;

    for (a = 0; a < n && s.best > 0; a++) {
        query(&s, a, 0);
    }
    return s;
}

int ek_leakage_compute(eodkit_ctx *ctx, const ek_leak_rect *rects, size_t n,
                       size_t nsplits, double res_x, double res_y, ek_leakage *l)
{
    kd_tree t = {rects, NULL, NULL, 0, 0};
    search s;
    size_t i;
    int rc = EODKIT_OK;

    memset(l, 0, sizeof *l);
    l->nsplits = nsplits;
    l->pair_pixels = ek_calloc(ctx, nsplits * nsplits, sizeof *l->pair_pixels);
    if (l->pair_pixels == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 1; i < n && !l->has_pairs; i++) {
        l->has_pairs = rects[i].split != rects[0].split;
    }
    if (!l->has_pairs) {
        return EODKIT_OK;
    }
    rc = shared_pixels(ctx, rects, n, l);
    t.order = rc == EODKIT_OK ? ek_calloc(ctx, n, sizeof *t.order) : NULL;
    if (t.order == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        t.order[i] = i;
    }
    if (kd_build(ctx, &t, 0, n) < 0) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    s = closest(&t, n, METRIC_EUCLID, 1, 1);
    l->min_distance_pixels = sqrt(s.best);
    l->closest[0] = s.pair[0] < s.pair[1] ? s.pair[0] : s.pair[1];
    l->closest[1] = s.pair[0] < s.pair[1] ? s.pair[1] : s.pair[0];
    l->min_distance_crs =
        sqrt(closest(&t, n, METRIC_EUCLID, fabs(res_x), fabs(res_y)).best);
    l->min_gap_pixels = (int64_t)closest(&t, n, METRIC_CHEBYSHEV, 1, 1).best;
out:
    free(t.order);
    free(t.nodes);
    if (rc != EODKIT_OK) {
        ek_leakage_clear(l);
    }
    return rc;
}

void ek_leakage_clear(ek_leakage *l)
{
    free(l->pair_pixels);
    l->pair_pixels = NULL;
}
