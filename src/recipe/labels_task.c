/*
** Recipe: the keys of `labels` that belong to one task: where a change
** task's labels come from (one change layer, or a source before and after)
** and which images it pairs, a regression target's resampling and nodata,
** and scene-level labels from a table. Which keys a task takes is checked
** here, so a key that would be ignored is refused at its line.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdalwarper.h>

#include "core/ek_fs.h"
#include "ek_recipe_parse.h"

#define SEG (1u << EK_TASK_SEGMENTATION)
#define CLS (1u << EK_TASK_CLASSIFICATION)
#define MUL (1u << EK_TASK_MULTILABEL)
#define DET (1u << EK_TASK_DETECTION)
#define INS (1u << EK_TASK_INSTANCE)
#define CHG (1u << EK_TASK_CHANGE)
#define REG (1u << EK_TASK_REGRESSION)
#define CLASSES (SEG | CLS | MUL | DET | INS | CHG) /* the tasks with classes */

static const char *const match_words[] = {"folder", "file", NULL};
static const char *const mixed_words[] = {"refuse", "majority", NULL};
static const char *const unmatched_words[] = {"error", "skip", NULL};

/* Keys of `labels` and the tasks that use them (keys not listed: all). */
static const struct {
    const char *key;
    unsigned tasks;
    int with_table; /* 1: only with table; -1: never with table */
    const char *hint;
} uses[] = {
    {"classes", CLASSES, 0,
     "a regression target holds values, not classes: leave out classes and "
     "class_names"},
    {"class_names", CLASSES, 0, "a regression target has no classes"},
    {"background", CLASSES, 0, "a regression target has no classes"},
    {"background_name", CLASSES, 0, "a regression target has no classes"},
    {"ignore_index", CLASSES, -1, "pixels without a target value hold NaN"},
    {"all_touched", CLASSES, -1, "a regression target is a raster"},
    /* resolved recipes of every task with classes but change hold it */
    {"min_class_share", SEG | CLS | MUL | DET | INS, 0, "it is for task multilabel"},
    {"layer", CLASSES, -1, "a regression target is a raster"},
    {"attribute", CLASSES | REG, -1, NULL},
    {"pair", CHG, 0, "it names the two images of task change"},
    {"resampling", REG, 0,
     "class labels are read with nearest neighbour; it is for task regression"},
    {"nodata", REG, 0, "it is for task regression"},
    {"table", CLS | MUL, 0,
     "scene labels from a table are for task classification or multilabel"},
    {"key", CLS | MUL, 1, NULL},
    {"match", CLS | MUL, 1, NULL},
    {"labels", CLS | MUL, 1, NULL},
    {"separator", CLS | MUL, 1, NULL},
    {"mixed", CLS | MUL, 1, NULL},
    {"unmatched", CLS | MUL, 1, NULL},
    {"scenes", CLS | MUL, 1, NULL},
};

/* Refuse keys of N that task L->task, or the presence or absence of a
   table, does not use. */
static int check_task_keys(ek_yaml *y, const ek_labels_recipe *l, yaml_node_t *n)
{
    int table = ek_yaml_get(y, n, "table") != NULL;
    size_t k;

    for (k = 0; k < sizeof uses / sizeof uses[0]; k++) {
        yaml_node_t *v = ek_yaml_get(y, n, uses[k].key);

        if (v == NULL) {
            continue;
        }
        if (!(uses[k].tasks & (1u << l->task))) {
            return ek_yaml_fail(y, v, "labels.%s: not used with 'task: %s'%s%s",
                                uses[k].key, ek_task_names[l->task],
                                uses[k].hint != NULL ? " (" : "",
                                uses[k].hint != NULL ? uses[k].hint : "");
        }
        if (uses[k].with_table == 1 && !table) {
            return ek_yaml_fail(y, v, "labels.%s: only used with 'table'", uses[k].key);
        }
        if (uses[k].with_table == -1 && table) {
            return ek_yaml_fail(y, v,
                                "labels.%s: not used with 'table' (scene labels come "
                                "from the table's 'labels' field)",
                                uses[k].key);
        }
    }
    return EODKIT_OK;
}

int ek_recipe_parse_label_source(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_labels_recipe *l = &r->labels;
    yaml_node_t *table = ek_yaml_get(y, n, "table");
    yaml_node_t *v = ek_yaml_get(y, n, "source");
    int rc;

    if (table != NULL) {
        if (v != NULL) {
            return ek_yaml_fail(y, v,
                                "labels: give either 'source' (a label layer) or "
                                "'table' (scene labels), not both");
        }
        l->table.mark = ek_yaml_mark(table);
        l->source_mark = l->table.mark;
        return ek_yaml_path(y, r->dir, table, "labels.table", &l->table.path);
    }
    rc = ek_yaml_require(y, n, "labels", "source", &v);
    if (rc != EODKIT_OK) {
        return rc;
    }
    l->source_mark = ek_yaml_mark(v);
    if (v->type != YAML_SEQUENCE_NODE) {
        return ek_yaml_path(y, r->dir, v, "labels.source", &l->source);
    }
    if (l->task != EK_TASK_CHANGE || ek_yaml_seq_len(v) != 2) {
        return ek_yaml_fail(y, v,
                            "labels.source: expected one path; a list of two (before, "
                            "after) is for 'task: change'");
    }
    rc =
        ek_yaml_path(y, r->dir, ek_yaml_seq_item(y, v, 0), "labels.source", &l->source);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_path(y, r->dir, ek_yaml_seq_item(y, v, 1), "labels.source",
                          &l->after);
    }
    return rc;
}

