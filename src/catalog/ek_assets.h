/*
** Catalog: the files compiled into eodkit (the shipped catalog CSV and the
** pages of `eodkit serve`). cmake/embed_assets.cmake generates the table at
** build time from share/catalog and src/serve/web; ek_asset() looks it up.
*/
#ifndef EK_ASSETS_H
#define EK_ASSETS_H

#include <stddef.h>

typedef struct ek_asset_file {
    const char *name; /* file name without folder, e.g. "app.js" */
    const char *data; /* SIZE bytes, then a NUL */
    size_t size;
} ek_asset_file;

/* Terminated by {NULL, NULL, 0}. */
extern const ek_asset_file ek_asset_files[];

#endif
