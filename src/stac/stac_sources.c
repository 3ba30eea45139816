/*
** STAC: from items to the plan's input sources. Each asset of each item is
** one source, added as a `files` entry is (ek_modality_add_inputs); a file
** without a CRS or geotransform gets them from the projection extension
** (v1.1 proj:epsg, v2 proj:code, proj:wkt2, proj:projjson, proj:transform)
** through a VRT. Also the band names and the provenance of STAC modalities.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_minixml.h>
#include <cpl_string.h>

#include "core/ek_ctx.h"
#include "core/ek_names.h"
#include "core/ek_strbuf.h"
#include "core/ek_time.h"
#include "ek_stac.h"
#include "geo/ek_srs.h"

/* Field KEY of the projection extension for ASSET of ITEM: the asset's own,
   else the item's. */
static const json_t *proj_field(const json_t *item, const json_t *asset,
                                const char *key)
{
    const json_t *v = json_object_get(asset, key);

    return v != NULL ? v : json_object_get(json_object_get(item, "properties"), key);
}

/* The CRS the projection extension gives ASSET of ITEM, as text OSR reads,
   or NULL (none, or null as for data without a CRS). Free with free(). */
static char *proj_crs(const json_t *item, const json_t *asset)
{
    const json_t *code = proj_field(item, asset, "proj:code");
    const json_t *epsg = proj_field(item, asset, "proj:epsg");
    const json_t *wkt2 = proj_field(item, asset, "proj:wkt2");
    const json_t *projjson = proj_field(item, asset, "proj:projjson");
    char buf[32];

    if (json_is_string(code)) {
        return strdup(json_string_value(code));
    }
    if (json_is_integer(epsg)) {
        snprintf(buf, sizeof buf, "EPSG:%lld", (long long)json_integer_value(epsg));
        return strdup(buf);
    }
    if (json_is_string(wkt2)) {
        return strdup(json_string_value(wkt2));
    }
    return json_is_object(projjson) ? json_dumps(projjson, JSON_COMPACT) : NULL;
}

/* The geotransform proj:transform gives ASSET of ITEM; 0 when none. */
static int proj_gt(const json_t *item, const json_t *asset, double gt[6])
{
    const json_t *t = proj_field(item, asset, "proj:transform");
    size_t i;

    if (json_array_size(t) != 6 && json_array_size(t) != 9) {
        return 0;
    }
    for (i = 0; i < 6; i++) {
        if (!json_is_number(json_array_get(t, i))) {
            return 0;
        }
    }
    /* [a, b, c, d, e, f]: x = a col + b row + c, y = d col + e row + f */
    gt[0] = json_number_value(json_array_get(t, 2));
    gt[1] = json_number_value(json_array_get(t, 0));
    gt[2] = json_number_value(json_array_get(t, 1));
    gt[3] = json_number_value(json_array_get(t, 5));
    gt[4] = json_number_value(json_array_get(t, 3));
    gt[5] = json_number_value(json_array_get(t, 4));
    return 1;
}

/* Every SourceFilename of VRT tree N opened unshared: workers open the VRT
   on threads of their own and must not share the file's handle. */
static void unshare_sources(CPLXMLNode *n)
{
    for (; n != NULL; n = n->psNext) {
        if (n->eType == CXT_Element && strcmp(n->pszValue, "SourceFilename") == 0) {
            CPLSetXMLValue(n, "#shared", "0");
        }
        unshare_sources(n->psChild);
    }
}

/* A VRT (XML text) of DS with the CRS CRS (when not NULL) and the
   geotransform GT (when not NULL). WHAT names the asset for errors. */
static int georeferenced_vrt(eodkit_ctx *ctx, GDALDatasetH ds, const char *crs,
                             double *gt, const char *what, char **xml)
{
    GDALDatasetH vrt = NULL;
    OGRSpatialReferenceH srs = NULL;
    CPLXMLNode *tree = NULL;
    char **md;
    char *text = NULL;
    int rc = EODKIT_OK;

    *xml = NULL;
    vrt = GDALCreateCopy(GDALGetDriverByName("VRT"), "", ds, FALSE, NULL, NULL, NULL);
    if (vrt == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot make a VRT of it", what);
        goto out;
    }
    if (crs != NULL) {
        srs = OSRNewSpatialReference(NULL);
        if (srs == NULL || ek_srs_from_user(srs, crs) != OGRERR_NONE) {
            rc = ek_error_with_gdal(ctx, EODKIT_ERR_INPUT,
                                    "%s: its projection extension gives CRS '%.200s', "
                                    "which GDAL/PROJ does not know (URLs other than OGC CRS URLs "
                                    "are not fetched)",
                                    what, crs);
            goto out;
        }
        GDALSetSpatialRef(vrt, srs);
    }
    if (gt != NULL) {
        GDALSetGeoTransform(vrt, gt);
    }
    md = GDALGetMetadata(vrt, "xml:VRT");
    tree = md != NULL && md[0] != NULL ? CPLParseXMLString(md[0]) : NULL;
    if (tree == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot make a VRT of it", what);
        goto out;
    }
    unshare_sources(tree);
    text = CPLSerializeXMLTree(tree);
    *xml = text != NULL ? strdup(text) : NULL;
    rc = *xml == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
out:
    CPLFree(text);
    CPLDestroyXMLNode(tree);
    OSRRelease(srs);
    if (vrt != NULL) {
        GDALClose(vrt);
    }
    return rc;
}

