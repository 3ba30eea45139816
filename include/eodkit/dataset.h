/*
** Reading a dataset that eodkit built (doc/format.md): open the folder,
** describe what it holds, read its chips.
*/
#ifndef EODKIT_DATASET_H
#define EODKIT_DATASET_H

#include <stddef.h>

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
EODKIT_API int eodkit_dataset_open(eodkit_ctx *ctx, const char *path,
                                   eodkit_dataset **ds /* OUT */);

/* Release DS (NULL is fine). */
EODKIT_API void eodkit_dataset_close(eodkit_dataset *ds);

/* What DS holds as a JSON object (name, grid, extent, modalities, labels,
   classes, splits, bytes); free with eodkit_free. */
EODKIT_API int eodkit_dataset_info_json(eodkit_ctx *ctx, const eodkit_dataset *ds,
                                        char **json /* OUT */);

/* The same as a few aligned lines of text for people; free with eodkit_free. */
EODKIT_API int eodkit_dataset_info_text(eodkit_ctx *ctx, const eodkit_dataset *ds,
                                        char **text /* OUT */);

/* The number of chips of split SPLIT ("train") of DS, or -1 when DS has no
   such split. */
EODKIT_API long long eodkit_dataset_chips(const eodkit_dataset *ds, const char *split);

/* The bytes of one chip of array ARRAY of DS (a modality's name, or "label"):
   its element size times its chip shape (the "dtype" and "shape" of
   eodkit_dataset_info_json), or 0 when DS has no such array. */
EODKIT_API size_t eodkit_dataset_chip_bytes(const eodkit_dataset *ds,
                                            const char *array);

/*
** Read chip INDEX (0 to eodkit_dataset_chips(DS, SPLIT) - 1, in the index's
** order: fid order, which is (shard, row) order) of array ARRAY of split
** SPLIT into BUF of SIZE bytes (eodkit_dataset_chip_bytes): the elements as
** the shard holds them (C order, little-endian, the array's dtype), the same
** as numpy.load(<split>/<array>-NNNNN.npy)[row]. Each call opens the shard.
** EODKIT_ERR_USAGE for an unknown split or array, an INDEX out of range or
** a SIZE that is not the chip's; EODKIT_ERR_INPUT when the shard no longer
** is what the dataset says, EODKIT_ERR_IO when it cannot be read.
** Thread-safe with different contexts.
*/
EODKIT_API int eodkit_dataset_read_chip(eodkit_ctx *ctx, const eodkit_dataset *ds,
                                        const char *split, const char *array,
                                        long long index, void *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
