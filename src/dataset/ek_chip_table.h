/*
** Dataset: the chip table, layer "chips" of a dataset's index.gpkg read
** into a compact array (windows, centres, shard rows, tags as indices into
** string tables, the class to weight by, acquisition year and month), and
** the dataset's pixel grids from provenance.json: what the audit, eval,
** mosaic, preview and export know of every chip.
*/
#ifndef EK_CHIP_TABLE_H
#define EK_CHIP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/ek_ctx.h"
#include "core/ek_strtab.h"

typedef struct ek_chip_row {
    int64_t fid, chip_id;
    int64_t x, y; /* window on the grid, pixels */
    int32_t w, h;
    int32_t shard;     /* where its arrays are: <split>/<array>-<shard>.npy, */
    int64_t row;       /* row ROW; both -1 when the index lacks the columns */
    int64_t block;     /* its split block, -1 when NULL */
    double lon, lat;   /* centre */
    int32_t split;     /* into splits */
    int32_t continent; /* into continents */
    int32_t country;   /* into countries */
    int32_t region;    /* into regions */
    int32_t grid;      /* into the dataset's grids */
    int32_t cls;       /* label (classification) or dominant class; -1 none */
    int16_t year;      /* acquisition year (to EK_CHIP_MAX_YEAR), 0 unknown */
    int8_t month;      /* 1-12, 0 unknown */
    /* the sampling weights the index holds (columns weight_continent and
       weight_class), NaN when it holds none */
    double weight_continent, weight_class;
    double nodata_frac; /* share of its pixels that are nodata, NaN unknown */
} ek_chip_row;

/* The latest acquisition year a chip can have. */
#define EK_CHIP_MAX_YEAR 9999

/* Names the audit uses for chips without a tag. */
#define EK_TAG_UNKNOWN "unknown"
#define EK_TAG_SEA "none"

typedef struct ek_chip_country {
    char *name;        /* or NULL when the layer has none */
    int32_t continent; /* into continents */
} ek_chip_country;

typedef struct ek_chip_table {
    char *path;
    ek_chip_row *chips; /* in fid order */
    size_t n;
    ek_strtab splits;     /* collection.json's order first */
    ek_strtab continents; /* "unknown" when the index has no tag */
    ek_strtab countries;  /* ISO alpha-3 codes, "none" over the sea */
    ek_strtab regions;
    ek_chip_country *country_info; /* per country */
    size_t country_cap;
    int has_datetime; /* the index has a datetime column */
    int has_tags;     /* the index has country/continent columns */
} ek_chip_table;

/* What the chip table needs to know about the labels. */
typedef struct ek_chip_labels {
    const char *task; /* "segmentation", "classification", ...; NULL: none */
    int background;   /* background class id */
} ek_chip_labels;

/*
** Read layer "chips" of DIR/index.gpkg, the chip index of the dataset in
** folder DIR, into *OUT (newly allocated; free with ek_chip_table_free).
** The splits of COLLECTION's "eodkit:splits" come first, in its order. A
** missing index, or missing required columns, are EODKIT_ERR_INPUT.
*/
int ek_chip_table_read(eodkit_ctx *ctx, const char *dir, const json_t *collection,
                       const ek_chip_labels *labels, ek_chip_table **out /* OUT */);
void ek_chip_table_free(ek_chip_table *ix);

/* Set the country (with its NAME), continent and region of chip C of IX
   from these texts (NULL: unknown), interning them into IX's tables. */
int ek_chip_table_tag(eodkit_ctx *ctx, ek_chip_table *ix, ek_chip_row *c,
                      const char *country, const char *name, const char *continent,
                      const char *region);

/* Forget every country, continent and region tag of IX (before tagging
   every chip again with ek_chip_table_tag). */
void ek_chip_table_clear_tags(ek_chip_table *ix);

/* One pixel grid of the dataset (a build with `crs: utm` has one per UTM
   zone): chips of different grids never share a pixel. */
typedef struct ek_dataset_grid {
    const char *crs; /* its code ("EPSG:32633"), or NULL */
    const char *wkt;
    double gt[6];
    int64_t first_chip, nchips; /* its chip ids: [first_chip, first_chip + nchips) */
} ek_dataset_grid;

/*
** The grids of PROVENANCE (provenance.json: one per UTM zone with `crs: utm`;
** older datasets record a single grid inline) into *GRIDS (newly allocated,
** *N entries; free with free()). Their strings point into PROVENANCE.
*/
int ek_dataset_grids_read(eodkit_ctx *ctx, const json_t *provenance,
                          ek_dataset_grid **grids /* OUT */, size_t *n /* OUT */);

/* Set the grid of every chip of IX from its chip id (grid 0 when no grid
   holds it). */
void ek_chip_table_set_grids(ek_chip_table *ix, const ek_dataset_grid *grids, size_t n);

#endif
