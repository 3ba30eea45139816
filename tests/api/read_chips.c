/*
** API test: read chips of one array of one split of a dataset with the
** installed libeodkit and print, per chip, its index and the FNV-1a 64-bit
** hash of its bytes (the test hashes what NumPy reads from the shards).
** Usage: read_chips DATASET SPLIT ARRAY [INDEX...] (default: every chip).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <eodkit/dataset.h>

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

/* Print chip INDEX of ARRAY of SPLIT of DS, read into BUF of SIZE bytes. */
static int print_chip(eodkit_ctx *ctx, const eodkit_dataset *ds, const char *split,
                      const char *array, long long index, unsigned char *buf,
                      size_t size)
{
    int rc = eodkit_dataset_read_chip(ctx, ds, split, array, index, buf, size);

    if (rc == EODKIT_OK) {
        printf("%lld %016llx\n", index, (unsigned long long)fnv1a(buf, size));
    }
    return rc;
}

int main(int argc, char **argv)
{
    eodkit_ctx *ctx;
    eodkit_dataset *ds = NULL;
    unsigned char *buf = NULL;
    long long chips = 0, i;
    size_t size = 0;
    int rc, k;

    if (argc < 4) {
        fprintf(stderr, "usage: read_chips DATASET SPLIT ARRAY [INDEX...]\n");
        return EODKIT_ERR_USAGE;
    }
    ctx = eodkit_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_dataset_open(ctx, argv[1], &ds);
    if (rc == EODKIT_OK) {
        chips = eodkit_dataset_chips(ds, argv[2]);
        size = eodkit_dataset_chip_bytes(ds, argv[3]);
        printf("%s %s: %lld chips of %zu bytes\n", argv[2], argv[3], chips, size);
        /* one byte more than a chip: a wrong SIZE is refused, not read */
        buf = malloc(size + 1);
        rc = buf != NULL ? EODKIT_OK : EODKIT_ERR_NOMEM;
    }
    for (i = 0; rc == EODKIT_OK && argc == 4 && i < chips; i++) {
        rc = print_chip(ctx, ds, argv[2], argv[3], i, buf, size);
    }
    for (k = 4; rc == EODKIT_OK && k < argc; k++) {
        rc = print_chip(ctx, ds, argv[2], argv[3], atoll(argv[k]), buf, size);
    }
    if (rc != EODKIT_OK) {
        fprintf(stderr, "%s: %s\n", eodkit_status_name(rc), eodkit_ctx_message(ctx));
    }
    free(buf);
    eodkit_dataset_close(ds);
    eodkit_ctx_free(ctx);
    return rc;
}
