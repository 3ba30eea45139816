/*
** Unit tests of the split stage on synthetic chip lattices: ratio dealing,
** block assignment, the guard band checked pair by pair, and splits that
** do not depend on the order the plan lists its candidates in.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "split/ek_split.h"

static void counts_use_largest_remainder(void **state)
{
    const double r[3] = {0.8, 0.1, 0.1};
    const double thirds[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    size_t c[3];

    (void)state;
    ek_split_counts(r, 3, 9, c);
    assert_int_equal(c[0], 7);
    assert_int_equal(c[1], 1);
    assert_int_equal(c[2], 1);
    ek_split_counts(r, 3, 10, c);
    assert_int_equal(c[0] + c[1] + c[2], 10);
    assert_int_equal(c[0], 8);
    ek_split_counts(thirds, 3, 10, c);
    assert_int_equal(c[0], 4); /* ties go to the first split */
    assert_int_equal(c[1], 3);
    ek_split_counts(r, 3, 0, c);
    assert_int_equal(c[0] + c[1] + c[2], 0);
}

typedef struct lattice {
    ek_recipe recipe;
    ek_plan plan;
    ek_grid grid;
    char *names[3];
    double ratios[3];
} lattice;

/* List every chip of L's 40 x 30 lattice but chip SKIP (none: -1) as a
   candidate, in work units of UNIT x UNIT chips, as the planner does:
   unit by unit, ascending ids within a unit. */
static void list_candidates(lattice *l, int unit, long skip)
{
    ek_plan *p = &l->plan;
    size_t n = 0, nunits = 0;
    int ux, uy, i, j;

    p->unit_chips = unit;
    l->grid.units_x = (l->grid.nx + unit - 1) / unit;
    l->grid.units_y = (l->grid.ny + unit - 1) / unit;
    p->chips = calloc(40 * 30, sizeof *p->chips);
    p->units = calloc(40 * 30 + 1, sizeof *p->units);
    for (uy = 0; uy < l->grid.units_y; uy++) {
        for (ux = 0; ux < l->grid.units_x; ux++) {
            p->units[nunits].key = (size_t)(uy * l->grid.units_x + ux);
            p->units[nunits].first = n;
            for (j = uy * unit; j < (uy + 1) * unit && j < l->grid.ny; j++) {
                for (i = ux * unit; i < (ux + 1) * unit && i < l->grid.nx; i++) {
                    if (j * 40 + i != skip) {
                        p->chips[n++] = (size_t)(j * 40 + i);
                    }
                }
            }
            nunits += p->units[nunits].first < n;
        }
    }
    p->units[nunits].first = n;
    p->nunits = nunits;
    p->ncandidates = n;
}

static void free_lattice(lattice *l)
{
    free(l->plan.chips);
    free(l->plan.units);
}

/* A 40 x 30 lattice of CHIP-pixel chips every STRIDE pixels, 1 m pixels,
   every chip a candidate, in one work unit (candidate index = chip id). */
static void make_lattice(lattice *l, int chip, int stride, ek_split_method method,
                         double block, double buffer, uint64_t seed)
{
    memset(l, 0, sizeof *l);
    l->names[0] = "train", l->names[1] = "val", l->names[2] = "test";
    l->ratios[0] = 0.6, l->ratios[1] = 0.2, l->ratios[2] = 0.2;
    l->recipe.split.method = method;
    l->recipe.split.names = l->names;
    l->recipe.split.ratios = l->ratios;
    l->recipe.split.nsplits = 3;
    l->recipe.split.seed = seed;
    l->recipe.split.block_size = block;
    l->recipe.split.buffer = buffer;
    l->grid.gt[0] = 1000, l->grid.gt[1] = 1, l->grid.gt[3] = 5000, l->grid.gt[5] = -1;
    l->grid.nx = 40;
    l->grid.ny = 30;
    l->plan.recipe = &l->recipe;
    l->plan.grids = &l->grid;
    l->plan.ngrids = 1;
    l->plan.chip_w = l->plan.chip_h = chip;
    l->plan.stride_x = l->plan.stride_y = stride;
    l->plan.nchips = 40 * 30;
    list_candidates(l, 40, -1);
}

static const ek_split_inputs none = {NULL, NULL, NULL, 0};

/* Chebyshev gap between chips A and B: <0 overlap, 0 touching. */
static int gap(const ek_plan *p, size_t a, size_t b)
{
    ek_window wa = ek_plan_chip(p, a).window, wb = ek_plan_chip(p, b).window;
    int gx = abs(wa.x - wb.x) - wa.w, gy = abs(wa.y - wb.y) - wa.h;

    return gx > gy ? gx : gy;
}

static void check_guard(int chip, int stride, double buffer)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    lattice l;
    ek_split *s = NULL;
    size_t a, b, n = 40 * 30, kept[3] = {0, 0, 0};
    int guard = (int)(buffer * chip + 0.999);

    make_lattice(&l, chip, stride, EK_SPLIT_BLOCKS, 5.0 * chip, buffer, 11);
    assert_int_equal(ek_split_make(ctx, &l.plan, &none, &s), EODKIT_OK);
    assert_true(s->nblocks > 10);
    for (a = 0; a < n; a++) {
        int sa = s->chip_split[a], conflict = 0;

        if (sa >= 0) {
            kept[sa]++;
        }
        for (b = 0; b < n; b++) {
            int sb = s->chip_split[b];

            /* kept chips of different splits stay apart by the guard */
            if (sa >= 0 && sb >= 0 && sa != sb) {
                assert_true(gap(&l.plan, a, b) >= (guard > 0 ? guard : 0));
            }
            /* a dropped chip had a reason: a later split within the guard */
            if (sa == EK_CHIP_GUARD) {
                int assigned = s->block_split[s->chip_block[b]];
                int own = s->block_split[s->chip_block[a]];

                conflict |=
                    assigned > own && gap(&l.plan, a, b) < (guard > 0 ? guard : 0);
            }
        }
        if (sa == EK_CHIP_GUARD) {
            assert_true(conflict);
        }
    }
    /* evaluation splits are never thinned: only train gives way entirely */
    assert_true(kept[0] > 0 && kept[1] > 0 && kept[2] > 0);
    ek_split_free(s);
    free_lattice(&l);
    eodkit_ctx_free(ctx);
}

