/*
** Catalog internals shared by its files and by the server: the field table
** that drives storage, CSV, JSON and STAC alike; the dataset record; the
** database handle with its cached prepared statements; and the steps the
** public functions are made of (import, search, stats, charts).
*/
#ifndef EK_CATALOG_H
#define EK_CATALOG_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/ek_ctx.h"
#include "core/ek_strbuf.h"
#include "eodkit/catalog.h"

/* ---- fields and records (catalog_record.c) ---- */

typedef enum ek_field_kind {
    EK_KIND_TEXT, /* free text */
    EK_KIND_INT,  /* integer in [min, max] */
    EK_KIND_REAL, /* real number in [min, max] */
    EK_KIND_LIST, /* ';'-separated values, stored in table dataset_<name> */
    EK_KIND_BBOX, /* west,south,east,north in degrees: 4 columns bbox_* */
    EK_KIND_JSON  /* a JSON object (facts of a dataset built by eodkit) */
} ek_field_kind;

typedef struct ek_field {
    const char *name; /* CSV column, JSON key and SQL column (or table suffix) */
    ek_field_kind kind;
    int in_csv;      /* a column of the shipped CSV format */
    double min, max; /* valid range of INT and REAL values */
} ek_field;

/* Field indexes; the order of the CSV columns is the order here. */
enum {
    EK_F_ID,
    EK_F_NAME,
    EK_F_ALIASES,
    EK_F_YEAR,
    EK_F_TASK,
    EK_F_PLATFORM,
    EK_F_SENSOR,
    EK_F_MODALITY,
    EK_F_NUM_IMAGES,
    EK_F_IMAGE_SIZE,
    EK_F_SIZE,
    EK_F_RESOLUTION,
    EK_F_RESOLUTION_MIN,
    EK_F_RESOLUTION_MAX,
    EK_F_BANDS,
    EK_F_NUM_CLASSES,
    EK_F_VOLUME,
    EK_F_REGION,
    EK_F_CONTINENT,
    EK_F_LICENSE,
    EK_F_URL,
    EK_F_SOURCE,
    EK_F_PROVENANCE,
    EK_F_NOTES,
    EK_F_DESCRIPTION,
    EK_F_BBOX,
    EK_F_DETAIL,
    EK_NFIELDS
};

extern const ek_field ek_fields[EK_NFIELDS];

/* One dataset. Values are canonical text (numbers in their shortest exact
   form, lists joined by ';', JSON compact with sorted keys), NULL when
   unknown; GIVEN marks the fields a source stated, so an import updates
   only those. */
typedef struct ek_record {
    long long pk; /* row id in the database; 0 when not stored */
    char *value[EK_NFIELDS];
    unsigned char given[EK_NFIELDS];
} ek_record;

/* Index of the field called NAME, or -1. */
int ek_field_find(const char *name);

/*
** Set field F of R from TEXT (NULL or blank: unknown), validating and
** canonicalising it. A bad value is EODKIT_ERR_INPUT with the reason in CTX
** ("bad number 'x' in year"); R keeps its old value then.
*/
int ek_record_set(eodkit_ctx *ctx, ek_record *r, int f, const char *text);

/* Set R from JSON object O whose keys are field names (an unknown key is
   bad input; "fair", which ek_dataset_json adds, is ignored). */
int ek_record_from_json(eodkit_ctx *ctx, ek_record *r, json_t *o);

/* R as a JSON object with every field (null when unknown). NULL: no memory. */
json_t *ek_record_to_json(const ek_record *r);

/* Release R's values and zero it. */
void ek_record_clear(ek_record *r);

/* Overwrite the fields of DST that SRC gives with SRC's values. */
int ek_record_merge(eodkit_ctx *ctx, ek_record *dst, const ek_record *src);

/* Nonzero when ek_record_merge of SRC into DST would change a value of DST. */
int ek_record_changes(const ek_record *dst, const ek_record *src);

/* Store field F of R as a number in *V; return 0 when unknown. */
int ek_record_number(const ek_record *r, int f, double *v);

/* Value I (from 0) of list field F of R, copied into BUF (of SIZE bytes);
   return 0 when there is no such value. */
int ek_record_list_item(const ek_record *r, int f, size_t i, char *buf, size_t size);

/* The west, south, east, north of R's footprint; 0 when unknown. */
int ek_record_bbox(const ek_record *r, double bbox[4]);

/* Write V into BUF (>= 32 bytes) in its shortest form that reads back
   exactly, without an exponent for everyday magnitudes. */
void ek_format_real(double v, char *buf, size_t size);

/* Write V into BUF with an SI suffix for people ("8.5G", "121k", "12"). */
void ek_format_si(double v, char *buf, size_t size);

/* ---- the database (catalog_db.c, catalog_store.c) ---- */

