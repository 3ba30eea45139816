/*
** Build: joining parts. Each part (eodkit build --part i/N, or one MPI
** rank) ran a contiguous range of work units into its own folder; merging
** appends their chips, part after part, to the final shards and journal,
** which is exactly the sequence one process would have committed, so the
** dataset is byte-identical to a single build.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_build.h"

char *ek_part_dir(eodkit_ctx *ctx, const char *parts, int i, int n)
{
    return ek_asprintf(ctx, "%s/%d-of-%d", parts, i, n);
}

/* Where the next chip of one split is read from in a part. */
typedef struct part_split {
    int shard;    /* open shard, -1 before the first */
    int64_t next; /* row the files are at */
    FILE **files; /* per array */
} part_split;

static void close_files(const ek_build *b, part_split *ps)
{
    size_t a;

    for (a = 0; a < b->narrays; a++) {
        if (ps->files[a] != NULL) {
            fclose(ps->files[a]);
            ps->files[a] = NULL;
        }
    }
}

/* Position PS's files at row ROW of shard SHARD of split S in part DIR. */
static int seek_row(eodkit_ctx *ctx, const ek_build *b, const char *dir, int s,
                    part_split *ps, int shard, int64_t row)
{
    size_t a;

    if (ps->shard == shard && ps->next == row) {
        return EODKIT_OK;
    }
    if (ps->shard != shard) {
        close_files(b, ps);
    }
    for (a = 0; a < b->narrays; a++) {
        const ek_array_desc *d = &b->arrays[a];
        char *path = ek_shard_path(ctx, dir, b->recipe->split.names[s], d, shard);
        long long at =
            (long long)ek_npy_header_bytes(d) + row * (long long)d->chip_bytes;

        if (path == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        if (ps->files[a] == NULL) {
            ps->files[a] = fopen(path, "rb");
        }
        if (ps->files[a] == NULL || fseeko(ps->files[a], (off_t)at, SEEK_SET) != 0) {
            int rc =
                ek_error(ctx, EODKIT_ERR_IO, "%s: cannot read the part's chips: %s",
                         path, strerror(errno));

            free(path);
            return rc;
        }
        free(path);
    }
    ps->shard = shard;
    ps->next = row;
    return EODKIT_OK;
}

/* Read the NOBJECTS objects of a chip, from object row FIRST of the open
   shard of PS, into DATA (per-object arrays; grown, CAP[a] bytes). */
static int read_objects(eodkit_ctx *ctx, const ek_build *b, const char *dir,
                        part_split *ps, int64_t first, int64_t nobjects,
                        unsigned char **data, size_t *cap)
{
    size_t a;
    int rc = EODKIT_OK;

    for (a = 0; a < b->narrays && rc == EODKIT_OK; a++) {
        const ek_array_desc *d = &b->arrays[a];
        size_t bytes = (size_t)nobjects * d->chip_bytes;
        long long at =
            (long long)ek_npy_header_bytes(d) + first * (long long)d->chip_bytes;

        if (!d->per_object || nobjects == 0) {
            continue;
        }
        rc = ek_grow(ctx, (void **)&data[a], &cap[a], bytes, 1);
        if (rc == EODKIT_OK && (fseeko(ps->files[a], (off_t)at, SEEK_SET) != 0 ||
                                fread(data[a], 1, bytes, ps->files[a]) != bytes)) {
            rc = ek_error(ctx, EODKIT_ERR_IO,
                          "%s: the part's %s end before its box ranges do", dir,
                          d->name);
        }
    }
    return rc;
}

/* Append the chips of part folder DIR, in its journal's order, to RUN's
   shards and to journal OUT. */
static int copy_part(eodkit_ctx *ctx, const ek_build *b, const char *dir, ek_run *run,
                     ek_journal *out)
{
    size_t nsplits = b->split->nsplits, a, s;
    part_split *splits = ek_calloc(ctx, nsplits, sizeof *splits);
    unsigned char **data = ek_calloc(ctx, b->narrays, sizeof *data);
    size_t *cap = ek_calloc(ctx, b->narrays, sizeof *cap);
    char *path = ek_path_join(ctx, dir, EK_JOURNAL_FILE);
    ek_journal *in = NULL;
    ek_index_row row;
    int64_t range[2] = {0, 0};
    int got = 1, rc = splits == NULL || data == NULL || cap == NULL || path == NULL
                          ? EODKIT_ERR_NOMEM
                          : EODKIT_OK;

    for (s = 0; s < nsplits && rc == EODKIT_OK; s++) {
        splits[s].shard = -1;
        splits[s].files = ek_calloc(ctx, b->narrays, sizeof *splits[s].files);
        rc = splits[s].files == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (a = 0; a < b->narrays && rc == EODKIT_OK; a++) {
        cap[a] = b->arrays[a].chip_bytes;
        data[a] = ek_calloc(ctx, 1, cap[a]);
        rc = data[a] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = ek_journal_read_open(ctx, path, &in);
    }
    while (rc == EODKIT_OK &&
           (rc = ek_journal_next(ctx, in, &row, &got)) == EODKIT_OK && got) {
        part_split *ps = &splits[row.split];

        rc = seek_row(ctx, b, dir, row.split, ps, row.shard, row.row);
        for (a = 0; a < b->narrays && rc == EODKIT_OK; a++) {
            if (!b->arrays[a].per_object &&
                fread(data[a], 1, b->arrays[a].chip_bytes, ps->files[a]) !=
                    b->arrays[a].chip_bytes) {
                rc = ek_error(ctx, EODKIT_ERR_IO,
                              "%s: the part's %s chips end before its journal does",
                              dir, b->arrays[a].name);
            }
        }
        ps->next++;
        if (rc == EODKIT_OK && b->range_array >= 0) {
            memcpy(range, data[b->range_array], sizeof range);
            rc = read_objects(ctx, b, dir, ps, range[0], range[1], data, cap);
        }
        if (rc == EODKIT_OK) {
            rc =
                ek_shards_append(ctx, run->shards, row.split, (const void *const *)data,
                                 (size_t)range[1], &row.shard, &row.row);
        }
        if (rc == EODKIT_OK) {
            rc = ek_journal_add(ctx, out, &row);
        }
    }
    for (s = 0; splits != NULL && s < nsplits; s++) {
        if (splits[s].files != NULL) {
            close_files(b, &splits[s]);
        }
        free(splits[s].files);
    }
    for (a = 0; data != NULL && a < b->narrays; a++) {
        free(data[a]);
    }
    free(splits);
    free(data);
    free(cap);
    free(path);
    ek_journal_close(ctx, in);
    return rc;
}

/* Check that part I of N in DIR is complete and of this build; add its
   counts to RUN. */
static int check_part(eodkit_ctx *ctx, const ek_build *b, const char *dir, int i, int n,
                      ek_run *run)
{
    char *checkpoint = ek_path_join(ctx, dir, EK_CHECKPOINT_FILE);
    int64_t *rows = ek_calloc(ctx, b->split->nsplits, sizeof *rows), journal_bytes;
    ek_run part;
    int complete = 0, k, rc = EODKIT_OK;

    memset(&part, 0, sizeof part);
    memcpy(part.fingerprint, run->fingerprint, sizeof part.fingerprint);
    ek_run_part_units(b->plan, i, n, &part.first_unit, &part.end_unit);
    if (checkpoint == NULL || rows == NULL) {
        rc = EODKIT_ERR_NOMEM;
    } else if (!ek_fs_is_file(checkpoint)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: part %d/%d is missing: build it with 'eodkit build RECIPE "
                      "--part %d/%d' (same -o)",
                      dir, i, n, i, n);
    } else {
        rc = ek_run_load_checkpoint(ctx, b, checkpoint, &part, rows, &journal_bytes,
                                    &complete);
        if (rc == EODKIT_ERR_INPUT) {
            ek_error_where(ctx,
                           "merge with the recipe, inputs and --regions the parts were "
                           "built with, or build part %d/%d again",
                           i, n);
        }
    }
    if (rc == EODKIT_OK && !complete) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: part %d/%d is not finished (%zu of %zu work units): run "
                      "'eodkit build RECIPE --part %d/%d --resume' (same -o)",
                      dir, i, n, part.next_unit - part.first_unit,
                      part.end_unit - part.first_unit, i, n);
    }
    if (rc == EODKIT_OK) {
        run->kept += part.kept;
        for (k = 0; k < EK_REJECT_COUNT; k++) {
            run->rejected[k] += part.rejected[k];
        }
    }
    free(checkpoint);
    free(rows);
    return rc;
}

