/*
** Write: stats.json (training statistics and class counts) and
** provenance.json (versions, input checksums, grid, how every input was
** read, how splits were made). Both are plain JSON (jansson) with keys in a
** fixed order, so identical builds give identical bytes.
*/
#include <glob.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ogr_srs_api.h>

#include "core/ek_fs.h"
#include "core/ek_json.h"
#include "core/ek_names.h"
#include "core/ek_time.h"
#include "ek_write.h"
#include "grid/ek_stac.h"

const double ek_percentile_levels[EK_NPCT] = {1, 2, 50, 98, 99};

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int ek_facts_classes(eodkit_ctx *ctx, const ek_dataset_facts *f, ek_class **out,
                     size_t *n)
{
    const ek_labels *l = f->labels;
    size_t s, k = 0;
    int id;

    *out = NULL;
    *n = 0;
    if (l == NULL) {
        return EODKIT_OK;
    }
    if (!l->discover) {
        *out = l->classes;
        *n = l->nclasses;
        return EODKIT_OK;
    }
    /* Label raster without a class map: the ids that occur. */
    *out = ek_calloc(ctx, (size_t)l->max_id + 1, sizeof **out);
    if (*out == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (id = 0; id <= l->max_id; id++) {
        uint64_t seen = 0;

        for (s = 0; s < f->split->nsplits; s++) {
            seen += f->class_pixels[s][id];
        }
        if (seen > 0 && id != l->recipe->background) {
            (*out)[k].id = id;
            (*out)[k].name = ek_asprintf(ctx, "%d", id);
            if ((*out)[k].name == NULL) {
                return EODKIT_ERR_NOMEM;
            }
            k++;
        }
    }
    *n = k;
    return EODKIT_OK;
}

void ek_facts_classes_free(const ek_dataset_facts *f, ek_class *classes, size_t n)
{
    size_t i;

    if (f->labels == NULL || !f->labels->discover) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(classes[i].name);
    }
    free(classes);
}

/* {"class id": count, ...} over the ids that occur in COUNTS. */
static json_t *count_object(const uint64_t *counts, int n)
{
    json_t *o = json_object();
    char key[16];
    int id;

    for (id = 0; id < n; id++) {
        if (counts[id] > 0) {
            snprintf(key, sizeof key, "%d", id);
            json_object_set_new(o, key, json_integer((json_int_t)counts[id]));
        }
    }
    return o;
}

static json_t *per_split(const ek_dataset_facts *f, uint64_t **counts)
{
    json_t *o = json_object();
    size_t s;

    for (s = 0; s < f->split->nsplits; s++) {
        json_object_set_new(o, f->recipe->split.names[s],
                            count_object(counts[s], f->labels->max_id + 1));
    }
    return o;
}

/* The statistics of BS (count, valid count, moments, percentiles) into O. */
static void add_stats(json_t *o, const ek_band_stats *bs)
{
    json_t *pct = json_object();
    char key[16];
    int k;

    json_object_set_new(o, "count", json_integer((json_int_t)bs->count));
    json_object_set_new(o, "valid_count", json_integer((json_int_t)bs->m.n));
    if (bs->m.n > 0) {
        json_object_set_new(o, "mean", number(bs->m.mean));
        json_object_set_new(o, "std", number(sqrt(bs->m.m2 / (double)bs->m.n)));
        json_object_set_new(o, "min", number(bs->m.min));
        json_object_set_new(o, "max", number(bs->m.max));
    } else {
        json_object_set_new(o, "mean", json_null());
        json_object_set_new(o, "std", json_null());
        json_object_set_new(o, "min", json_null());
        json_object_set_new(o, "max", json_null());
    }
    for (k = 0; k < EK_NPCT; k++) {
        snprintf(key, sizeof key, "%g", ek_percentile_levels[k]);
        json_object_set_new(pct, key, bs->m.n > 0 ? number(bs->pct[k]) : json_null());
    }
    json_object_set_new(o, "percentiles", pct);
}

/* Band B (0-based) of modality M: its position (1-based), name, band number
   in its files and those files (indices into provenance's read sources),
   then its statistics BS. */
