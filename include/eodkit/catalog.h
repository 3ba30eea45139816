/*
** eodkit catalog: a SQLite database of Earth-observation ML datasets (one
** row per dataset; tasks, platforms, modalities and continents in tables of
** their own; a full-text index over name, aliases, sensor and region). It
** imports the shipped CSV, STAC Collections and datasets built by eodkit,
** answers searches and reproduces the field's statistics (counts, size and
** volume shares, growth per year, FAIR completeness) with SVG charts.
*/
#ifndef EODKIT_CATALOG_H
#define EODKIT_CATALOG_H

#include <stddef.h>

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eodkit_catalog eodkit_catalog;

/* How a catalog is opened. */
typedef enum eodkit_catalog_mode {
    /* Read and write: a missing file is created (with its folder) and filled
       with the shipped datasets; an older schema is migrated. */
    EODKIT_CATALOG_WRITE = 0,
    /* For callers that only read: like WRITE when the file may be written
       (so a first use still creates it), read-only when it may not. */
    EODKIT_CATALOG_READ = 1,
    /* Never write: the file must exist with the current schema. */
    EODKIT_CATALOG_READ_ONLY = 2
} eodkit_catalog_mode;

/* Output formats of the query functions. */
typedef enum eodkit_format {
    EODKIT_FORMAT_TEXT = 0, /* aligned table for people */
    EODKIT_FORMAT_JSON = 1,
    EODKIT_FORMAT_CSV = 2
} eodkit_format;

/*
** Store the default catalog path in *PATH (newly allocated; free with
** eodkit_free): $EODKIT_CATALOG, else $XDG_DATA_HOME/eodkit/catalog.sqlite,
** else $HOME/.local/share/eodkit/catalog.sqlite.
*/
EODKIT_API int eodkit_catalog_default_path(eodkit_ctx *ctx, char **path /* OUT */);

/*
** Open the catalog at PATH in MODE into *CAT. With EMPTY nonzero a newly
** created catalog starts empty instead of holding the shipped datasets.
** Errors: a file that is not SQLite or not an eodkit catalog (input), a
** read-only file opened for writing (I/O), a schema newer than this eodkit.
** One handle per thread.
*/
EODKIT_API int eodkit_catalog_open(eodkit_ctx *ctx, const char *path,
                                   eodkit_catalog_mode mode, int empty,
                                   eodkit_catalog **cat /* OUT */);

/* Close CAT (NULL is fine). */
EODKIT_API void eodkit_catalog_close(eodkit_catalog *cat);

/* What an import or a register did. Messages name the file and, for CSV
   rows, the line: "rows.csv:12: bad number 'x' in column year". */
typedef struct eodkit_catalog_report {
    size_t added, updated, unchanged;
    size_t nrejected;
    char **rejected; /* one message per rejected dataset */
    size_t nnotes;
    char **notes; /* remarks on accepted datasets (e.g. a guessed field) */
} eodkit_catalog_report;

/* Release REPORT (NULL is fine). */
EODKIT_API void eodkit_catalog_report_free(eodkit_catalog_report *report);

/*
** Import PATH into CAT: a CSV file in the shipped format, a STAC Collection
** JSON, an `export --json` file, or a folder holding any of these. Datasets
** are matched by id, else by name (case-insensitive), so importing twice
** changes nothing. Invalid datasets are rejected one by one (listed in the
** report) and the rest is imported in one transaction; with STRICT nonzero
** any rejection imports nothing. A fatal error (unreadable file, broken
** quoting, unknown CSV column, JSON that is not STAC) imports nothing and
** returns its status. *REPORT is set on success, also when rows were
** rejected; the caller frees it.
*/
EODKIT_API int eodkit_catalog_import(eodkit_ctx *ctx, eodkit_catalog *cat,
                                     const char *path, int strict,
                                     eodkit_catalog_report **report /* OUT */);

/*
** Add or update the dataset built by `eodkit build` in folder DATASET from
** its collection.json: id, title, licence, chips per split, modalities and
** bands, classes, footprint, continents, and the volume on disk. When the
** collection lists no continents and REGIONS (a vector layer with a
** `continent` attribute, e.g. Natural Earth's world.gpkg) is given, the
** continent and country under the footprint's centre are used; otherwise
** the continents stay empty. Either is said in a note of *REPORT.
*/
EODKIT_API int eodkit_catalog_register(eodkit_ctx *ctx, eodkit_catalog *cat,
                                       const char *dataset, const char *regions,
                                       eodkit_catalog_report **report /* OUT */);

