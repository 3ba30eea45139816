/*
** Write: the chip journal, an append-only file of the index rows of the
** chips written so far, in commit order. index.gpkg is made from it when
** the build finishes, so a build that is killed and resumed, or built in
** parts and merged, ends with the same index: only the row sequence counts.
** Records are binary in the machine's byte order (the file is internal to
** one build and never part of a dataset).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ek_fs.h"
#include "ek_write.h"

struct ek_journal {
    char *path;
    FILE *f;
    int64_t bytes; /* written so far */
    /* reading: the strings of the last record */
    char *text[5];
    size_t text_cap[5];
};

/* The fixed-size part of a record. */
typedef struct record_head {
    int64_t chip_id;
    int32_t split, shard;
    int64_t row;
    double nodata_frac, labeled_frac, cloud_frac;
    int32_t label, objects;
    int64_t earliest, latest;
} record_head;

static int io_error(eodkit_ctx *ctx, const ek_journal *j, const char *what)
{
    return ek_error(ctx, EODKIT_ERR_IO, "%s: %s the chip journal failed: %s", j->path,
                    what, errno != 0 ? strerror(errno) : "unexpected end of file");
}

static ek_journal *journal_new(eodkit_ctx *ctx, const char *path)
{
    ek_journal *j = ek_calloc(ctx, 1, sizeof *j);

    if (j != NULL) {
        j->path = ek_strdup(ctx, path);
        if (j->path == NULL) {
            free(j);
            j = NULL;
        }
    }
    return j;
}

int ek_journal_open(eodkit_ctx *ctx, const char *path, int64_t keep, ek_journal **out)
{
    ek_journal *j = journal_new(ctx, path);

    *out = NULL;
    if (j == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    errno = 0;
    j->f = fopen(path, keep > 0 ? "r+b" : "wb");
    if (j->f == NULL || (keep > 0 && (ek_fs_size(path) < keep ||
                                      ftruncate(fileno(j->f), (off_t)keep) != 0 ||
                                      fseek(j->f, 0, SEEK_END) != 0))) {
        int rc = io_error(ctx, j, keep > 0 ? "resuming" : "creating");

        ek_journal_close(ctx, j);
        return rc;
    }
    j->bytes = keep > 0 ? keep : 0;
    *out = j;
    return EODKIT_OK;
}

static int put_text(ek_journal *j, const char *text)
{
    int32_t len = text != NULL ? (int32_t)strlen(text) : -1;

    if (fwrite(&len, sizeof len, 1, j->f) != 1 ||
        (len > 0 && fwrite(text, 1, (size_t)len, j->f) != (size_t)len)) {
        return -1;
    }
    j->bytes += (int64_t)sizeof len + (len > 0 ? len : 0);
    return 0;
}

int ek_journal_add(eodkit_ctx *ctx, ek_journal *j, const ek_index_row *r)
{
    record_head h;

    memset(&h, 0, sizeof h);
    h.chip_id = r->chip_id;
    h.split = r->split;
    h.shard = r->shard;
    h.row = r->row;
    h.nodata_frac = r->nodata_frac;
    h.labeled_frac = r->labeled_frac;
    h.cloud_frac = r->cloud_frac;
    h.label = r->label;
    h.objects = r->objects;
    h.earliest = r->earliest;
    h.latest = r->latest;
    errno = 0;
    if (fwrite(&h, sizeof h, 1, j->f) != 1) {
        return io_error(ctx, j, "writing");
    }
    j->bytes += (int64_t)sizeof h;
    if (put_text(j, r->class_hist) != 0 || put_text(j, r->sources) != 0 ||
        put_text(j, r->present) != 0 || put_text(j, r->times) != 0 ||
        put_text(j, r->object_hist) != 0) {
        return io_error(ctx, j, "writing");
    }
    return EODKIT_OK;
}

int64_t ek_journal_bytes(const ek_journal *j)
{
    return j->bytes;
}

int ek_journal_flush(eodkit_ctx *ctx, ek_journal *j)
{
    errno = 0;
    return fflush(j->f) == 0 ? EODKIT_OK : io_error(ctx, j, "writing");
}

int ek_journal_read_open(eodkit_ctx *ctx, const char *path, ek_journal **out)
{
    ek_journal *j = journal_new(ctx, path);

    *out = NULL;
    if (j == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    errno = 0;
    j->f = fopen(path, "rb");
    if (j->f == NULL) {
        int rc = io_error(ctx, j, "opening");

        ek_journal_close(ctx, j);
        return rc;
    }
    *out = j;
    return EODKIT_OK;
}

/* Read string K of a record into J's buffer; *TEXT points at it (or NULL). */
static int get_text(eodkit_ctx *ctx, ek_journal *j, int k, const char **text)
{
    int32_t len;

    if (fread(&len, sizeof len, 1, j->f) != 1) {
        return io_error(ctx, j, "reading");
    }
    if (len < 0) {
        *text = NULL;
        return EODKIT_OK;
    }
    if (ek_grow(ctx, (void **)&j->text[k], &j->text_cap[k], (size_t)len + 1, 1) !=
        EODKIT_OK) {
        return EODKIT_ERR_NOMEM;
    }
    if (len > 0 && fread(j->text[k], 1, (size_t)len, j->f) != (size_t)len) {
        return io_error(ctx, j, "reading");
    }
    j->text[k][len] = '\0';
    *text = j->text[k];
    return EODKIT_OK;
}

int ek_journal_next(eodkit_ctx *ctx, ek_journal *j, ek_index_row *r, int *got)
{
    record_head h;
    int rc;

    errno = 0;
    *got = 0;
    if (fread(&h, sizeof h, 1, j->f) != 1) {
        return feof(j->f) && !ferror(j->f) ? EODKIT_OK : io_error(ctx, j, "reading");
    }
    memset(r, 0, sizeof *r);
    r->chip_id = h.chip_id;
    r->split = h.split;
    r->shard = h.shard;
    r->row = h.row;
    r->nodata_frac = h.nodata_frac;
    r->labeled_frac = h.labeled_frac;
    r->cloud_frac = h.cloud_frac;
    r->label = h.label;
    r->objects = h.objects;
    r->earliest = h.earliest;
    r->latest = h.latest;
    rc = get_text(ctx, j, 0, &r->class_hist);
    if (rc == EODKIT_OK) {
        rc = get_text(ctx, j, 1, &r->sources);
    }
    if (rc == EODKIT_OK) {
        rc = get_text(ctx, j, 2, &r->present);
    }
    if (rc == EODKIT_OK) {
        rc = get_text(ctx, j, 3, &r->times);
    }
    if (rc == EODKIT_OK) {
        rc = get_text(ctx, j, 4, &r->object_hist);
    }
    *got = rc == EODKIT_OK;
    return rc;
}

int ek_journal_close(eodkit_ctx *ctx, ek_journal *j)
{
    int rc = EODKIT_OK, k;

    if (j == NULL) {
        return EODKIT_OK;
    }
    errno = 0;
    if (j->f != NULL && fclose(j->f) != 0) {
        rc = io_error(ctx, j, "closing");
    }
    for (k = 0; k < 5; k++) {
        free(j->text[k]);
    }
    free(j->path);
    free(j);
    return rc;
}