/* Whether the files of modality MR need a CRS and geotransform of their
   own: those warped through GCPs or RPCs do not. */
static int by_geotransform(const ek_modality_recipe *mr)
{
    return mr->georef.method == EK_GEOREF_GEOTRANSFORM;
}

/* What the plan opens for file NAME, asset ASSET of ITEM (WHAT names the
   item, WHERE the recipe position): *OPEN NULL when NAME has its own CRS
   and geotransform, else a VRT (XML text) giving it those of the
   projection extension; a file without either that the item does not
   supply is an error. */
static int georeference(eodkit_ctx *ctx, const json_t *item, const json_t *asset,
                        const char *name, const char *what, const char *where,
                        char **open)
{
    GDALDatasetH ds = NULL;
    char *crs = NULL;
    double gt[6];
    int has_srs, has_gt, rc = EODKIT_OK;

    *open = NULL;
    ds = ek_open_raster(ctx, name);
    if (ds == NULL) {
        return ek_error_where(ctx, "%s, %s: stac", what, where);
    }
    has_srs = GDALGetSpatialRef(ds) != NULL;
    has_gt = GDALGetGeoTransform(ds, gt) == CE_None;
    if (has_srs && has_gt) {
        goto out;
    }
    crs = has_srs ? NULL : proj_crs(item, asset);
    if ((!has_srs && crs == NULL) || (!has_gt && !proj_gt(item, asset, gt))) {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: %s has no %s, and the item does not give it with the projection "
            "extension (%s); add it to the item or georeference the file (%s)",
            what, name, !has_srs ? "CRS" : "geotransform",
            !has_srs ? "proj:code, proj:epsg, proj:wkt2 or proj:projjson"
                     : "proj:transform",
            where);
        goto out;
    }
    rc = georeferenced_vrt(ctx, ds, crs, has_gt ? NULL : gt, what, open);
out:
    free(crs);
    GDALClose(ds);
    return rc;
}

/* NAME as ek_modality_add_inputs takes a single file: a plain path with
   the characters glob reads as a pattern escaped. */
static char *literal(eodkit_ctx *ctx, const char *name)
{
    ek_strbuf b;
    char *out = NULL;
    const char *c;

    if (ek_name_kind_of(name) != EK_NAME_PATH) {
        return ek_strdup(ctx, name);
    }
    ek_strbuf_init(&b, ctx);
    for (c = name; *c != '\0'; c++) {
        if (strchr("*?[\\", *c) != NULL) {
            ek_strbuf_add(&b, "\\", 1);
        }
        ek_strbuf_add(&b, c, 1);
    }
    ek_strbuf_detach(&b, &out);
    return out;
}

/* "key1, key2, ..." of the assets of ITEM. */
static char *asset_keys(eodkit_ctx *ctx, const json_t *item)
{
    const char *key;
    json_t *v;
    ek_strbuf b;
    char *text = NULL;

    ek_strbuf_init(&b, ctx);
    json_object_foreach(json_object_get(item, "assets"), key, v)
    {
        ek_strbuf_printf(&b, "%s%s", b.len > 0 ? ", " : "", key);
    }
    if (b.len == 0) {
        ek_strbuf_puts(&b, "none");
    }
    ek_strbuf_detach(&b, &text);
    return text;
}

/* The GDAL name of asset P (stac.assets[P]) of item I of M into the
   item's assets[P], checked: the item has the asset, and a datetime when
   the modality has time modes. WHAT names the item, WHERE the recipe
   position. */
static int asset_name(eodkit_ctx *ctx, const ek_modality *m, size_t i, size_t p,
                      const char *what, const char *where)
{
    const char *key = m->recipe->stac.assets[p];
    ek_stac_item *it = &m->stac->items[i];
    const json_t *item = json_array_get(m->stac->json, i);
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(item, "assets"), key), "href"));
    char *resolved;

    if (href == NULL) {
        char *keys = asset_keys(ctx, item);
        int rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: has no asset '%s' (its assets: %s) (%s: stac.assets)",
                          what, key, keys != NULL ? keys : "?", where);

        free(keys);
        return rc;
    }
    if (m->recipe->time.mode != EK_TIME_NONE && !it->has_time) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: has no datetime (nor start_datetime), which time modes "
                        "need (%s)",
                        what, where);
    }
    resolved = ek_stac_resolve(ctx, it->href, href);
    it->assets[p] = resolved != NULL ? ek_name_resolve(ctx, NULL, resolved) : NULL;
    free(resolved);
    return it->assets[p] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

