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

/*
** The dataset in folder PATH without counting its files (bytes and files
** stay 0; eodkit_dataset_open counts them): the folder, collection.json
** (one eodkit wrote) and stats.json. A folder marked as an unfinished
** build is refused unless UNFINISHED (the audit a build runs before it
** renames its folder into place). Close with eodkit_dataset_close.
*/
int ek_dataset_read(eodkit_ctx *ctx, const char *path, int unfinished,
                    ek_dataset **out /* OUT */);

/* The JSON file NAME of the dataset in folder DIR, parsed; NULL with the
   error in CTX (EODKIT_ERR_INPUT naming DIR when the file is missing, the
   file with line:column when it is not JSON; EODKIT_ERR_NOMEM). */
json_t *ek_dataset_load_json(eodkit_ctx *ctx, const char *dir, const char *name);

/* DOC (its reference taken; NULL means out of memory) as indented JSON text
   with a final newline, newly allocated in *TEXT (free with eodkit_free);
   real numbers with PRECISION significant digits (0: jansson's default,
   17). The text every command prints or returns as JSON. */
int ek_json_text(eodkit_ctx *ctx, json_t *doc, int precision, char **text /* OUT */);

#endif
