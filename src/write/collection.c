/*
** Write: collection.json, a STAC 1.0 Collection describing the dataset:
** extent, licence, providers, modalities and bands, classes, chips per
** split, and one asset per file (shards carry ml-aoi split/role, eo bands
** and projection). Only extensions whose schemas validate it are declared.
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
#include "ek_write.h"
#include "stac/ek_stac.h"

#define EXT_LABEL "https://stac-extensions.github.io/label/v1.0.1/schema.json"
#define EXT_MLAOI "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
#define EXT_EO "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
#define EXT_PROJ "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
#define EXT_SAR "https://stac-extensions.github.io/sar/v1.0.0/schema.json"

/* label:tasks of TASK (the STAC label extension's words). */
static json_t *stac_tasks(ek_task task)
{
    return task == EK_TASK_INSTANCE ? json_pack("[ss]", "detection", "segmentation")
                                    : json_pack("[s]", ek_task_names[task]);
}

/* label:type of TASK: boxes are vector labels, arrays of ids raster ones. */
static const char *stac_label_type(ek_task task)
{
    return task == EK_TASK_DETECTION ? "vector" : "raster";
}

/* ml-aoi knows train / validate / test; other split names have no mapping. */
static const char *mlaoi_split(const char *name)
{
    if (strcmp(name, "train") == 0 || strcmp(name, "training") == 0) {
        return "train";
    }
    if (strcmp(name, "val") == 0 || strcmp(name, "valid") == 0 ||
        strcmp(name, "validation") == 0 || strcmp(name, "validate") == 0) {
        return "validate";
    }
    if (strcmp(name, "test") == 0 || strcmp(name, "testing") == 0) {
        return "test";
    }
    return NULL;
}

/* The eo extension's common band name for NAME, if any. */
static const char *common_name(const char *name)
{
    static const char *const same[] = {
        "coastal", "blue", "green",  "red",    "rededge", "yellow",
        "pan",     "nir",  "nir08",  "nir09",  "cirrus",  "swir16",
        "swir22",  "lwir", "lwir11", "lwir12", NULL};
    static const char *const alias[][2] = {
        {"swir1", "swir16"}, {"swir2", "swir22"}, {"tir", "lwir"}, {NULL, NULL}};
    char lower[32];
    size_t i;

    for (i = 0; i + 1 < sizeof lower && name[i] != '\0'; i++) {
        lower[i] = (char)tolower((unsigned char)name[i]);
    }
    lower[i] = '\0';
    for (i = 0; same[i] != NULL; i++) {
        if (strcmp(lower, same[i]) == 0) {
            return same[i];
        }
    }
    for (i = 0; alias[i][0] != NULL; i++) {
        if (strcmp(lower, alias[i][0]) == 0) {
            return alias[i][1];
        }
    }
    return NULL;
}

static int is_optical(const ek_modality *m)
{
    const char *k = m->recipe->kind;

    return strcmp(k, "optical") == 0 || strcmp(k, "multispectral") == 0 ||
           strcmp(k, "hyperspectral") == 0;
}

static json_t *bbox_json(const double b[4])
{
    return json_pack("[f, f, f, f]", b[0], b[1], b[2], b[3]);
}

/* [first, last] acquisition of the chips, or [null, null] when unknown. */
static json_t *interval_json(const ek_dataset_facts *f)
{
    char first[32], last[32];
    int64_t a, b;

    if (!ek_index_time_range(f->index, -1, &a, &b)) {
        return json_pack("[n, n]");
    }
    ek_time_format(a, first, sizeof first);
    ek_time_format(b, last, sizeof last);
    return json_pack("[s, s]", first, last);
}

