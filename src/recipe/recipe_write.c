/*
** Recipe: the resolved recipe stored in every dataset (recipe.yaml): the
** recipe as eodkit understood it, every default filled in and every path
** absolute, emitted with libyaml. output.dir is left out on purpose: the
** dataset's own location is wherever it is now.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/ek_time.h"
#include "ek_recipe.h"

static const char *const method_words[] = {"random", "blocks", "regions", "time"};
static const char *const region_key_words[] = {"continent", "country", "region"};

typedef struct emitter {
    yaml_emitter_t e;
    int failed;
} emitter;

static void put(emitter *em, yaml_event_t *ev)
{
    if (!em->failed && !yaml_emitter_emit(&em->e, ev)) {
        em->failed = 1;
    }
}

static void scalar(emitter *em, const char *text, int plain)
{
    yaml_event_t ev;

    yaml_scalar_event_initialize(
        &ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), plain, !plain,
        plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    put(em, &ev);
}

static void text(emitter *em, const char *s)
{
    scalar(em, s, 0);
}

/* The shortest decimal form of V that reads back as V. */
static void number(emitter *em, double v)
{
    char buf[40];
    int digits;

    for (digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    scalar(em, buf, 1);
}

static void integer(emitter *em, long long v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", v);
    scalar(em, buf, 1);
}

static void map_begin(emitter *em)
{
    yaml_event_t ev;

    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    put(em, &ev);
}

static void map_end(emitter *em)
{
    yaml_event_t ev;

    yaml_mapping_end_event_initialize(&ev);
    put(em, &ev);
}

static void seq_begin(emitter *em, int flow)
{
    yaml_event_t ev;

    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                         flow ? YAML_FLOW_SEQUENCE_STYLE
                                              : YAML_BLOCK_SEQUENCE_STYLE);
    put(em, &ev);
}

static void seq_end(emitter *em)
{
    yaml_event_t ev;

    yaml_sequence_end_event_initialize(&ev);
    put(em, &ev);
}

static void key(emitter *em, const char *k)
{
    scalar(em, k, 1);
}

static void pair_text(emitter *em, const char *k, const char *v)
{
    key(em, k);
    text(em, v);
}

static void pair_number(emitter *em, const char *k, double v)
{
    key(em, k);
    number(em, v);
}

static void pair_integer(emitter *em, const char *k, long long v)
{
    key(em, k);
    integer(em, v);
}

static void text_list(emitter *em, char *const *items, size_t n)
{
    size_t i;

    seq_begin(em, 1);
    for (i = 0; i < n; i++) {
        text(em, items[i]);
    }
    seq_end(em);
}

static void write_dataset(emitter *em, const ek_recipe *r)
{
    size_t i;

    key(em, "dataset");
    map_begin(em);
    pair_text(em, "name", r->name);
    pair_text(em, "title", r->title);
    pair_text(em, "description", r->description);
    pair_text(em, "license", r->license);
    if (r->citation != NULL) {
        pair_text(em, "citation", r->citation);
    }
    if (r->version != NULL) {
        pair_text(em, "version", r->version);
    }
    if (r->nkeywords > 0) {
        key(em, "keywords");
        text_list(em, r->keywords, r->nkeywords);
    }
    if (r->nproviders > 0) {
        key(em, "providers");
        seq_begin(em, 0);
        for (i = 0; i < r->nproviders; i++) {
            map_begin(em);
            pair_text(em, "name", r->providers[i].name);
            if (r->providers[i].url != NULL) {
                pair_text(em, "url", r->providers[i].url);
            }
            if (r->providers[i].nroles > 0) {
                key(em, "roles");
                text_list(em, r->providers[i].roles, r->providers[i].nroles);
            }
            map_end(em);
        }
        seq_end(em);
    }
    map_end(em);
}