/* Statements prepared once per handle (see catalog_store.c for their SQL). */
typedef enum ek_stmt_id {
    EK_STMT_BY_ID,
    EK_STMT_BY_NAME,
    EK_STMT_LOAD,
    EK_STMT_INSERT,
    EK_STMT_UPDATE,
    EK_STMT_ALL,
    EK_STMT_SEEN_ADD,
    EK_STMT_SEEN_GET,
    /* + field index: the statements of LIST fields (the other slots of
       these ranges stay unused) */
    EK_STMT_LIST_GET,
    EK_STMT_LIST_DEL = EK_STMT_LIST_GET + EK_NFIELDS,
    EK_STMT_LIST_ADD = EK_STMT_LIST_DEL + EK_NFIELDS,
    EK_STMT_COUNT = EK_STMT_LIST_ADD + EK_NFIELDS
} ek_stmt_id;

struct eodkit_catalog {
    sqlite3 *db;
    char *path;
    int read_only;
    sqlite3_stmt *stmt[EK_STMT_COUNT];
};

/* Report SQLite's last error on CAT as EODKIT_ERR_IO (or INPUT for a file
   that is not a database), prefixed by the catalog path and WHAT. */
int ek_catalog_sql_error(eodkit_ctx *ctx, eodkit_catalog *cat, const char *what);

/* Run SQL (no parameters, no rows) on CAT. */
int ek_catalog_exec(eodkit_ctx *ctx, eodkit_catalog *cat, const char *sql);

/* Return the cached statement ID of CAT in *ST, reset and unbound. */
int ek_catalog_stmt(eodkit_ctx *ctx, eodkit_catalog *cat, ek_stmt_id id,
                    sqlite3_stmt **st /* OUT */);

/* Read dataset PK into R (cleared first). */
int ek_catalog_load(eodkit_ctx *ctx, eodkit_catalog *cat, long long pk, ek_record *r);

/* Find the datasets whose id is ID and whose name is NAME (either may be
   NULL); store their pk or 0. */
int ek_catalog_find(eodkit_ctx *ctx, eodkit_catalog *cat, const char *id,
                    const char *name, long long *by_id /* OUT */,
                    long long *by_name /* OUT */);

/* Look up a dataset by id, else by name; *PK is 0 when there is none. */
int ek_catalog_lookup(eodkit_ctx *ctx, eodkit_catalog *cat, const char *key,
                      long long *pk /* OUT */);

/* Insert R (pk 0; sets it) or update row R->pk with every field of R. */
int ek_catalog_save(eodkit_ctx *ctx, eodkit_catalog *cat, ek_record *r);

/* Store the pk of every dataset, in insertion order, in *PKS (*N of them;
   free with free()). */
int ek_catalog_all(eodkit_ctx *ctx, eodkit_catalog *cat, long long **pks /* OUT */,
                   size_t *n /* OUT */);

/* ---- import (catalog_import.c, catalog_csv.c, catalog_stac.c) ---- */

typedef struct ek_import {
    eodkit_catalog *cat;
    eodkit_catalog_report *report;
    int strict;
    int own_transaction; /* a transaction of its own, else a savepoint */
} ek_import;

/* Begin an import on CAT: a transaction, or a savepoint inside the caller's
   transaction; *IMP's report is newly allocated. */
int ek_import_begin(eodkit_ctx *ctx, eodkit_catalog *cat, int strict, ek_import *imp);

/*
** Add R to the import, WHERE naming its origin for messages ("a.csv:12").
** A dataset that cannot be taken (bad values, matching two datasets, given
** twice) is listed as rejected and is not an error; failures of the
** database are.
*/
int ek_import_record(eodkit_ctx *ctx, ek_import *imp, ek_record *r, const char *where);

/* Append a formatted message to the report's notes (or rejections). */
int ek_import_note(eodkit_ctx *ctx, ek_import *imp, int rejected, const char *fmt, ...)
    EK_PRINTF(4, 5);

/* Reject the dataset from WHERE for the reason CTX holds (a bad-input
   failure of reading it), and clear CTX: a rejection is not an error. */
int ek_import_reject(eodkit_ctx *ctx, ek_import *imp, const char *where);

/* Commit (RC ok, and not STRICT with rejections) or roll back. On success
   the report moves to *REPORT. Return RC or the commit's status. */
int ek_import_end(eodkit_ctx *ctx, ek_import *imp, int rc,
                  eodkit_catalog_report **report /* OUT */);

/* Import the CSV text TEXT (LEN bytes) read from PATH. Broken quoting, an
   unknown or repeated column, or a missing name column are fatal. */
int ek_csv_import(eodkit_ctx *ctx, ek_import *imp, const char *path, const char *text,
                  size_t len);

/* Append TEXT to B as one CSV field (quoted when needed). */
void ek_csv_field(ek_strbuf *b, const char *text);

/* Append the CSV header line / R as a CSV line (shipped columns, CRLF). */
void ek_csv_header(ek_strbuf *b);
void ek_csv_record(ek_strbuf *b, const ek_record *r);

/*
** Map STAC Collection C to R: its "eodkit:catalog" object when present (an
** exact round trip of `export --stac`), else the standard fields and, for a
** collection written by `eodkit build`, its splits, modalities and label.
*/
int ek_stac_to_record(eodkit_ctx *ctx, json_t *c, ek_record *r);