/* labels.pair: [before, after], two different modalities of the recipe
   that are not time stacks. */
static int parse_pair(ek_yaml *y, ek_recipe *r, yaml_node_t *v)
{
    ek_labels_recipe *l = &r->labels;
    size_t i;
    int rc = EODKIT_OK;

    l->pair_mark = ek_yaml_mark(v);
    if (v->type != YAML_SEQUENCE_NODE || ek_yaml_seq_len(v) != 2) {
        return ek_yaml_fail(y, v,
                            "labels.pair: expected [before, after]: two modalities");
    }
    for (i = 0; i < 2 && rc == EODKIT_OK; i++) {
        yaml_node_t *item = ek_yaml_seq_item(y, v, i);
        int m;

        rc = ek_yaml_string(y, item, "labels.pair", &l->pair[i]);
        m = rc == EODKIT_OK ? ek_recipe_find_modality(r, l->pair[i]) : -1;
        if (rc == EODKIT_OK && m < 0) {
            rc = ek_yaml_fail(y, item,
                              "labels.pair: '%s' is not a modality of the recipe",
                              l->pair[i]);
        }
        if (rc == EODKIT_OK && r->modalities[m].time.mode == EK_TIME_STACK) {
            rc =
                ek_yaml_fail(y, item,
                             "labels.pair: '%s' already holds several acquisitions per "
                             "chip (time: %s); pair two single images",
                             l->pair[i], r->modalities[m].time.pair ? "pair" : "stack");
        }
    }
    if (rc == EODKIT_OK && strcmp(l->pair[0], l->pair[1]) == 0) {
        rc = ek_yaml_fail(y, v, "labels.pair: '%s' twice; name two modalities",
                          l->pair[0]);
    }
    return rc;
}

/* A change task needs two images per chip: labels.pair, or a modality with
   time pair or a stack of at least two. */
static int check_change_images(ek_yaml *y, const ek_recipe *r, yaml_node_t *n)
{
    size_t i;

    if (r->labels.pair[0] != NULL) {
        return EODKIT_OK;
    }
    for (i = 0; i < r->nmodalities; i++) {
        const ek_time_recipe *t = &r->modalities[i].time;

        if (t->mode == EK_TIME_STACK && t->count >= 2) {
            return EODKIT_OK;
        }
    }
    return ek_yaml_fail(y, n,
                        "labels: 'task: change' needs two acquisitions per chip: a "
                        "modality with 'time: {mode: pair, before: {...}, after: "
                        "{...}}' (or a stack of at least two), or 'pair: [before, "
                        "after]' naming two modalities");
}

static int parse_table_keys(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_table_recipe *t = &r->labels.table;
    yaml_node_t *v;
    int index, rc;

    rc = ek_yaml_opt_string(y, n, "key", "labels.key", &t->key);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "match")) != NULL) {
        rc = ek_yaml_choice(y, v, "labels.match", match_words, &index);
        t->match = (ek_table_match)index;
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "labels", "labels", &v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_string(y, v, "labels.labels", &t->field);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "separator", "labels.separator", &t->separator);
    }
    if (rc == EODKIT_OK && t->separator != NULL && t->separator[0] == '\0') {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "separator"),
                          "labels.separator: must not be empty");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "mixed")) != NULL) {
        rc = ek_yaml_choice(y, v, "labels.mixed", mixed_words, &index);
        t->majority = index == 1;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "unmatched")) != NULL) {
        rc = ek_yaml_choice(y, v, "labels.unmatched", unmatched_words, &index);
        t->skip_unmatched = index == 1;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "scenes")) != NULL) {
        t->scenes_mark = ek_yaml_mark(v);
        rc = ek_yaml_string(y, v, "labels.scenes", &t->scenes);
        if (rc == EODKIT_OK && ek_recipe_find_modality(r, t->scenes) < 0) {
            rc = ek_yaml_fail(
                y, v, "labels.scenes: '%s' is not a modality of the recipe", t->scenes);
        }
    }
    return rc;
}

int ek_recipe_parse_label_task(ek_yaml *y, ek_recipe *r, yaml_node_t *n)
{
    ek_labels_recipe *l = &r->labels;
    yaml_node_t *v;
    int index;
    int rc = check_task_keys(y, l, n);

    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "pair")) != NULL) {
        rc = parse_pair(y, r, v);
    }
    if (rc == EODKIT_OK && l->task == EK_TASK_CHANGE) {
        rc = check_change_images(y, r, n);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "resampling")) != NULL) {
        rc = ek_recipe_parse_resampling(y, v, "labels.resampling", &index);
        l->resampling = index;
        l->has_resampling = 1;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "nodata")) != NULL) {
        rc = ek_yaml_number(y, v, "labels.nodata", &l->nodata);
        l->has_nodata = 1;
    }
    if (rc == EODKIT_OK && l->table.path != NULL) {
        rc = parse_table_keys(y, r, n);
    }
    return rc;
}

void ek_recipe_free_label_task(ek_labels_recipe *l)
{
    free(l->after);
    free(l->pair[0]);
    free(l->pair[1]);
    free(l->table.path);
    free(l->table.key);
    free(l->table.field);
    free(l->table.separator);
    free(l->table.scenes);
}
