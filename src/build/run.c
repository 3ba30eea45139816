/*
** Build: running work units into a folder. Workers do units in parallel;
** the committer takes their results in unit order, appends the kept chips
** to the shards and their index rows to the journal, and now and then
** records a checkpoint. A run killed at any point can therefore be resumed
** from its last checkpoint (the files are cut back to it), and a build can
** be split into parts that each run a range of units (merge.c joins them).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
#include "core/ek_pool.h"
#include "ek_build.h"

const char *const ek_reject_names[EK_REJECT_COUNT] = {
    NULL, "nodata", "cloud", "unlabeled", "time", "objects", "mixed"};

/* A checkpoint costs a file write and rename (which makes ext4 start
   writing): at most one per this many seconds, and one when a run stops. */
#define CHECKPOINT_SECONDS 1.0

typedef struct committer {
    const ek_build *b;
    const eodkit_build_options *opt;
    ek_run *run;
    ek_journal *journal;
    char *checkpoint;      /* path */
    double saved;          /* when the last checkpoint was written */
    long long done, total; /* candidate chips, for progress */
} committer;

long long ek_run_candidates(const ek_plan *p, size_t first, size_t end)
{
    return (long long)(p->units[end].first - p->units[first].first);
}

void ek_run_part_units(const ek_plan *p, int i, int n, size_t *first, size_t *end)
{
    long long total = ek_run_candidates(p, 0, p->nunits), seen = 0;
    long long from = total * i / n, to = total * (i + 1) / n;
    size_t u;

    *first = *end = p->nunits;
    for (u = 0; u < p->nunits; u++) {
        if (seen >= from && *first == p->nunits) {
            *first = u;
        }
        if (seen >= to && i + 1 < n) {
            *end = u;
            break;
        }
        seen += ek_run_candidates(p, u, u + 1);
    }
    if (*end < *first) {
        *end = *first;
    }
}

/* ---- the checkpoint ---- */

json_t *ek_run_splits_json(const ek_build *b, const ek_run *run)
{
    json_t *o = json_object();
    size_t s;

    for (s = 0; s < b->split->nsplits; s++) {
        json_object_set_new(o, b->recipe->split.names[s],
                            json_integer(ek_shards_count(run->shards, (int)s)));
    }
    return o;
}

json_t *ek_run_rejected_json(const ek_run *run)
{
    json_t *o = json_object();
    int k;

    for (k = 1; k < EK_REJECT_COUNT; k++) {
        json_object_set_new(o, ek_reject_names[k],
                            json_integer((json_int_t)run->rejected[k]));
    }
    return o;
}

/* Write JSON object O (WHAT it is, for messages) to PATH: aside, then
   renamed over the old file, so that PATH is always whole. */
static int write_aside(eodkit_ctx *ctx, const json_t *o, const char *what,
                       const char *path)
{
    char *tmp = ek_asprintf(ctx, "%s.new", path);
    int rc = EODKIT_OK;

    if (tmp == NULL) {
        rc = EODKIT_ERR_NOMEM;
    } else if (json_dump_file(o, tmp, JSON_INDENT(2)) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot write the %s: %s", tmp, what,
                      strerror(errno));
    } else {
        rc = ek_fs_rename(ctx, tmp, path);
    }
    free(tmp);
    return rc;
}

/* Record how far RUN got (journal at JOURNAL_BYTES; COMPLETE when every
   unit is written and the shards are closed), so that a checkpoint is
   always whole. */
static int save_checkpoint(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                           int64_t journal_bytes, int complete, const char *path)
{
    json_t *o = json_object();
    int rc;

    json_object_set_new(o, "fingerprint", json_string(run->fingerprint));
    json_object_set_new(o, "first_unit", json_integer((json_int_t)run->first_unit));
    json_object_set_new(o, "end_unit", json_integer((json_int_t)run->end_unit));
    json_object_set_new(o, "next_unit", json_integer((json_int_t)run->next_unit));
    json_object_set_new(o, "kept", json_integer((json_int_t)run->kept));
    json_object_set_new(o, "rejected", ek_run_rejected_json(run));
    json_object_set_new(o, "rows", ek_run_splits_json(b, run));
    json_object_set_new(o, "journal_bytes", json_integer(journal_bytes));
    json_object_set_new(o, "complete", json_boolean(complete));
    rc = write_aside(ctx, o, "checkpoint", path);
    json_decref(o);
    return rc;
}

