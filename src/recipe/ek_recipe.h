/*
** Recipe: the YAML file that says what to build, parsed and validated into
** an immutable ek_recipe. Every value keeps the line:column it came from so
** later stages can point at it when the data behind it is wrong.
*/
#ifndef EK_RECIPE_H
#define EK_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "eodkit/build.h"
#include "core/ek_ctx.h"

typedef struct ek_mark {
    int line;   /* 1-based; 0 = not from the recipe (a default) */
    int column; /* 1-based */
} ek_mark;

typedef enum ek_task {
    EK_TASK_SEGMENTATION,
    EK_TASK_CLASSIFICATION,
    EK_TASK_MULTILABEL,
    EK_TASK_DETECTION, /* boxes per chip (doc/format.md) */
    EK_TASK_INSTANCE,  /* boxes, an instance-id mask and the class mask */
    EK_TASK_CHANGE,    /* change mask of a pair of acquisitions (label/change.c) */
    EK_TASK_REGRESSION /* a continuous raster target (label/target.c) */
} ek_task;

/* The recipe's word for each task, indexed by ek_task; NULL-terminated. */
extern const char *const ek_task_names[];

/* Whether TASK stores objects (boxes) per chip. */
#define EK_TASK_HAS_OBJECTS(task)                                                      \
    ((task) == EK_TASK_DETECTION || (task) == EK_TASK_INSTANCE)

typedef enum ek_split_method {
    EK_SPLIT_RANDOM,
    EK_SPLIT_BLOCKS,
    EK_SPLIT_REGIONS,
    EK_SPLIT_TIME
} ek_split_method;

/* Which region tag a hold-out matches (index columns continent, country,
   region). */
typedef enum ek_region_key {
    EK_HOLD_CONTINENT,
    EK_HOLD_COUNTRY,
    EK_HOLD_REGION
} ek_region_key;

/* split.hold_out: chips of these regions all go to split SPLIT. */
typedef struct ek_hold_out {
    int split; /* index into the split names */
    ek_region_key key;
    char **values;
    size_t nvalues;
    ek_mark mark;
} ek_hold_out;

/* One output band read from its own files (modalities.band_files). */
typedef struct ek_band_file {
    char *name;
    char **patterns; /* resolved globs */
    size_t npatterns;
    int band; /* 1-based band of those files */
    ek_mark mark;
} ek_band_file;

typedef enum ek_time_mode { EK_TIME_NONE, EK_TIME_MOSAIC, EK_TIME_STACK } ek_time_mode;

/* A range of acquisition times: seconds since 1970-01-01 UTC, inclusive. */
typedef struct ek_period {
    int64_t from, to;
    ek_mark mark;
} ek_period;

/* How a modality with several acquisitions per place is combined. */
typedef struct ek_time_recipe {
    ek_time_mode mode;
    int count; /* stack: acquisitions per chip */
    /* mode: pair is a stack of two whose step s comes from periods[s]
       (before, after); grid/time_select.c chooses them */
    int pair;
    ek_period periods[2];
    int has_from, has_to;
    int64_t from, to; /* seconds since 1970-01-01 UTC, inclusive */
    char *pattern;    /* regex on file names; group 1 holds the date */
    char *format;     /* strptime format of that group; NULL = guessed */
    ek_mark mark;
} ek_time_recipe;

/* Cloud (or any) mask of a modality: a band of its own files whose values
   (or any nonzero value) mark masked pixels, or polygons. */
typedef struct ek_mask_recipe {
    int present;
    int band;       /* 0 = none */
    double *values; /* NULL = any nonzero value */
    size_t nvalues;
    char *polygons;   /* resolved path of a vector, or NULL */
    char *time_field; /* field matching polygons to acquisition times */
    ek_mark mark;
} ek_mask_recipe;

typedef enum ek_complex {
    EK_COMPLEX_REFUSE,
    EK_COMPLEX_AMPLITUDE,
    EK_COMPLEX_INTENSITY
} ek_complex;

