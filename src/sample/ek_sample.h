/*
** Sample: which candidate chips a build keeps when its recipe samples
** (doc/recipe.md, sample). Decided after the plan, the region tags and the
** labels-only class census, before the splits and before any image pixel is
** read: chips are grouped (by continent, country, region, class or cell),
** each group gets a quota, and each group keeps its chips with the smallest
** seeded draws. A pure function of the recipe and the inputs, so every
** thread count, part and MPI rank chooses the same chips.
*/
#ifndef EK_SAMPLE_H
#define EK_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "grid/ek_plan.h"
#include "regions/ek_regions.h"

/* Group names of chips without a tag: over the sea (as index.gpkg names
   them), and in a region whose polygon has no value for the key. */
#define EK_SAMPLE_SEA "none"
#define EK_SAMPLE_UNKNOWN "unknown"

typedef struct ek_sample {
    size_t ngroups;
    char **names;       /* group names, in strcmp order */
    size_t *candidates; /* per group: candidate chips before sampling */
    size_t *chosen;     /* per group: chips chosen */
    size_t ncandidates, nchosen;
    /* per chosen chip, by the candidate index of the plan once shrunk to
       the chosen chips (ek_plan_keep): its group */
    int32_t *group;
} ek_sample;

/* What grouping needs besides the plan. */
typedef struct ek_sample_inputs {
    const ek_regions *regions;  /* by continent, country, region: the layer
                                   (NULL when there is none) ... */
    const int32_t *region_tags; /* ... and each candidate's region (-1: sea) */
    const int32_t *chip_class;  /* by class: each candidate's class id */
} ek_sample_inputs;

/*
** Sample the candidates of plan P as P's recipe says (its `sample`): *SAMPLE
** (free with ek_sample_free) gets the groups and their counts, *KEEP (newly
** allocated, one byte per candidate) 1 for the chosen chips, in candidate
** order. The caller then shrinks the plan (ek_plan_keep) and any array it
** keeps per candidate (ek_sample_compact) with KEEP. Refused, naming the
** recipe line of sample.by: grouping by a region key without a region
** layer, or with a layer that has no such field. Polls CTX's cancel flag.
*/
int ek_sample_make(eodkit_ctx *ctx, const ek_plan *p, const ek_sample_inputs *in,
                   ek_sample **sample /* OUT */, uint8_t **keep /* OUT */);
void ek_sample_free(ek_sample *s);

/* Move the items of ARRAY (N items of SIZE bytes each) whose KEEP is set
   to its front, in order; return how many there are. */
size_t ek_sample_compact(void *array, size_t size, const uint8_t *keep, size_t n);

/*
** How many chips each of NG groups keeps (QUOTA, NG entries) when group g
** has N[g] candidates, under recipe S: at most S->max_per_group each, and
** with S->total, that many in all, shared in proportion to N (proportional)
** or evenly (equal), a group's share beyond its candidates (or the cap)
** going to the others; whole chips by largest remainder, ties to the group
** with more candidates, then the earlier group. Counts below 2^25 (the
** plan's limit). EODKIT_ERR_NOMEM is the only failure.
*/
int ek_sample_quotas(eodkit_ctx *ctx, const ek_sample_recipe *s, const size_t *n,
                     size_t ng, size_t *quota /* OUT */);

/* The draw of chip CHIP_ID under SEED: splitmix64 (ek_rand_next) of the
   state SEED ^ (CHIP_ID * 0xd1b54a32d192ed03). Distinct chip ids draw
   distinct values, so the order of draws has no ties. */
uint64_t ek_sample_draw(uint64_t seed, size_t chip_id);

/* provenance.json's "sample" (doc/format.md): recipe S's settings and, per
   group of SAMPLE, its candidates, chosen chips and KEPT[g] chips in the
   dataset. A new reference, or NULL when out of memory. */
json_t *ek_sample_json(const ek_sample_recipe *s, const ek_sample *sample,
                       const size_t *kept);

#endif
