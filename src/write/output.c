/*
** Write: the output folder's life cycle, of datasets (build, merge) and of
** exports. A build locks FINAL.partial/, fills it, and only when everything
** is written puts the dataset in place (exchanged in one step with the
** dataset it replaces, where the kernel allows), so a folder at the output
** path is always complete, an existing one is replaced only when asked
** (never anything that is not of the same kind), and only what eodkit made
** itself is ever removed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_write.h"

/* What FINAL.partial/ holds besides the dataset being built: its mark
   (eodkit made it: `eodkit info` refuses it, a build may clear it) and its
   lock. Inside it, while the dataset is being put in place: the finished
   dataset moved aside (STAGED), and where the kernel cannot exchange two
   folders, the replaced dataset (ASIDE). */
#define PARTIAL_MARK ".eodkit-partial"
#define STAGED ".eodkit-new"
#define ASIDE ".eodkit-old"

static const char *const marks[] = {PARTIAL_MARK, EK_LOCK_FILE, NULL};

int ek_output_is_dataset(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/provenance.json", dir);
    if (!ek_fs_is_file(path)) {
        return 0;
    }
    snprintf(path, sizeof path, "%s/collection.json", dir);
    return ek_fs_is_file(path);
}

const ek_output_kind ek_output_datasets = {"an eodkit dataset", ek_output_is_dataset};

/* EODKIT_OK when OUT may go to its FINAL: nothing is there, or with
   OVERWRITE an output of the same kind or an empty folder. */
static int check_final(eodkit_ctx *ctx, const ek_output *out, int overwrite)
{
    const char *final = out->final;

    if (!ek_fs_exists(final)) {
        return EODKIT_OK;
    }
    if (!overwrite) {
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: already exists; use --overwrite to replace it", final);
    }
    if (!ek_fs_is_dir(final) ||
        (!out->kind->holds(final) && !ek_fs_holds_only(final, NULL))) {
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: exists and is not %s; refusing to replace it (choose "
                        "another output folder)",
                        final, out->kind->what);
    }
    return EODKIT_OK;
}

int ek_output_lock(eodkit_ctx *ctx, const char *final, const ek_output_kind *kind,
                   ek_output *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    out->lock = -1;
    out->kind = kind;
    out->final = ek_path_suffixed(ctx, final, "");
    out->tmp = ek_path_suffixed(ctx, final, ".partial");
    rc = out->final == NULL || out->tmp == NULL
             ? EODKIT_ERR_NOMEM
             : ek_fs_lock(ctx, out->tmp, PARTIAL_MARK, EK_LOCK_CREATE, &out->lock);
    if (rc != EODKIT_OK) {
        ek_output_release(out, 1);
    }
    return rc;
}

int ek_output_begin(eodkit_ctx *ctx, ek_output *out, int overwrite, int keep)
{
    char *aside = ek_path_join(ctx, out->tmp, ASIDE);
    char *staged = ek_path_join(ctx, out->tmp, STAGED);
    int rc = aside == NULL || staged == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    /* a replacement killed between its two renames left the dataset that
       was at FINAL aside: put it back first */
    if (rc == EODKIT_OK && !ek_fs_exists(out->final) && ek_fs_is_dir(aside)) {
        rc = ek_fs_rename_new(ctx, aside, out->final);
    }
    /* the rest of what a killed replacement left: the dataset it replaced,
       or the one it did not get to put in place */
    if (rc == EODKIT_OK) {
        rc = ek_fs_remove_tree(ctx, aside);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_remove_tree(ctx, staged);
    }
    if (rc == EODKIT_OK) {
        rc = check_final(ctx, out, overwrite);
    }
    if (rc == EODKIT_OK && !keep) {
        rc = ek_fs_clear_dir(ctx, out->tmp, marks);
    }
    free(staged);
    free(aside);
    return rc;
}

int ek_output_holds_work(const ek_output *out)
{
    return out->tmp != NULL && ek_fs_is_dir(out->tmp) &&
           !ek_fs_holds_only(out->tmp, marks);
}

int ek_output_commit(eodkit_ctx *ctx, ek_output *out, int overwrite)
{
    char *staged = ek_path_join(ctx, out->tmp, STAGED);
    char *aside = ek_path_join(ctx, out->tmp, ASIDE);
    int rc = staged == NULL || aside == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK,
        replace = 0;

    /* FINAL may have changed since the build began */
    if (rc == EODKIT_OK) {
        rc = check_final(ctx, out, overwrite);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_move_into(ctx, out->tmp, STAGED, marks);
    }
    ek_crash_point("commit", -1);
    if (rc == EODKIT_OK) {
        replace = ek_fs_exists(out->final);
        rc = replace ? ek_fs_replace(ctx, staged, out->final, aside)
                     : ek_fs_rename_new(ctx, staged, out->final);
    }
    if (rc == EODKIT_OK) {
        ek_crash_point(replace ? "replaced" : "placed", -1);
        /* the dataset is in place: the partial folder now holds the one it
           replaced, if any, and is no longer ours to touch once removed */
        rc = ek_fs_remove_locked(ctx, out->tmp, PARTIAL_MARK);
        free(out->tmp);
        out->tmp = NULL;
    }
    free(aside);
    free(staged);
    return rc;
}

void ek_output_discard(ek_output *out)
{
    eodkit_ctx quiet = {0};

    if (out->tmp != NULL && out->lock >= 0) {
        ek_fs_clear_dir(&quiet, out->tmp, marks);
    }
}

void ek_output_release(ek_output *out, int keep)
{
    eodkit_ctx quiet = {0};

    if (!keep) {
        ek_output_discard(out);
    }
    if (out->tmp != NULL && out->lock >= 0 && !ek_output_holds_work(out)) {
        ek_fs_remove_locked(&quiet, out->tmp, PARTIAL_MARK);
    }
    ek_fs_unlock(out->lock);
    free(out->final);
    free(out->tmp);
    out->final = out->tmp = NULL;
    out->lock = -1;
}
