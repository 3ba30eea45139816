/*
** Catalog: finding a file compiled into eodkit by name. Embedding keeps the
** binary self-contained (no install prefix to search) and means the server
** never opens a file named by a request.
*/
#include <string.h>

#include "ek_assets.h"
#include "ek_catalog.h"

const char *ek_asset(const char *name, size_t *size)
{
    const ek_asset_file *a;

    for (a = ek_asset_files; a->name != NULL; a++) {
        if (strcmp(a->name, name) == 0) {
            *size = a->size;
            return a->data;
        }
    }
    *size = 0;
    return NULL;
}