static json_t *band_json(const ek_modality *m, int b, const ek_band_stats *bs)
{
    json_t *o = json_object(), *sources = json_array();
    int source_band;
    const ek_part *part = ek_modality_band(m, b, &source_band);
    size_t s;

    for (s = part->first; s < part->first + part->count; s++) {
        json_array_append_new(sources, json_integer((json_int_t)s));
    }
    json_object_set_new(o, "band", json_integer(b + 1));
    json_object_set_new(o, "name", json_string(m->band_names[b]));
    json_object_set_new(o, "source_band", json_integer(source_band));
    json_object_set_new(o, "sources", sources);
    add_stats(o, bs);
    return o;
}

int ek_write_stats(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f)
{
    const ek_plan *p = f->plan;
    json_t *root = json_object(), *mods = json_object();
    size_t m;
    int rc, b;

    json_object_set_new(root, "split", json_string(f->recipe->split.names[f->train]));
    json_object_set_new(root, "chips",
                        json_integer(ek_shards_count(f->shards, f->train)));
    json_object_set_new(root, "nodata_excluded", json_true());
    json_object_set_new(root, "std_ddof", json_integer(0));
    json_object_set_new(root, "percentile_method", json_string("linear"));
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        json_t *o = json_object(), *bands = json_array();

        json_object_set_new(o, "dtype", json_string(ek_dtype_name(mod->dtype)));
        json_object_set_new(o, "nodata",
                            mod->has_nodata ? number(mod->nodata) : json_null());
        for (b = 0; b < mod->nbands; b++) {
            json_array_append_new(bands, band_json(mod, b, &f->band_stats[m][b]));
        }
        json_object_set_new(o, "bands", bands);
        json_object_set_new(mods, mod->recipe->name, o);
    }
    json_object_set_new(root, "modalities", mods);
    if (f->target_stats != NULL) {
        json_t *target = json_pack("{s:s, s:s}", "dtype", "float32", "nodata", "nan");

        add_stats(target, f->target_stats);
        json_object_set_new(root, "target", target);
    } else if (f->labels != NULL) {
        json_t *classes = json_object();

        json_object_set_new(classes, "pixels", per_split(f, f->class_pixels));
        json_object_set_new(classes, "chips", per_split(f, f->class_chips));
        if (f->label_chips != NULL) {
            json_object_set_new(classes, "labels", per_split(f, f->label_chips));
        }
        if (f->class_objects != NULL) {
            json_object_set_new(classes, "objects", per_split(f, f->class_objects));
        }
        json_object_set_new(root, "classes", classes);
    }
    rc = ek_write_json(ctx, root, dir, "stats.json");
    json_decref(root);
    return rc;
}

/* {"role", "of", "path"} of one input file, plus its size. */
static json_t *input_json(const char *role, const char *what, const char *path,
                          long long bytes)
{
    json_t *o = json_object();

    json_object_set_new(o, "role", json_string(role));
    if (what != NULL) {
        json_object_set_new(o, "of", json_string(what));
    }
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "bytes", json_integer(bytes));
    return o;
}

/* A remote input: its size, ETag and Last-Modified from GDAL's HEAD request
   (hashing it would download it whole). */
static int add_remote(eodkit_ctx *ctx, json_t *inputs, const char *role,
                      const char *what, const char *path)
{
    ek_name_stamp st;
    json_t *o;

    if (ek_name_stamp_of(path, &st) != 0) {
        return ek_error_with_gdal(ctx, EODKIT_ERR_IO, "%s: cannot reach it", path);
    }
    o = input_json(role, what, path, st.bytes);
    json_object_set_new(o, "etag",
                        st.etag[0] != '\0' ? json_string(st.etag) : json_null());
    json_object_set_new(o, "last_modified",
                        st.last_modified[0] != '\0' ? json_string(st.last_modified)
                                                    : json_null());
    json_array_append_new(inputs, o);
    return EODKIT_OK;
}

/* {"path", "bytes", "sha256"} for every file of GDAL dataset PATH (a
   shapefile's .dbf and .prj, a raster's .aux.xml, an archive member, ...),
   read through GDAL's virtual file systems; a remote input is stamped
   instead (add_remote). EODKIT_ERR_CANCELLED once *STOP is set (checked
   before each file). */