static json_t *eo_bands(const ek_modality *m)
{
    json_t *a = json_array();
    int b;

    for (b = 0; b < m->nbands; b++) {
        json_t *o = json_pack("{s:s}", "name", m->band_names[b]);
        const char *cn = common_name(m->band_names[b]);

        if (cn != NULL) {
            json_object_set_new(o, "common_name", json_string(cn));
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* SAR polarisations: the recipe's, or the band names that are HH/HV/VH/VV. */
static json_t *polarizations(const ek_modality *m)
{
    const ek_sar_recipe *sar = &m->recipe->sar;
    json_t *a = json_array();
    size_t i;
    int b;

    for (i = 0; i < sar->npolarizations; i++) {
        json_array_append_new(a, json_string(sar->polarizations[i]));
    }
    for (b = 0; sar->npolarizations == 0 && b < m->nbands; b++) {
        const char *n = m->band_names[b];

        if (strcmp(n, "HH") == 0 || strcmp(n, "HV") == 0 || strcmp(n, "VH") == 0 ||
            strcmp(n, "VV") == 0) {
            json_array_append_new(a, json_string(n));
        }
    }
    return a;
}

/* The STAC sar fields of a kind: sar modality (on its assets). */
static void add_sar_fields(const ek_modality *m, json_t *o)
{
    const ek_sar_recipe *sar = &m->recipe->sar;
    json_t *pol = polarizations(m);

    if (sar->instrument_mode != NULL) {
        json_object_set_new(o, "sar:instrument_mode",
                            json_string(sar->instrument_mode));
    }
    if (sar->frequency_band != NULL) {
        json_object_set_new(o, "sar:frequency_band", json_string(sar->frequency_band));
    }
    if (sar->product_type != NULL) {
        json_object_set_new(o, "sar:product_type", json_string(sar->product_type));
    }
    if (json_array_size(pol) > 0) {
        json_object_set_new(o, "sar:polarizations", pol);
    } else {
        json_decref(pol);
    }
}

static json_t *time_json(const ek_modality *m)
{
    char first[32], last[32];

    ek_time_format(m->times[0], first, sizeof first);
    ek_time_format(m->times[m->ntimes - 1], last, sizeof last);
    return json_pack("{s:s, s:i, s:i, s:s, s:s}", "mode",
                     m->recipe->time.pair                    ? "pair"
                     : m->recipe->time.mode == EK_TIME_STACK ? "stack"
                                                             : "mosaic",
                     "steps", m->steps, "acquisitions", (int)m->ntimes, "first", first,
                     "last", last);
}

static json_t *modality_json(const ek_modality *m, const ek_array_desc *d)
{
    json_t *o = json_object(), *bands = json_array(), *shape = json_array();
    int b, k;

    json_object_set_new(o, "name", json_string(m->recipe->name));
    json_object_set_new(o, "kind", json_string(m->recipe->kind));
    json_object_set_new(
        o, "sensor", m->recipe->sensor ? json_string(m->recipe->sensor) : json_null());
    json_object_set_new(o, "platform",
                        m->recipe->platform ? json_string(m->recipe->platform)
                                            : json_null());
    json_object_set_new(o, "required", json_boolean(m->recipe->required));
    json_object_set_new(o, "dtype", json_string(ek_dtype_name(m->dtype)));
    for (k = 0; k < d->ndim; k++) {
        json_array_append_new(shape, json_integer((json_int_t)d->shape[k]));
    }
    json_object_set_new(o, "shape", shape);
    /* JSON has no NaN: a NaN nodata value (NaN is nodata anyway) is null */
    json_object_set_new(o, "nodata",
                        m->has_nodata && isfinite(m->nodata) ? json_real(m->nodata)
                                                             : json_null());
    json_object_set_new(o, "resampling",
                        json_string(ek_resampling_name(m->recipe->resampling)));
    for (b = 0; b < m->nbands; b++) {
        int source_band;

        ek_modality_band(m, b, &source_band);
        json_array_append_new(bands, json_pack("{s:s, s:i}", "name", m->band_names[b],
                                               "source_band", source_band));
    }
    json_object_set_new(o, "bands", bands);
    json_object_set_new(o, "files", json_integer((json_int_t)m->nsources));
    if (m->recipe->time.mode != EK_TIME_NONE) {
        json_object_set_new(o, "time", time_json(m));
    }
    if (m->recipe->mask.present) {
        json_object_set_new(
            o, "mask",
            json_string(m->recipe->mask.polygons != NULL ? "polygons" : "band"));
    }
    if (strcmp(m->recipe->kind, "sar") == 0) {
        json_t *sar = json_object();

        add_sar_fields(m, sar);
        if (m->recipe->sar.scale != NULL) {
            json_object_set_new(sar, "scale", json_string(m->recipe->sar.scale));
        }
        json_object_set_new(o, "sar", sar);
    }
    return o;
}

static json_t *shape_json(const ek_array_desc *d)
{
    json_t *shape = json_array();
    int i;

    for (i = 0; i < d->ndim; i++) {
        json_array_append_new(shape, json_integer((json_int_t)d->shape[i]));
    }
    return shape;
}

/* The label array of F named NAME, or NULL when not stored. */
static const ek_array_desc *label_array(const ek_dataset_facts *f, const char *name)
{
    size_t a;

    for (a = f->plan->nmodalities; a < f->narrays; a++) {
        if (strcmp(f->arrays[a].name, name) == 0) {
            return &f->arrays[a];
        }
    }
    return NULL;
}

/* {name: {"per", "dtype", "shape"}} of the label arrays (doc/format.md). */
static json_t *label_arrays_json(const ek_dataset_facts *f)
{
    json_t *o = json_object();
    size_t a;

    for (a = f->plan->nmodalities; a < f->narrays; a++) {
        const ek_array_desc *d = &f->arrays[a];

        json_object_set_new(o, d->name,
                            json_pack("{s:s, s:s, s:o}", "per",
                                      d->per_object ? "object" : "chip", "dtype",
                                      ek_dtype_name(d->dtype), "shape", shape_json(d)));
    }
    return o;
}

static json_t *classes_json(const ek_class *classes, size_t nclasses)
{
    json_t *list = json_array();
    size_t k;

    for (k = 0; k < nclasses; k++) {
        json_array_append_new(list, json_pack("{s:i, s:s}", "id", classes[k].id, "name",
                                              classes[k].name));
    }
    return list;
}

/* eodkit:label.change: where the pairs are (modalities with a time pair,
   or labels.pair) and, with two label sources, the classes of the array
   label_classes. */
static json_t *change_json(const ek_dataset_facts *f)
{
    const ek_labels *l = f->labels;
    const ek_labels_recipe *lr = l->recipe;
    const ek_plan *p = f->plan;
    json_t *o = json_object(), *timed = json_array();
    size_t m;

    for (m = 0; m < p->nmodalities; m++) {
        if (p->modalities[m].recipe->time.mode == EK_TIME_STACK) {
            json_array_append_new(timed, json_string(p->modalities[m].recipe->name));
        }
    }
    json_object_set_new(o, "time_pairs", timed);
    json_object_set_new(o, "pair",
                        lr->pair[0] != NULL
                            ? json_pack("[s, s]", lr->pair[0], lr->pair[1])
                            : json_null());
    json_object_set_new(o, "sources", json_integer(l->change->after != NULL ? 2 : 1));
    if (l->change->after != NULL) { /* the classes array label_classes holds */
        json_object_set_new(
            o, "classes",
            json_pack("{s:{s:i, s:s}, s:o}", "background", "id", lr->background, "name",
                      lr->background_name, "classes",
                      classes_json(l->change->classes, l->change->nclasses)));
    }
    return o;
}

/* eodkit:label of a regression target. */
static json_t *target_json(const ek_dataset_facts *f)
{
    const ek_labels *l = f->labels;
    const ek_array_desc *d = label_array(f, "label");

    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:i}", "task", "regression",
                     "dtype", ek_dtype_name(d->dtype), "shape", shape_json(d), "arrays",
                     label_arrays_json(f), "type", "raster", "nodata", "nan",
                     "resampling", ek_resampling_name(l->recipe->resampling),
                     "source_band", l->band);
}

static json_t *label_json(const ek_dataset_facts *f, const ek_class *classes,
                          size_t nclasses)
{
    const ek_labels *l = f->labels;
    const ek_labels_recipe *lr = l->recipe;
    const ek_array_desc *label = label_array(f, "label");
    json_t *o;

    if (l->regression) {
        return target_json(f);
    }
    o = json_object();
    json_object_set_new(o, "task", json_string(ek_task_names[lr->task]));
    /* the class ids' type, and the shape of the "label" array if stored */
    json_object_set_new(
        o, "dtype",
        json_string(ek_dtype_name(label != NULL ? label->dtype : l->dtype)));
    if (label != NULL) {
        json_object_set_new(o, "shape", shape_json(label));
    }
    json_object_set_new(o, "arrays", label_arrays_json(f));
    json_object_set_new(o, "type",
                        json_string(l->table != NULL ? "table"
                                    : l->is_raster   ? "raster"
                                                     : "vector"));
    json_object_set_new(o, "background",
                        l->change != NULL
                            ? json_pack("{s:i, s:s}", "id", 0, "name", "no change")
                            : json_pack("{s:i, s:s}", "id", lr->background, "name",
                                        lr->background_name));
    json_object_set_new(o, "classes", classes_json(classes, nclasses));
    if (lr->has_ignore) {
        json_object_set_new(o, "ignore_index", json_integer(lr->ignore_index));
    }
    if (lr->task == EK_TASK_MULTILABEL && l->table == NULL) {
        json_object_set_new(o, "min_class_share", json_real(lr->min_class_share));
    }
    if (EK_TASK_HAS_OBJECTS(lr->task)) {
        json_object_set_new(o, "oriented", json_boolean(lr->oriented));
        json_object_set_new(o, "min_visibility", json_real(lr->min_visibility));
        json_object_set_new(o, "box_size",
                            lr->box_w > 0 ? json_pack("[f, f]", lr->box_w, lr->box_h)
                                          : json_null());
        json_object_set_new(o, "max_object_id", json_integer(l->max_object));
    }
    if (l->change != NULL) {
        json_object_set_new(o, "change", change_json(f));
    }
    return o;
}

/* The shard assets of split S, keyed by their path in the dataset; hrefs
   are relative to a file in folder PREFIX ("./" or "../"). */
static void add_shard_assets(const ek_dataset_facts *f, size_t s, const char *prefix,
                             json_t *assets)
{
    const ek_plan *p = f->plan;
    const ek_grid *g = &p->grids[0];
    const char *split = f->recipe->split.names[s];
    const char *ml = mlaoi_split(split);
    size_t a;
    int k;

    for (k = 0; k < ek_shards_files(f->shards, (int)s); k++) {
        for (a = 0; a < f->narrays; a++) {
            const ek_array_desc *d = &f->arrays[a];
            int is_label = a >= p->nmodalities;
            char key[256], href[270];
            json_t *o;

            snprintf(key, sizeof key, "%s/%s-%05d.npy", split, d->name, k);
            snprintf(href, sizeof href, "%s%s", prefix, key);
            o = json_pack("{s:s, s:s, s:[s]}", "href", href, "type",
                          "application/x-npy", "roles", is_label ? "labels" : "data");
            if (ml != NULL) {
                json_object_set_new(o, "ml-aoi:split", json_string(ml));
            }
            json_object_set_new(o, "ml-aoi:role",
                                json_string(is_label ? "label" : "feature"));
            if (!is_label && is_optical(&p->modalities[a])) {
                json_object_set_new(o, "eo:bands", eo_bands(&p->modalities[a]));
            }
            if (!is_label && strcmp(p->modalities[a].recipe->kind, "sar") == 0) {
                add_sar_fields(&p->modalities[a], o);
            }
            if (p->ngrids > 1) {
                /* one CRS per UTM zone: each chip's is in the index */
            } else if (!is_label && p->modalities[a].vertical != NULL) {
                /* heights: the grid CRS with their vertical CRS */
                json_object_set_new(o, "proj:wkt2",
                                    json_string(p->modalities[a].vertical->grid_wkt));
            } else if (g->crs_code != NULL && strncmp(g->crs_code, "EPSG:", 5) == 0) {
                json_object_set_new(o, "proj:epsg",
                                    json_integer(atoi(g->crs_code + 5)));
            } else {
                json_object_set_new(o, "proj:wkt2", json_string(g->wkt));
            }
            json_object_set_new(assets, key, o);
        }
    }
}

/* label:overviews: labelled pixels per class of split S (all splits when
   S < 0), by class name. */
static json_t *overviews_json(const ek_dataset_facts *f, const ek_class *classes,
                              size_t nclasses, int s)
{
    json_t *counts = json_array();
    size_t k, sp;

    for (k = 0; k < nclasses; k++) {
        uint64_t n = 0;

        for (sp = 0; sp < f->split->nsplits; sp++) {
            if (s < 0 || (size_t)s == sp) {
                n += f->class_pixels[sp][classes[k].id];
            }
        }
        json_array_append_new(counts, json_pack("{s:s, s:I}", "name", classes[k].name,
                                                "count", (json_int_t)n));
    }
    return json_pack("[{s:s, s:o}]", "property_key", "class", "counts", counts);
}

/* label:overviews of a regression target: its training statistics. */
static json_t *target_overviews(const ek_band_stats *bs)
{
    json_t *stats = json_array();

    if (bs->m.n > 0) {
        json_array_append_new(
            stats, json_pack("{s:s, s:f}", "name", "mean", "value", bs->m.mean));
        json_array_append_new(stats, json_pack("{s:s, s:f}", "name", "std", "value",
                                               sqrt(bs->m.m2 / (double)bs->m.n)));
        json_array_append_new(
            stats, json_pack("{s:s, s:f}", "name", "min", "value", bs->m.min));
        json_array_append_new(
            stats, json_pack("{s:s, s:f}", "name", "max", "value", bs->m.max));
    }
    return json_pack("[{s:s, s:o}]", "property_key", "target", "statistics", stats);
}

/* The label extension's fields of an item: what the label arrays hold. */
static void add_label_properties(const ek_dataset_facts *f, json_t *props)
{
    const ek_labels *l = f->labels;
    ek_task task = l->recipe->task;
    static const char *const descriptions[] = {
        "class id of every pixel (see eodkit:label)",
        "class id of every chip (see eodkit:label)",
        "classes present in every chip (see eodkit:label)",
        "boxes of the objects in every chip, with their class ids (see eodkit:label)",
        "boxes, instance ids and class ids of every pixel (see eodkit:label)",
        "change (1) or no change (0) of every pixel (see eodkit:label)",
        "target value of every pixel, NaN where unknown (see eodkit:label)"};

    json_object_set_new(props, "label:properties", json_null());
    json_object_set_new(props, "label:description", json_string(descriptions[task]));
    json_object_set_new(props, "label:type", json_string(stac_label_type(task)));
    json_object_set_new(props, "label:tasks", stac_tasks(task));
}

/* A polygon (GeoJSON) of lon/lat bounds B. */
static json_t *bbox_polygon(const double b[4])
{
    return json_pack("{s:s, s:[[[f, f], [f, f], [f, f], [f, f], [f, f]]]}", "type",
                     "Polygon", "coordinates", b[0], b[1], b[2], b[1], b[2], b[3], b[0],
                     b[3], b[0], b[1]);
}

/*
** items/<split>.json: a STAC Item per split whose chips have acquisition
** times (an Item needs a time): its time range, the bounds of its chips and
** its shards. Adds a link to each to LINKS.
*/
static int write_items(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f,
                       const ek_class *classes, size_t nclasses, json_t *exts,
                       json_t *links)
{
    char *folder = ek_path_join(ctx, dir, "items");
    size_t s;
    int rc = folder == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    for (s = 0; s < f->split->nsplits && rc == EODKIT_OK; s++) {
        const char *split = f->recipe->split.names[s];
        const char *ml = mlaoi_split(split);
        double b[4];
        int64_t first, last;
        char start[32], end[32], name[300];
        json_t *item, *props, *assets = json_object();

        if (!ek_index_bbox(f->index, (int)s, b) ||
            !ek_index_time_range(f->index, (int)s, &first, &last)) {
            json_decref(assets);
            continue;
        }
        ek_time_format(first, start, sizeof start);
        ek_time_format(last, end, sizeof end);
        props = json_pack("{s:n, s:s, s:s}", "datetime", "start_datetime", start,
                          "end_datetime", end);
        if (ml != NULL) {
            json_object_set_new(props, "ml-aoi:split", json_string(ml));
        }
        if (f->labels != NULL) {
            add_label_properties(f, props);
        }
        if (f->labels != NULL && !f->labels->regression) {
            json_object_set_new(props, "label:overviews",
                                overviews_json(f, classes, nclasses, (int)s));
        }
        add_shard_assets(f, s, "../", assets);
        snprintf(name, sizeof name, "%s-%s", f->recipe->name, split);
        item = json_pack(
            "{s:s, s:s, s:O, s:s, s:s, s:o, s:o, s:o, s:[{s:s, s:s, s:s}, "
            "{s:s, s:s, s:s}, {s:s, s:s, s:s}], s:o}",
            "type", "Feature", "stac_version", "1.0.0", "stac_extensions", exts, "id",
            name, "collection", f->recipe->name, "geometry", bbox_polygon(b), "bbox",
            bbox_json(b), "properties", props, "links", "rel", "collection", "href",
            "../collection.json", "type", "application/json", "rel", "parent", "href",
            "../collection.json", "type", "application/json", "rel", "root", "href",
            "../collection.json", "type", "application/json", "assets", assets);
        snprintf(name, sizeof name, "%s.json", split);
        rc = item == NULL
                 ? ek_error(ctx, EODKIT_ERR_INTERNAL, "cannot describe item %s", split)
                 : ek_fs_mkdirs(ctx, folder);
        if (rc == EODKIT_OK) {
            rc = ek_write_json(ctx, item, folder, name);
        }
        json_decref(item);
        snprintf(name, sizeof name, "./items/%s.json", split);
        json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "item", "href",
                                               name, "type", "application/geo+json"));
    }
    free(folder);
    return rc;
}

