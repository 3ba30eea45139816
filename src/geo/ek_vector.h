/*
** Geo: vector layers (labels, region layers, AOIs): reading their
** features with GDAL's failures reported, and the message naming a field a
** layer lacks.
*/
#ifndef EK_VECTOR_H
#define EK_VECTOR_H

#include <stddef.h>

#include <ogr_api.h>

#include "core/ek_ctx.h"

/* For a FIELD that layer definition DEFN lacks, the end of the message into
   HINT (SIZE bytes): " (did you mean 'NAME'?)" when a field is close to it,
   else "; it has: A, B, C". */
void ek_field_hint(OGRFeatureDefnH defn, const char *field, char *hint, size_t size);

/*
** The next feature of LAYER (of vector file PATH) into *F, NULL at the end
** of the layer; the caller destroys it. A failure GDAL reports while
** reading (a damaged or truncated file, whose feature would lack its
** geometry or attributes, or whose layer would end early) is
** EODKIT_ERR_GDAL naming PATH and WHERE (the recipe position), never a
** missing feature. Polls CTX's cancel flag.
*/
int ek_next_feature(eodkit_ctx *ctx, OGRLayerH layer, const char *path,
                    const char *where, OGRFeatureH *f /* OUT */);

#endif