static void write_grid(emitter *em, const ek_recipe *r)
{
    key(em, "grid");
    map_begin(em);
    if (r->system != EK_SYSTEM_NONE) {
        pair_text(em, "system",
                  r->system == EK_SYSTEM_MAJORTOM ? "majortom" : "utm-cells");
    }
    if (r->system == EK_SYSTEM_MAJORTOM) {
        pair_number(em, "spacing", r->spacing);
    }
    if (r->system == EK_SYSTEM_NONE && r->like != NULL) {
        key(em, "crs");
        map_begin(em);
        pair_text(em, "like", r->like);
        map_end(em);
    } else if (r->system == EK_SYSTEM_NONE) { /* a system chooses the CRS */
        key(em, "crs");
        text(em, r->utm ? "utm" : r->crs);
    }
    if (r->has_resolution) {
        key(em, "resolution");
        seq_begin(em, 1);
        number(em, r->res_x);
        number(em, r->res_y);
        seq_end(em);
    }
    key(em, "chip_size");
    seq_begin(em, 1);
    integer(em, r->chip_h);
    integer(em, r->chip_w);
    seq_end(em);
    key(em, "stride");
    seq_begin(em, 1);
    integer(em, r->stride_y);
    integer(em, r->stride_x);
    seq_end(em);
    if (r->aoi != NULL) {
        pair_text(em, "aoi", r->aoi);
    }
    pair_number(em, "error_threshold", r->error_threshold);
    map_end(em);
}

/* mode: pair and its two periods (open ends left out). */
static void write_pair(emitter *em, const ek_time_recipe *t)
{
    static const char *const names[] = {"before", "after"};
    char when[32];
    int i;

    pair_text(em, "mode", "pair");
    for (i = 0; i < 2; i++) {
        key(em, names[i]);
        map_begin(em);
        if (t->periods[i].from != INT64_MIN) {
            ek_time_format(t->periods[i].from, when, sizeof when);
            pair_text(em, "from", when);
        }
        if (t->periods[i].to != INT64_MAX) {
            ek_time_format(t->periods[i].to, when, sizeof when);
            pair_text(em, "to", when);
        }
        map_end(em);
    }
}

static void write_time(emitter *em, const ek_time_recipe *t)
{
    char when[32];

    key(em, "time");
    map_begin(em);
    if (t->pair) {
        write_pair(em, t);
    } else {
        pair_text(em, "mode", t->mode == EK_TIME_STACK ? "stack" : "mosaic");
    }
    if (t->mode == EK_TIME_STACK && !t->pair) {
        pair_integer(em, "count", t->count);
    }
    if (t->has_from) {
        ek_time_format(t->from, when, sizeof when);
        pair_text(em, "from", when);
    }
    if (t->has_to) {
        ek_time_format(t->to, when, sizeof when);
        pair_text(em, "to", when);
    }
    if (t->pattern != NULL) {
        pair_text(em, "pattern", t->pattern);
    }
    if (t->format != NULL) {
        pair_text(em, "format", t->format);
    }
    map_end(em);
}

static void write_mask(emitter *em, const ek_mask_recipe *mk)
{
    size_t i;

    key(em, "mask");
    map_begin(em);
    if (mk->band != 0) {
        pair_integer(em, "band", mk->band);
    }
    if (mk->values != NULL) {
        key(em, "values");
        seq_begin(em, 1);
        for (i = 0; i < mk->nvalues; i++) {
            number(em, mk->values[i]);
        }
        seq_end(em);
    }
    if (mk->polygons != NULL) {
        pair_text(em, "polygons", mk->polygons);
    }
    if (mk->time_field != NULL) {
        pair_text(em, "time_field", mk->time_field);
    }
    map_end(em);
}

static void write_sar(emitter *em, const ek_sar_recipe *s)
{
    key(em, "sar");
    map_begin(em);
    if (s->frequency_band != NULL) {
        pair_text(em, "frequency_band", s->frequency_band);
    }
    if (s->instrument_mode != NULL) {
        pair_text(em, "instrument_mode", s->instrument_mode);
    }
    if (s->product_type != NULL) {
        pair_text(em, "product_type", s->product_type);
    }
    if (s->scale != NULL) {
        pair_text(em, "scale", s->scale);
    }
    if (s->npolarizations > 0) {
        key(em, "polarizations");
        text_list(em, s->polarizations, s->npolarizations);
    }
    map_end(em);
}

