/*
** Pipeline: the public entry points. eodkit_build() locks <output>.partial/,
** sets the build up, runs every work unit into it (resuming a killed run
** when asked), finishes the dataset there and moves it into place; with
** --part it runs one part's units into <output>.parts/ instead, and
** eodkit_merge() joins the parts into the dataset. Which failures keep an
** unfinished build for --resume is decided here.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
#include "ek_pipeline.h"

/* A caller's hold on an output folder's lock: the partial folder it locks. */
struct eodkit_lock {
    ek_output out;
};

/* Part folders hold this file, so that only ours are ever removed. */
#define PARTS_MARK ".eodkit-parts"

/* A part folder that holds only this is empty. */
static const char *const lock_only[] = {EK_LOCK_FILE, NULL};

void eodkit_build_options_init(eodkit_build_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = 1;
}

static int threads_of(const eodkit_build_options *opt)
{
    return opt->threads < 1 ? 1 : opt->threads;
}

/* Remote inputs of B: how many, the workers that read them, and the
   retries this build needed (eodkit's re-reads, GDAL's HTTP retries). */
static json_t *remote_json(const ek_build *b, const eodkit_build_options *opt)
{
    ek_remote_counts now;

    ek_remote_counts_get(&now);
    return json_pack("{s:i, s:i, s:I, s:I}", "inputs", b->plan->nremote, "workers",
                     ek_unit_workers(b, opt), "read_retries",
                     (json_int_t)(now.read_retries - b->remote_start.read_retries),
                     "http_retries",
                     (json_int_t)(now.http_retries - b->remote_start.http_retries));
}

/* The summary of RUN for people and scripts (a new reference). PART (NULL
   for a dataset) names the part built; FINDINGS (may be NULL) are the
   audit's. */
static json_t *summary_json(const ek_build *b, const ek_run *run, const char *where,
                            const char *part, json_t *findings, double seconds,
                            const eodkit_build_options *opt)
{
    json_t *o = json_object(), *rejected = ek_run_rejected_json(run);

    json_object_set_new(rejected, "guard",
                        json_integer((json_int_t)b->split->guard_dropped));
    json_object_set_new(o, "dataset", json_string(where));
    if (part != NULL) {
        json_object_set_new(o, "part", json_string(part));
        json_object_set_new(o, "units",
                            json_pack("[I, I]", (json_int_t)run->first_unit,
                                      (json_int_t)run->end_unit));
    }
    json_object_set_new(o, "chips", json_integer((json_int_t)run->kept));
    json_object_set_new(o, "splits", ek_run_splits_json(b, run));
    json_object_set_new(
        o, "candidates",
        json_integer(ek_run_candidates(b->plan, run->first_unit, run->end_unit)));
    if (b->sample != NULL) {
        json_object_set_new(o, "sample",
                            json_pack("{s:s, s:I, s:I}", "by",
                                      ek_sample_by_names[b->recipe->sample.by],
                                      "candidates", (json_int_t)b->sample->ncandidates,
                                      "chosen", (json_int_t)b->sample->nchosen));
    }
    json_object_set_new(o, "rejected", rejected);
    if (b->labels != NULL && !b->labels->is_raster) {
        json_object_set_new(o, "label_features_unmapped",
                            json_integer((json_int_t)b->labels->unmapped));
    }
    json_object_set_new(o, "grids", json_integer((json_int_t)b->plan->ngrids));
    json_object_set_new(
        o, "regions", b->regions != NULL ? json_string(b->regions->path) : json_null());
    if (findings != NULL) {
        json_object_set(o, "audit", findings);
    }
    if (b->plan->nremote > 0) {
        json_object_set_new(o, "remote", remote_json(b, opt));
    }
    json_object_set_new(o, "threads", json_integer(threads_of(opt)));
    json_object_set_new(o, "seconds", json_real(round(seconds * 1000) / 1000));
    json_object_set_new(
        o, "chips_per_second",
        json_real(seconds > 0 ? round((double)run->kept / seconds * 10) / 10 : 0));
    return o;
}

/* *SUMMARY: summary object O as text (O is released). */
static int set_summary(eodkit_ctx *ctx, json_t *o, char **summary)
{
    *summary = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    return *summary == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                            : EODKIT_OK;
}

