/*
** Core: tables of distinct strings (see ek_strtab.h): open addressing on
** FNV-1a hashes.
*/
#include <stdlib.h>
#include <string.h>

#include "ek_strtab.h"

uint64_t ek_hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static int rehash(eodkit_ctx *ctx, ek_strtab *t)
{
    size_t nslots = t->nslots == 0 ? 64 : t->nslots * 2, i;
    int32_t *slots = ek_calloc(ctx, nslots, sizeof *slots);

    if (slots == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < t->n; i++) {
        size_t k = (size_t)ek_hash_text(t->names[i]) & (nslots - 1);

        while (slots[k] != 0) {
            k = (k + 1) & (nslots - 1);
        }
        slots[k] = (int32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return EODKIT_OK;
}

int32_t ek_strtab_find(const ek_strtab *t, const char *s)
{
    size_t k;

    if (t->nslots == 0) {
        return -1;
    }
    k = (size_t)ek_hash_text(s) & (t->nslots - 1);
    while (t->slots[k] != 0) {
        if (strcmp(t->names[t->slots[k] - 1], s) == 0) {
            return t->slots[k] - 1;
        }
        k = (k + 1) & (t->nslots - 1);
    }
    return -1;
}

int32_t ek_strtab_intern(eodkit_ctx *ctx, ek_strtab *t, const char *s)
{
    int32_t found = ek_strtab_find(t, s);
    size_t k;
    char *copy;

    if (found >= 0) {
        return found;
    }
    if ((t->n + 1) * 2 > t->nslots && rehash(ctx, t) != EODKIT_OK) {
        return -1;
    }
    k = (size_t)ek_hash_text(s) & (t->nslots - 1);
    while (t->slots[k] != 0) {
        k = (k + 1) & (t->nslots - 1);
    }
    copy = ek_strdup(ctx, s);
    if (copy == NULL || ek_grow(ctx, (void **)&t->names, &t->cap, t->n + 1,
                                sizeof *t->names) != EODKIT_OK) {
        free(copy);
        return -1;
    }
    t->names[t->n] = copy;
    t->slots[k] = (int32_t)++t->n;
    return (int32_t)t->n - 1;
}

void ek_strtab_free(ek_strtab *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->names[i]);
    }
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