static void write_stac(emitter *em, const ek_stac_recipe *st)
{
    size_t i;

    key(em, "stac");
    map_begin(em);
    pair_text(em, "items", st->items);
    key(em, "assets");
    text_list(em, st->assets, st->nassets);
    if (st->has_bbox) {
        key(em, "bbox");
        seq_begin(em, 1);
        for (i = 0; i < 4; i++) {
            number(em, st->bbox[i]);
        }
        seq_end(em);
    }
    if (st->datetime != NULL) {
        pair_text(em, "datetime", st->datetime);
    }
    if (st->ncollections > 0) {
        key(em, "collections");
        text_list(em, st->collections, st->ncollections);
    }
    if (st->query != NULL) {
        pair_text(em, "query", st->query);
    }
    if (st->has_max_cloud) {
        pair_number(em, "max_item_cloud", st->max_cloud);
    }
    if (st->limit > 0) {
        pair_integer(em, "limit", st->limit);
    }
    pair_text(em, "method", st->post ? "POST" : "GET");
    map_end(em);
}

static void write_georef(emitter *em, const ek_georef_recipe *g)
{
    key(em, "georeference");
    map_begin(em);
    pair_text(em, "method", ek_georef_name(g->method));
    if (g->method == EK_GEOREF_GCP) {
        pair_integer(em, "order", g->order);
    }
    if (g->dem != NULL) {
        pair_text(em, "dem", g->dem);
    }
    if (g->has_height) {
        pair_number(em, "height", g->height);
    }
    map_end(em);
}

static void write_inputs(emitter *em, const ek_modality_recipe *m)
{
    size_t b;

    if (m->band_files != NULL) {
        key(em, "band_files");
        seq_begin(em, 0);
        for (b = 0; b < m->nband_files; b++) {
            map_begin(em);
            pair_text(em, "name", m->band_files[b].name);
            key(em, "files");
            text_list(em, m->band_files[b].patterns, m->band_files[b].npatterns);
            pair_integer(em, "band", m->band_files[b].band);
            map_end(em);
        }
        seq_end(em);
        return;
    }
    if (m->stac.present) {
        write_stac(em, &m->stac);
    } else {
        key(em, "files");
        text_list(em, m->patterns, m->npatterns);
    }
    if (m->bands != NULL) {
        key(em, "bands");
        seq_begin(em, 1);
        for (b = 0; b < m->nbands; b++) {
            integer(em, m->bands[b]);
        }
        seq_end(em);
    }
    if (m->band_names != NULL) {
        key(em, "band_names");
        text_list(em, m->band_names, m->nband_names);
    }
}

static void write_modalities(emitter *em, const ek_recipe *r)
{
    size_t i;

    key(em, "modalities");
    seq_begin(em, 0);
    for (i = 0; i < r->nmodalities; i++) {
        const ek_modality_recipe *m = &r->modalities[i];

        map_begin(em);
        pair_text(em, "name", m->name);
        pair_text(em, "kind", m->kind);
        if (m->sensor != NULL) {
            pair_text(em, "sensor", m->sensor);
        }
        if (m->platform != NULL) {
            pair_text(em, "platform", m->platform);
        }
        if (m->description != NULL) {
            pair_text(em, "description", m->description);
        }
        write_inputs(em, m);
        pair_text(em, "resampling", ek_resampling_name(m->resampling));
        if (m->has_nodata) {
            pair_number(em, "nodata", m->nodata);
        }
        key(em, "required");
        scalar(em, m->required ? "true" : "false", 1);
        if (m->time.mode != EK_TIME_NONE) {
            write_time(em, &m->time);
        }
        if (m->mask.present) {
            write_mask(em, &m->mask);
        }
        if (m->complex != EK_COMPLEX_REFUSE) {
            pair_text(em, "complex",
                      m->complex == EK_COMPLEX_AMPLITUDE ? "amplitude" : "intensity");
        }
        if (strcmp(m->kind, "sar") == 0) {
            write_sar(em, &m->sar);
        }
        if (m->georef.method != EK_GEOREF_GEOTRANSFORM) {
            write_georef(em, &m->georef);
        }
        map_end(em);
    }
    seq_end(em);
}

/* class_names: {id: name} when any class has a name; each id once (classes
   sharing an id share its name). */
