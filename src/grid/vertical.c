/*
** Plan: the vertical CRS of a modality's values. eodkit never converts
** heights between vertical datums, so the values keep the vertical CRS of
** their files' compound CRSs (e.g. WGS 84 + EGM96 height); the plan
** describes it, and the grid CRS with it, for the dataset's metadata.
*/
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "ek_plan.h"

static const char *const wkt2_options[] = {"FORMAT=WKT2_2019", NULL};

/* A new spatial reference of WKT, or NULL. */
static OGRSpatialReferenceH srs_of(const char *wkt)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);

    if (srs != NULL && OSRSetFromUserInput(srs, wkt) != OGRERR_NONE) {
        OSRRelease(srs);
        return NULL;
    }
    return srs;
}

/* The vertical part of compound CRS C, as a CRS of its own: from its EPSG
   code, else rebuilt from its name and datum. */
static OGRSpatialReferenceH vertical_part(OGRSpatialReferenceH c)
{
    const char *auth = OSRGetAuthorityName(c, "VERT_CS");
    const char *code = OSRGetAuthorityCode(c, "VERT_CS");
    OGRSpatialReferenceH v = OSRNewSpatialReference(NULL);
    OGRErr err;

    if (v == NULL) {
        return NULL;
    }
    if (auth != NULL && code != NULL && strcmp(auth, "EPSG") == 0) {
        err = OSRImportFromEPSG(v, atoi(code));
    } else {
        /* 2005: a geoid-based (orthometric) datum, in the WKT1 convention */
        err = OSRSetVertCS(v, OSRGetAttrValue(c, "VERT_CS", 0),
                           OSRGetAttrValue(c, "VERT_DATUM", 0), 2005);
    }
    if (err != OGRERR_NONE) {
        OSRRelease(v);
        return NULL;
    }
    return v;
}

static char *wkt2_of(eodkit_ctx *ctx, OGRSpatialReferenceH srs)
{
    char *wkt = NULL, *copy = NULL;

    if (OSRExportToWktEx(srs, &wkt, wkt2_options) == OGRERR_NONE) {
        copy = ek_strdup(ctx, wkt);
    } else {
        ek_error_gdal(ctx, "cannot express a CRS as WKT");
    }
    CPLFree(wkt);
    return copy;
}

/* Describe vertical CRS V into OUT, and with it the CRS of grid G (its
   horizontal part) made compound. */
static int describe(eodkit_ctx *ctx, OGRSpatialReferenceH v, const ek_grid *g,
                    ek_vertical *out)
{
    const char *auth = OSRGetAuthorityName(v, NULL);
    const char *code = OSRGetAuthorityCode(v, NULL);
    const char *name = OSRGetName(v);
    OGRSpatialReferenceH horizontal = OSRClone(g->srs);
    OGRSpatialReferenceH both = OSRNewSpatialReference(NULL);
    char *both_name = NULL;
    int rc = EODKIT_OK;

    out->name = ek_strdup(ctx, name != NULL ? name : "unnamed");
    if (auth != NULL && code != NULL) {
        out->code = ek_asprintf(ctx, "%s:%s", auth, code);
    }
    out->wkt = wkt2_of(ctx, v);
    if (horizontal == NULL || both == NULL || out->name == NULL || out->wkt == NULL ||
        (auth != NULL && code != NULL && out->code == NULL)) {
        rc = eodkit_ctx_status(ctx) != EODKIT_OK ? eodkit_ctx_status(ctx)
                                                 : EODKIT_ERR_NOMEM;
        goto out;
    }
    OSRStripVertical(horizontal);
    both_name = ek_asprintf(ctx, "%s + %s", OSRGetName(horizontal), out->name);
    if (both_name == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    if (OSRSetCompoundCS(both, both_name, horizontal, v) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "cannot combine the grid CRS with %s", out->name);
        goto out;
    }
    out->grid_wkt = wkt2_of(ctx, both);
    rc = out->grid_wkt == NULL ? eodkit_ctx_status(ctx) : EODKIT_OK;
out:
    free(both_name);
    if (both != NULL) {
        OSRRelease(both);
    }
    if (horizontal != NULL) {
        OSRRelease(horizontal);
    }
    return rc;
}

/* The vertical CRS of modality M (grid G for its compound description):
   M->vertical stays NULL when no file declares one. */
static int modality_vertical(eodkit_ctx *ctx, const ek_recipe *r, const ek_grid *g,
                             ek_modality *m)
{
    OGRSpatialReferenceH found = NULL;
    const ek_source *from = NULL;
    char where[512];
    size_t i;
    int rc = EODKIT_OK;

    for (i = 0; i < m->nsources && rc == EODKIT_OK; i++) {
        OGRSpatialReferenceH s = srs_of(m->sources[i].wkt);

        if (s != NULL && OSRIsCompound(s)) {
            if (found == NULL) {
                found = vertical_part(s);
                from = &m->sources[i];
                if (found == NULL) {
                    rc = ek_error_gdal(ctx, "%s: unreadable vertical CRS",
                                       m->sources[i].path);
                }
            } else if (!OSRIsSameVertCS(found, s)) {
                rc = ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: its heights are in '%s' but those of %s are in '%s'; "
                    "eodkit does not convert heights between vertical datums: "
                    "convert the files to one first (%s: modality '%s')",
                    m->sources[i].path, OSRGetAttrValue(s, "VERT_CS", 0), from->path,
                    OSRGetName(found),
                    ek_recipe_where(r, m->recipe->files_mark, where, sizeof where),
                    m->recipe->name);
            }
        }
        if (s != NULL) {
            OSRRelease(s);
        }
    }
    if (rc == EODKIT_OK && found != NULL) {
        m->vertical = ek_calloc(ctx, 1, sizeof *m->vertical);
        rc = m->vertical == NULL ? EODKIT_ERR_NOMEM
                                 : describe(ctx, found, g, m->vertical);
    }
    if (found != NULL) {
        OSRRelease(found);
    }
    return rc;
}

int ek_plan_vertical(eodkit_ctx *ctx, const ek_recipe *r, ek_plan *p)
{
    size_t m;
    int rc = EODKIT_OK;

    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        rc = modality_vertical(ctx, r, &p->grids[0], &p->modalities[m]);
    }
    return rc;
}

void ek_vertical_free(ek_vertical *v)
{
    if (v == NULL) {
        return;
    }
    free(v->name);
    free(v->code);
    free(v->wkt);
    free(v->grid_wkt);
    free(v);
}