/* STAC sar fields of a kind: sar modality. */
typedef struct ek_sar_recipe {
    char *frequency_band;
    char *instrument_mode;
    char *product_type;
    char *scale; /* "db" or "linear" */
    char **polarizations;
    size_t npolarizations;
} ek_sar_recipe;

/* modalities[].stac: the modality's inputs are the assets of STAC Items
   (src/grid/stac.c). */
typedef struct ek_stac_recipe {
    int present;
    char *items;   /* a path (resolved against the recipe folder) or a URL: an
                      Item, ItemCollection, Catalog, Collection, a folder, or a
                      STAC API /search endpoint */
    char **assets; /* asset keys: each asset's bands, in this order */
    size_t nassets;
    int has_bbox;
    double bbox[4]; /* west, south, east, north (longitude, latitude) */
    char *datetime; /* STAC datetime: an instant or "start/end" ("..": open) */
    char **collections;
    size_t ncollections;
    char *query; /* JSON text of a STAC API `query` object, or NULL */
    int has_max_cloud;
    double max_cloud; /* eo:cloud_cover, percent */
    int limit;        /* items per search page; 0 = the server's default */
    int post;         /* search with POST (JSON body) instead of GET */
} ek_stac_recipe;

/* How a modality's pixels map to the ground (modalities[].georeference). */
typedef enum ek_georef_method {
    EK_GEOREF_GEOTRANSFORM, /* the files' geotransform (the default) */
    EK_GEOREF_GCP,          /* a polynomial through their GCPs */
    EK_GEOREF_TPS,          /* a thin-plate spline through their GCPs */
    EK_GEOREF_RPC           /* their RPC model */
} ek_georef_method;

typedef struct ek_georef_recipe {
    ek_georef_method method;
    int order; /* gcp: polynomial order, 1-3 */
    char *dem; /* rpc: GDAL name of a DEM for the heights, or NULL */
    int has_height;
    double height; /* rpc: height offset, metres (GDAL's RPC_HEIGHT) */
    ek_mark mark;
} ek_georef_recipe;

typedef struct ek_modality_recipe {
    char *name;
    char
        *kind; /* optical | multispectral | hyperspectral | sar | dem | lidar | other */
    char *sensor;   /* may be NULL */
    char *platform; /* satellite | aerial | uav | ground, may be NULL */
    char *description;
    /* input names (globs for plain paths), from `files` or the lines of
       `files_from`, resolved (ek_name_resolve) */
    char **patterns;
    size_t npatterns;
    ek_mark files_mark;
    int *bands; /* 1-based band numbers; NULL = every band of the source */
    size_t nbands;
    ek_mark bands_mark;
    char **band_names; /* NULL = from the source, else "b<n>" */
    size_t nband_names;
    ek_band_file *band_files; /* instead of patterns: one entry per output band */
    size_t nband_files;
    ek_stac_recipe stac; /* instead of patterns: STAC items (stac.present) */
    int resampling;      /* GDALResampleAlg */
    int has_resampling;  /* given in the recipe */
    int has_nodata;      /* the recipe declares the nodata value */
    double nodata;       /* may be NaN */
    ek_mark nodata_mark;
    int required; /* chips need this modality's data (default); else a presence flag */
    ek_time_recipe time;
    ek_mask_recipe mask;
    ek_complex complex;
    ek_sar_recipe sar;
    ek_georef_recipe georef;
    ek_mark mark;
} ek_modality_recipe;

/* The array of a change task with two label sources that holds each
   pixel's class before and after (doc/format.md); no modality may use it. */
#define EK_CHANGE_CLASSES_ARRAY "label_classes"

/* Class ids are 0 to EK_MAX_CLASS_ID (label arrays are uint8 or uint16). */
#define EK_MAX_CLASS_ID 65535

typedef struct ek_class_entry {
    char *value; /* attribute value (vector) or pixel value (raster), as text */
    int id;
    char *name;
} ek_class_entry;

