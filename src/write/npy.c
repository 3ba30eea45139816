/*
** Write: NumPy .npy shards (format 1.0). The header is written with room
** for any row count and rewritten with the final count when a shard closes,
** so chips stream straight to disk. Shard boundaries depend only on the
** recipe, never on timing.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ek_fs.h"
#include "ek_write.h"

typedef struct split_state {
    const char *name;
    int shard;       /* index of the open shard, -1 before the first */
    int64_t rows;    /* rows (chips) in the open shard */
    int64_t objects; /* rows of its per-object arrays */
    int64_t total;   /* rows written to this split */
    FILE **files;    /* per array, the open shard */
} split_state;

struct ek_shards {
    char *dir;
    const ek_array_desc *arrays;
    size_t narrays;
    int64_t rows_per_shard;
    split_state *splits;
    size_t nsplits;
};

/* The header dict for N rows; padded to HEADER_BYTES total by the caller. */
static int header_text(const ek_array_desc *d, int64_t n, char *buf, size_t size)
{
    char shape[160];
    size_t used;
    int i;

    used = (size_t)snprintf(shape, sizeof shape, "(%" PRId64 ",", n);
    for (i = 0; i < d->ndim; i++) {
        used += (size_t)snprintf(shape + used, sizeof shape - used, " %" PRId64 ",",
                                 d->shape[i]);
    }
    if (d->ndim > 0) {
        shape[used - 1] = ')'; /* (n, a, b) */
    } else {
        snprintf(shape + used, sizeof shape - used, ")"); /* (n,) */
    }
    return snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    ek_dtype_numpy(d->dtype), shape);
}

/* Total header bytes: room for a 20-digit row count, a multiple of 64. */
size_t ek_npy_header_bytes(const ek_array_desc *d)
{
    char buf[512];
    int len = header_text(d, INT64_MAX, buf, sizeof buf);

    return ((size_t)len + 10 + 1 + 63) / 64 * 64;
}

static int write_header(FILE *f, const ek_array_desc *d, int64_t n)
{
    char buf[512];
    size_t total = ek_npy_header_bytes(d);
    size_t len = (size_t)header_text(d, n, buf + 10, sizeof buf - 10);
    uint16_t hlen = (uint16_t)(total - 10);

    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memset(buf + 10 + len, ' ', total - 10 - len - 1);
    buf[total - 1] = '\n';
    return fseek(f, 0, SEEK_SET) == 0 && fwrite(buf, 1, total, f) == total ? 0 : -1;
}

int ek_npy_write(eodkit_ctx *ctx, const char *path, const ek_array_desc *desc,
                 int64_t n, const void *data)
{
    FILE *f = fopen(path, "wb");
    size_t bytes = desc->chip_bytes * (size_t)n;
    int failed;

    if (f == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create: %s", path,
                        strerror(errno));
    }
    failed = write_header(f, desc, n) != 0 || fwrite(data, 1, bytes, f) != bytes;
    failed |= fclose(f) != 0;
    return failed ? ek_error(ctx, EODKIT_ERR_IO, "%s: write failed", path) : EODKIT_OK;
}