/* Summaries must not be empty lists (STAC): add A under KEY only if it has items. */
static void set_summary(json_t *summaries, const char *key, json_t *a)
{
    if (json_array_size(a) > 0) {
        json_object_set_new(summaries, key, a);
    } else {
        json_decref(a);
    }
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* OBJ's keys in sorted order, as a JSON array. */
static json_t *sorted_keys(json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    json_t *list = json_array(), *value;
    const char *key;

    json_object_foreach(obj, key, value)
    {
        keys[i++] = key;
    }
    qsort(keys, n, sizeof *keys, compare_text);
    for (i = 0; i < n; i++) {
        json_array_append_new(list, json_string(keys[i]));
    }
    free(keys);
    return list;
}

/* Chips per continent and per country ("none": over the sea), and the
   lists of both for the summaries. */
static json_t *geography_json(const ek_dataset_facts *f, json_t **continents,
                              json_t **countries)
{
    const ek_regions *r = f->regions;
    json_t *by_continent = json_object(), *by_country = json_object();
    size_t n, k;
    const uint64_t *chips = ek_index_region_chips(f->index, &n);

    for (k = 0; k < n; k++) {
        const ek_region *it = k < r->n ? &r->items[k] : NULL;
        const char *continent =
            it != NULL && it->continent != NULL ? it->continent : "none";
        const char *country = it != NULL && it->country != NULL ? it->country : "none";
        json_t *c;

        if (chips[k] == 0) {
            continue;
        }
        c = json_object_get(by_continent, continent);
        json_object_set_new(by_continent, continent,
                            json_integer(json_integer_value(c) + (json_int_t)chips[k]));
        c = json_object_get(by_country, country);
        json_object_set_new(by_country, country,
                            json_integer(json_integer_value(c) + (json_int_t)chips[k]));
    }
    *continents = sorted_keys(by_continent);
    *countries = sorted_keys(by_country);
    return json_pack("{s:o, s:o}", "continents", by_continent, "countries", by_country);
}

static json_t *summaries_json(const ek_dataset_facts *f, const ek_class *classes,
                              size_t nclasses)
{
    const ek_plan *p = f->plan;
    json_t *o = json_object(), *instruments = json_array(), *kinds = json_array();
    json_t *platforms = json_array(), *splits = json_array();
    size_t m, s, k;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality_recipe *mr = p->modalities[m].recipe;

        if (mr->sensor != NULL) {
            json_array_append_new(instruments, json_string(mr->sensor));
        }
        if (mr->platform != NULL) {
            json_array_append_new(platforms, json_string(mr->platform));
        }
        json_array_append_new(kinds, json_string(mr->kind));
    }
    set_summary(o, "instruments", instruments);
    set_summary(o, "eodkit:platform_types", platforms);
    set_summary(o, "eodkit:kinds", kinds);
    for (s = 0; s < f->split->nsplits; s++) {
        const char *ml = mlaoi_split(f->recipe->split.names[s]);

        if (ml != NULL) {
            json_array_append_new(splits, json_string(ml));
        }
    }
    set_summary(o, "ml-aoi:split", splits);
    if (p->recipe->system != EK_SYSTEM_NONE) {
        json_t *ids = json_array();
        char *const *cells;
        size_t n = ek_index_cells(f->index, &cells);

        for (k = 0; k < n; k++) {
            json_array_append_new(ids, json_string(cells[k]));
        }
        set_summary(o, "eodkit:cells", ids); /* the cell id of every chip */
    }
    if (f->regions != NULL) {
        json_t *continents, *countries;

        json_decref(geography_json(f, &continents, &countries));
        set_summary(o, "eodkit:continents", continents);
        set_summary(o, "eodkit:countries", countries);
    }
    if (f->labels != NULL) {
        json_t *names = json_array();

        for (k = 0; k < nclasses; k++) {
            json_array_append_new(names, json_string(classes[k].name));
        }
        if (nclasses > 0) {
            json_object_set_new(
                o, "label:classes",
                json_pack("[{s:s, s:o}]", "name", "class", "classes", names));
        } else {
            json_decref(names);
        }
        json_object_set_new(o, "label:type",
                            json_pack("[s]", stac_label_type(f->labels->recipe->task)));
        json_object_set_new(o, "label:overviews",
                            f->target_stats != NULL
                                ? target_overviews(f->target_stats)
                                : overviews_json(f, classes, nclasses, -1));
        json_object_set_new(o, "label:tasks", stac_tasks(f->labels->recipe->task));
    }
    return o;
}