static int add_files(eodkit_ctx *ctx, json_t *inputs, const char *role,
                     const char *what, const char *path, const atomic_int *stop)
{
    GDALDatasetH ds = NULL;
    char **files = NULL, **list;
    char *single[2] = {(char *)path, NULL};
    int rc = EODKIT_OK, i;

    if (ek_name_kind_of(path) == EK_NAME_REMOTE) {
        return atomic_load(stop) ? EODKIT_ERR_CANCELLED
                                 : add_remote(ctx, inputs, role, what, path);
    }
    ds = GDALOpenEx(path, GDAL_OF_READONLY, NULL, NULL, NULL);
    files = ds != NULL ? GDALGetFileList(ds) : NULL;
    list = files != NULL ? files : single;
    for (i = 0; list[i] != NULL && rc == EODKIT_OK; i++) {
        char hex[65] = "";
        VSIStatBufL st;
        json_t *o;

        rc = atomic_load(stop) ? EODKIT_ERR_CANCELLED : ek_fs_sha256(ctx, list[i], hex);
        o = input_json(role, what, list[i],
                       VSIStatL(list[i], &st) == 0 ? (long long)st.st_size : -1);
        json_object_set_new(o, "sha256", json_string(hex));
        json_array_append_new(inputs, o);
    }
    CSLDestroy(files);
    if (ds != NULL) {
        GDALClose(ds);
    }
    return rc;
}

static json_t *gt_json(const double gt[6])
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < 6; i++) {
        json_array_append_new(a, json_real(gt[i]));
    }
    return a;
}

json_t *ek_vertical_json(const ek_plan *p)
{
    json_t *o = NULL;
    size_t m;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_vertical *v = p->modalities[m].vertical;

        if (v == NULL) {
            continue;
        }
        if (o == NULL) {
            o = json_object();
        }
        json_object_set_new(o, p->modalities[m].recipe->name,
                            json_pack("{s:s, s:s?, s:s}", "name", v->name, "code",
                                      v->code, "wkt2", v->wkt));
    }
    return o;
}

static json_t *grid_json(const ek_plan *p)
{
    json_t *o = json_object(), *grids = json_array(), *vertical = ek_vertical_json(p);
    size_t g;

    for (g = 0; g < p->ngrids; g++) {
        const ek_grid *gr = &p->grids[g];
        json_t *one = json_object();

        json_object_set_new(
            one, "crs", gr->crs_code != NULL ? json_string(gr->crs_code) : json_null());
        if (gr->utm_zone != 0) {
            json_object_set_new(
                one, "utm_zone",
                json_sprintf("%d%s", abs(gr->utm_zone), gr->utm_zone > 0 ? "N" : "S"));
        }
        json_object_set_new(one, "wkt", json_string(gr->wkt));
        json_object_set_new(one, "geotransform", gt_json(gr->gt));
        json_object_set_new(one, "width", json_integer(gr->width));
        json_object_set_new(one, "height", json_integer(gr->height));
        json_object_set_new(one, "chips_across", json_integer(gr->nx));
        json_object_set_new(one, "chips_down", json_integer(gr->ny));
        json_object_set_new(one, "first_chip",
                            json_integer((json_int_t)gr->first_chip));
        json_array_append_new(grids, one);
    }
    json_object_set_new(o, "crs",
                        json_string(p->recipe->utm ? "utm"
                                    : p->grids[0].crs_code != NULL
                                        ? p->grids[0].crs_code
                                        : "custom"));
    if (p->recipe->system != EK_SYSTEM_NONE) {
        json_object_set_new(o, "system",
                            json_string(p->recipe->system == EK_SYSTEM_MAJORTOM
                                            ? "majortom"
                                            : "utm-cells"));
    }
    if (p->recipe->system == EK_SYSTEM_MAJORTOM) {
        json_object_set_new(o, "spacing_km", json_real(p->recipe->spacing));
    }
    json_object_set_new(o, "grids", grids);
    json_object_set_new(o, "chip_size", json_pack("[i, i]", p->chip_h, p->chip_w));
    json_object_set_new(o, "stride", json_pack("[i, i]", p->stride_y, p->stride_x));
    json_object_set_new(o, "candidate_chips", json_integer((json_int_t)p->ncandidates));
    json_object_set_new(o, "work_unit_chips", json_integer(p->unit_chips));
    if (vertical != NULL) {
        json_object_set_new(o, "vertical_crs", vertical);
    }
    return o;
}