static const char *output_of(const ek_recipe *r, const eodkit_build_options *opt)
{
    return opt->output_dir != NULL ? opt->output_dir : r->output_dir;
}

/* An error naming why no chip of RUN was kept. */
static int no_chips(eodkit_ctx *ctx, const ek_build *b, const ek_run *run)
{
    static const char *const why[EK_REJECT_COUNT] = {
        NULL,
        "too much nodata (filters.max_nodata)",
        "too cloudy (filters.max_cloud)",
        "too little labelled (filters.min_labeled)",
        "too few acquisitions (time.count)",
        "too few objects (filters.min_objects)",
        "across scenes whose labels differ (labels.mixed)"};
    char reasons[512] = "";
    size_t used = 0;
    int k;

    for (k = 1; k < EK_REJECT_COUNT; k++) {
        if (run->rejected[k] > 0 && used < sizeof reasons) {
            used += (size_t)snprintf(reasons + used, sizeof reasons - used, "%s%llu %s",
                                     used > 0 ? ", " : "",
                                     (unsigned long long)run->rejected[k], why[k]);
        }
    }
    if (b->split->guard_dropped > 0 && used < sizeof reasons) {
        snprintf(reasons + used, sizeof reasons - used, "%s%zu in guard bands",
                 used > 0 ? ", " : "", b->split->guard_dropped);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: no chip was kept: of %lld candidate chips, %s; loosen the "
                    "filters or check the inputs",
                    b->recipe->path, (long long)b->plan->ncandidates,
                    used > 0 || b->split->guard_dropped > 0 ? reasons
                                                            : "none was read");
}

/* Pass a one-line note to OPT's notice callback, if any. */
static void notice(const eodkit_build_options *opt, const char *fmt, ...)
    EK_PRINTF(2, 3);

