/*
** Unit tests of the worker pool: results are committed in unit order
** whatever the thread count and timing; the first failing unit in unit
** order is reported; cancellation stops cleanly.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/ek_pool.h"

#define UNITS 200

typedef struct run_state {
    size_t committed[UNITS];
    size_t ncommitted;
    size_t fail_at; /* units >= fail_at fail (UNITS: none) */
    volatile int cancel;
    size_t cancel_at;
} run_state;

static run_state *shared_state;

static int work(void *worker, eodkit_ctx *ctx, size_t unit, void **result)
{
    size_t *r = malloc(sizeof *r);
    struct timespec pause = {0, (long)((unit * 7919) % 5) * 100000};

    (void)worker;
    nanosleep(&pause, NULL); /* jumble finishing order */
    *r = unit * unit;
    *result = r;
    if (unit >= shared_state->fail_at) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "unit %zu failed", unit);
    }
    return EODKIT_OK;
}

static int commit(void *state, eodkit_ctx *ctx, size_t unit, void *result)
{
    run_state *s = state;

    (void)ctx;
    assert_int_equal(*(size_t *)result, unit * unit);
    s->committed[s->ncommitted++] = unit;
    if (unit == s->cancel_at) {
        s->cancel = 1;
    }
    return EODKIT_OK;
}

static int run_from(size_t first, int threads, run_state *s, eodkit_ctx *ctx)
{
    void *workers[8] = {0};
    ek_pool_job job;

    memset(&job, 0, sizeof job);
    job.first = first;
    job.units = UNITS;
    job.threads = threads;
    job.worker_state = workers;
    job.work = work;
    job.commit = commit;
    job.discard = free;
    job.commit_state = s;
    job.cancel = &s->cancel;
    shared_state = s;
    return ek_pool_run(ctx, &job);
}

static int run(int threads, run_state *s, eodkit_ctx *ctx)
{
    return run_from(0, threads, s, ctx);
}

static void commits_in_order(void **state)
{
    int threads;

    (void)state;
    for (threads = 1; threads <= 8; threads *= 2) {
        run_state s;
        eodkit_ctx *ctx = eodkit_ctx_new();
        size_t i;

        memset(&s, 0, sizeof s);
        s.fail_at = UNITS;
        s.cancel_at = UNITS;
        assert_int_equal(run(threads, &s, ctx), EODKIT_OK);
        assert_int_equal(s.ncommitted, UNITS);
        for (i = 0; i < UNITS; i++) {
            assert_int_equal(s.committed[i], i);
        }
        eodkit_ctx_free(ctx);
    }
}

/* A resumed run starts at a later unit and still commits in order. */
static void starts_at_the_first_unit(void **state)
{
    int threads;

    (void)state;
    for (threads = 1; threads <= 4; threads *= 2) {
        run_state s;
        eodkit_ctx *ctx = eodkit_ctx_new();
        size_t i;

        memset(&s, 0, sizeof s);
        s.fail_at = UNITS;
        s.cancel_at = UNITS;
        assert_int_equal(run_from(150, threads, &s, ctx), EODKIT_OK);
        assert_int_equal(s.ncommitted, UNITS - 150);
        for (i = 0; i < s.ncommitted; i++) {
            assert_int_equal(s.committed[i], 150 + i);
        }
        eodkit_ctx_free(ctx);
    }
}

static void first_failure_in_unit_order_wins(void **state)
{
    run_state s;
    eodkit_ctx *ctx = eodkit_ctx_new();

    (void)state;
    memset(&s, 0, sizeof s);
    s.fail_at = 57;
    s.cancel_at = UNITS;
    assert_int_equal(run(4, &s, ctx), EODKIT_ERR_INPUT);
    assert_string_equal(eodkit_ctx_message(ctx), "unit 57 failed");
    assert_int_equal(s.ncommitted, 57);
    eodkit_ctx_free(ctx);
}

static void cancel_stops_after_the_current_unit(void **state)
{
    run_state s;
    eodkit_ctx *ctx = eodkit_ctx_new();

    (void)state;
    memset(&s, 0, sizeof s);
    s.fail_at = UNITS;
    s.cancel_at = 20;
    assert_int_equal(run(3, &s, ctx), EODKIT_ERR_CANCELLED);
    assert_int_equal(s.ncommitted, 21);
    eodkit_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commits_in_order),
        cmocka_unit_test(starts_at_the_first_unit),
        cmocka_unit_test(first_failure_in_unit_order_wins),
        cmocka_unit_test(cancel_stops_after_the_current_unit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