static json_t *source_json(const ek_plan *p, const ek_modality *mod, size_t s)
{
    const ek_source *src = &mod->sources[s];
    json_t *o = json_pack("{s:i, s:s}", "index", (int)s, "path", src->path);
    json_t *placements = json_array();
    size_t g;

    if (src->ngcps > 0) {
        json_object_set_new(o, "gcps", json_integer(src->ngcps));
    }
    if (src->has_time) {
        char iso[32];

        ek_time_format(src->time, iso, sizeof iso);
        json_object_set_new(o, "datetime", json_string(iso));
    }
    if (mod->stac != NULL) {
        ek_stac_describe_source(mod, s, o);
    }
    for (g = 0; g < p->ngrids; g++) {
        const ek_placement *pl = ek_plan_placement(mod, g, s);

        if (!pl->reaches) {
            continue; /* a file far from the grid (another UTM zone's) */
        }
        json_array_append_new(placements,
                              json_pack("{s:i, s:b, s:f, s:f}", "grid", (int)g,
                                        "aligned", pl->aligned, "xscale", pl->xscale,
                                        "yscale", pl->yscale));
    }
    json_object_set_new(o, "placements", placements);
    return o;
}

/* How a regression target was read: like a modality's "read" entry. */
static json_t *target_read_json(const ek_plan *p, const ek_labels *l)
{
    json_t *placements = json_array();
    size_t g;

    for (g = 0; g < p->ngrids; g++) {
        const ek_placement *pl = &l->placements[g];

        json_array_append_new(placements,
                              json_pack("{s:i, s:b, s:f, s:f}", "grid", (int)g,
                                        "aligned", pl->aligned, "xscale", pl->xscale,
                                        "yscale", pl->yscale));
    }
    return json_pack("{s:s, s:f, s:i, s:[{s:i, s:s, s:o}]}", "resampling",
                     ek_resampling_name(l->recipe->resampling), "error_threshold",
                     p->recipe->error_threshold, "band", l->band, "sources", "index", 0,
                     "path", l->source.path, "placements", placements);
}

/* How the modality's pixels were put on the ground: the transformer and
   its options (gdalwarp's -order N, -tps, -rpc -to RPC_DEM=...). */
static json_t *georef_json(const ek_georef_recipe *g)
{
    static const char *const transformers[] = {"geotransform", "gcp_polynomial",
                                               "gcp_tps", "rpc"};
    json_t *o = json_pack("{s:s}", "transformer", transformers[g->method]);

    if (g->method == EK_GEOREF_GCP) {
        json_object_set_new(o, "order", json_integer(g->order));
    }
    if (g->method == EK_GEOREF_RPC) {
        json_object_set_new(o, "dem",
                            g->dem != NULL ? json_string(g->dem) : json_null());
        json_object_set_new(o, "height",
                            g->has_height ? json_real(g->height) : json_null());
    }
    return o;
}

static json_t *read_json(const ek_plan *p, const ek_labels *labels)
{
    json_t *o = json_object();
    size_t m, k, s;
    int b;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        json_t *mo = json_object(), *parts = json_array(), *sources = json_array();

        json_object_set_new(mo, "resampling",
                            json_string(ek_resampling_name(mod->recipe->resampling)));
        json_object_set_new(mo, "error_threshold",
                            json_real(p->recipe->error_threshold));
        json_object_set_new(mo, "georeference", georef_json(&mod->recipe->georef));
        for (k = 0; k < mod->nparts; k++) {
            json_t *bands = json_array(), *files = json_array();

            for (b = 0; b < mod->parts[k].nbands; b++) {
                json_array_append_new(bands, json_integer(mod->parts[k].bands[b]));
            }
            for (s = mod->parts[k].first; s < mod->parts[k].first + mod->parts[k].count;
                 s++) {
                json_array_append_new(files, json_integer((json_int_t)s));
            }
            json_array_append_new(parts, json_pack("{s:i, s:o, s:o}", "first_band",
                                                   mod->parts[k].first_band, "bands",
                                                   bands, "sources", files));
        }
        for (s = 0; s < mod->nsources; s++) {
            json_array_append_new(sources, source_json(p, mod, s));
        }
        json_object_set_new(mo, "parts", parts);
        json_object_set_new(mo, "sources", sources);
        if (mod->stac != NULL) {
            json_object_set_new(mo, "stac", ek_stac_json(mod));
        }
        json_object_set_new(o, mod->recipe->name, mo);
    }
    if (labels != NULL && labels->regression) { /* no modality is named "label" */
        json_object_set_new(o, "label", target_read_json(p, labels));
    }
    return o;
}

