/*
** Core: the one pseudo-random generator eodkit uses (splitmix64), so a seed
** in a recipe means the same thing on every machine and in every release.
*/
#ifndef EK_RAND_H
#define EK_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Next value of the sequence whose state is *STATE (advances it). */
static inline uint64_t ek_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Shuffle the N elements of ITEMS (Fisher-Yates) from seed state *STATE. */
static inline void ek_rand_shuffle(size_t *items, size_t n, uint64_t *state)
{
    size_t i;

    for (i = n; i > 1; i--) {
        size_t j = (size_t)(ek_rand_next(state) % i);
        size_t t = items[i - 1];

        items[i - 1] = items[j];
        items[j] = t;
    }
}

#endif