static json_int_t member_int(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

int ek_run_load_checkpoint(eodkit_ctx *ctx, const ek_build *b, const char *path,
                           ek_run *run, int64_t *rows, int64_t *journal_bytes,
                           int *complete)
{
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err), *rejected;
    const char *fingerprint;
    size_t s;
    int k, rc = EODKIT_OK;

    if (o == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s:%d:%d: unreadable checkpoint: %s", path,
                        err.line, err.column, err.text);
    }
    fingerprint = json_string_value(json_object_get(o, "fingerprint"));
    if (fingerprint == NULL || strcmp(fingerprint, run->fingerprint) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: was left by a build of another recipe or other inputs "
                      "(they changed since)",
                      path);
    } else if ((size_t)member_int(o, "first_unit") != run->first_unit ||
               (size_t)member_int(o, "end_unit") != run->end_unit) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: covers work units %lld-%lld, not %zu-%zu (another --part?)",
                      path, (long long)member_int(o, "first_unit"),
                      (long long)member_int(o, "end_unit"), run->first_unit,
                      run->end_unit);
    }
    if (rc == EODKIT_OK) {
        run->next_unit = (size_t)member_int(o, "next_unit");
        run->kept = (uint64_t)member_int(o, "kept");
        rejected = json_object_get(o, "rejected");
        for (k = 1; k < EK_REJECT_COUNT; k++) {
            run->rejected[k] = (uint64_t)member_int(rejected, ek_reject_names[k]);
        }
        for (s = 0; s < b->split->nsplits; s++) {
            rows[s] = member_int(json_object_get(o, "rows"), b->recipe->split.names[s]);
        }
        *journal_bytes = member_int(o, "journal_bytes");
        *complete = json_is_true(json_object_get(o, "complete"));
    }
    json_decref(o);
    return rc;
}

/* ---- completion markers (parts) ---- */

/* RUN's units as a JSON array [first, end]. */
static json_t *units_json(const ek_run *run)
{
    return json_pack("[I, I]", (json_int_t)run->first_unit, (json_int_t)run->end_unit);
}

int ek_run_mark_done(eodkit_ctx *ctx, const ek_run *run, json_t *summary)
{
    char *path = ek_path_join(ctx, run->dir, EK_DONE_FILE);
    json_t *o = json_object();
    int rc;

    json_object_set_new(o, "fingerprint", json_string(run->fingerprint));
    json_object_set_new(o, "units", units_json(run));
    json_object_set(o, "summary", summary);
    rc = path == NULL ? EODKIT_ERR_NOMEM
                      : write_aside(ctx, o, "part's completion marker", path);
    json_decref(o);
    free(path);
    return rc;
}

int ek_run_done(eodkit_ctx *ctx, const ek_run *run, json_t **summary)
{
    char *path = ek_path_join(ctx, run->dir, EK_DONE_FILE);
    json_t *o = path != NULL ? json_load_file(path, 0, NULL) : NULL;
    json_t *units = units_json(run);
    const char *fingerprint = json_string_value(json_object_get(o, "fingerprint"));
    int rc = path == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *summary = NULL;
    if (fingerprint != NULL && strcmp(fingerprint, run->fingerprint) == 0 &&
        json_equal(json_object_get(o, "units"), units) &&
        json_is_object(json_object_get(o, "summary"))) {
        *summary = json_incref(json_object_get(o, "summary"));
    }
    json_decref(units);
    json_decref(o);
    free(path);
    return rc;
}

/* ---- committing ---- */