static json_t *blocks_json(const ek_dataset_facts *f)
{
    const ek_split_recipe *sr = &f->recipe->split;
    const ek_split *s = f->split;
    json_t *blocks = json_object();
    size_t k;

    for (k = 0; k < sr->nsplits; k++) {
        json_object_set_new(blocks, sr->names[k], json_array());
    }
    for (k = 0; k < s->nblocks; k++) {
        if (s->block_split[k] < 0) {
            continue; /* every chip of the block is held out */
        }
        json_array_append_new(json_object_get(blocks, sr->names[s->block_split[k]]),
                              f->plan->ngrids > 1
                                  ? json_pack("[i, I, I]", (int)s->block_grid[k],
                                              (json_int_t)s->block_x[k],
                                              (json_int_t)s->block_y[k])
                                  : json_pack("[I, I]", (json_int_t)s->block_x[k],
                                              (json_int_t)s->block_y[k]));
    }
    return blocks;
}

/* Chips the split method gave each split (candidates, after the guard
   band, before the filters): {"split": chips}. */
static json_t *assigned_json(const ek_dataset_facts *f)
{
    const ek_split_recipe *sr = &f->recipe->split;
    json_t *o = json_object();
    size_t c, k;

    for (k = 0; k < sr->nsplits; k++) {
        json_int_t n = 0;

        for (c = 0; c < f->plan->ncandidates; c++) {
            n += f->split->chip_split[c] == (int)k;
        }
        json_object_set_new(o, sr->names[k], json_integer(n));
    }
    return o;
}

static json_t *split_json(const ek_dataset_facts *f)
{
    static const char *const methods[] = {"random", "blocks", "regions", "time"};
    static const char *const keys[] = {"continent", "country", "region"};
    const ek_split_recipe *sr = &f->recipe->split;
    const ek_split *s = f->split;
    json_t *o = json_object(), *ratios = json_object();
    size_t k, v;

    json_object_set_new(o, "method", json_string(methods[sr->method]));
    json_object_set_new(o, "seed", json_integer((json_int_t)sr->seed));
    for (k = 0; k < sr->nsplits && sr->method != EK_SPLIT_TIME; k++) {
        json_object_set_new(ratios, sr->names[k], json_real(sr->ratios[k]));
    }
    json_object_set_new(o, "ratios", ratios);
    json_object_set_new(o, "assigned", assigned_json(f));
    if (sr->method == EK_SPLIT_TIME) {
        json_t *periods = json_object();

        for (k = 0; k < sr->nsplits; k++) {
            char when[32];

            ek_time_format(sr->period_start[k], when, sizeof when);
            json_object_set_new(periods, sr->names[k], json_string(when));
        }
        json_object_set_new(o, "periods", periods);
    }
    if (sr->nhold_out > 0) {
        json_t *held = json_object();

        for (k = 0; k < sr->nhold_out; k++) {
            json_t *values = json_array();

            for (v = 0; v < sr->hold_out[k].nvalues; v++) {
                json_array_append_new(values, json_string(sr->hold_out[k].values[v]));
            }
            json_object_set_new(held, sr->names[sr->hold_out[k].split],
                                json_pack("{s:o}", keys[sr->hold_out[k].key], values));
        }
        json_object_set_new(o, "hold_out", held);
        json_object_set_new(o, "hold_out_margin", json_real(s->hold_out_margin));
        json_object_set_new(o, "hold_out_border_dropped",
                            json_integer((json_int_t)s->border_dropped));
    }
    if (sr->method == EK_SPLIT_BLOCKS || sr->method == EK_SPLIT_REGIONS) {
        json_object_set_new(o, "block_size", json_real(sr->block_size));
        json_object_set_new(o, "buffer_chips", json_real(sr->buffer));
        json_object_set_new(o, "guard_pixels",
                            json_pack("[i, i]", s->guard_y, s->guard_x));
        json_object_set_new(o, "guard_dropped",
                            json_integer((json_int_t)s->guard_dropped));
        if (sr->stratify) {
            json_object_set_new(o, "stratify", json_string("class"));
            json_object_set_new(o, "tolerance", json_real(sr->tolerance));
            json_object_set_new(o, "class_deviation", json_real(s->class_deviation));
        }
        json_object_set_new(o, "blocks", blocks_json(f));
    }
    return o;
}