/* What a table key names: the scene file's folder, or its file name. */
typedef enum ek_table_match { EK_MATCH_FOLDER, EK_MATCH_FILE } ek_table_match;

/* labels.table: scene-level labels from a CSV or JSON table. */
typedef struct ek_table_recipe {
    char *path; /* resolved path or glob; NULL: no table */
    ek_mark mark;
    char *key; /* field naming each row's scene; NULL: JSON sidecars */
    ek_table_match match;
    char *field;        /* field holding the labels */
    char *separator;    /* between labels in a text field; NULL: one label */
    int majority;       /* mixed: majority (else chips across scenes whose
                           labels differ are dropped) */
    int skip_unmatched; /* unmatched: skip (else a row matching no scene
                           is an error) */
    char *scenes;       /* modality whose files are the scenes; NULL: the first */
    ek_mark scenes_mark;
} ek_table_recipe;

typedef struct ek_labels_recipe {
    int present;
    char *source; /* resolved path */
    ek_mark source_mark;
    char *layer;     /* vector layer; NULL = the first */
    char *attribute; /* vector attribute; NULL for rasters */
    ek_mark attribute_mark;
    int band;                /* raster label band, 1-based */
    ek_class_entry *classes; /* NULL = values are class ids (or sorted names) */
    size_t nclasses;
    ek_mark classes_mark;
    int background;
    char *background_name;
    int all_touched;
    ek_task task;
    double min_class_share; /* multilabel: share of the chip a class needs */
    int has_ignore;
    int ignore_index; /* label rasters: id of values not in the class map */
    ek_mark task_mark;
    /* detection, instance: */
    int oriented;        /* also the minimum rotated rectangle (detection) */
    double box_w, box_h; /* boxes of point features, CRS units; 0: none */
    ek_mark box_size_mark;
    double min_visibility; /* share of an object's area a chip must hold */
    /* task change (src/label/change.c) */
    char *after;   /* the second label source (resolved), or NULL */
    char *pair[2]; /* the before and after modalities, or NULL */
    ek_mark pair_mark;
    /* task regression (src/label/target.c) */
    int resampling; /* GDALResampleAlg */
    int has_resampling;
    int has_nodata; /* the recipe declares the target's nodata value */
    double nodata;
    ek_table_recipe table; /* scene labels from a table (src/label/table.c) */
} ek_labels_recipe;

/* The widest guard band, in chips: wider than any chip lattice eodkit
   plans (doc/recipe.md, split.buffer). */
#define EK_MAX_BUFFER 1000

/* regions.margin with the built-in world layer, metres: Natural Earth's
   1:10m and 1:50m land borders lie up to 4 km apart. */
#define EK_REGION_MARGIN 5000.0

typedef struct ek_split_recipe {
    ek_split_method method;
    char **names; /* split names in the order given; the last ones take precedence
                     in guard bands (they are the evaluation splits) */
    double *ratios;
    size_t nsplits;
    uint64_t seed;
    double block_size; /* CRS units */
    ek_mark block_size_mark;
    double buffer;         /* chips, 0 .. EK_MAX_BUFFER */
    ek_hold_out *hold_out; /* method regions */
    size_t nhold_out;
    int64_t *period_start; /* method time: per split, ascending */
    ek_mark periods_mark;
    int stratify; /* balance class shares across splits (blocks, regions) */
    double tolerance;
    ek_mark mark;
} ek_split_recipe;

/* sample.by: what chips are grouped by before some are chosen (src/sample). */
typedef enum ek_sample_by {
    EK_SAMPLE_CONTINENT,
    EK_SAMPLE_COUNTRY,
    EK_SAMPLE_REGION,
    EK_SAMPLE_CLASS,
    EK_SAMPLE_CELL
} ek_sample_by;

/* The recipe's words for them, indexed by ek_sample_by; NULL-terminated. */
extern const char *const ek_sample_by_names[];

/* sample.allocation: how sample.total is shared among the groups. */
typedef enum ek_allocation {
    EK_ALLOCATION_PROPORTIONAL,
    EK_ALLOCATION_EQUAL
} ek_allocation;

