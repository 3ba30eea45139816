/*
** Audit: how evenly a dataset covers its categories (normalised Shannon
** entropy) and the per-chip sampling weights that even them out inside each
** split, for loaders that draw chips with a weighted sampler.
*/
#include <math.h>
#include <stdlib.h>

#include "ek_audit.h"

double ek_audit_entropy(const double *counts, size_t n, size_t categories)
{
    double total = 0, h = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        total += counts[i];
    }
    if (categories < 2 || total <= 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (counts[i] > 0) {
            double p = counts[i] / total;

            h -= p * log(p);
        }
    }
    return h / log((double)categories);
}

int ek_audit_weights(eodkit_ctx *ctx, const int32_t *split, const int32_t *group,
                     size_t n, size_t nsplits, size_t ngroups, double *weights)
{
    size_t *per_group = ek_calloc(ctx, nsplits * ngroups, sizeof *per_group);
    size_t *per_split = ek_calloc(ctx, nsplits, sizeof *per_split);
    size_t *groups = ek_calloc(ctx, nsplits, sizeof *groups);
    size_t i;
    int rc = EODKIT_OK;

    if (per_group == NULL || per_split == NULL || groups == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t *c = &per_group[(size_t)split[i] * ngroups + (size_t)group[i]];

        groups[split[i]] += *c == 0;
        (*c)++;
        per_split[split[i]]++;
    }
    for (i = 0; i < n; i++) {
        size_t s = (size_t)split[i];

        weights[i] =
            (double)per_split[s] /
            ((double)groups[s] * (double)per_group[s * ngroups + (size_t)group[i]]);
    }
out:
    free(per_group);
    free(per_split);
    free(groups);
    return rc;
}
