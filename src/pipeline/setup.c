/*
** Pipeline: setting a build up before any image pixel is read. Makes the plan,
** tags chips with regions, loads labels and mask polygons, samples the
** candidates (when the recipe says), assigns splits (reading the labels
** first when sampling or splits go by class) and describes the arrays every
** chip stores. Deterministic: every process of a build, and every resumed
** or merged build, sets up the same.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "core/ek_fs.h"
#include "core/ek_names.h"
#include "core/ek_strbuf.h"
#include "core/ek_time.h"
#include "ek_pipeline.h"

/* Default GDAL block cache: reads go to our own buffers, so a small cache
   keeps memory bounded without slowing builds. */
#define DEFAULT_CACHE_MB "64"

/* Names of the per-object arrays, in EK_OBJECT_* order. */
static const char *const object_names[EK_OBJECT_FIELDS] = {
    "boxes", "obb", "box_class", "box_id", "box_visible", "box_truncated"};

/* Add array NAME of type T and per-row SHAPE (NDIM dimensions) to B;
   return its index. */
static int add_array(ek_build *b, const char *name, GDALDataType t, int ndim,
                     const int64_t *shape)
{
    ek_array_desc *d = &b->arrays[b->narrays];
    int k;

    d->name = name;
    d->dtype = t;
    d->ndim = ndim;
    d->chip_bytes = (size_t)ek_dtype_size(t);
    for (k = 0; k < ndim; k++) {
        d->shape[k] = shape[k];
        d->chip_bytes *= (size_t)shape[k];
    }
    return (int)b->narrays++;
}

/* The label arrays of B's task (doc/format.md): the class ids (or change
   mask, or target values), the instance ids, a change task's classes
   before and after, and for tasks with objects the ranges and the
   per-object arrays. */
static void describe_label_arrays(ek_build *b)
{
    const ek_plan *p = b->plan;
    const ek_labels *l = b->labels;
    const ek_labels_recipe *lr = l->recipe;
    int64_t plane[2] = {p->chip_h, p->chip_w}, classes = (int64_t)l->nclasses;
    int64_t four = 4, eight = 8, two = 2;
    int k;

    switch (lr->task) {
    case EK_TASK_SEGMENTATION:
    case EK_TASK_INSTANCE:
    case EK_TASK_CHANGE:     /* the change mask */
    case EK_TASK_REGRESSION: /* the target's values */
        b->label_array = add_array(b, "label", l->dtype, 2, plane);
        break;
    case EK_TASK_CLASSIFICATION:
        b->label_array = add_array(b, "label", l->dtype, 0, NULL);
        break;
    case EK_TASK_MULTILABEL:
        b->label_array = add_array(b, "label", GDT_Byte, 1, &classes);
        break;
    case EK_TASK_DETECTION:
        break;
    }
    if (lr->task == EK_TASK_INSTANCE) {
        b->instance_array = add_array(b, "instance", l->object_dtype, 2, plane);
    }
    if (l->change != NULL && l->change->after != NULL) {
        int64_t pair[3] = {2, p->chip_h, p->chip_w};

        b->pair_array =
            add_array(b, EK_CHANGE_CLASSES_ARRAY, l->change->class_type, 3, pair);
    }
    if (!EK_TASK_HAS_OBJECTS(lr->task)) {
        return;
    }
    b->range_array = add_array(b, "box_range", GDT_Int64, 1, &two);
    b->arrays[b->range_array].ranges = 1;
    b->object_arrays[EK_OBJECT_BOXES] =
        add_array(b, object_names[EK_OBJECT_BOXES], GDT_Float32, 1, &four);
    if (lr->oriented) {
        b->object_arrays[EK_OBJECT_OBB] =
            add_array(b, object_names[EK_OBJECT_OBB], GDT_Float32, 1, &eight);
    }
    b->object_arrays[EK_OBJECT_CLASS] =
        add_array(b, object_names[EK_OBJECT_CLASS], l->dtype, 0, NULL);
    b->object_arrays[EK_OBJECT_ID] =
        add_array(b, object_names[EK_OBJECT_ID], GDT_UInt32, 0, NULL);
    b->object_arrays[EK_OBJECT_VISIBLE] =
        add_array(b, object_names[EK_OBJECT_VISIBLE], GDT_Float32, 0, NULL);
    b->object_arrays[EK_OBJECT_TRUNCATED] =
        add_array(b, object_names[EK_OBJECT_TRUNCATED], GDT_Byte, 0, NULL);
    for (k = 0; k < EK_OBJECT_FIELDS; k++) {
        if (b->object_arrays[k] >= 0) {
            b->arrays[b->object_arrays[k]].per_object = 1;
        }
    }
}