int ek_stac_add_asset(eodkit_ctx *ctx, ek_modality *m, size_t p, const char *where,
                      int *next_id, size_t *count)
{
    ek_stac *stac = m->stac;
    char what[512], context[EK_MESSAGE_MAX];
    size_t i;
    int rc = EODKIT_OK;

    *count = 0;
    for (i = 0; i < stac->nitems && rc == EODKIT_OK; i++) {
        const ek_stac_item *it = &stac->items[i];
        const json_t *item = json_array_get(stac->json, i);
        const json_t *asset =
            json_object_get(json_object_get(item, "assets"), m->recipe->stac.assets[p]);
        char *vrt = NULL, *name = NULL;
        size_t added = 0;

        snprintf(what, sizeof what, "STAC item '%s' (%s)", it->id, it->href);
        snprintf(context, sizeof context, "%s, %s: stac", what, where);
        rc = asset_name(ctx, m, i, p, what, where);
        if (rc == EODKIT_OK && by_geotransform(m->recipe)) {
            rc = georeference(ctx, item, asset, it->assets[p], what, where, &vrt);
        }
        if (rc == EODKIT_OK) {
            name = vrt != NULL ? vrt : literal(ctx, it->assets[p]);
            rc = name == NULL ? EODKIT_ERR_NOMEM
                              : ek_modality_add_inputs(ctx, m, &name, 1, context,
                                                       next_id, &added);
        }
        *count += added;
        if (rc == EODKIT_OK) {
            ek_source *s = &m->sources[m->nsources - 1];

            s->stac_item = (int)i;
            s->has_time = it->has_time;
            s->time = it->time;
            /* the file is the source (its provenance, its retries); GDAL
               opens the VRT, remote when the file is */
            if (vrt != NULL) {
                s->vrt = s->path;
                s->path = ek_strdup(ctx, it->assets[p]);
                rc = s->path == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            }
        }
        if (name != vrt) {
            free(name);
        }
        free(vrt);
    }
    if (p + 1 == m->recipe->stac.nassets) {
        json_decref(stac->json); /* every asset inspected */
        stac->json = NULL;
    }
    return rc;
}

int ek_stac_band_names(eodkit_ctx *ctx, ek_modality *m)
{
    const ek_modality_recipe *mr = m->recipe;
    size_t p;
    int b, k = 0;

    for (p = 0; p < m->nparts; p++) {
        const ek_part *part = &m->parts[p];

        for (b = 0; b < part->nbands; b++, k++) {
            m->band_names[k] =
                mr->band_names != NULL ? ek_strdup(ctx, mr->band_names[k])
                : part->nbands == 1
                    ? ek_strdup(ctx, mr->stac.assets[p])
                    : ek_asprintf(ctx, "%s_b%d", mr->stac.assets[p], part->bands[b]);
            if (m->band_names[k] == NULL) {
                return EODKIT_ERR_NOMEM;
            }
        }
    }
    return EODKIT_OK;
}

json_t *ek_stac_json(const ek_modality *m)
{
    const ek_stac *st = m->stac;
    json_t *o = json_object(), *items = json_array();
    size_t i, a;

    json_object_set_new(o, "catalog", json_string(st->source));
    if (st->request != NULL) {
        json_object_set_new(o, "search", json_string(st->request));
    }
    for (i = 0; i < st->nitems; i++) {
        const ek_stac_item *it = &st->items[i];
        json_t *one = json_pack("{s:s, s:s}", "id", it->id, "href", it->href);
        json_t *assets = json_object();

        if (it->etag != NULL) {
            json_object_set_new(one, "etag", json_string(it->etag));
        }
        if (it->has_time) {
            char iso[32];

            ek_time_format(it->time, iso, sizeof iso);
            json_object_set_new(one, "datetime", json_string(iso));
        }
        if (it->has_cloud) {
            json_object_set_new(one, "eo:cloud_cover", json_real(it->cloud));
        }
        for (a = 0; a < st->nassets; a++) {
            if (it->assets[a] != NULL) {
                json_object_set_new(assets, m->recipe->stac.assets[a],
                                    json_pack("{s:s}", "href", it->assets[a]));
            }
        }
        json_object_set_new(one, "assets", assets);
        json_array_append_new(items, one);
    }
    json_object_set_new(o, "items", items);
    return o;
}

void ek_stac_describe_source(const ek_modality *m, size_t s, json_t *o)
{
    const ek_stac_item *it = &m->stac->items[m->sources[s].stac_item];
    size_t p;

    for (p = 0; p < m->nparts; p++) {
        if (s >= m->parts[p].first && s < m->parts[p].first + m->parts[p].count) {
            json_object_set_new(o, "stac_item", json_string(it->id));
            json_object_set_new(o, "asset", json_string(m->recipe->stac.assets[p]));
        }
    }
}