/* R as a STAC 1.0 Collection with id STAC_ID; NULL when out of memory. */
json_t *ek_stac_from_record(const ek_record *r, const char *stac_id);

/* ---- registering (catalog_register.c) ---- */

/* The provenance of a dataset registered from its folder. */
#define EK_REGISTERED "registered from its collection.json (eodkit build)"

/* The folder dataset PK was registered from, for local use only (never
   published), into *PATH (newly allocated; NULL when it has none). */
int ek_catalog_folder(eodkit_ctx *ctx, eodkit_catalog *cat, long long pk,
                      char **path /* OUT */);

/* ---- searching (catalog_search.c) ---- */

/* The search result as {"total", "offset", "datasets": [...], "facets":
   {task: [[value, count]...], ...}} into *OUT (a new reference). */
int ek_search_json(eodkit_ctx *ctx, eodkit_catalog *cat, const eodkit_catalog_query *q,
                   json_t **out /* OUT */);

/* Dataset R as JSON with its FAIR score; NULL when out of memory. */
json_t *ek_dataset_json(const ek_record *r);

/* ---- statistics (catalog_stats.c, catalog_fair.c, catalog_svg.c) ---- */

/* The groupings of `catalog stats --by`: per value (a dataset is in the
   group of each of its values), then per combination (a dataset is in the
   one group of all its values together). */
typedef enum ek_by {
    EK_BY_YEAR,
    EK_BY_TASK,
    EK_BY_PLATFORM,
    EK_BY_MODALITY,
    EK_BY_CONTINENT,
    EK_BY_TASK_COMBINATION,
    EK_BY_PLATFORM_COMBINATION,
    EK_BY_MODALITY_COMBINATION,
    EK_NBY
} ek_by;

/* Parse BY ("task", ...) into *OUT; bad input names the choices. */
int ek_by_parse(eodkit_ctx *ctx, const char *by, ek_by *out /* OUT */);

/* The statistics grouped BY as JSON (see eodkit_catalog_stats). */
int ek_stats_json(eodkit_ctx *ctx, eodkit_catalog *cat, ek_by by,
                  json_t **out /* OUT */);

/* The charts of the statistics, in the order `catalog charts` writes them. */
typedef enum ek_chart {
    EK_CHART_GROUPS,        /* "groups": shares per group */
    EK_CHART_GROWTH_SIZE,   /* "growth-size": size per year */
    EK_CHART_GROWTH_VOLUME, /* "growth-volume": volume per year */
    EK_CHART_FAIR,          /* "fair": FAIR completeness per field */
    EK_NCHARTS
} ek_chart;

/* Parse chart name NAME ("groups", ...) into *OUT; bad input
   (EODKIT_ERR_USAGE) names the choices. */
int ek_chart_parse(eodkit_ctx *ctx, const char *name, ek_chart *out /* OUT */);

/* CHART of the statistics grouped BY (the growth charts are always per
   year) as an SVG document in *SVG (newly allocated). */
int ek_stats_chart(eodkit_ctx *ctx, eodkit_catalog *cat, ek_by by, ek_chart chart,
                   char **svg /* OUT */);

/* The FAIR fields and whether R fills each: MISSING gets the names of the
   missing ones (NULL-terminated, static strings). Return the score 0..1. */
#define EK_FAIR_NFIELDS 6
extern const char *const ek_fair_fields[EK_FAIR_NFIELDS];
double ek_fair_score(const ek_record *r, int present[EK_FAIR_NFIELDS] /* OUT */);

/* One series of a chart: a name and one value per category (NAN: none). */
typedef struct ek_series {
    const char *name;
    const double *values;
} ek_series;

/* Append an SVG bar chart (grouped bars, one group per label, values in
   UNIT) / a line chart over X (log-scale y; values <= 0 are left out) to B. */
void ek_svg_bars(ek_strbuf *b, const char *title, const char *unit,
                 const char *const *labels, size_t n, const ek_series *series,
                 size_t nseries);
void ek_svg_lines(ek_strbuf *b, const char *title, const char *unit, const double *x,
                  size_t n, const ek_series *series, size_t nseries);

/* ---- map (catalog_map.c) ---- */

/* Country outlines of a region layer, ready to draw. */
typedef struct ek_outline ek_outline;

/* Read the polygons of region layer PATH (see src/regions) into *OUT as
   SVG path text on an equirectangular 360 x 180 canvas. */
int ek_outline_load(eodkit_ctx *ctx, const char *path, ek_outline **out /* OUT */);
void ek_outline_free(ek_outline *o);

/* An SVG world map of the footprints of CAT's datasets over OUTLINE (may be
   NULL: a graticule only), each footprint linking to /dataset?id=... */
int ek_map_svg(eodkit_ctx *ctx, eodkit_catalog *cat, const ek_outline *outline,
               char **svg /* OUT */);

/* ---- embedded files (catalog_assets.c and the generated table) ---- */

/* The content of the file called NAME compiled into eodkit (the shipped
   catalog CSV, the web pages), NUL-terminated; NULL when there is none. */
const char *ek_asset(const char *name, size_t *size /* OUT */);

#endif
