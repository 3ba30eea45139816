/*
** Core: the ordered worker pool. One mutex guards the hand-out counter and
** the result slots; workers never share anything else. The calling thread is
** the committer.
*/
#include <pthread.h>
#include <stdlib.h>

#include "ek_pool.h"

typedef struct slot {
    int done;
    int rc;
    void *result;
    eodkit_ctx err;
} slot;

typedef struct pool {
    const ek_pool_job *job;
    pthread_mutex_t lock;
    pthread_cond_t space; /* a unit may be handed out, or stop */
    pthread_cond_t ready; /* a slot was filled */
    size_t next_unit;     /* next unit to hand out */
    size_t committed;     /* units committed so far */
    size_t window;
    int stop;
    slot *slots;
} pool;

typedef struct worker {
    pool *p;
    int index;
} worker;

static int cancelled(const ek_pool_job *job)
{
    return job->cancel != NULL && *job->cancel;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    const ek_pool_job *job = p->job;
    eodkit_ctx ctx = {0};

    ek_gdal_capture_begin(&ctx);
    for (;;) {
        size_t unit;
        void *result = NULL;
        int rc;
        slot *s;

        pthread_mutex_lock(&p->lock);
        while (!p->stop && p->next_unit < job->units &&
               p->next_unit >= p->committed + p->window) {
            pthread_cond_wait(&p->space, &p->lock);
        }
        if (p->stop || p->next_unit >= job->units) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        unit = p->next_unit++;
        pthread_mutex_unlock(&p->lock);

        ek_error_clear(&ctx);
        rc = job->work(job->worker_state[w->index], &ctx, unit, &result);

        pthread_mutex_lock(&p->lock);
        s = &p->slots[unit % p->window];
        s->rc = rc;
        s->result = result;
        if (rc != EODKIT_OK) {
            ek_error_copy(&s->err, &ctx);
        }
        s->done = 1;
        pthread_cond_broadcast(&p->ready);
        pthread_mutex_unlock(&p->lock);
    }
    ek_gdal_capture_end();
    return NULL;
}

static int run_inline(eodkit_ctx *ctx, const ek_pool_job *job)
{
    size_t unit;

    for (unit = job->first; unit < job->units; unit++) {
        void *result = NULL;
        int rc;

        if (cancelled(job)) {
            return ek_error(ctx, EODKIT_ERR_CANCELLED, "interrupted");
        }
        rc = job->work(job->worker_state[0], ctx, unit, &result);
        if (rc == EODKIT_OK) {
            rc = job->commit(job->commit_state, ctx, unit, result);
        }
        job->discard(result);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    return EODKIT_OK;
}

/* Commit units in order until all are done, one fails or the job is
   cancelled. Workers never look at the cancel flag: the unit they are on
   finishes, and the committer stops at the next one. */
static int commit_in_order(eodkit_ctx *ctx, pool *p)
{
    const ek_pool_job *job = p->job;
    size_t unit;

    for (unit = job->first; unit < job->units; unit++) {
        slot *s = &p->slots[unit % p->window];
        slot taken;
        int rc;

        pthread_mutex_lock(&p->lock);
        while (!s->done) {
            pthread_cond_wait(&p->ready, &p->lock);
        }
        taken = *s;
        s->done = 0;
        s->result = NULL;
        pthread_mutex_unlock(&p->lock);

        if (taken.rc != EODKIT_OK) {
            rc = ek_error_copy(ctx, &taken.err);
        } else if (cancelled(job)) {
            rc = ek_error(ctx, EODKIT_ERR_CANCELLED, "interrupted");
        } else {
            rc = job->commit(job->commit_state, ctx, unit, taken.result);
        }
        job->discard(taken.result);
        if (rc != EODKIT_OK) {
            return rc;
        }
        pthread_mutex_lock(&p->lock);
        p->committed = unit + 1;
        pthread_cond_broadcast(&p->space);
        pthread_mutex_unlock(&p->lock);
    }
    return EODKIT_OK;
}

int ek_pool_run(eodkit_ctx *ctx, const ek_pool_job *job)
{
    int rc = EODKIT_OK;
    pool p = {0};
    worker *workers = NULL;
    pthread_t *tids = NULL;
    int started = 0;
    size_t i;

    if (job->threads <= 1 || job->units <= job->first + 1) {
        return run_inline(ctx, job);
    }
    p.job = job;
    p.next_unit = p.committed = job->first;
    p.window = 2 * (size_t)job->threads;
    p.slots = ek_calloc(ctx, p.window, sizeof *p.slots);
    workers = ek_calloc(ctx, (size_t)job->threads, sizeof *workers);
    tids = ek_calloc(ctx, (size_t)job->threads, sizeof *tids);
    if (p.slots == NULL || workers == NULL || tids == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.space, NULL);
    pthread_cond_init(&p.ready, NULL);
    for (started = 0; started < job->threads; started++) {
        workers[started].p = &p;
        workers[started].index = started;
        if (pthread_create(&tids[started], NULL, worker_main, &workers[started]) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_NOMEM, "cannot start worker thread %d",
                          started + 1);
            break;
        }
    }
    if (rc == EODKIT_OK) {
        rc = commit_in_order(ctx, &p);
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_cond_broadcast(&p.space);
    pthread_mutex_unlock(&p.lock);
    while (started > 0) {
        pthread_join(tids[--started], NULL);
    }
    for (i = 0; i < p.window; i++) {
        if (p.slots[i].done) {
            job->discard(p.slots[i].result);
        }
    }
    pthread_cond_destroy(&p.ready);
    pthread_cond_destroy(&p.space);
    pthread_mutex_destroy(&p.lock);
out:
    free(tids);
    free(workers);
    free(p.slots);
    return rc;
}