int ek_shards_new(eodkit_ctx *ctx, const char *dir, const ek_array_desc *arrays,
                  size_t narrays, char *const *split_names, size_t nsplits,
                  long long shard_bytes, ek_shards **out)
{
    ek_shards *sh = ek_calloc(ctx, 1, sizeof *sh);
    size_t a, s, largest = 1;

    *out = NULL;
    if (sh == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    sh->dir = ek_strdup(ctx, dir);
    sh->arrays = arrays;
    sh->narrays = narrays;
    sh->nsplits = nsplits;
    sh->splits = ek_calloc(ctx, nsplits, sizeof *sh->splits);
    if (sh->dir == NULL || sh->splits == NULL) {
        ek_shards_free(sh);
        return EODKIT_ERR_NOMEM;
    }
    for (a = 0; a < narrays; a++) {
        if (!arrays[a].per_object && arrays[a].chip_bytes > largest) {
            largest = arrays[a].chip_bytes;
        }
    }
    sh->rows_per_shard = shard_bytes / (long long)largest;
    if (sh->rows_per_shard < 1) {
        sh->rows_per_shard = 1;
    }
    for (s = 0; s < nsplits; s++) {
        sh->splits[s].name = split_names[s];
        sh->splits[s].shard = -1;
        sh->splits[s].files = ek_calloc(ctx, narrays, sizeof *sh->splits[s].files);
        if (sh->splits[s].files == NULL) {
            ek_shards_free(sh);
            return EODKIT_ERR_NOMEM;
        }
    }
    *out = sh;
    return EODKIT_OK;
}

static int close_shard(eodkit_ctx *ctx, ek_shards *sh, split_state *st)
{
    size_t a;
    int rc = EODKIT_OK;

    for (a = 0; a < sh->narrays; a++) {
        FILE *f = st->files[a];

        if (f == NULL) {
            continue;
        }
        st->files[a] = NULL;
        if ((write_header(f, &sh->arrays[a],
                          sh->arrays[a].per_object ? st->objects : st->rows) != 0 ||
             fclose(f) != 0) &&
            rc == EODKIT_OK) {
            rc = ek_error(ctx, EODKIT_ERR_IO,
                          "%s/%s: finishing shard %d of %s failed: %s", sh->dir,
                          st->name, st->shard, sh->arrays[a].name, strerror(errno));
        }
    }
    return rc;
}

char *ek_shard_path(eodkit_ctx *ctx, const char *dir, const char *split,
                    const ek_array_desc *desc, int k)
{
    return ek_asprintf(ctx, "%s/%s/%s-%05d.npy", dir, split, desc->name, k);
}

static int open_shard(eodkit_ctx *ctx, ek_shards *sh, split_state *st)
{
    char *folder = NULL, *path = NULL;
    size_t a;
    int rc = EODKIT_OK;

    st->shard++;
    st->rows = 0;
    st->objects = 0;
    folder = ek_path_join(ctx, sh->dir, st->name);
    if (folder == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_fs_mkdirs(ctx, folder);
    for (a = 0; a < sh->narrays && rc == EODKIT_OK; a++) {
        path = ek_shard_path(ctx, sh->dir, st->name, &sh->arrays[a], st->shard);
        if (path == NULL) {
            rc = EODKIT_ERR_NOMEM;
            break;
        }
        st->files[a] = fopen(path, "w+b");
        if (st->files[a] == NULL ||
            write_header(st->files[a], &sh->arrays[a], 0) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create: %s", path,
                          strerror(errno));
        }
        free(path);
    }
    free(folder);
    return rc;
}

int ek_shards_append(eodkit_ctx *ctx, ek_shards *sh, int s, const void *const *data,
                     size_t nobjects, int *shard, int64_t *row)
{
    split_state *st = &sh->splits[s];
    size_t a;
    int rc;

    if (st->shard < 0 || st->rows == sh->rows_per_shard) {
        rc = st->shard < 0 ? EODKIT_OK : close_shard(ctx, sh, st);
        if (rc == EODKIT_OK) {
            rc = open_shard(ctx, sh, st);
        }
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    for (a = 0; a < sh->narrays; a++) {
        const ek_array_desc *d = &sh->arrays[a];
        int64_t range[2] = {st->objects, (int64_t)nobjects};
        const void *from = d->ranges ? (const void *)range : data[a];
        size_t bytes = d->per_object ? nobjects * d->chip_bytes : d->chip_bytes;

        if (bytes > 0 && fwrite(from, 1, bytes, st->files[a]) != bytes) {
            return ek_error(ctx, EODKIT_ERR_IO, "%s/%s: writing %s shard %d failed: %s",
                            sh->dir, st->name, d->name, st->shard, strerror(errno));
        }
    }
    *shard = st->shard;
    *row = st->rows;
    st->rows++;
    st->objects += (int64_t)nobjects;
    st->total++;
    return EODKIT_OK;
}

int ek_shards_flush(eodkit_ctx *ctx, ek_shards *sh)
{
    size_t s, a;

    for (s = 0; s < sh->nsplits; s++) {
        for (a = 0; a < sh->narrays; a++) {
            FILE *f = sh->splits[s].files[a];

            if (f != NULL && fflush(f) != 0) {
                return ek_error(
                    ctx, EODKIT_ERR_IO, "%s/%s: writing %s shards failed: %s", sh->dir,
                    sh->splits[s].name, sh->arrays[a].name, strerror(errno));
            }
        }
    }
    return EODKIT_OK;
}

/* Remove shards K, K+1, ... of every array of split ST, as far as they exist. */
static int remove_shards_from(eodkit_ctx *ctx, ek_shards *sh, const split_state *st,
                              int k)
{
    size_t a;
    int rc = EODKIT_OK;

    for (;; k++) {
        int found = 0;

        for (a = 0; a < sh->narrays && rc == EODKIT_OK; a++) {
            char *path = ek_shard_path(ctx, sh->dir, st->name, &sh->arrays[a], k);

            if (path == NULL) {
                return EODKIT_ERR_NOMEM;
            }
            if (ek_fs_exists(path)) {
                found = 1;
                if (unlink(path) != 0) {
                    rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot remove: %s", path,
                                  strerror(errno));
                }
            }
            free(path);
        }
        if (!found || rc != EODKIT_OK) {
            return rc;
        }
    }
}

/* The objects of the first ST->rows chips of the reopened ranges file F:
   the end of the last chip's range. */
static int objects_so_far(eodkit_ctx *ctx, const ek_array_desc *d, FILE *f,
                          const char *path, split_state *st)
{
    int64_t range[2] = {0, 0};
    long long at = (long long)ek_npy_header_bytes(d) + (st->rows - 1) * 16LL;

    if (st->rows > 0 &&
        (fseeko(f, (off_t)at, SEEK_SET) != 0 || fread(range, sizeof range, 1, f) != 1 ||
         range[0] < 0 || range[1] < 0)) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot read the chips' objects", path);
    }
    st->objects = range[0] + range[1];
    return EODKIT_OK;
}