static void write_class_names(emitter *em, const ek_labels_recipe *l)
{
    unsigned char *written = NULL; /* by class id */
    size_t i;
    int named = 0;

    for (i = 0; i < l->nclasses; i++) {
        named |= l->classes[i].name != NULL;
    }
    if (!named) {
        return;
    }
    written = calloc(EK_MAX_CLASS_ID + 1, 1);
    if (written == NULL) {
        em->failed = 1;
        return;
    }
    key(em, "class_names");
    map_begin(em);
    for (i = 0; i < l->nclasses; i++) {
        const ek_class_entry *c = &l->classes[i];

        if (c->name != NULL && !written[c->id]) {
            integer(em, c->id);
            text(em, c->name);
            written[c->id] = 1;
        }
    }
    map_end(em);
    free(written);
}

/* The keys of labels that only some tasks have (recipe.c, labels_task.c). */
static void write_task_labels(emitter *em, const ek_labels_recipe *l)
{
    const ek_table_recipe *t = &l->table;

    if (EK_TASK_HAS_OBJECTS(l->task)) {
        key(em, "oriented");
        scalar(em, l->oriented ? "true" : "false", 1);
        if (l->box_w > 0) {
            key(em, "box_size");
            seq_begin(em, 1);
            number(em, l->box_w);
            number(em, l->box_h);
            seq_end(em);
        }
        pair_number(em, "min_visibility", l->min_visibility);
    }
    if (l->pair[0] != NULL) {
        key(em, "pair");
        text_list(em, l->pair, 2);
    }
    if (l->task == EK_TASK_REGRESSION) {
        pair_text(em, "resampling", ek_resampling_name(l->resampling));
    }
    if (l->has_nodata) {
        pair_number(em, "nodata", l->nodata);
    }
    if (t->path == NULL) {
        return;
    }
    if (t->key != NULL) {
        pair_text(em, "key", t->key);
    }
    pair_text(em, "match", t->match == EK_MATCH_FOLDER ? "folder" : "file");
    pair_text(em, "labels", t->field);
    if (t->separator != NULL) {
        pair_text(em, "separator", t->separator);
    }
    pair_text(em, "mixed", t->majority ? "majority" : "refuse");
    pair_text(em, "unmatched", t->skip_unmatched ? "skip" : "error");
    if (t->scenes != NULL) {
        pair_text(em, "scenes", t->scenes);
    }
}

static void write_labels(emitter *em, const ek_recipe *r)
{
    const ek_labels_recipe *l = &r->labels;
    size_t i;

    key(em, "labels");
    map_begin(em);
    if (l->table.path != NULL) {
        pair_text(em, "table", l->table.path);
    } else if (l->after != NULL) {
        key(em, "source");
        seq_begin(em, 1);
        text(em, l->source);
        text(em, l->after);
        seq_end(em);
    } else {
        pair_text(em, "source", l->source);
    }
    if (l->layer != NULL) {
        pair_text(em, "layer", l->layer);
    }
    if (l->attribute != NULL) {
        pair_text(em, "attribute", l->attribute);
    }
    if (l->classes != NULL) {
        key(em, "classes");
        map_begin(em);
        for (i = 0; i < l->nclasses; i++) {
            text(em, l->classes[i].value);
            integer(em, l->classes[i].id);
        }
        map_end(em);
        write_class_names(em, l);
    }
    if (l->task != EK_TASK_REGRESSION) {
        pair_integer(em, "background", l->background);
        pair_text(em, "background_name", l->background_name);
    }
    if (l->task != EK_TASK_REGRESSION && l->table.path == NULL) {
        key(em, "all_touched");
        scalar(em, l->all_touched ? "true" : "false", 1);
    }
    pair_text(em, "task", ek_task_names[l->task]);
    if (l->task != EK_TASK_CHANGE && l->task != EK_TASK_REGRESSION) {
        pair_number(em, "min_class_share", l->min_class_share);
    }
    if (l->has_ignore) {
        pair_integer(em, "ignore_index", l->ignore_index);
    }
    write_task_labels(em, l);
    map_end(em);
}

static void write_sample(emitter *em, const ek_sample_recipe *s)
{
    key(em, "sample");
    map_begin(em);
    pair_text(em, "by", ek_sample_by_names[s->by]);
    if (s->max_per_group > 0) {
        pair_integer(em, "max_per_group", s->max_per_group);
    }
    if (s->total > 0) {
        pair_integer(em, "total", s->total);
        pair_text(em, "allocation", ek_allocation_names[s->allocation]);
    }
    pair_integer(em, "seed", (long long)s->seed);
    if (s->by == EK_SAMPLE_CELL) {
        pair_number(em, "cell_size", s->cell_km);
    }
    map_end(em);
}

