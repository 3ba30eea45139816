/*
** Grid, STAC inputs: a modality's inputs from STAC Items. Reads an Item, ItemCollection,
** Catalog, Collection, a folder of them, or the pages of a STAC API /search
** (through GDAL's HTTP and virtual file layers, so GDAL's configuration and
** credentials apply), keeps the items that pass the recipe's filters, and
** turns each asset of each item into an input source of the plan.
*/
#ifndef EK_STAC_H
#define EK_STAC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ek_plan.h"

typedef struct ek_stac_item {
    char *id;
    char *href; /* where the item is: its self link, else the file or page it
                   came in */
    char *etag; /* ETag of the document it came in, when fetched over HTTP */
    int has_time;
    int64_t time; /* datetime (or start_datetime), seconds since 1970 UTC */
    int has_cloud;
    double cloud;  /* eo:cloud_cover, percent */
    char **assets; /* per recipe asset key: its file's href resolved against
                      the item, as a GDAL name (ek_name_resolve) */
} ek_stac_item;

/* The items of one modality, in the order the catalog or search gave them. */
typedef struct ek_stac {
    char *source;  /* stac.items as given (path or URL) */
    char *request; /* a search: the first request (GET URL, or POST URL + body) */
    ek_stac_item *items;
    size_t nitems, nassets;
    json_t *json; /* the items as read (with "eodkit:base", where their
                     relative hrefs resolve from), parallel to items */
} ek_stac;

/*
** Read the STAC items of modality M (its recipe's `stac`) into M->stac:
** walk the catalog or search pages, keep the items that pass the filters
** (bbox, datetime, collections, query, max_item_cloud) and have a time when
** the modality has time modes. No item left is an error naming the catalog.
** Errors name the catalog or item and WHERE (the recipe position of
** `stac`).
*/
int ek_stac_read(eodkit_ctx *ctx, ek_modality *m, const char *where);

/*
** Add asset P (the P-th of stac.assets) of every item of M->stac to the
** sources of M through ek_modality_add_inputs (ids from *NEXT_ID on), in
** item order, each with its item's datetime; *COUNT of them. An item
** without that asset, or whose file has no CRS or geotransform that the
** projection extension (proj:code, proj:epsg, proj:wkt2, proj:transform)
** does not supply, is an error naming the item and WHERE.
*/
int ek_stac_add_asset(eodkit_ctx *ctx, ek_modality *m, size_t p, const char *where,
                      int *next_id, size_t *count /* OUT */);

/* Band names of STAC modality M: the recipe's band_names, else each asset's
   key (KEY_b<n> for the bands of a multi-band asset). */
int ek_stac_band_names(eodkit_ctx *ctx, ek_modality *m);

/* Provenance of a STAC modality: the catalog or search and per item its id,
   href, ETag, datetime and the hrefs of the assets read (their files are
   stamped among the build's inputs, as every input is). */
json_t *ek_stac_json(const ek_modality *m);

/* Add to O (a source of provenance.json) which item and asset source S of
   STAC modality M is. */
void ek_stac_describe_source(const ek_modality *m, size_t s, json_t *o);

/* HREF resolved against BASE (a URL or a path) as RFC 3986 does for the
   path: relative to BASE's folder, "." and ".." segments removed. */
char *ek_stac_resolve(eodkit_ctx *ctx, const char *base, const char *href);

void ek_stac_free(ek_stac *st);

#endif