int ek_merge_parts(eodkit_ctx *ctx, const ek_build *b, const char *parts, int n,
                   ek_run *run)
{
    char *journal = ek_path_join(ctx, run->dir, EK_JOURNAL_FILE), *dir = NULL;
    ek_journal *out = NULL;
    int i, rc = journal == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    run->first_unit = 0;
    run->next_unit = run->end_unit = b->plan->nunits;
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        dir = ek_part_dir(ctx, parts, i, n);
        rc = dir == NULL ? EODKIT_ERR_NOMEM : check_part(ctx, b, dir, i, n, run);
        free(dir);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_new(ctx, run->dir, b->arrays, b->narrays, b->recipe->split.names,
                           b->split->nsplits, b->recipe->shard_bytes, &run->shards);
    }
    if (rc == EODKIT_OK) {
        rc = ek_journal_open(ctx, journal, 0, &out);
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        dir = ek_part_dir(ctx, parts, i, n);
        rc = dir == NULL ? EODKIT_ERR_NOMEM : copy_part(ctx, b, dir, run, out);
        free(dir);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_close(ctx, run->shards);
    }
    if (out != NULL) {
        eodkit_ctx quiet = {0};

        /* after a failure, closing may fail too (a full disk): the first
           failure is the one to report */
        if (rc == EODKIT_OK) {
            rc = ek_journal_close(ctx, out);
        } else {
            ek_journal_close(&quiet, out);
        }
    }
    free(journal);
    return rc;
}