/* The arrays every chip stores: one per modality, then the labels'. */
static int describe_arrays(eodkit_ctx *ctx, ek_build *b)
{
    const ek_plan *p = b->plan;
    size_t m;
    int k;

    b->label_array = b->instance_array = b->range_array = b->pair_array = -1;
    for (k = 0; k < EK_OBJECT_FIELDS; k++) {
        b->object_arrays[k] = -1;
    }
    if (p->nmodalities > EK_MAX_MODALITIES) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: at most %d modalities",
                        b->recipe->path, EK_MAX_MODALITIES);
    }
    b->arrays = ek_calloc(ctx, EK_MAX_ARRAYS, sizeof *b->arrays);
    if (b->arrays == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        int64_t shape[4];
        int ndim = 0;

        if (mod->recipe->time.mode == EK_TIME_STACK) {
            shape[ndim++] = mod->steps;
        }
        shape[ndim++] = mod->nbands;
        shape[ndim++] = p->chip_h;
        shape[ndim++] = p->chip_w;
        add_array(b, mod->recipe->name, mod->dtype, ndim, shape);
    }
    if (b->labels != NULL) {
        describe_label_arrays(b);
    }
    return EODKIT_OK;
}

/* Time of mask polygon F from the recipe's time field (an OGR DateTime or
   ISO 8601 text), and burn value 1 (the ek_feature_fn of masks). */
static int mask_feature(void *arg, eodkit_ctx *ctx, OGRFeatureH f, double *burn,
                        int64_t *time)
{
    const int *field = arg;
    int y, mo, d, h, mi, tz;
    float s;

    (void)ctx;
    *burn = 1;
    if (*field < 0) {
        return 1;
    }
    if (!OGR_F_GetFieldAsDateTimeEx(f, *field, &y, &mo, &d, &h, &mi, &s, &tz)) {
        return 0; /* no time: it matches no acquisition */
    }
    {
        char iso[32];

        snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi,
                 (int)s);
        return ek_time_parse_iso(iso, 0, time) == 0 ? 1 : 0;
    }
}

/* Mask polygons of every modality that has them. */
static int open_masks(eodkit_ctx *ctx, ek_build *b)
{
    const ek_plan *p = b->plan;
    size_t m;
    int rc = EODKIT_OK;

    b->masks = ek_calloc(ctx, p->nmodalities, sizeof *b->masks);
    if (b->masks == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_mask_recipe *mk = &p->modalities[m].recipe->mask;
        GDALDatasetH ds;
        OGRLayerH layer;
        char where[512];
        int field = -1;

        if (mk->polygons == NULL) {
            continue;
        }
        ek_recipe_where(b->recipe, mk->mark, where, sizeof where);
        ds = ek_fs_exists(mk->polygons)
                 ? GDALOpenEx(mk->polygons, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                              NULL, NULL)
                 : NULL;
        if (ds == NULL || GDALDatasetGetLayerCount(ds) == 0) {
            rc = ek_error_with_gdal(
                ctx, EODKIT_ERR_INPUT,
                "%s: cannot read the mask polygons (%s: mask.polygons)", mk->polygons,
                where);
        } else {
            layer = GDALDatasetGetLayer(ds, 0);
            if (mk->time_field != NULL) {
                field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), mk->time_field);
                if (field < 0) {
                    rc = ek_error(
                        ctx, EODKIT_ERR_INPUT,
                        "%s: the mask layer has no field '%s' (%s: mask.time_field)",
                        mk->polygons, mk->time_field, where);
                }
            }
            if (rc == EODKIT_OK) {
                rc = ek_shapes_load(ctx, p, layer, mk->polygons, where, field >= 0,
                                    mask_feature, &field, &b->masks[m]);
            }
        }
        if (ds != NULL) {
            GDALClose(ds);
        }
    }
    return rc;
}

/* Tag every candidate chip of plan P by its footprint with region layer R
   into *TAGS (by candidate index), with near lists within MARGIN metres
   when NEAR (a hold-out split). */