/* Hand the chips committed so far to the operating system, then record
   them in the checkpoint (COMPLETE: the shards are closed). */
static int checkpoint(eodkit_ctx *ctx, committer *c, int complete)
{
    int rc = complete ? EODKIT_OK : ek_shards_flush(ctx, c->run->shards);

    if (rc == EODKIT_OK) {
        rc = ek_journal_flush(ctx, c->journal);
    }
    if (rc == EODKIT_OK) {
        rc = save_checkpoint(ctx, c->b, c->run, ek_journal_bytes(c->journal), complete,
                             c->checkpoint);
    }
    c->saved = ek_time_now();
    return rc;
}

static int commit_chip(eodkit_ctx *ctx, committer *c, const ek_unit_result *res,
                       size_t k)
{
    const ek_build *b = c->b;
    const ek_unit_chip *uc = &res->chips[k];
    const void *data[EK_MAX_ARRAYS];
    ek_index_row row;
    size_t a;
    int rc;

    for (a = 0; a < b->narrays; a++) {
        size_t slot = b->arrays[a].per_object ? uc->first_object : k;

        data[a] = res->data[a] + slot * b->arrays[a].chip_bytes;
    }
    memset(&row, 0, sizeof row);
    row.chip_id = (int64_t)uc->chip_id;
    row.split = uc->split;
    rc = ek_shards_append(ctx, c->run->shards, uc->split, data, uc->nobjects,
                          &row.shard, &row.row);
    if (rc != EODKIT_OK) {
        return rc;
    }
    row.nodata_frac = uc->nodata_frac;
    row.labeled_frac = uc->labeled_frac;
    row.cloud_frac = uc->cloud_frac;
    row.class_hist = uc->class_hist;
    row.label = uc->label;
    row.sources = uc->sources;
    row.present = uc->present;
    row.times = uc->times;
    row.objects = b->range_array >= 0 ? (int)uc->nobjects : -1;
    row.object_hist = uc->object_hist;
    row.earliest = uc->earliest;
    row.latest = uc->latest;
    return ek_journal_add(ctx, c->journal, &row);
}

static int commit_unit(void *state, eodkit_ctx *ctx, size_t u, void *result)
{
    committer *c = state;
    ek_run *run = c->run;
    ek_unit_result *res = result;
    size_t k;
    int rc = EODKIT_OK;

    for (k = 0; k < res->nchips && rc == EODKIT_OK; k++) {
        if (res->chips[k].reject != EK_KEEP) {
            run->rejected[res->chips[k].reject]++;
            continue;
        }
        rc = commit_chip(ctx, c, res, k);
        run->kept += rc == EODKIT_OK;
    }
    ek_crash_point("unit", (long)u);
    if (rc == EODKIT_OK) {
        run->next_unit = u + 1;
        if (ek_time_now() - c->saved >= CHECKPOINT_SECONDS) {
            rc = checkpoint(ctx, c, 0);
        }
    }
    c->done += (long long)res->candidates;
    if (rc == EODKIT_OK && c->opt->progress != NULL) {
        c->opt->progress(c->opt->progress_arg, c->done, c->total);
    }
    return rc;
}

int ek_unit_workers(const ek_build *b, const eodkit_build_options *opt)
{
    int threads = opt->threads < 1 ? 1 : opt->threads;

    return b->plan->nremote > 0 && opt->remote_workers > threads ? opt->remote_workers
                                                                 : threads;
}