static void write_rest(emitter *em, const ek_recipe *r)
{
    const ek_split_recipe *s = &r->split;
    size_t i;

    if (r->regions != NULL || r->region_field != NULL || r->region_margin >= 0) {
        key(em, "regions");
        map_begin(em);
        if (r->regions != NULL) {
            pair_text(em, "source", r->regions);
        }
        if (r->region_field != NULL) {
            pair_text(em, "field", r->region_field);
        }
        if (r->region_margin >= 0) {
            pair_number(em, "margin", r->region_margin);
        }
        map_end(em);
    }

    if (r->sample.present) {
        write_sample(em, &r->sample);
    }

    key(em, "filters");
    map_begin(em);
    pair_number(em, "max_nodata", r->max_nodata);
    pair_number(em, "min_labeled", r->min_labeled);
    pair_number(em, "max_cloud", r->max_cloud);
    if (r->labels.present && EK_TASK_HAS_OBJECTS(r->labels.task)) {
        pair_integer(em, "min_objects", (long long)r->min_objects);
    }
    map_end(em);

    key(em, "split");
    map_begin(em);
    pair_text(em, "method", method_words[s->method]);
    if (s->method == EK_SPLIT_TIME) {
        key(em, "periods");
        map_begin(em);
        for (i = 0; i < s->nsplits; i++) {
            char when[32];

            ek_time_format(s->period_start[i], when, sizeof when);
            pair_text(em, s->names[i], when);
        }
        map_end(em);
    } else {
        key(em, "ratios");
        map_begin(em);
        for (i = 0; i < s->nsplits; i++) {
            text(em, s->names[i]);
            number(em, s->ratios[i]);
        }
        map_end(em);
    }
    pair_integer(em, "seed", (long long)s->seed);
    if (s->method == EK_SPLIT_BLOCKS || s->method == EK_SPLIT_REGIONS) {
        pair_number(em, "block_size", s->block_size);
        pair_number(em, "buffer", s->buffer);
    }
    if (s->nhold_out > 0) {
        key(em, "hold_out");
        map_begin(em);
        for (i = 0; i < s->nhold_out; i++) {
            key(em, s->names[s->hold_out[i].split]);
            map_begin(em);
            key(em, region_key_words[s->hold_out[i].key]);
            text_list(em, s->hold_out[i].values, s->hold_out[i].nvalues);
            map_end(em);
        }
        map_end(em);
    }
    if (s->stratify) {
        pair_text(em, "stratify", "class");
        pair_number(em, "tolerance", s->tolerance);
    }
    map_end(em);

    key(em, "output");
    map_begin(em);
    pair_text(em, "format", "npy");
    pair_integer(em, "shard_size", r->shard_bytes);
    map_end(em);
}

int ek_recipe_write_resolved(eodkit_ctx *ctx, const ek_recipe *r, const char *path)
{
    emitter em;
    yaml_event_t ev;
    FILE *f = fopen(path, "wb");
    int closed;

    if (f == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create", path);
    }
    memset(&em, 0, sizeof em);
    if (!yaml_emitter_initialize(&em.e)) {
        fclose(f);
        return ek_error(ctx, EODKIT_ERR_NOMEM, "cannot start the YAML emitter");
    }
    yaml_emitter_set_output_file(&em.e, f);
    yaml_emitter_set_unicode(&em.e, 1);
    yaml_emitter_set_width(&em.e, 100);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    put(&em, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    put(&em, &ev);
    map_begin(&em);
    write_dataset(&em, r);
    write_grid(&em, r);
    write_modalities(&em, r);
    if (r->labels.present) {
        write_labels(&em, r);
    }
    write_rest(&em, r);
    map_end(&em);
    yaml_document_end_event_initialize(&ev, 1);
    put(&em, &ev);
    yaml_stream_end_event_initialize(&ev);
    put(&em, &ev);
    yaml_emitter_delete(&em.e);
    closed = fclose(f);
    if (em.failed || closed != 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: writing the resolved recipe failed",
                        path);
    }
    return EODKIT_OK;
}
