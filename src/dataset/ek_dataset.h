/*
** Dataset: a built dataset opened for reading (the C side's counterpart of
** python/eodkit). Holds the parsed collection.json and stats.json; the
** commands that work on finished datasets (info, and later eval, mosaic,
** preview, catalog register) start from here.
*/
#ifndef EK_DATASET_H
#define EK_DATASET_H

#include <jansson.h>

#include "eodkit/dataset.h"
#include "core/ek_ctx.h"

struct eodkit_dataset {
    char *path;
    json_t *collection;
    json_t *stats;
    long long bytes; /* all files of the dataset */
    int files;
};

typedef struct eodkit_dataset ek_dataset;

#endif
