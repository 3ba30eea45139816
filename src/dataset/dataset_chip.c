/*
** Dataset: reading single chips of an opened dataset for programs that link
** libeodkit (the public eodkit_dataset_chips / _chip_bytes / _read_chip):
** where index.gpkg put the chip (shard, row), then that row of the shard.
*/
#include <stdlib.h>
#include <string.h>

#include "ek_dataset.h"

static const ek_dataset_split *find_split(const ek_dataset *ds, const char *name)
{
    size_t s;

    for (s = 0; name != NULL && s < ds->nsplits; s++) {
        if (strcmp(ds->splits[s].name, name) == 0) {
            return &ds->splits[s];
        }
    }
    return NULL;
}

static const ek_dataset_array *find_array(const ek_dataset *ds, const char *name)
{
    size_t a;

    for (a = 0; name != NULL && a < ds->narrays; a++) {
        if (strcmp(ds->arrays[a].name, name) == 0) {
            return &ds->arrays[a];
        }
    }
    return NULL;
}

/* The bytes of one chip of A. */
static size_t chip_bytes(const ek_dataset_array *a)
{
    size_t bytes = (size_t)a->type.size;
    int i;

    for (i = 0; i < a->ndim; i++) {
        bytes *= (size_t)a->shape[i];
    }
    return bytes;
}

long long eodkit_dataset_chips(const eodkit_dataset *ds, const char *split)
{
    const ek_dataset_split *s = find_split(ds, split);

    return s != NULL ? (long long)s->chips : -1;
}

size_t eodkit_dataset_chip_bytes(const eodkit_dataset *ds, const char *array)
{
    const ek_dataset_array *a = find_array(ds, array);

    return a != NULL ? chip_bytes(a) : 0;
}

int eodkit_dataset_read_chip(eodkit_ctx *ctx, const eodkit_dataset *ds,
                             const char *split, const char *array, long long index,
                             void *buf, size_t size)
{
    const ek_dataset_split *s = find_split(ds, split);
    const ek_dataset_array *a = find_array(ds, array);
    long long row = index;
    size_t shard = 0;
    char *path = NULL;
    ek_npy nf;
    int rc;

    memset(&nf, 0, sizeof nf);
    if (s == NULL || a == NULL) {
        return ek_error(ctx, EODKIT_ERR_USAGE, "%s: no %s '%s'", ds->path,
                        s == NULL ? "split" : "array", s == NULL ? split : array);
    }
    if (index < 0 || index >= s->chips) {
        return ek_error(ctx, EODKIT_ERR_USAGE,
                        "%s: split %s has no chip %lld (%lld chips)", ds->path, s->name,
                        index, (long long)s->chips);
    }
    if (size != chip_bytes(a)) {
        return ek_error(ctx, EODKIT_ERR_USAGE,
                        "%s: a chip of %s takes %zu bytes, not %zu", ds->path, a->name,
                        chip_bytes(a), size);
    }
    /* The index fills shards 0, 1, ... row after row (ek_dataset_read_index). */
    while (row >= s->shard_chips[shard]) {
        row -= s->shard_chips[shard];
        shard++;
    }
    path = ek_asprintf(ctx, "%s/%s/%s-%05zu.npy", ds->path, s->name, a->name, shard);
    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_npy_open(ctx, path, &nf);
    if (rc != EODKIT_OK) {
        goto out;
    }
    /* The shard may have changed since the dataset was opened. */
    rc = ek_dataset_check_shard(ctx, a, s->shard_chips[shard], &nf, path);
    if (rc == EODKIT_OK) {
        rc = ek_npy_read_rows(ctx, &nf, path, row, 1, buf);
    }
out:
    ek_npy_close(&nf);
    free(path);
    return rc;
}