/* How eodkit_catalog_export writes the catalog. */
typedef enum eodkit_export_format {
    EODKIT_EXPORT_CSV = 0,
    EODKIT_EXPORT_JSON = 1,
    EODKIT_EXPORT_STAC = 2
} eodkit_export_format;

/*
** Write every dataset of CAT to PATH: a CSV in the shipped format (the
** shipped columns only), JSON (every field), or a STAC catalog folder (a
** catalog.json and one <name>/collection.json per dataset; PATH must not
** exist). Each imports back into the same datasets. Files are replaced
** atomically; a failed export leaves nothing behind.
*/
EODKIT_API int eodkit_catalog_export(eodkit_ctx *ctx, eodkit_catalog *cat,
                                     eodkit_export_format format, const char *path);

/* A search. Zeroed fields do not filter; text comparisons ignore case. */
typedef struct eodkit_catalog_query {
    const char *text;       /* words that must all start a word of the name,
                               aliases, sensor or region (full-text index) */
    const char *task;       /* one of the dataset's tasks, a synonym of it
                               ("OD"), or the start of it or of one of its
                               words ("segmentation"); doc/cmd/catalog.md */
    const char *platform;   /* one of its platforms */
    const char *modality;   /* one of its modalities */
    const char *continent;  /* one of its continents */
    const char *sensor;     /* substring of the sensor text */
    const char *license;    /* the licence, exactly */
    int year_min, year_max; /* publication year range, inclusive */
    long long min_images;   /* at least this many images */
    const char *sort;       /* name (default), id, year, images, size, volume */
    int descending;
    size_t limit, offset; /* limit 0: all */
} eodkit_catalog_query;

/*
** Run query Q on CAT and store the result in *OUT (newly allocated, free
** with eodkit_free): a table (TEXT), {"total", "datasets", "facets"} (JSON)
** or the matching rows in the shipped CSV format (CSV).
*/
EODKIT_API int eodkit_catalog_search(eodkit_ctx *ctx, eodkit_catalog *cat,
                                     const eodkit_catalog_query *q,
                                     eodkit_format format, char **out /* OUT */);

/* Describe the dataset whose id or name (case-insensitive) is NAME, as text
   or JSON, into *OUT. Unknown NAME is bad input. */
EODKIT_API int eodkit_catalog_show(eodkit_ctx *ctx, eodkit_catalog *cat,
                                   const char *name, eodkit_format format,
                                   char **out /* OUT */);

/*
** Statistics of CAT grouped BY "year", "task", "platform", "modality" or
** "continent" (a dataset in the group of each of its values; shares of the
** datasets with a value), or "task-combination", "platform-combination" or
** "modality-combination" (a dataset in the one group of all its values
** together, or of none; shares of all datasets, adding up to 1): per group
** the number and share of datasets, total and share of size (pixels) and
** of volume (GB), median and maximum size and volume; then the FAIR
** completeness per field. Into *OUT as TEXT, JSON or CSV (the group table
** only).
*/
EODKIT_API int eodkit_catalog_stats(eodkit_ctx *ctx, eodkit_catalog *cat,
                                    const char *by, eodkit_format format,
                                    char **out /* OUT */);

/* The FAIR completeness score of every dataset (identifier, licence, url,
   provenance, size, location) as TEXT, JSON or CSV into *OUT. */
EODKIT_API int eodkit_catalog_fair(eodkit_ctx *ctx, eodkit_catalog *cat,
                                   eodkit_format format, char **out /* OUT */);

/*
** Write the SVG charts of the statistics grouped BY into folder DIR
** (created if missing): <by>.svg (shares of datasets, size and volume per
** group), growth-size.svg and growth-volume.svg (median and maximum per
** year, log scale) and fair.svg (completeness per field).
*/
EODKIT_API int eodkit_catalog_charts(eodkit_ctx *ctx, eodkit_catalog *cat,
                                     const char *by, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
