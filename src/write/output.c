/*
** Write: the output folder's life cycle. A build fills FINAL.partial/ and
** renames it to FINAL only when everything is written, so a folder at the
** output path is always a complete dataset; an existing dataset is replaced
** only when asked, and never anything that is not an eodkit dataset.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_write.h"

#define PARTIAL_MARK ".eodkit-partial"

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

static int is_empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

int ek_output_begin(eodkit_ctx *ctx, const char *final, int overwrite, int resume,
                    ek_output *out)
{
    char *mark = NULL;
    int rc = EODKIT_OK;

    memset(out, 0, sizeof *out);
    if (ek_fs_exists(final)) {
        if (!overwrite) {
            return ek_error(ctx, EODKIT_ERR_EXISTS,
                            "%s: already exists; use --overwrite to replace it", final);
        }
        if (!ek_fs_is_dir(final) ||
            (!ek_output_is_dataset(final) && !is_empty_dir(final))) {
            return ek_error(
                ctx, EODKIT_ERR_EXISTS,
                "%s: exists and is not an eodkit dataset; refusing to replace "
                "it (choose another output folder)",
                final);
        }
    }
    out->final = ek_strdup(ctx, final);
    out->tmp = ek_asprintf(ctx, "%s.partial", final);
    mark = ek_asprintf(ctx, "%s.partial/%s", final, PARTIAL_MARK);
    if (out->final == NULL || out->tmp == NULL || mark == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    if (ek_fs_exists(out->tmp)) {
        if (!ek_fs_is_file(mark)) {
            rc = ek_error(ctx, EODKIT_ERR_EXISTS,
                          "%s: exists and was not made by eodkit; remove it or choose "
                          "another output folder",
                          out->tmp);
            goto out;
        }
        if (resume) {
            goto out; /* continue the build it holds */
        }
        rc = ek_fs_remove_tree(ctx, out->tmp);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_mkdirs(ctx, out->tmp);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_write_file(ctx, mark, "", 0);
    }
out:
    free(mark);
    if (rc != EODKIT_OK) {
        ek_output_clear(out);
    }
    return rc;
}

int ek_output_commit(eodkit_ctx *ctx, ek_output *out)
{
    char *mark = ek_asprintf(ctx, "%s/%s", out->tmp, PARTIAL_MARK);
    char *old = ek_asprintf(ctx, "%s.old", out->final);
    int rc = EODKIT_OK;

    if (mark == NULL || old == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    remove(mark);
    if (ek_fs_exists(out->final)) {
        rc = ek_fs_remove_tree(ctx, old);
        if (rc == EODKIT_OK) {
            rc = ek_fs_rename(ctx, out->final, old);
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename(ctx, out->tmp, out->final);
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_remove_tree(ctx, old);
    }
out:
    free(mark);
    free(old);
    return rc;
}

void ek_output_abort(ek_output *out)
{
    eodkit_ctx quiet = {0};

    if (out->tmp != NULL) {
        ek_fs_remove_tree(&quiet, out->tmp);
    }
    ek_output_clear(out);
}

void ek_output_clear(ek_output *out)
{
    free(out->final);
    free(out->tmp);
    out->final = out->tmp = NULL;
}
