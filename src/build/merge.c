/*
** Build: joining parts. Each part (eodkit build --part i/N, or one MPI
** rank) ran a contiguous range of work units into its own folder and
** marked it done; merging checks that every part is done (or lists those
** that are not), then appends their chips, part after part, to the final
** shards and journal, which is exactly the sequence one process would have
** committed, so the dataset is byte-identical to a single build.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_strbuf.h"
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

/* ---- is every part there and done? ---- */

/* What a part folder holds, as a merge sees it. */
enum part_state { PART_DONE, PART_MISSING, PART_BUILDING, PART_UNFINISHED, PART_OTHER };
#define PART_STATES 5

/* List at most this many ranges of parts in a message. */
#define MAX_RANGES 8

/* The parts in one state, listed as ranges ("3, 7-9, 12") for a message. */
typedef struct part_list {
    int n;        /* parts in this state */
    int first;    /* the first of them */
    int from, to; /* the range of them not listed yet */
    int ranges;   /* ranges listed in TEXT */
    ek_strbuf text;
} part_list;

/* What a merge found in the parts folder. */
typedef struct survey {
    part_list lists[PART_STATES];
    char *busy_dir;     /* the first part being built */
    char busy_who[300]; /* its holder: "pid N on HOST", or "" */
    size_t done, units; /* work units done of the first unfinished part */
} survey;

static void list_flush(part_list *l)
{
    if (l->ranges < MAX_RANGES) {
        ek_strbuf_printf(&l->text, l->to > l->from ? "%s%d-%d" : "%s%d",
                         l->ranges > 0 ? ", " : "", l->from, l->to);
    } else if (l->ranges == MAX_RANGES) {
        ek_strbuf_puts(&l->text, ", ...");
    }
    l->ranges++;
}

static void list_add(part_list *l, int i)
{
    if (l->n > 0 && i == l->to + 1) {
        l->to = i;
    } else {
        if (l->n > 0) {
            list_flush(l);
        } else {
            l->first = i;
        }
        l->from = l->to = i;
    }
    l->n++;
}

/* Append "part I/N is WHAT" or "parts A, B-C of N are WHAT" (IS and ARE:
   the verb, singular and plural) for list L to M, after "; " unless M is
   empty. */
static void say_parts(ek_strbuf *m, part_list *l, int n, const char *is,
                      const char *are, const char *what)
{
    char *text = NULL;

    if (l->n == 0) {
        return;
    }
    list_flush(l);
    if (ek_strbuf_detach(&l->text, &text) != EODKIT_OK) {
        return;
    }
    ek_strbuf_puts(m, m->len > 0 ? "; " : "");
    if (l->n == 1) {
        ek_strbuf_printf(m, "part %d/%d %s %s", l->first, n, is, what);
    } else if (l->ranges > MAX_RANGES) {
        ek_strbuf_printf(m, "parts %s of %d (%d in all) %s %s", text, n, l->n, are,
                         what);
    } else {
        ek_strbuf_printf(m, "parts %s of %d %s %s", text, n, are, what);
    }
    free(text);
}

/*
** The state of part I of N in folder DIR of build B into *STATE (its
** holder in S when it is being built, how far it got when unfinished);
** when it is done, add its counts to RUN. A part is done when its
** completion marker is this build's, of another build when its checkpoint
** is another's.
*/
static int check_part(eodkit_ctx *ctx, const ek_build *b, char *dir, int i, int n,
                      ek_run *run, survey *s, int *state)
{
    char *checkpoint = ek_path_join(ctx, dir, EK_CHECKPOINT_FILE), who[300];
    int64_t *rows = ek_calloc(ctx, b->split->nsplits, sizeof *rows), journal_bytes;
    json_t *summary = NULL;
    eodkit_ctx quiet = {0};
    ek_run part;
    int held = 0, complete = 0, k, rc = EODKIT_OK;

    memset(&part, 0, sizeof part);
    part.dir = dir;
    memcpy(part.fingerprint, run->fingerprint, sizeof part.fingerprint);
    ek_run_part_units(b->plan, i, n, &part.first_unit, &part.end_unit);
    if (checkpoint == NULL || rows == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_lock_holder(ctx, dir, &held, who, sizeof who);
    }
    if (rc == EODKIT_OK && !held) {
        rc = ek_run_done(ctx, &part, &summary);
    }
    if (rc != EODKIT_OK) {
        /* reported */
    } else if (held) {
        *state = PART_BUILDING;
        if (s->busy_dir == NULL) {
            s->busy_dir = ek_strdup(ctx, dir);
            snprintf(s->busy_who, sizeof s->busy_who, "%s", who);
        }
    } else if (!ek_fs_is_file(checkpoint)) {
        *state = PART_MISSING;
    } else {
        rc = ek_run_load_checkpoint(&quiet, b, checkpoint, &part, rows, &journal_bytes,
                                    &complete);
        *state = summary != NULL && complete ? PART_DONE : PART_UNFINISHED;
        if (rc == EODKIT_ERR_INPUT) {
            *state = PART_OTHER;
            rc = EODKIT_OK;
        } else if (rc != EODKIT_OK) {
            ek_error(ctx, rc, "%s", eodkit_ctx_message(&quiet));
        }
    }
    if (rc == EODKIT_OK && *state == PART_UNFINISHED && s->units == 0) {
        s->done = part.next_unit - part.first_unit;
        s->units = part.end_unit - part.first_unit;
    }
    if (rc == EODKIT_OK && *state == PART_DONE) {
        run->kept += part.kept;
        for (k = 0; k < EK_REJECT_COUNT; k++) {
            run->rejected[k] += part.rejected[k];
        }
    }
    json_decref(summary);
    free(checkpoint);
    free(rows);
    return rc;
}