static void notice(const eodkit_build_options *opt, const char *fmt, ...)
{
    char text[EK_MESSAGE_MAX];
    va_list ap;

    if (opt->notice == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    opt->notice(opt->notice_arg, text);
}

/* Nonzero when run folder DIR holds a checkpoint (work --resume can reuse). */
static int has_checkpoint(eodkit_ctx *ctx, const char *dir)
{
    char *path = ek_path_join(ctx, dir, EK_CHECKPOINT_FILE);
    int found = path != NULL && ek_fs_is_file(path);

    free(path);
    return found;
}

/* " (N of M work units done)" from the checkpoint in run folder DIR, or ""
   without one, into TEXT. */
static void work_done(eodkit_ctx *ctx, const char *dir, char *text, size_t size)
{
    char *path = ek_path_join(ctx, dir, EK_CHECKPOINT_FILE);
    json_t *o = path != NULL ? json_load_file(path, 0, NULL) : NULL;
    json_int_t first = json_integer_value(json_object_get(o, "first_unit"));

    text[0] = '\0';
    if (o != NULL) {
        snprintf(
            text, size, " (%lld of %lld work units done)",
            (long long)(json_integer_value(json_object_get(o, "next_unit")) - first),
            (long long)(json_integer_value(json_object_get(o, "end_unit")) - first));
    }
    json_decref(o);
    free(path);
}

/* Tell the user that the unfinished build in run folder DIR (DONE: how far
   it got) was discarded by a build without --resume. */
static void discarded(const eodkit_build_options *opt, const char *dir,
                      const char *done)
{
    notice(opt,
           "discarded the unfinished build in %s%s; 'eodkit build --resume' continues "
           "one instead",
           dir, done);
}

/* Add to CTX's message that the unfinished build in run folder DIR is kept,
   and how to go on. */
static void say_kept(eodkit_ctx *ctx, const char *dir)
{
    char done[96], message[EK_MESSAGE_MAX];

    work_done(ctx, dir, done, sizeof done);
    snprintf(message, sizeof message, "%s", eodkit_ctx_message(ctx));
    ek_error(ctx, eodkit_ctx_status(ctx),
             "%s; the unfinished build in %s%s is kept: --resume continues it (with "
             "the recipe and inputs it was made from), a build without --resume "
             "discards it",
             message, dir, done);
}

/*
** Whether a build that failed with RC keeps the unfinished build in OUT's
** partial folder: when RUN never got to change it (a refused --resume, a
** failure before the run), or when the failure leaves its work valid
** (interrupted, I/O such as a full disk, out of memory) and a checkpoint
** records that work. When it is kept, the message says so.
*/
static int keep_after_failure(eodkit_ctx *ctx, const ek_run *run, const ek_output *out,
                              int rc)
{
    int keep = !run->opened || ((rc == EODKIT_ERR_CANCELLED || rc == EODKIT_ERR_IO ||
                                 rc == EODKIT_ERR_NOMEM) &&
                                has_checkpoint(ctx, out->tmp));

    if (keep && ek_output_holds_work(out)) {
        say_kept(ctx, out->tmp);
    }
    return keep;
}

/* Finish RUN's dataset in OUT's temporary folder (with the input checksums
   of SUMS) and move it into place. */
static int finish_and_commit(eodkit_ctx *ctx, const ek_build *b,
                             const eodkit_build_options *opt, ek_run *run,
                             ek_output *out, ek_checksums *sums, double t0,
                             char **summary)
{
    json_t *findings = NULL;
    const char *final = out->final;
    int rc;

    if (run->kept == 0) {
        return no_chips(ctx, b, run);
    }
    rc = ek_finish(ctx, b, run, threads_of(opt), sums, &findings);
    if (rc == EODKIT_OK) {
        rc = ek_output_commit(ctx, out, opt->overwrite);
    }
    if (rc == EODKIT_OK) {
        rc = set_summary(
            ctx, summary_json(b, run, final, NULL, findings, ek_time_now() - t0, opt),
            summary);
    }
    json_decref(findings);
    return rc;
}

/* The output lock OPT says the caller holds, or EODKIT_ERR_USAGE when it
   has already been used to put a dataset in place. */
static int held_lock(eodkit_ctx *ctx, const eodkit_build_options *opt, ek_output **out)
{
    *out = &opt->lock->out;
    if ((*out)->tmp == NULL) {
        return ek_error(ctx, EODKIT_ERR_USAGE,
                        "%s: this output lock has already put a dataset in place",
                        (*out)->final);
    }
    return EODKIT_OK;
}

/* Every work unit into <output>.partial/, then the dataset. */
static int build_whole(eodkit_ctx *ctx, const ek_recipe *recipe,
                       const eodkit_build_options *opt, double t0, char **summary)
{
    ek_output own = {0}, *out = &own;
    ek_checksums sums = {0};
    ek_build b;
    ek_run run;
    char done[96];
    int resume = 0, discard = 0, rc;

    own.lock = -1;
    memset(&b, 0, sizeof b);
    memset(&run, 0, sizeof run);
    /* the lock first: a second build into this output stops here, having
       touched nothing */
    rc = opt->lock != NULL
             ? held_lock(ctx, opt, &out)
             : ek_output_lock(ctx, output_of(recipe, opt), &ek_output_datasets, &own);
    if (rc == EODKIT_OK) {
        rc = ek_build_setup(ctx, recipe, opt, &b);
    }
    if (rc == EODKIT_OK) {
        resume = opt->resume && has_checkpoint(ctx, out->tmp);
        discard = !resume && ek_output_holds_work(out);
        work_done(ctx, out->tmp, done, sizeof done);
        rc = ek_output_begin(ctx, out, opt->overwrite, resume);
    }
    if (rc == EODKIT_OK && discard) {
        discarded(opt, out->tmp, done);
    }
    if (rc == EODKIT_OK) {
        ek_crash_point("planned", -1);
        run.dir = ek_strdup(ctx, out->tmp);
        run.end_unit = b.plan->nunits;
        rc = run.dir == NULL ? EODKIT_ERR_NOMEM
                             : ek_build_fingerprint(ctx, &b, run.fingerprint);
    }
    if (rc == EODKIT_OK) {
        rc = ek_checksums_start(ctx, &b, threads_of(opt), &sums);
    }
    if (rc == EODKIT_OK) {
        rc = ek_run_units(ctx, &b, opt, b.recipe->shard_bytes, resume, &run);
    }
    if (rc == EODKIT_OK) {
        rc = finish_and_commit(ctx, &b, opt, &run, out, &sums, t0, summary);
    }
    ek_checksums_clear(&sums);
    if (rc != EODKIT_OK && out->tmp != NULL && out->lock >= 0 &&
        !keep_after_failure(ctx, &run, out, rc)) {
        ek_output_discard(out);
    }
    if (out == &own) {
        ek_output_release(&own, 1);
    }
    ek_run_clear(&run);
    ek_build_clear(&b);
    return rc;
}

/* Tell the user that part I/N in DIR is already built by this recipe and
   inputs, so a task that runs it again (a retried job array task) ends at
   once, touching nothing. */
static void already_built(const eodkit_build_options *opt, const char *dir)
{
    notice(opt,
           "part %d/%d is already built in %s (same recipe and inputs): nothing to "
           "do; remove that folder to build it again",
           opt->part_index, opt->part_count, dir);
}

/* Run part RUN (its units set, fingerprint made) of B into RUN->dir, which
   this process has locked: continue it (OPT->resume) or start afresh, then
   mark it done. *SUMMARY (a new reference) describes it. */
static int run_part(eodkit_ctx *ctx, const ek_build *b, const eodkit_build_options *opt,
                    ek_run *run, double t0, json_t **summary)
{
    int resume = opt->resume && has_checkpoint(ctx, run->dir);
    int discard = !resume && !ek_fs_holds_only(run->dir, lock_only);
    char *marker = ek_path_join(ctx, run->dir, EK_DONE_FILE), part[32], done[96];
    int other = marker != NULL && ek_fs_is_file(marker); /* done, not for us */
    int rc = marker == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    free(marker);
    work_done(ctx, run->dir, done, sizeof done);
    if (rc == EODKIT_OK && discard) {
        rc = ek_fs_clear_dir(ctx, run->dir, lock_only);
    }
    if (rc == EODKIT_OK && discard && other) {
        notice(opt,
               "discarded part %d/%d in %s, built from another recipe or other inputs",
               opt->part_index, opt->part_count, run->dir);
    } else if (rc == EODKIT_OK && discard) {
        discarded(opt, run->dir, done);
    }
    if (rc == EODKIT_OK) {
        /* one shard per split: merging re-cuts them to the recipe's size */
        rc = ek_run_units(ctx, b, opt, (long long)1 << 62, resume, run);
    }
    if (rc == EODKIT_OK) {
        snprintf(part, sizeof part, "%d/%d", opt->part_index, opt->part_count);
        *summary = summary_json(b, run, run->dir, part, NULL, ek_time_now() - t0, opt);
        ek_crash_point("done", -1);
        rc = ek_run_mark_done(ctx, run, *summary);
    }
    return rc;
}

/* Part OPT->part_index of OPT->part_count into <output>.parts/<i>-of-<n>/,
   holding a shared lock on the parts folder (a merge takes it alone) and
   this part's own lock; a part already built (its completion marker is
   this build's) is left as it is. */
static int build_part(eodkit_ctx *ctx, const ek_recipe *recipe,
                      const eodkit_build_options *opt, double t0, char **summary)
{
    char *parts = ek_path_suffixed(ctx, output_of(recipe, opt), ".parts");
    json_t *built = NULL;
    ek_build b;
    ek_run run;
    int parts_lock = -1, part_lock = -1;
    int rc = parts == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    memset(&b, 0, sizeof b);
    memset(&run, 0, sizeof run);
    if (rc == EODKIT_OK) {
        rc = ek_fs_lock(ctx, parts, PARTS_MARK, EK_LOCK_SHARED | EK_LOCK_CREATE,
                        &parts_lock);
    }
    if (rc == EODKIT_OK) {
        run.dir = ek_part_dir(ctx, parts, opt->part_index, opt->part_count);
        rc = run.dir == NULL
                 ? EODKIT_ERR_NOMEM
                 : ek_fs_lock(ctx, run.dir, NULL, EK_LOCK_CREATE, &part_lock);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_setup(ctx, recipe, opt, &b);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_fingerprint(ctx, &b, run.fingerprint);
    }
    if (rc == EODKIT_OK) {
        ek_run_part_units(b.plan, opt->part_index, opt->part_count, &run.first_unit,
                          &run.end_unit);
        rc = ek_run_done(ctx, &run, &built);
    }
    if (rc == EODKIT_OK && built != NULL) {
        already_built(opt, run.dir);
        json_object_set_new(built, "already_built", json_true());
    } else if (rc == EODKIT_OK) {
        rc = run_part(ctx, &b, opt, &run, t0, &built);
    }
    if (rc == EODKIT_OK) {
        rc = set_summary(ctx, json_incref(built), summary);
    }
    /* a part is always kept: --resume continues it, merging needs it;
       only an empty one (failed before it began) goes */
    if (rc != EODKIT_OK && part_lock >= 0 && has_checkpoint(ctx, run.dir)) {
        say_kept(ctx, run.dir);
    } else if (rc != EODKIT_OK && part_lock >= 0 &&
               ek_fs_holds_only(run.dir, lock_only)) {
        eodkit_ctx quiet = {0};

        ek_fs_remove_locked(&quiet, run.dir, NULL);
    }
    json_decref(built);
    ek_fs_unlock(part_lock);
    ek_fs_unlock(parts_lock);
    free(parts);
    ek_run_clear(&run);
    ek_build_clear(&b);
    return rc;
}

/* The error for RECIPE when neither it nor the options name an output. */
static int no_output(eodkit_ctx *ctx, const ek_recipe *recipe)
{
    return ek_error(ctx, EODKIT_ERR_USAGE,
                    "%s: no output folder: set output.dir in the recipe or give -o DIR",
                    recipe->path);
}

int eodkit_build(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                 const eodkit_build_options *opt, char **summary)
{
    double t0 = ek_time_now();
    int rc;

    *summary = NULL;
    if (output_of(recipe, opt) == NULL) {
        return no_output(ctx, recipe);
    }
    if (opt->part_count >= 1 &&
        (opt->part_index < 0 || opt->part_index >= opt->part_count)) {
        return ek_error(ctx, EODKIT_ERR_USAGE, "part %d/%d: I must be 0 to %d",
                        opt->part_index, opt->part_count, opt->part_count - 1);
    }
    ek_gdal_capture_begin(ctx);
    rc = opt->part_count >= 1 ? build_part(ctx, recipe, opt, t0, summary)
                              : build_whole(ctx, recipe, opt, t0, summary);
    ek_gdal_capture_end();
    return rc;
}

/* The number of parts under PARTS: OPT's, else that of the parts present
   (folders named <i>-of-<n>, all with the same n). */
static int count_parts(eodkit_ctx *ctx, const char *parts,
                       const eodkit_build_options *opt, int *n)
{
    char *pattern = ek_path_join(ctx, parts, "*-of-*");
    char **found = NULL;
    size_t nfound = 0, i;
    int rc = pattern == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *n = opt->part_count;
    if (rc == EODKIT_OK && *n < 1) {
        rc = ek_fs_glob(ctx, pattern, &found, &nfound);
        for (i = 0; i < nfound && rc == EODKIT_OK; i++) {
            const char *name = strrchr(found[i], '/');
            int part, k = 0;

            if (sscanf(name != NULL ? name + 1 : found[i], "%d-of-%d", &part, &k) !=
                2) {
                k = 0;
            }
            if (k < 1 || (*n > 0 && k != *n)) {
                rc = ek_error(ctx, EODKIT_ERR_INPUT,
                              "%s: parts of different splittings (%d and %d parts); "
                              "give the number with --parts",
                              parts, *n, k);
            }
            *n = k;
        }
        if (rc == EODKIT_OK && *n < 1) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: holds no parts", parts);
        }
    }
    ek_fs_free_list(found, nfound);
    free(pattern);
    return rc;
}

