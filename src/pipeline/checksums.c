/*
** Pipeline: the input checksums of provenance.json. Hashing reads every input
** whole, start to end; with two or more worker threads it runs on a thread
** of its own beside the work units, so that it no longer holds up the end of
** the build; with one (-j 1: one core) it runs when the checksums are needed.
*/
#include <stdlib.h>
#include <string.h>

#include "ek_pipeline.h"

static void *checksums_main(void *arg)
{
    ek_checksums *c = arg;

    ek_gdal_capture_begin(&c->ctx);
    c->status = ek_provenance_inputs(&c->ctx, c->b->recipe, c->b->plan, c->b->regions,
                                     &c->stop, &c->inputs);
    ek_gdal_capture_end();
    return NULL;
}

int ek_checksums_start(eodkit_ctx *ctx, const ek_build *b, int threads, ek_checksums *c)
{
    memset(c, 0, sizeof *c);
    c->b = b;
    atomic_init(&c->stop, 0);
    if (threads < 2) {
        return EODKIT_OK;
    }
    if (pthread_create(&c->thread, NULL, checksums_main, c) != 0) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL,
                        "cannot start the thread hashing the inputs");
    }
    c->running = 1;
    return EODKIT_OK;
}

int ek_checksums_wait(eodkit_ctx *ctx, ek_checksums *c, json_t **inputs)
{
    if (c->running) {
        pthread_join(c->thread, NULL);
        c->running = 0;
    } else if (c->inputs == NULL && c->status == EODKIT_OK) {
        checksums_main(c);
    }
    *inputs = c->inputs;
    return c->status == EODKIT_OK ? EODKIT_OK : ek_error_copy(ctx, &c->ctx);
}

void ek_checksums_clear(ek_checksums *c)
{
    if (c->running) {
        atomic_store(&c->stop, 1);
        pthread_join(c->thread, NULL);
        c->running = 0;
    }
    json_decref(c->inputs);
    c->inputs = NULL;
}
