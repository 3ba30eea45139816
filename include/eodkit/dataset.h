/*
** Reading a dataset that eodkit built (doc/format.md): open the folder,
** describe what it holds.
*/
#ifndef EODKIT_DATASET_H
#define EODKIT_DATASET_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eodkit_dataset eodkit_dataset;

/*
** Open the dataset in folder PATH: reads collection.json, stats.json and
** provenance.json and checks them, index.gpkg and every shard's header as
** doc/format.md says ("What readers check"). A folder that is not a
** complete eodkit dataset (e.g. a build's leftover ".partial" folder) or a
** damaged one is refused with EODKIT_ERR_INPUT naming the file and what is
** wrong (EODKIT_ERR_IO when a file cannot be read).
*/
int eodkit_dataset_open(eodkit_ctx *ctx, const char *path,
                        eodkit_dataset **ds /* OUT */);

/* Release DS (NULL is fine). */
void eodkit_dataset_close(eodkit_dataset *ds);

/* What DS holds as a JSON object (name, grid, extent, modalities, labels,
   classes, splits, bytes); free with eodkit_free. */
int eodkit_dataset_info_json(eodkit_ctx *ctx, const eodkit_dataset *ds,
                             char **json /* OUT */);

/* The same as a few aligned lines of text for people; free with eodkit_free. */
int eodkit_dataset_info_text(eodkit_ctx *ctx, const eodkit_dataset *ds,
                             char **text /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