/* Lock the parts folder PARTS (of N parts of build B) alone, for a merge:
   no part may be building into it. When one is, the error lists it, with
   its pid, and the other parts not done (ek_merge_check_parts). */
static int lock_parts(eodkit_ctx *ctx, const ek_build *b, const char *parts, int n,
                      ek_run *run, int *fd)
{
    char message[EK_MESSAGE_MAX];
    int rc = ek_fs_lock(ctx, parts, PARTS_MARK, 0, fd);

    if (rc == EODKIT_ERR_EXISTS) {
        snprintf(message, sizeof message, "%s", eodkit_ctx_message(ctx));
        if (ek_merge_check_parts(ctx, b, parts, n, run) != EODKIT_ERR_EXISTS) {
            /* no part holds its folder: the holder is another merge, or a
               part build just starting */
            ek_error(ctx, rc, "%s", message);
        }
    }
    return rc;
}

int eodkit_merge(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                 const eodkit_build_options *opt, char **summary)
{
    const char *final = output_of(recipe, opt);
    char *parts = NULL, done[96];
    double t0 = ek_time_now();
    ek_output own = {0}, *out = &own;
    ek_checksums sums = {0};
    ek_build b;
    ek_run run;
    int n = 0, parts_lock = -1, discard = 0, begun = 0, rc;

    *summary = NULL;
    own.lock = -1;
    memset(&run, 0, sizeof run);
    memset(&b, 0, sizeof b);
    if (final == NULL) {
        return no_output(ctx, recipe);
    }
    ek_gdal_capture_begin(ctx);
    rc = opt->lock != NULL ? held_lock(ctx, opt, &out)
                           : ek_output_lock(ctx, final, &ek_output_datasets, &own);
    if (rc == EODKIT_OK) {
        parts = ek_path_suffixed(ctx, final, ".parts");
        rc = parts == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK && !ek_fs_exists(parts)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: no parts to merge: build them first with 'eodkit build "
                      "RECIPE --part I/N'",
                      parts);
    }
    if (rc == EODKIT_OK) {
        rc = count_parts(ctx, parts, opt, &n);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_setup(ctx, recipe, opt, &b);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_fingerprint(ctx, &b, run.fingerprint);
    }
    if (rc == EODKIT_OK) {
        rc = lock_parts(ctx, &b, parts, n, &run, &parts_lock);
    }
    if (rc == EODKIT_OK) {
        rc = ek_merge_check_parts(ctx, &b, parts, n, &run);
    }
    if (rc == EODKIT_OK) {
        discard = ek_output_holds_work(out);
        work_done(ctx, out->tmp, done, sizeof done);
        rc = ek_output_begin(ctx, out, opt->overwrite, 0);
        begun = rc == EODKIT_OK;
    }
    if (rc == EODKIT_OK && discard) {
        discarded(opt, out->tmp, done);
    }
    if (rc == EODKIT_OK) {
        run.dir = ek_strdup(ctx, out->tmp);
        rc = run.dir == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = ek_checksums_start(ctx, &b, threads_of(opt), &sums);
    }
    if (rc == EODKIT_OK) {
        rc = ek_merge_parts(ctx, &b, parts, n, &run);
    }
    if (rc == EODKIT_OK) {
        rc = finish_and_commit(ctx, &b, opt, &run, out, &sums, t0, summary);
    }
    ek_checksums_clear(&sums);
    if (rc == EODKIT_OK) {
        rc = ek_fs_remove_locked(ctx, parts, PARTS_MARK);
    }
    /* a merge is not resumable: the parts are what is kept */
    if (rc != EODKIT_OK && begun && out->tmp != NULL) {
        ek_output_discard(out);
    }
    ek_fs_unlock(parts_lock);
    if (out == &own) {
        ek_output_release(&own, 1);
    }
    ek_run_clear(&run);
    ek_build_clear(&b);
    free(parts);
    ek_gdal_capture_end();
    return rc;
}

int eodkit_output_lock(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                       const eodkit_build_options *opt, eodkit_lock **lock)
{
    const char *final = output_of(recipe, opt);
    int rc;

    *lock = NULL;
    if (final == NULL) {
        return no_output(ctx, recipe);
    }
    *lock = ek_calloc(ctx, 1, sizeof **lock);
    if (*lock == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_output_lock(ctx, final, &ek_output_datasets, &(*lock)->out);
    if (rc != EODKIT_OK) {
        free(*lock);
        *lock = NULL;
    }
    return rc;
}

void eodkit_output_unlock(eodkit_lock *lock)
{
    if (lock != NULL) {
        ek_output_release(&lock->out, 1);
        free(lock);
    }
}