static json_t *grid_json(const ek_plan *p)
{
    const ek_grid *g = &p->grids[0];
    json_t *o = json_object(), *vertical = ek_vertical_json(p);
    size_t k;

    if (p->recipe->utm) {
        json_t *zones = json_array();

        for (k = 0; k < p->ngrids; k++) {
            json_array_append_new(zones, json_string(p->grids[k].crs_code));
        }
        json_object_set_new(o, "crs", json_string("utm"));
        json_object_set_new(o, "zones", zones);
        if (p->recipe->system != EK_SYSTEM_NONE) {
            json_object_set_new(o, "system",
                                json_string(p->recipe->system == EK_SYSTEM_MAJORTOM
                                                ? "majortom"
                                                : "utm-cells"));
        }
        if (p->recipe->system == EK_SYSTEM_MAJORTOM) {
            json_object_set_new(o, "spacing_km", json_real(p->recipe->spacing));
        }
    } else {
        json_object_set_new(
            o, "crs", g->crs_code != NULL ? json_string(g->crs_code) : json_null());
        json_object_set_new(o, "wkt2", json_string(g->wkt));
    }
    json_object_set_new(o, "resolution", json_pack("[f, f]", g->gt[1], -g->gt[5]));
    json_object_set_new(o, "chip_size", json_pack("[i, i]", p->chip_h, p->chip_w));
    json_object_set_new(o, "stride", json_pack("[i, i]", p->stride_y, p->stride_x));
    if (vertical != NULL) {
        json_object_set_new(o, "vertical_crs", vertical);
    }
    return o;
}