static int tag_candidates(eodkit_ctx *ctx, ek_regions *r, const ek_plan *p, int near,
                          double margin, ek_region_tags **tags)
{
    ek_lonlat *to = ek_calloc(ctx, p->ngrids, sizeof *to);
    size_t g, k;
    int rc = to == NULL ? EODKIT_ERR_NOMEM
                        : ek_region_tags_new(ctx, p->ncandidates, near, margin, tags);

    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        rc = ek_lonlat_init(ctx, p->grids[g].srs, &to[g]);
    }
    for (k = 0; k < p->ncandidates && rc == EODKIT_OK; k++) {
        ek_chip c = ek_plan_chip(p, p->chips[k]);
        OGRGeometryH footprint =
            ek_regions_footprint(&to[c.grid], p->grids[c.grid].gt, c.window.x,
                                 c.window.y, c.window.w, c.window.h);

        rc = ek_cancelled(ctx); /* tagging a large plan takes a while */
        if (rc == EODKIT_OK) {
            rc = ek_region_tags_set(ctx, r, *tags, k, footprint);
        }
        OGR_G_DestroyGeometry(footprint);
    }
    for (g = 0; to != NULL && g < p->ngrids; g++) {
        ek_lonlat_done(&to[g]);
    }
    free(to);
    if (rc != EODKIT_OK) {
        ek_region_tags_free(*tags);
        *tags = NULL;
    }
    return rc;
}

/* Tell OPT's notice callback that chips get no country: no region layer was
   found, and where it was looked for. */
static void no_regions(const eodkit_build_options *opt)
{
    char dirs[640], text[EK_MESSAGE_MAX];

    if (opt->notice == NULL) {
        return;
    }
    ek_regions_data(EK_REGIONS_WORLD, dirs, sizeof dirs);
    snprintf(text, sizeof text,
             "countries and continents are not tagged: no region layer (no %s in %s); "
             "run 'make demo-data' or 'make install' in eodkit's source tree, or give "
             "one with --regions FILE, regions.source or EODKIT_REGIONS",
             EK_REGIONS_WORLD, dirs);
    opt->notice(opt->notice_arg, text);
}

static int open_regions(eodkit_ctx *ctx, ek_build *b, const eodkit_build_options *opt)
{
    const ek_recipe *r = b->recipe;
    const char *path = opt->regions_path != NULL ? opt->regions_path : r->regions;
    const char *field = opt->region_field != NULL ? opt->region_field : r->region_field;
    double margin = r->region_margin >= 0 ? r->region_margin : 0;
    char where[512];
    int rc;

    if (opt->regions_path != NULL || opt->region_field != NULL) {
        snprintf(where, sizeof where, "--regions/--region-field");
    } else {
        ek_recipe_where(r, r->regions_mark, where, sizeof where);
    }
    if (path == NULL) {
        /* the built-in layer's borders are uncertain by kilometres; a
           layer the user gives is taken as exact unless regions.margin says */
        margin = r->region_margin >= 0 ? r->region_margin : EK_REGION_MARGIN;
        path = ek_regions_default();
        if (path == NULL && field != NULL) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "no region layer: the built-in world layer is not "
                            "installed; give one with --regions (%s)",
                            where);
        }
        if (path == NULL) {
            no_regions(opt);
            return EODKIT_OK;
        }
    }
    rc = ek_cancelled(ctx);
    if (rc == EODKIT_OK) {
        rc = ek_regions_open(ctx, path, field, where, &b->regions);
    }
    if (rc == EODKIT_OK) {
        rc = tag_candidates(ctx, b->regions, b->plan,
                            r->split.method == EK_SPLIT_REGIONS, margin,
                            &b->region_tags);
    }
    return rc;
}

/* The class pixel counts (background and ignore index excluded) of the
   candidate chips of unit U into COUNTS (by candidate index), from the
   labels rendered over the unit's place on the lattice. */
static int census_unit(eodkit_ctx *ctx, const ek_build *b, size_t u, ek_reader *reader,
                       unsigned char *raw, uint8_t *raw_valid, void *classes,
                       uint32_t *counts)
{
    const ek_plan *p = b->plan;
    const ek_labels_recipe *lr = b->labels->recipe;
    ek_window win;
    size_t g = ek_plan_unit_window(p, u, &win), k;
    int x, y;

    if (ek_labels_render(ctx, b->labels, p, g, &win, reader, raw, raw_valid, classes) !=
        EODKIT_OK) {
        return eodkit_ctx_status(ctx);
    }
    for (k = p->units[u].first; k < p->units[u + 1].first; k++) {
        ek_window cw = ek_plan_chip(p, p->chips[k]).window;
        uint32_t *hist = counts + k * (size_t)b->nclass_ids;

        for (y = 0; y < cw.h; y++) {
            for (x = 0; x < cw.w; x++) {
                size_t at = (size_t)(cw.y - win.y + y) * (size_t)win.w +
                            (size_t)(cw.x - win.x + x);
                int c = (int)ek_pixel_get(classes, b->labels->dtype, at);

                if (c != lr->background && !(lr->has_ignore && c == lr->ignore_index)) {
                    hist[c]++;
                }
            }
        }
    }
    return EODKIT_OK;
}