/* Run the units from RUN->next_unit to the end on the pool. */
static int run_pool(eodkit_ctx *ctx, const ek_build *b, const eodkit_build_options *opt,
                    committer *c)
{
    size_t todo = c->run->end_unit - c->run->next_unit;
    int threads = ek_unit_workers(b, opt), i, rc = EODKIT_OK;
    ek_worker *workers;
    void **states;
    ek_pool_job job;

    if ((size_t)threads > todo) {
        threads = todo > 0 ? (int)todo : 1;
    }
    workers = ek_calloc(ctx, (size_t)threads, sizeof *workers);
    states = ek_calloc(ctx, (size_t)threads, sizeof *states);
    if (workers == NULL || states == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < threads && rc == EODKIT_OK; i++) {
        rc = ek_worker_init(ctx, b, &workers[i]);
        states[i] = &workers[i];
    }
    if (rc == EODKIT_OK) {
        memset(&job, 0, sizeof job);
        job.first = c->run->next_unit;
        job.units = c->run->end_unit;
        job.threads = threads;
        job.worker_state = states;
        job.work = ek_unit_run;
        job.commit = commit_unit;
        job.discard = ek_unit_result_free;
        job.commit_state = c;
        job.cancel = opt->cancel;
        rc = ek_pool_run(ctx, &job);
    }
    for (i = 0; workers != NULL && i < threads; i++) {
        ek_worker_clear(&workers[i]);
    }
    free(workers);
    free(states);
    return rc;
}

/* Open RUN's shards and journal: new ones, or those of checkpoint
   CHECKPOINT continued (RESUME and it exists). Sets *COMPLETE. */
static int open_outputs(eodkit_ctx *ctx, const ek_build *b, long long shard_bytes,
                        int resume, committer *c, const char *journal, int *complete)
{
    ek_run *run = c->run;
    int64_t *rows = ek_calloc(ctx, b->split->nsplits, sizeof *rows), journal_bytes = 0;
    int rc = rows == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *complete = 0;
    run->next_unit = run->first_unit;
    if (rc == EODKIT_OK && resume && ek_fs_exists(c->checkpoint)) {
        rc = ek_run_load_checkpoint(ctx, b, c->checkpoint, run, rows, &journal_bytes,
                                    complete);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_new(ctx, run->dir, b->arrays, b->narrays, b->recipe->split.names,
                           b->split->nsplits, shard_bytes, &run->shards);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_resume(ctx, run->shards, rows);
    }
    if (rc == EODKIT_OK) {
        rc = ek_journal_open(ctx, journal, journal_bytes, &c->journal);
    }
    free(rows);
    return rc;
}

int ek_run_units(eodkit_ctx *ctx, const ek_build *b, const eodkit_build_options *opt,
                 long long shard_bytes, int resume, ek_run *run)
{
    committer c;
    char *journal = ek_path_join(ctx, run->dir, EK_JOURNAL_FILE);
    int complete = 0, rc;

    memset(&c, 0, sizeof c);
    c.b = b;
    c.opt = opt;
    c.run = run;
    c.checkpoint = ek_path_join(ctx, run->dir, EK_CHECKPOINT_FILE);
    rc = journal == NULL || c.checkpoint == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    if (rc == EODKIT_OK) {
        rc = open_outputs(ctx, b, shard_bytes, resume, &c, journal, &complete);
        run->opened = rc == EODKIT_OK;
    }
    if (rc == EODKIT_OK && !complete) {
        c.total = ek_run_candidates(b->plan, run->first_unit, run->end_unit);
        c.done = ek_run_candidates(b->plan, run->first_unit, run->next_unit);
        rc = run_pool(ctx, b, opt, &c);
    }
    if (rc == EODKIT_ERR_CANCELLED) {
        checkpoint(ctx, &c, 0); /* keep every unit committed before Ctrl-C */
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_close(ctx, run->shards);
    }
    if (rc == EODKIT_OK) {
        rc = checkpoint(ctx, &c, 1);
    }
    if (c.journal != NULL) {
        eodkit_ctx quiet = {0};

        /* after a failure, closing may fail too (a full disk): the first
           failure is the one to report */
        if (rc == EODKIT_OK) {
            rc = ek_journal_close(ctx, c.journal);
        } else {
            ek_journal_close(&quiet, c.journal);
        }
    }
    free(journal);
    free(c.checkpoint);
    return rc;
}

void ek_run_clear(ek_run *run)
{
    ek_shards_free(run->shards);
    free(run->dir);
    memset(run, 0, sizeof *run);
}
