/*
** Unit tests of sampling's arithmetic: the quotas of max_per_group and of a
** total shared in proportion or evenly (caps, redistribution, whole chips
** by largest remainder and the documented ties), the draws, compaction,
** and the plan shrunk to the chosen chips (on a lattice and on the Major
** TOM grid, real BigEarthNet patches). The counts of real builds are
** checked in tests/integration/test_sample.py.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gdal.h>

#include "sample/ek_sample.h"

/* The quotas of groups N (NG of them) under the settings given; compared
   with WANT. */
static void expect(long long max, long long total, ek_allocation allocation,
                   const size_t *n, size_t ng, const size_t *want)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_sample_recipe s;
    size_t quota[8], g;

    memset(&s, 0, sizeof s);
    s.max_per_group = max;
    s.total = total;
    s.allocation = allocation;
    assert_int_equal(ek_sample_quotas(ctx, &s, n, ng, quota), EODKIT_OK);
    for (g = 0; g < ng; g++) {
        if (quota[g] != want[g]) {
            fail_msg("group %zu: %zu chips, want %zu", g, quota[g], want[g]);
        }
    }
    eodkit_ctx_free(ctx);
}

static void max_per_group_caps_each_group(void **state)
{
    const size_t n[] = {5, 50, 3}, want[] = {5, 10, 3};

    (void)state;
    expect(10, 0, EK_ALLOCATION_PROPORTIONAL, n, 3, want);
}

static void a_total_beyond_the_chips_keeps_them_all(void **state)
{
    const size_t n[] = {5, 50, 3}, capped[] = {5, 10, 3};

    (void)state;
    expect(0, 58, EK_ALLOCATION_EQUAL, n, 3, n);
    expect(0, 1000, EK_ALLOCATION_PROPORTIONAL, n, 3, n);
    expect(10, 18, EK_ALLOCATION_PROPORTIONAL, n, 3, capped);
}

/* doc/recipe.md's example: 100 over 4, 16, 73, 484 is 4, 16, 40, 40. */
static void equal_shares_give_way_to_small_groups(void **state)
{
    const size_t n[] = {4, 16, 73, 484}, want[] = {4, 16, 40, 40};

    (void)state;
    expect(0, 100, EK_ALLOCATION_EQUAL, n, 4, want);
}

/* 10 over three groups: 3 each and one left over; equal remainders go to
   the group with more candidates, then the earlier one. */
static void leftover_chips_follow_the_documented_ties(void **state)
{
    const size_t more[] = {10, 20, 30}, to_last[] = {3, 3, 4};
    const size_t same[] = {10, 10, 10}, to_first[] = {4, 3, 3};

    (void)state;
    expect(0, 10, EK_ALLOCATION_EQUAL, more, 3, to_last);
    expect(0, 10, EK_ALLOCATION_EQUAL, same, 3, to_first);
}

/* Shares of 0.1, 0.1 and 9.8: the largest remainder takes the chip left. */
static void proportional_shares_round_by_largest_remainder(void **state)
{
    const size_t n[] = {1, 1, 98}, want[] = {0, 0, 10};
    const size_t n2[] = {30, 60, 10}, want2[] = {3, 6, 1};

    (void)state;
    expect(0, 10, EK_ALLOCATION_PROPORTIONAL, n, 3, want);
    expect(0, 10, EK_ALLOCATION_PROPORTIONAL, n2, 3, want2);
}

/* 60 over 100, 100, 10 capped at 25: shares 28.6, 28.6, 2.9 exceed the
   caps of the large groups, whose excess goes to the small one. */
static void capped_proportional_shares_go_to_the_others(void **state)
{
    const size_t n[] = {100, 100, 10}, want[] = {25, 25, 10};
    const size_t n2[] = {100, 100, 100}, want2[] = {20, 20, 20};

    (void)state;
    expect(25, 60, EK_ALLOCATION_PROPORTIONAL, n, 3, want);
    expect(25, 60, EK_ALLOCATION_PROPORTIONAL, n2, 3, want2);
}

static void draws_are_splitmix64_and_distinct(void **state)
{
    uint64_t seen[1000];
    size_t i, j;

    (void)state;
    /* splitmix64's first output from state 0 */
    assert_true(ek_sample_draw(0, 0) == 0xe220a8397b1dcdafULL);
    for (i = 0; i < 1000; i++) {
        seen[i] = ek_sample_draw(42, i * 7919);
        for (j = 0; j < i; j++) {
            assert_true(seen[j] != seen[i]);
        }
    }
    assert_true(ek_sample_draw(1, 5) != ek_sample_draw(2, 5));
}