/* The label files: the source (and a change task's second one), or every
   file of a table's pattern, in name order. */
static int label_inputs(const ek_labels_recipe *l, ek_input_fn fn, void *arg)
{
    glob_t g;
    size_t i;
    int rc = EODKIT_OK;

    if (l->table.path == NULL) {
        rc = fn(arg, "labels", NULL, l->source);
        return rc == EODKIT_OK && l->after != NULL ? fn(arg, "labels", NULL, l->after)
                                                   : rc;
    }
    if (glob(l->table.path, 0, NULL, &g) != 0) {
        return EODKIT_OK; /* the build read them: they are gone since */
    }
    for (i = 0; i < g.gl_pathc && rc == EODKIT_OK; i++) {
        rc = fn(arg, "labels", NULL, g.gl_pathv[i]);
    }
    globfree(&g);
    return rc;
}

int ek_for_each_input(const ek_recipe *r, const ek_plan *p, const ek_regions *regions,
                      ek_input_fn fn, void *arg)
{
    size_t m, i;
    int rc = EODKIT_OK;

    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_modality *mod = &p->modalities[m];

        for (i = 0; i < mod->nsources && rc == EODKIT_OK; i++) {
            rc = fn(arg, "modality", mod->recipe->name, mod->sources[i].path);
        }
        if (rc == EODKIT_OK && mod->recipe->georef.dem != NULL) {
            rc = fn(arg, "rpc_dem", mod->recipe->name, mod->recipe->georef.dem);
        }
        if (rc == EODKIT_OK && mod->recipe->mask.polygons != NULL) {
            rc = fn(arg, "mask", mod->recipe->name, mod->recipe->mask.polygons);
        }
    }
    if (rc == EODKIT_OK && r->labels.present) {
        rc = label_inputs(&r->labels, fn, arg);
    }
    if (rc == EODKIT_OK && r->aoi != NULL) {
        rc = fn(arg, "aoi", NULL, r->aoi);
    }
    if (rc == EODKIT_OK && regions != NULL) {
        rc = fn(arg, "regions", regions->field, regions->path);
    }
    return rc;
}

/* What add_input needs besides the input. */
typedef struct hashing {
    eodkit_ctx *ctx;
    json_t *list;
    const atomic_int *stop;
} hashing;

static int add_input(void *arg, const char *role, const char *of, const char *path)
{
    hashing *h = arg;

    return add_files(h->ctx, h->list, role, of, path, h->stop);
}

int ek_provenance_inputs(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                         const ek_regions *regions, const atomic_int *stop,
                         json_t **inputs)
{
    hashing h = {ctx, json_array(), stop};
    int rc = h.list == NULL ? EODKIT_ERR_NOMEM
                            : ek_for_each_input(r, p, regions, add_input, &h);

    *inputs = NULL;
    if (rc != EODKIT_OK) {
        json_decref(h.list);
        return rc;
    }
    *inputs = h.list;
    return EODKIT_OK;
}

int ek_write_provenance(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f)
{
    const ek_plan *p = f->plan;
    json_t *root = json_object(), *versions = json_object();
    int major, minor, patch, rc = EODKIT_OK;
    char proj[32];

    OSRGetPROJVersion(&major, &minor, &patch);
    snprintf(proj, sizeof proj, "%d.%d.%d", major, minor, patch);
    json_object_set_new(versions, "eodkit", json_string(eodkit_version()));
    json_object_set_new(versions, "gdal", json_string(GDALVersionInfo("RELEASE_NAME")));
    json_object_set_new(versions, "proj", json_string(proj));
    json_object_set_new(root, "generator", json_string("eodkit"));
    json_object_set_new(root, "versions", versions);
    json_object_set_new(root, "recipe", json_string("recipe.yaml"));
    json_object_set(root, "inputs", f->inputs);
    json_object_set_new(root, "grid", grid_json(p));
    json_object_set_new(root, "read", read_json(p, f->labels));
    if (f->sample != NULL) {
        json_object_set(root, "sample", f->sample);
    }
    json_object_set_new(root, "split", split_json(f));
    if (rc == EODKIT_OK) {
        rc = ek_write_json(ctx, root, dir, "provenance.json");
    }
    json_decref(root);
    return rc;
}