/* split.stratify and sample.by: class need each chip's classes before any
   image is read: a labels-only pass over the candidate chips. */
static int label_census(eodkit_ctx *ctx, const ek_build *b, uint32_t **out)
{
    const ek_plan *p = b->plan;
    size_t plane = (size_t)p->unit_w * (size_t)p->unit_h, u;
    ek_reader *reader = NULL;
    unsigned char *raw = ek_calloc(ctx, plane, sizeof(double));
    uint8_t *raw_valid = ek_calloc(ctx, plane, 1);
    void *classes = ek_calloc(ctx, plane, sizeof(uint16_t));
    int rc;

    *out = NULL;
    if (b->nclass_ids > 256) {
        rc =
            ek_error(ctx, EODKIT_ERR_INPUT, "%s: %s handles class ids up to 255",
                     b->recipe->path,
                     b->recipe->split.stratify ? "split.stratify" : "sample.by: class");
        goto out;
    }
    *out = ek_calloc(ctx, (p->ncandidates + 1) * (size_t)b->nclass_ids, sizeof **out);
    rc = *out == NULL || raw == NULL || raw_valid == NULL || classes == NULL
             ? EODKIT_ERR_NOMEM
             : ek_reader_new(ctx, p->nsources + EK_LABEL_SOURCES, p->unit_w, p->unit_h,
                             1, &reader);
    for (u = 0; u < p->nunits && rc == EODKIT_OK; u++) {
        rc = ek_cancelled(ctx);
        if (rc == EODKIT_OK) {
            rc = census_unit(ctx, b, u, reader, raw, raw_valid, classes, *out);
        }
    }
out:
    ek_reader_free(reader);
    free(raw);
    free(raw_valid);
    free(classes);
    return rc;
}

/* sample.by: class: each candidate's class from CENSUS (the label the
   classification task gives a chip) into *OUT (newly allocated). */
static int census_classes(eodkit_ctx *ctx, const ek_build *b, const uint32_t *census,
                          int32_t **out)
{
    const ek_plan *p = b->plan;
    size_t n = (size_t)b->nclass_ids, k, c;
    uint64_t *hist = ek_calloc(ctx, n + 1, sizeof *hist);

    *out = ek_calloc(ctx, p->ncandidates + 1, sizeof **out);
    if (hist == NULL || *out == NULL) {
        free(hist);
        return EODKIT_ERR_NOMEM;
    }
    for (k = 0; k < p->ncandidates; k++) {
        for (c = 0; c < n; c++) {
            hist[c] = census[k * n + c];
        }
        (*out)[k] = ek_majority_class(&b->recipe->labels, hist, (int)n);
    }
    free(hist);
    return EODKIT_OK;
}

/* Sample the candidate chips (recipe sample), then shrink the plan, the
   region tags and CENSUS (the classes per candidate, or NULL) to the chips
   chosen: the later stages see those only. */
static int sample_chips(eodkit_ctx *ctx, ek_build *b, uint32_t *census)
{
    ek_sample_inputs in = {
        b->regions, b->region_tags != NULL ? b->region_tags->region : NULL, NULL};
    size_t n = b->plan->ncandidates;
    int32_t *classes = NULL;
    uint8_t *keep = NULL;
    int rc = EODKIT_OK;

    if (b->recipe->sample.by == EK_SAMPLE_CLASS) {
        rc = census_classes(ctx, b, census, &classes);
        in.chip_class = classes;
    }
    if (rc == EODKIT_OK) {
        rc = ek_sample_make(ctx, b->plan, &in, &b->sample, &keep);
    }
    if (rc == EODKIT_OK) {
        if (b->region_tags != NULL) {
            ek_region_tags_keep(b->region_tags, keep, n);
        }
        if (census != NULL) {
            ek_sample_compact(census, (size_t)b->nclass_ids * sizeof *census, keep, n);
        }
        ek_plan_keep(b->plan, keep);
    }
    free(keep);
    free(classes);
    return rc;
}

/* The splits of the (sampled) candidates; CENSUS: their classes, for
   split.stratify. */