/* Reopen the last shard of split ST holding ST->rows rows: its files cut
   back to exactly those rows (and their objects), positioned for the next.
   The ranges array comes first in a pass of its own: it tells how many
   objects the per-object arrays keep. */
static int reopen_shard(eodkit_ctx *ctx, ek_shards *sh, split_state *st)
{
    size_t a, k;
    int rc = EODKIT_OK;

    for (k = 0; k < 2 * sh->narrays && rc == EODKIT_OK; k++) {
        const ek_array_desc *d = &sh->arrays[k % sh->narrays];
        char *path;
        long long bytes;

        if ((k < sh->narrays) != (d->ranges != 0)) {
            continue;
        }
        a = k % sh->narrays;
        path = ek_shard_path(ctx, sh->dir, st->name, d, st->shard);
        bytes = (long long)ek_npy_header_bytes(d) +
                (d->per_object ? st->objects : st->rows) * (long long)d->chip_bytes;
        if (path == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        st->files[a] = fopen(path, "r+b");
        if (st->files[a] == NULL || ek_fs_size(path) < bytes ||
            ftruncate(fileno(st->files[a]), (off_t)bytes) != 0 ||
            fseek(st->files[a], 0, SEEK_END) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_IO,
                          "%s: cannot resume it (missing, or shorter than the %lld "
                          "bytes the checkpoint records)",
                          path, bytes);
        }
        if (rc == EODKIT_OK && d->ranges) {
            rc = objects_so_far(ctx, d, st->files[a], path, st);
        }
        if (rc == EODKIT_OK && d->ranges && fseek(st->files[a], 0, SEEK_END) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot resume it", path);
        }
        free(path);
    }
    return rc;
}

int ek_shards_resume(eodkit_ctx *ctx, ek_shards *sh, const int64_t *totals)
{
    size_t s;
    int rc = EODKIT_OK;

    for (s = 0; s < sh->nsplits && rc == EODKIT_OK; s++) {
        split_state *st = &sh->splits[s];

        st->total = totals[s];
        st->shard = totals[s] > 0 ? (int)((totals[s] - 1) / sh->rows_per_shard) : -1;
        st->rows = totals[s] - (int64_t)st->shard * sh->rows_per_shard;
        rc = remove_shards_from(ctx, sh, st, st->shard + 1);
        if (rc == EODKIT_OK && st->shard >= 0) {
            rc = reopen_shard(ctx, sh, st);
        }
    }
    return rc;
}

int ek_shards_close(eodkit_ctx *ctx, ek_shards *sh)
{
    size_t s;
    int rc = EODKIT_OK;

    for (s = 0; s < sh->nsplits; s++) {
        int r = close_shard(ctx, sh, &sh->splits[s]);

        rc = rc == EODKIT_OK ? r : rc;
    }
    return rc;
}

void ek_shards_free(ek_shards *sh)
{
    size_t s, a;

    if (sh == NULL) {
        return;
    }
    for (s = 0; sh->splits != NULL && s < sh->nsplits; s++) {
        for (a = 0; sh->splits[s].files != NULL && a < sh->narrays; a++) {
            if (sh->splits[s].files[a] != NULL) {
                fclose(sh->splits[s].files[a]);
            }
        }
        free(sh->splits[s].files);
    }
    free(sh->splits);
    free(sh->dir);
    free(sh);
}

int64_t ek_shards_count(const ek_shards *sh, int s)
{
    return sh->splits[s].total;
}

int ek_shards_files(const ek_shards *sh, int s)
{
    return sh->splits[s].shard + 1;
}

int64_t ek_shards_rows_per_shard(const ek_shards *sh)
{
    return sh->rows_per_shard;
}