/* The recipe's words for them, indexed by ek_allocation; NULL-terminated. */
extern const char *const ek_allocation_names[];

/* sample: choose candidate chips per group before any pixel is read
   (doc/recipe.md, sample). */
typedef struct ek_sample_recipe {
    int present;
    ek_sample_by by;
    ek_mark by_mark;
    long long max_per_group;  /* at most this many chips per group; 0: no cap */
    long long total;          /* this many chips in all; 0: no total */
    ek_allocation allocation; /* with total */
    uint64_t seed;
    double cell_km; /* by cell: the spacing of the Major TOM cells, km */
    ek_mark mark;
} ek_sample_recipe;

typedef struct ek_provider {
    char *name;
    char *url;
    char **roles;
    size_t nroles;
} ek_provider;

/* grid.system: the reference grids chips can be put on (doc/format.md,
   Cell ids). */
typedef enum ek_grid_system {
    EK_SYSTEM_NONE,
    EK_SYSTEM_UTM_CELLS, /* square cells of chip_size px per UTM zone, origin 0 */
    EK_SYSTEM_MAJORTOM   /* the Major TOM grid, one chip centred on each cell */
} ek_grid_system;

struct eodkit_recipe {
    char *path; /* the recipe file as given */
    char *dir;  /* its folder: relative paths resolve against it */

    /* dataset: */
    char *name;
    char *title;
    char *description;
    char *license;
    char *citation;
    char *version;
    char **keywords;
    size_t nkeywords;
    ek_provider *providers;
    size_t nproviders;

    /* grid: */
    char *crs; /* user CRS string; NULL when like != NULL or utm */
    int utm;   /* crs: utm (or a system): each chip on the UTM zone of its centre */
    ek_grid_system system; /* a reference grid shared across builds */
    ek_mark system_mark;
    double spacing; /* system majortom: grid spacing, km */
    char *like;     /* modality whose native grid to use */
    ek_mark crs_mark;
    int has_resolution;
    double res_x, res_y;
    ek_mark res_mark;
    int chip_w, chip_h;
    ek_mark chip_mark;
    int stride_x, stride_y;
    char *aoi; /* resolved path or NULL */
    ek_mark aoi_mark;
    double error_threshold; /* pixels; 0 = exact transforms */

    ek_modality_recipe *modalities;
    size_t nmodalities;
    ek_labels_recipe labels;

    /* regions: (country/continent tagging) */
    char *regions;        /* resolved path, or NULL = the built-in world layer */
    char *region_field;   /* NULL = continent */
    double region_margin; /* metres: a chip this close to a held-out region
                             touches it; -1: EK_REGION_MARGIN with the
                             built-in layer, else 0 */
    ek_mark regions_mark;

    ek_sample_recipe sample; /* sample: (present 0 without one) */

    /* filters: */
    double max_nodata;
    double min_labeled;
    double max_cloud;
    long long min_objects; /* detection, instance: boxes a chip must hold */

    ek_split_recipe split;

    /* output: */
    char *output_dir; /* resolved, NULL = none given */
    long long shard_bytes;
};

typedef struct eodkit_recipe ek_recipe;

/* The recipe's mark as "file:line:column", in BUF. */
const char *ek_recipe_where(const ek_recipe *r, ek_mark m, char *buf, size_t size);

/* Index of modality NAME in R, or -1. */
int ek_recipe_find_modality(const ek_recipe *r, const char *name);

/* GDAL's name for resampling algorithm ALG ("near", "bilinear", ...). */
const char *ek_resampling_name(int alg);

/* The recipe's word for georeference method M ("geotransform", "gcp", "tps",
   "rpc"). */
const char *ek_georef_name(ek_georef_method m);

/* Write R, with every default filled in and paths absolute, as YAML to PATH
   (the provenance copy stored in each dataset). */
int ek_recipe_write_resolved(eodkit_ctx *ctx, const ek_recipe *r, const char *path);

#endif