static void compaction_keeps_order(void **state)
{
    int32_t a[] = {10, 11, 12, 13, 14};
    const uint8_t keep[] = {0, 1, 0, 1, 1};

    (void)state;
    assert_int_equal(ek_sample_compact(a, sizeof *a, keep, 5), 3);
    assert_int_equal(a[0], 11);
    assert_int_equal(a[1], 13);
    assert_int_equal(a[2], 14);
}

/* Plan GRID (a grid: mapping) over the BigEarthNet patches of the shared
   data, keep every third candidate and check that the plan still finds,
   windows and groups every kept chip as before, and none of the others. */
static void check_keep(const char *grid)
{
    const char *shared = getenv("EODKIT_SHARED_DATA");
    char dir[] = "/tmp/eodkit-sample-XXXXXX", path[512];
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *r = NULL;
    ek_plan *p = NULL;
    size_t *ids, n, k, u;
    uint8_t *keep;
    ek_window *windows;
    FILE *f;

    assert_non_null(shared);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/recipe.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "dataset: {name: keep}\ngrid: %s\nmodalities: [{name: s2, files: "
            "[\"%s/samples/bigearthnet/s2/*/*_B02.tif\"], resampling: nearest}]\n",
            grid, shared);
    fclose(f);
    GDALAllRegister();
    if (eodkit_recipe_load(ctx, path, &r) != EODKIT_OK ||
        ek_plan_make(ctx, r, &p) != EODKIT_OK) {
        fail_msg("%s", eodkit_ctx_message(ctx));
    }
    n = p->ncandidates;
    assert_true(n > 20);
    ids = calloc(n, sizeof *ids);
    keep = calloc(n, 1);
    windows = calloc(n, sizeof *windows);
    for (k = 0; k < n; k++) {
        ids[k] = p->chips[k];
        keep[k] = k % 3 == 0;
        windows[k] = ek_plan_chip(p, ids[k]).window;
    }
    ek_plan_keep(p, keep);
    assert_int_equal(p->ncandidates, (n + 2) / 3);
    for (k = 0; k < n; k++) {
        size_t at = ek_plan_find(p, ids[k]);
        ek_window w = ek_plan_chip(p, ids[k]).window;

        assert_true(memcmp(&w, &windows[k], sizeof w) == 0);
        if (keep[k]) {
            assert_int_equal(at, k / 3);
            assert_int_equal(p->chips[at], ids[k]);
        } else {
            assert_true(at == EK_NOT_CANDIDATE);
        }
    }
    for (u = 0; u < p->nunits; u++) {
        ek_window uw, cw;

        assert_true(p->units[u].first < p->units[u + 1].first); /* none empty */
        ek_plan_unit_window(p, u, &uw);
        for (k = p->units[u].first; k < p->units[u + 1].first; k++) {
            cw = ek_plan_chip(p, p->chips[k]).window;
            assert_true(cw.x >= uw.x && cw.y >= uw.y && cw.x + cw.w <= uw.x + uw.w &&
                        cw.y + cw.h <= uw.y + uw.h);
        }
    }
    assert_int_equal(p->units[p->nunits].first, p->ncandidates);
    free(ids);
    free(keep);
    free(windows);
    ek_plan_free(p);
    eodkit_recipe_free(r);
    eodkit_ctx_free(ctx);
    remove(path);
    rmdir(dir);
}

static void the_plan_keeps_the_chosen_chips(void **state)
{
    (void)state;
    check_keep("{crs: utm, resolution: 10, chip_size: 20}");
    check_keep("{system: majortom, spacing: 0.5, resolution: 10, chip_size: 50}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(max_per_group_caps_each_group),
        cmocka_unit_test(a_total_beyond_the_chips_keeps_them_all),
        cmocka_unit_test(equal_shares_give_way_to_small_groups),
        cmocka_unit_test(leftover_chips_follow_the_documented_ties),
        cmocka_unit_test(proportional_shares_round_by_largest_remainder),
        cmocka_unit_test(capped_proportional_shares_go_to_the_others),
        cmocka_unit_test(draws_are_splitmix64_and_distinct),
        cmocka_unit_test(compaction_keeps_order),
        cmocka_unit_test(the_plan_keeps_the_chosen_chips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