static void guard_band_holds(void **state)
{
    (void)state;
    check_guard(8, 8, 1);
    check_guard(8, 4, 1);
    check_guard(8, 4, 0);
    check_guard(8, 8, 2.5);
    check_guard(8, 4, 1.5);
    check_guard(4, 2, 2); /* neighbours up to 5 chips away */
    check_guard(8, 4, 0.25);
}

static void test_split_is_never_thinned(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    lattice l;
    ek_split *s = NULL;
    size_t id, n = 40 * 30;

    (void)state;
    make_lattice(&l, 8, 8, EK_SPLIT_BLOCKS, 40, 1, 3);
    assert_int_equal(ek_split_make(ctx, &l.plan, &none, &s), EODKIT_OK);
    for (id = 0; id < n; id++) {
        if (s->block_split[s->chip_block[id]] == 2) {
            assert_int_equal(s->chip_split[id], 2);
        }
    }
    ek_split_free(s);
    free_lattice(&l);
    eodkit_ctx_free(ctx);
}

static void random_split_is_seeded(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    lattice a, b, c;
    ek_split *sa = NULL, *sb = NULL, *sc = NULL;
    size_t id, n = 40 * 30, counts[3] = {0, 0, 0};

    (void)state;
    make_lattice(&a, 8, 8, EK_SPLIT_RANDOM, 0, 0, 42);
    make_lattice(&b, 8, 8, EK_SPLIT_RANDOM, 0, 0, 42);
    make_lattice(&c, 8, 8, EK_SPLIT_RANDOM, 0, 0, 43);
    free_lattice(&a); /* chip 0 is outside the AOI */
    list_candidates(&a, 40, 0);
    free_lattice(&b);
    list_candidates(&b, 40, 0);
    free_lattice(&c);
    list_candidates(&c, 40, 0);
    assert_int_equal(ek_split_make(ctx, &a.plan, &none, &sa), EODKIT_OK);
    assert_int_equal(ek_split_make(ctx, &b.plan, &none, &sb), EODKIT_OK);
    assert_int_equal(ek_split_make(ctx, &c.plan, &none, &sc), EODKIT_OK);
    assert_memory_equal(sa->chip_split, sb->chip_split, n - 1);
    assert_memory_not_equal(sa->chip_split, sc->chip_split, n - 1);
    for (id = 0; id < n - 1; id++) {
        counts[sa->chip_split[id]]++;
    }
    assert_int_equal(counts[0], 719); /* 0.6 x 1199 = 719.4 */
    assert_int_equal(counts[1], 240);
    assert_int_equal(counts[2], 240);
    ek_split_free(sa);
    ek_split_free(sb);
    ek_split_free(sc);
    free_lattice(&a);
    free_lattice(&b);
    free_lattice(&c);
    eodkit_ctx_free(ctx);
}

/* The split of every chip, by chip id, whatever order the plan lists the
   candidates in (one unit, or units of 7 x 7 chips): the same chips in
   the same splits, blocks and guard bands. */
static void check_order_free(ek_split_method method, int stride)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    lattice one, units;
    ek_split *so = NULL, *su = NULL;
    size_t k, id;

    make_lattice(&one, 8, stride, method, 40, 1, 5);
    make_lattice(&units, 8, stride, method, 40, 1, 5);
    free_lattice(&one);
    list_candidates(&one, 40, 77);
    free_lattice(&units);
    list_candidates(&units, 7, 77);
    assert_int_equal(ek_split_make(ctx, &one.plan, &none, &so), EODKIT_OK);
    assert_int_equal(ek_split_make(ctx, &units.plan, &none, &su), EODKIT_OK);
    assert_int_equal(so->guard_dropped, su->guard_dropped);
    assert_int_equal(so->nblocks, su->nblocks);
    assert_memory_not_equal(units.plan.chips, one.plan.chips,
                            units.plan.ncandidates * sizeof *units.plan.chips);
    assert_int_equal(ek_plan_find(&units.plan, 77), EK_NOT_CANDIDATE);
    for (k = 0; k < units.plan.ncandidates; k++) {
        id = units.plan.chips[k];
        assert_int_equal(ek_plan_find(&units.plan, id), k);
        assert_int_equal(ek_plan_find(&one.plan, id), id < 77 ? id : id - 1);
        assert_int_equal(su->chip_split[k],
                         so->chip_split[ek_plan_find(&one.plan, id)]);
        assert_int_equal(su->chip_block[k],
                         so->chip_block[ek_plan_find(&one.plan, id)]);
    }
    ek_split_free(so);
    ek_split_free(su);
    free_lattice(&one);
    free_lattice(&units);
    eodkit_ctx_free(ctx);
}

static void splits_follow_chip_ids_not_order(void **state)
{
    (void)state;
    check_order_free(EK_SPLIT_RANDOM, 8);
    check_order_free(EK_SPLIT_BLOCKS, 8);
    check_order_free(EK_SPLIT_BLOCKS, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_use_largest_remainder),
        cmocka_unit_test(guard_band_holds),
        cmocka_unit_test(test_split_is_never_thinned),
        cmocka_unit_test(random_split_is_seeded),
        cmocka_unit_test(splits_follow_chip_ids_not_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
