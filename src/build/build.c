/*
** Build: the public entry points. eodkit_build() sets the build up, runs
** every work unit into <output>.partial/ (resuming a killed run when
** asked), finishes the dataset there and moves it into place; with --part
** it runs one part's units into <output>.parts/ instead, and
** eodkit_merge() joins the parts into the dataset.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
#include "ek_build.h"

/* Part folders hold this file, so that only ours are ever removed. */
#define PARTS_MARK ".eodkit-parts"

void eodkit_build_options_init(eodkit_build_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = 1;
}

/* The summary of RUN for people and scripts. PART (NULL for a dataset)
   names the part built; FINDINGS (may be NULL) are the audit's. */
static char *summary_json(const ek_build *b, const ek_run *run, const char *where,
                          const char *part, json_t *findings, double seconds,
                          int threads)
{
    json_t *o = json_object(), *rejected = ek_run_rejected_json(run);
    char *text;

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
    json_object_set_new(o, "threads", json_integer(threads));
    json_object_set_new(o, "seconds", json_real(round(seconds * 1000) / 1000));
    json_object_set_new(
        o, "chips_per_second",
        json_real(seconds > 0 ? round((double)run->kept / seconds * 10) / 10 : 0));
    text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

static int set_summary(eodkit_ctx *ctx, char *text, char **summary)
{
    *summary = text;
    return text == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
}

static const char *output_of(const ek_recipe *r, const eodkit_build_options *opt)
{
    return opt->output_dir != NULL ? opt->output_dir : r->output_dir;
}

static int threads_of(const eodkit_build_options *opt)
{
    return opt->threads < 1 ? 1 : opt->threads;
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
        "too few objects (filters.min_objects)"};
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

/* Finish RUN's dataset in OUT's temporary folder (with the input checksums
   of SUMS) and move it into place. */
static int finish_and_commit(eodkit_ctx *ctx, const ek_build *b,
                             const eodkit_build_options *opt, ek_run *run,
                             ek_output *out, ek_checksums *sums, double t0,
                             char **summary)
{
    json_t *findings = NULL;
    int rc;

    if (run->kept == 0) {
        return no_chips(ctx, b, run);
    }
    rc = ek_finish(ctx, b, run, threads_of(opt), sums, &findings);
    if (rc == EODKIT_OK) {
        rc = ek_output_commit(ctx, out);
    }
    if (rc == EODKIT_OK) {
        rc = set_summary(ctx,
                         summary_json(b, run, out->final, NULL, findings,
                                      ek_time_now() - t0, threads_of(opt)),
                         summary);
    }
    json_decref(findings);
    return rc;
}

/* Every work unit into <output>.partial/, then the dataset. */
static int build_whole(eodkit_ctx *ctx, const ek_build *b,
                       const eodkit_build_options *opt, double t0, char **summary)
{
    ek_output out = {0};
    ek_checksums sums = {0};
    ek_run run;
    int rc;

    memset(&run, 0, sizeof run);
    rc = ek_output_begin(ctx, output_of(b->recipe, opt), opt->overwrite, opt->resume,
                         &out);
    if (rc != EODKIT_OK) {
        return rc;
    }
    ek_crash_point("planned", -1);
    run.dir = ek_strdup(ctx, out.tmp);
    run.end_unit = b->plan->nunits;
    rc = run.dir == NULL ? EODKIT_ERR_NOMEM
                         : ek_build_fingerprint(ctx, b, run.fingerprint);
    if (rc == EODKIT_OK) {
        rc = ek_checksums_start(ctx, b, threads_of(opt), &sums);
    }
    if (rc == EODKIT_OK) {
        rc = ek_run_units(ctx, b, opt, b->recipe->shard_bytes, opt->resume, &run);
    }
    if (rc == EODKIT_OK) {
        rc = finish_and_commit(ctx, b, opt, &run, &out, &sums, t0, summary);
    }
    ek_checksums_clear(&sums);
    /* an interrupted build keeps its checkpoint for --resume */
    if (rc != EODKIT_OK && rc != EODKIT_ERR_CANCELLED) {
        ek_output_abort(&out);
    }
    ek_output_clear(&out);
    ek_run_clear(&run);
    return rc;
}

/* <output>.parts/, created (with its mark) when missing; refused when it
   exists without our mark. */
static int parts_folder(eodkit_ctx *ctx, const char *parts, int create)
{
    char *mark = ek_path_join(ctx, parts, PARTS_MARK);
    int rc = mark == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    if (rc == EODKIT_OK && ek_fs_exists(parts) && !ek_fs_is_file(mark)) {
        rc = ek_error(ctx, EODKIT_ERR_EXISTS,
                      "%s: exists and was not made by eodkit; remove it or choose "
                      "another output folder",
                      parts);
    } else if (rc == EODKIT_OK && !ek_fs_exists(parts)) {
        rc = create ? ek_fs_mkdirs(ctx, parts)
                    : ek_error(ctx, EODKIT_ERR_INPUT,
                               "%s: no parts to merge: build them first with "
                               "'eodkit build RECIPE --part I/N'",
                               parts);
        if (rc == EODKIT_OK) {
            rc = ek_fs_write_file(ctx, mark, "", 0);
        }
    }
    free(mark);
    return rc;
}

/* Part OPT->part_index of OPT->part_count into <output>.parts/<i>-of-<n>/. */
static int build_part(eodkit_ctx *ctx, const ek_build *b,
                      const eodkit_build_options *opt, double t0, char **summary)
{
    char *parts = ek_asprintf(ctx, "%s.parts", output_of(b->recipe, opt));
    char part[32];
    ek_run run;
    int rc = parts == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    memset(&run, 0, sizeof run);
    if (rc == EODKIT_OK) {
        rc = parts_folder(ctx, parts, 1);
    }
    if (rc == EODKIT_OK) {
        run.dir = ek_part_dir(ctx, parts, opt->part_index, opt->part_count);
        rc = run.dir == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK && !opt->resume && ek_fs_exists(run.dir)) {
        rc = ek_fs_remove_tree(ctx, run.dir);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_mkdirs(ctx, run.dir);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_fingerprint(ctx, b, run.fingerprint);
    }
    if (rc == EODKIT_OK) {
        ek_run_part_units(b->plan, opt->part_index, opt->part_count, &run.first_unit,
                          &run.end_unit);
        /* one shard per split: merging re-cuts them to the recipe's size */
        rc = ek_run_units(ctx, b, opt, (long long)1 << 62, opt->resume, &run);
    }
    if (rc == EODKIT_OK) {
        snprintf(part, sizeof part, "%d/%d", opt->part_index, opt->part_count);
        rc = set_summary(ctx,
                         summary_json(b, &run, run.dir, part, NULL, ek_time_now() - t0,
                                      threads_of(opt)),
                         summary);
    }
    free(parts);
    ek_run_clear(&run);
    return rc;
}

int eodkit_build(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                 const eodkit_build_options *opt, char **summary)
{
    ek_build b;
    double t0 = ek_time_now();
    int rc;

    *summary = NULL;
    if (output_of(recipe, opt) == NULL) {
        return ek_error(
            ctx, EODKIT_ERR_USAGE,
            "%s: no output folder: set output.dir in the recipe or give -o DIR",
            recipe->path);
    }
    if (opt->part_count > 1 &&
        (opt->part_index < 0 || opt->part_index >= opt->part_count)) {
        return ek_error(ctx, EODKIT_ERR_USAGE, "part %d/%d: I must be 0 to %d",
                        opt->part_index, opt->part_count, opt->part_count - 1);
    }
    ek_gdal_capture_begin(ctx);
    rc = ek_build_setup(ctx, recipe, opt, &b);
    if (rc == EODKIT_OK) {
        rc = opt->part_count > 1 ? build_part(ctx, &b, opt, t0, summary)
                                 : build_whole(ctx, &b, opt, t0, summary);
    }
    ek_build_clear(&b);
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

int eodkit_merge(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                 const eodkit_build_options *opt, char **summary)
{
    const char *final = output_of(recipe, opt);
    char *parts = NULL;
    double t0 = ek_time_now();
    ek_output out = {0};
    ek_checksums sums = {0};
    ek_build b;
    ek_run run;
    int n = 0, rc;

    *summary = NULL;
    memset(&run, 0, sizeof run);
    memset(&b, 0, sizeof b);
    if (final == NULL) {
        return ek_error(
            ctx, EODKIT_ERR_USAGE,
            "%s: no output folder: set output.dir in the recipe or give -o DIR",
            recipe->path);
    }
    ek_gdal_capture_begin(ctx);
    parts = ek_asprintf(ctx, "%s.parts", final);
    rc = parts == NULL ? EODKIT_ERR_NOMEM : parts_folder(ctx, parts, 0);
    if (rc == EODKIT_OK) {
        rc = count_parts(ctx, parts, opt, &n);
    }
    if (rc == EODKIT_OK) {
        rc = ek_build_setup(ctx, recipe, opt, &b);
    }
    if (rc == EODKIT_OK) {
        rc = ek_output_begin(ctx, final, opt->overwrite, 0, &out);
    }
    if (rc == EODKIT_OK) {
        run.dir = ek_strdup(ctx, out.tmp);
        rc = run.dir == NULL ? EODKIT_ERR_NOMEM
                             : ek_build_fingerprint(ctx, &b, run.fingerprint);
    }
    if (rc == EODKIT_OK) {
        rc = ek_checksums_start(ctx, &b, threads_of(opt), &sums);
    }
    if (rc == EODKIT_OK) {
        rc = ek_merge_parts(ctx, &b, parts, n, &run);
    }
    if (rc == EODKIT_OK) {
        rc = finish_and_commit(ctx, &b, opt, &run, &out, &sums, t0, summary);
    }
    ek_checksums_clear(&sums);
    if (rc == EODKIT_OK) {
        rc = ek_fs_remove_tree(ctx, parts);
    }
    if (rc != EODKIT_OK && out.tmp != NULL) {
        ek_output_abort(&out);
    }
    ek_output_clear(&out);
    ek_run_clear(&run);
    ek_build_clear(&b);
    free(parts);
    ek_gdal_capture_end();
    return rc;
}