static json_t *providers_json(const ek_recipe *r)
{
    json_t *a = json_array();
    size_t i, k;

    for (i = 0; i < r->nproviders; i++) {
        json_t *o = json_pack("{s:s}", "name", r->providers[i].name);

        if (r->providers[i].url != NULL) {
            json_object_set_new(o, "url", json_string(r->providers[i].url));
        }
        if (r->providers[i].nroles > 0) {
            json_t *roles = json_array();

            for (k = 0; k < r->providers[i].nroles; k++) {
                json_array_append_new(roles, json_string(r->providers[i].roles[k]));
            }
            json_object_set_new(o, "roles", roles);
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* A derived_from link to every STAC item the modalities read (once each). */
static void add_derived_from(const ek_plan *p, json_t *links)
{
    json_t *seen = json_object();
    size_t m, i;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_stac *st = p->modalities[m].stac;

        for (i = 0; st != NULL && i < st->nitems; i++) {
            const ek_stac_item *it = &st->items[i];

            if (json_object_get(seen, it->href) != NULL) {
                continue;
            }
            json_object_set_new(seen, it->href, json_true());
            json_array_append_new(links,
                                  json_pack("{s:s, s:s, s:s, s:s}", "rel",
                                            "derived_from", "href", it->href, "type",
                                            "application/geo+json", "title", it->id));
        }
    }
    json_decref(seen);
}

int ek_write_stac(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f)
{
    const ek_recipe *r = f->recipe;
    const ek_plan *p = f->plan;
    json_t *root = json_object(), *exts = json_array(), *mods = json_array();
    json_t *splits = json_object(), *assets = json_object(), *keywords = json_array(),
           *links;
    ek_class *classes = NULL;
    size_t nclasses = 0, m, s;
    double bbox[4] = {0, 0, 0, 0};
    int rc, any_optical = 0, any_sar = 0;

    rc = ek_facts_classes(ctx, f, &classes, &nclasses);
    if (rc != EODKIT_OK) {
        json_decref(root);
        return rc;
    }
    for (m = 0; m < p->nmodalities; m++) {
        any_optical |= is_optical(&p->modalities[m]);
        any_sar |= strcmp(p->modalities[m].recipe->kind, "sar") == 0;
    }
    json_object_set_new(root, "type", json_string("Collection"));
    json_object_set_new(root, "stac_version", json_string("1.0.0"));
    if (f->labels != NULL) {
        json_array_append_new(exts, json_string(EXT_LABEL));
    }
    json_array_append_new(exts, json_string(EXT_MLAOI));
    if (any_optical) {
        json_array_append_new(exts, json_string(EXT_EO));
    }
    json_array_append_new(exts, json_string(EXT_PROJ));
    if (any_sar) {
        json_array_append_new(exts, json_string(EXT_SAR));
    }
    json_object_set_new(root, "stac_extensions", exts);
    json_object_set_new(root, "id", json_string(r->name));
    json_object_set_new(root, "title", json_string(r->title));
    if (r->description[0] != '\0') {
        json_object_set_new(root, "description", json_string(r->description));
    } else {
        json_object_set_new(
            root, "description",
            json_sprintf("%s: a machine-learning dataset built by eodkit", r->title));
    }
    for (s = 0; s < r->nkeywords; s++) {
        json_array_append_new(keywords, json_string(r->keywords[s]));
    }
    json_object_set_new(root, "keywords", keywords);
    json_object_set_new(root, "license", json_string(r->license));
    if (r->citation != NULL) {
        json_object_set_new(root, "eodkit:citation", json_string(r->citation));
    }
    if (r->version != NULL) {
        json_object_set_new(root, "version", json_string(r->version));
    }
    json_object_set_new(root, "providers", providers_json(r));
    ek_index_bbox(f->index, -1, bbox);
    json_object_set_new(root, "extent",
                        json_pack("{s:{s:[o]}, s:{s:[o]}}", "spatial", "bbox",
                                  bbox_json(bbox), "temporal", "interval",
                                  interval_json(f)));
    json_object_set_new(root, "summaries", summaries_json(f, classes, nclasses));

    for (m = 0; m < p->nmodalities; m++) {
        json_array_append_new(mods, modality_json(&p->modalities[m], &f->arrays[m]));
    }
    json_object_set_new(root, "eodkit:modalities", mods);
    if (f->labels != NULL) {
        json_object_set_new(root, "eodkit:label", label_json(f, classes, nclasses));
    }
    for (s = 0; s < f->split->nsplits; s++) {
        json_object_set_new(splits, r->split.names[s],
                            json_pack("{s:I, s:i}", "chips",
                                      (json_int_t)ek_shards_count(f->shards, (int)s),
                                      "shards", ek_shards_files(f->shards, (int)s)));
    }
    json_object_set_new(root, "eodkit:splits", splits);
    if (f->regions != NULL) {
        json_t *continents, *countries;

        json_object_set_new(root, "eodkit:geography",
                            geography_json(f, &continents, &countries));
        json_decref(continents);
        json_decref(countries);
    }
    json_object_set_new(root, "eodkit:grid", grid_json(p));

    links = json_pack("[{s:s, s:s, s:s}]", "rel", "root", "href", "./collection.json",
                      "type", "application/json");
    rc = write_items(ctx, dir, f, classes, nclasses, exts, links);
    add_derived_from(p, links);
    json_object_set_new(root, "links", links);
    json_object_set_new(assets, "index",
                        json_pack("{s:s, s:s, s:s, s:[s]}", "href", "./index.gpkg",
                                  "type", "application/geopackage+sqlite3", "title",
                                  "Chip index (layer 'chips')", "roles", "metadata"));
    json_object_set_new(assets, "stats",
                        json_pack("{s:s, s:s, s:s, s:[s]}", "href", "./stats.json",
                                  "type", "application/json", "title",
                                  "Training-split band statistics and class counts",
                                  "roles", "metadata"));
    json_object_set_new(assets, "provenance",
                        json_pack("{s:s, s:s, s:[s]}", "href", "./provenance.json",
                                  "type", "application/json", "roles", "metadata"));
    json_object_set_new(assets, "recipe",
                        json_pack("{s:s, s:s, s:[s]}", "href", "./recipe.yaml", "type",
                                  "application/yaml", "roles", "metadata"));
    json_object_set_new(assets, "audit",
                        json_pack("{s:s, s:s, s:s, s:[s]}", "href", "./audit.json",
                                  "type", "application/json", "title",
                                  "Audit: geography, classes, time, split leakage",
                                  "roles", "metadata"));
    json_object_set_new(assets, "audit-report",
                        json_pack("{s:s, s:s, s:[s]}", "href", "./audit.html", "type",
                                  "text/html", "roles", "metadata"));
    json_object_set_new(assets, "datasheet",
                        json_pack("{s:s, s:s, s:s, s:[s]}", "href", "./datasheet.md",
                                  "type", "text/markdown", "title",
                                  "Datasheet for the dataset", "roles", "metadata"));
    for (s = 0; s < f->split->nsplits; s++) {
        add_shard_assets(f, s, "./", assets);
    }
    json_object_set_new(root, "assets", assets);

    if (rc == EODKIT_OK) {
        rc = ek_write_json(ctx, root, dir, "collection.json");
    }
    json_decref(root);
    ek_facts_classes_free(f, classes, nclasses);
    return rc;
}
