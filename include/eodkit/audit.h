/*
** Auditing a built dataset: where on Earth its chips lie, how its classes
** and acquisition dates are spread, whether its splits leak (shared pixels,
** distance between splits), bias indices, and per-chip sampling weights that
** even out continents and classes. The audit writes audit.json, audit.html
** and datasheet.md into the dataset and weight columns into index.gpkg.
*/
#ifndef EODKIT_AUDIT_H
#define EODKIT_AUDIT_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to audit. A zeroed struct (or NULL) means every default. */
typedef struct eodkit_audit_options {
    /* Where the HTML report goes; NULL: <dataset>/audit.html. */
    const char *html;
    /* A polygon layer (any OGR format) to re-tag every chip with, by its
       centre, for this audit; NULL: the country/continent columns of
       index.gpkg. The layer's polygons are drawn on the report's map. */
    const char *regions;
    /* The field of REGIONS whose values are the chips' regions; NULL:
       "continent". Ignored without REGIONS. */
    const char *region_field;
    /* Bins of each per-band histogram; 0: 32. */
    int histogram_bins;
    /* Nonzero: DATASET_DIR is the folder a build is still writing (it holds
       .eodkit-partial), as when `eodkit build` audits before committing. */
    int in_build;
} eodkit_audit_options;

/*
** Audit the dataset in folder DATASET_DIR, which must hold collection.json,
** stats.json, provenance.json, index.gpkg and the .npy shards of the
** training split (doc/format.md). Writes DATASET_DIR/audit.json, the HTML
** report (OPT->html or DATASET_DIR/audit.html) and DATASET_DIR/datasheet.md,
** and sets the REAL columns weight_continent and weight_class of every row of
** index.gpkg (created when missing). The same dataset and options always
** give byte-identical files.
**
** The map draws the country polygons of OPT->regions, else of the region
** layer recorded in provenance.json, else of the built-in world layer; when
** none can be read the map shows the chips on a graticule only.
**
** On success *SUMMARY_JSON (when SUMMARY_JSON is not NULL) receives a short
** JSON object (paths written, chips, leakage, bias indices, warnings); free it
** with eodkit_free. Returns EODKIT_OK, or EODKIT_ERR_INPUT (not a dataset, a
** region layer without the field, ...), EODKIT_ERR_IO, EODKIT_ERR_GDAL or
** EODKIT_ERR_NOMEM with the message in CTX naming the file. Thread-safe for
** different datasets with different contexts.
*/
EODKIT_API int eodkit_audit(eodkit_ctx *ctx, const char *dataset_dir,
                            const eodkit_audit_options *opt,
                            char **summary_json /* OUT */);

/*
** A few aligned lines for people from SUMMARY_JSON (as eodkit_audit returns
** it): chips, geography, bias, leakage verdict, warnings, files written.
** *TEXT is newly allocated (free with eodkit_free).
*/
EODKIT_API int eodkit_audit_summary_text(eodkit_ctx *ctx, const char *summary_json,
                                         char **text /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
