/*
** Unit tests of sampling's arithmetic: the quotas of max_per_group and of a
** total shared in proportion or evenly (caps, redistribution, whole chips
** by largest remainder and the documented ties), the draws, compaction.
** The counts of real builds are checked in tests/integration/test_sample.py.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