/* The error for parts folder PARTS of N parts, some of them not done (as
   survey S found them): EODKIT_ERR_EXISTS when one is being built, else
   EODKIT_ERR_INPUT, with a message listing them and what to do. */
static int not_ready(eodkit_ctx *ctx, const char *parts, int n, survey *s)
{
    part_list *l = s->lists;
    int redo = l[PART_MISSING].n + l[PART_UNFINISHED].n;
    char what[sizeof s->busy_who + 4200], *text = NULL;
    ek_strbuf m;
    int rc;

    ek_strbuf_init(&m, ctx);
    say_parts(&m, &l[PART_MISSING], n, "is", "are", "missing");
    snprintf(
        what, sizeof what, "being built (%s: in use by another eodkit process%s%s%s)",
        s->busy_dir != NULL ? s->busy_dir : "?", s->busy_who[0] != '\0' ? " (" : "",
        s->busy_who, s->busy_who[0] != '\0' ? ")" : "");
    say_parts(&m, &l[PART_BUILDING], n, "is", "are", what);
    snprintf(what, sizeof what, "not finished (%zu of %zu work units done)", s->done,
             s->units);
    say_parts(&m, &l[PART_UNFINISHED], n, "is", "are",
              l[PART_UNFINISHED].n == 1 ? what : "not finished");
    say_parts(&m, &l[PART_OTHER], n, "was", "were",
              "built from another recipe or other inputs");
    ek_strbuf_puts(&m, ".");
    if (l[PART_BUILDING].n > 0) {
        ek_strbuf_puts(&m, " Wait for the parts being built to finish.");
    }
    if (redo == 1) {
        ek_strbuf_printf(
            &m, " Run 'eodkit build RECIPE --part %d/%d --resume' (same -o).",
            l[PART_MISSING].n > 0 ? l[PART_MISSING].first : l[PART_UNFINISHED].first,
            n);
    } else if (redo > 1) {
        ek_strbuf_printf(
            &m,
            " Run 'eodkit build RECIPE --part I/%d --resume' (same -o) for "
            "each, or the job array again (parts already built end at once).",
            n);
    }
    if (l[PART_OTHER].n > 0) {
        ek_strbuf_puts(&m,
                       " Merge with the recipe, inputs and --regions the parts were "
                       "built with, or build those parts again without --resume.");
    }
    rc = ek_strbuf_detach(&m, &text);
    if (rc == EODKIT_OK) {
        rc =
            ek_error(ctx, l[PART_BUILDING].n > 0 ? EODKIT_ERR_EXISTS : EODKIT_ERR_INPUT,
                     "%s: %d of %d parts are not ready to merge: %s", parts,
                     n - l[PART_DONE].n, n, text);
    }
    free(text);
    return rc;
}

int ek_merge_check_parts(eodkit_ctx *ctx, const ek_build *b, const char *parts, int n,
                         ek_run *run)
{
    survey s;
    char *dir;
    int i, k, state = PART_DONE, rc = EODKIT_OK;

    memset(&s, 0, sizeof s);
    for (k = 0; k < PART_STATES; k++) {
        ek_strbuf_init(&s.lists[k].text, ctx);
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        dir = ek_part_dir(ctx, parts, i, n);
        rc = dir == NULL ? EODKIT_ERR_NOMEM
                         : check_part(ctx, b, dir, i, n, run, &s, &state);
        if (rc == EODKIT_OK) {
            list_add(&s.lists[state], i);
        }
        free(dir);
    }
    if (rc == EODKIT_OK && s.lists[PART_DONE].n < n) {
        rc = not_ready(ctx, parts, n, &s);
    }
    for (k = 0; k < PART_STATES; k++) {
        ek_strbuf_free(&s.lists[k].text);
    }
    free(s.busy_dir);
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