static int make_split(eodkit_ctx *ctx, ek_build *b, const uint32_t *census)
{
    ek_split_inputs in;
    int rc = ek_cancelled(ctx);

    memset(&in, 0, sizeof in);
    in.regions = b->regions;
    in.region_tags = b->region_tags;
    if (b->recipe->split.stratify) {
        in.chip_classes = census;
        in.nclasses = b->nclass_ids;
    }
    if (rc == EODKIT_OK) {
        rc = ek_split_make(ctx, b->plan, &in, &b->split);
    }
    return rc;
}

int ek_build_setup(eodkit_ctx *ctx, const ek_recipe *recipe,
                   const eodkit_build_options *opt, ek_build *b)
{
    uint32_t *census = NULL;
    int rc;

    memset(b, 0, sizeof *b);
    b->recipe = recipe;
    GDALAllRegister();
    if (CPLGetConfigOption("GDAL_CACHEMAX", NULL) == NULL) {
        CPLSetConfigOption("GDAL_CACHEMAX", DEFAULT_CACHE_MB);
    }
    ek_remote_configure();
    ek_remote_counts_get(&b->remote_start);
    /* Every step, and the long loops in them, stop when OPT's flag rises:
       nothing has been written yet, so nothing is left behind. */
    ctx->cancel = opt->cancel;
    rc = ek_plan_make(ctx, recipe, &b->plan);
    if (rc == EODKIT_OK) {
        rc = open_regions(ctx, b, opt);
    }
    if (rc == EODKIT_OK && recipe->labels.present) {
        rc = ek_labels_open(ctx, recipe, b->plan, b->plan->nsources, &b->labels);
        b->nclass_ids = rc == EODKIT_OK ? b->labels->max_id + 1 : 0;
    }
    if (rc == EODKIT_OK) {
        rc = open_masks(ctx, b);
    }
    if (rc == EODKIT_OK &&
        (recipe->split.stratify ||
         (recipe->sample.present && recipe->sample.by == EK_SAMPLE_CLASS))) {
        rc = label_census(ctx, b, &census);
    }
    if (rc == EODKIT_OK && recipe->sample.present) {
        rc = sample_chips(ctx, b, census);
    }
    if (rc == EODKIT_OK) {
        rc = make_split(ctx, b, census);
    }
    free(census);
    if (rc == EODKIT_OK) {
        rc = describe_arrays(ctx, b);
    }
    if (rc == EODKIT_OK) {
        rc = ek_cancelled(ctx);
    }
    if (rc == EODKIT_ERR_CANCELLED) {
        ek_error(ctx, rc,
                 "%s: interrupted while setting the build up, before anything "
                 "was written",
                 recipe->path);
    }
    ctx->cancel = NULL;
    return rc;
}

/* Add input PATH (with its role, name, size and modification time; for a
   remote input also its ETag and Last-Modified, from a HEAD request) to
   fingerprint text ARG (an ek_strbuf). Nothing is read whole. */
static int add_file(void *arg, const char *role, const char *of, const char *path)
{
    ek_strbuf *t = arg;
    ek_name_stamp st;

    ek_name_stamp_of(path, &st);
    ek_strbuf_printf(t, "%s %s\n%s\n%lld %lld %s %s\n", role, of != NULL ? of : "-",
                     path, st.bytes, st.mtime_ns, st.etag, st.last_modified);
    return EODKIT_OK;
}

int ek_build_fingerprint(eodkit_ctx *ctx, const ek_build *b, char hex[65])
{
    ek_strbuf t;
    char *recipe_text = NULL;
    size_t len = 0;
    int rc;

    ek_strbuf_init(&t, ctx);
    rc = ek_fs_read_file(ctx, b->recipe->path, &recipe_text, &len);
    if (rc != EODKIT_OK) {
        return rc;
    }
    /* the journal's record layout too: a checkpoint of another is not reused */
    ek_strbuf_printf(&t, "eodkit %s journal %d\n%s\n", eodkit_version(),
                     EK_JOURNAL_LAYOUT, recipe_text);
    free(recipe_text);
    ek_for_each_input(b->recipe, b->plan, b->regions, add_file, &t);
    rc = t.status == EODKIT_OK ? ek_sha256_hex(ctx, t.data, t.len, hex) : t.status;
    ek_strbuf_free(&t);
    return rc;
}

void ek_build_clear(ek_build *b)
{
    size_t m;

    for (m = 0; b->masks != NULL && m < b->plan->nmodalities; m++) {
        ek_shapes_free(b->masks[m]);
    }
    free(b->masks);
    ek_regions_free(b->regions);
    ek_region_tags_free(b->region_tags);
    ek_labels_free(b->labels);
    ek_split_free(b->split);
    ek_sample_free(b->sample);
    ek_plan_free(b->plan);
    free(b->arrays);
}
