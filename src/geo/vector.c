/*
** Geo: vector layers (see ek_vector.h).
*/
#include <stdio.h>
#include <stdlib.h>

#include <cpl_error.h>

#include "core/ek_ctx.h"
#include "ek_vector.h"

void ek_field_hint(OGRFeatureDefnH defn, const char *field, char *hint, size_t size)
{
    int i, n = OGR_FD_GetFieldCount(defn);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    const char *near = NULL;
    size_t used;

    for (i = 0; i < n && names != NULL; i++) {
        names[i] = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
    }
    if (names != NULL) {
        near = ek_nearest_word(field, names, (size_t)n);
    }
    if (near != NULL) {
        snprintf(hint, size, " (did you mean '%s'?)", near);
    } else {
        used = (size_t)snprintf(hint, size, "; it has: ");
        for (i = 0; i < n && used < size; i++) {
            used += (size_t)snprintf(hint + used, size - used, "%s%s", i ? ", " : "",
                                     OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
        }
    }
    free(names);
}

int ek_next_feature(eodkit_ctx *ctx, OGRLayerH layer, const char *path,
                    const char *where, OGRFeatureH *f)
{
    int rc = ek_cancelled(ctx);

    *f = NULL;
    if (rc != EODKIT_OK) {
        return rc;
    }
    CPLErrorReset();
    *f = OGR_L_GetNextFeature(layer);
    if (CPLGetLastErrorType() < CE_Failure) {
        return EODKIT_OK;
    }
    if (*f != NULL) {
        rc = ek_error(ctx, EODKIT_ERR_GDAL,
                      "%s: reading feature %lld failed: %s; the file is damaged or "
                      "truncated",
                      path, (long long)OGR_F_GetFID(*f), CPLGetLastErrorMsg());
    } else {
        rc = ek_error(ctx, EODKIT_ERR_GDAL,
                      "%s: reading its features failed: %s; the file is damaged or "
                      "truncated",
                      path, CPLGetLastErrorMsg());
    }
    OGR_F_Destroy(*f);
    *f = NULL;
    return ek_error_where(ctx, "%s", where);
}
