/*
** Core: a table of distinct strings, each with a stable index (the order
** they were first added), for tags and names counted per chip.
*/
#ifndef EK_STRTAB_H
#define EK_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "ek_ctx.h"

/* A table of distinct strings; index i names value i. */
typedef struct ek_strtab {
    char **names;
    size_t n, cap;
    int32_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
} ek_strtab;

/* The 64-bit FNV-1a hash of S: the slot of S in a string table, and the
   seed eval derives from a group's name. */
uint64_t ek_hash_text(const char *s);

/* Index of S in T, added when new; -1 when out of memory (CTX says so). */
int32_t ek_strtab_intern(eodkit_ctx *ctx, ek_strtab *t, const char *s);

/* Index of S in T, or -1 when T does not hold it. */
int32_t ek_strtab_find(const ek_strtab *t, const char *s);
void ek_strtab_free(ek_strtab *t);

#endif
