/*
** Core: a worker pool that runs numbered work units in parallel and hands
** their results to one committer strictly in unit order, so output never
** depends on scheduling (libvips' allocate/work/commit pattern).
*/
#ifndef EK_POOL_H
#define EK_POOL_H

#include <stddef.h>

#include "ek_ctx.h"

typedef struct ek_pool_job {
    size_t first; /* work units first .. units-1 */
    size_t units;
    int threads; /* worker threads; 1 runs every unit on the calling thread */
    /* Per-worker state, THREADS entries, owned by the caller; worker i only
       ever touches worker_state[i]. */
    void **worker_state;
    /* Do unit UNIT; put what to commit in *RESULT. Report failures in CTX
       (the worker's own context). Runs on a worker thread. */
    int (*work)(void *worker_state, eodkit_ctx *ctx, size_t unit, void **result);
    /* Commit RESULT of UNIT; called on the calling thread, in unit order. */
    int (*commit)(void *commit_state, eodkit_ctx *ctx, size_t unit, void *result);
    /* Free a result (committed or not). */
    void (*discard)(void *result);
    void *commit_state;
    /* Checked between units; nonzero stops the run with EODKIT_ERR_CANCELLED. */
    const volatile int *cancel;
} ek_pool_job;

/*
** Run JOB. Return EODKIT_OK when every unit was done and committed;
** otherwise the status of the first failing unit in unit order (its message
** copied into CTX), or EODKIT_ERR_CANCELLED. At most 2 x threads results
** wait for commit at any time, which bounds memory.
*/
int ek_pool_run(eodkit_ctx *ctx, const ek_pool_job *job);

#endif
