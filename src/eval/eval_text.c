/*
** Eval: the report as aligned text tables for people (`eodkit eval` without
** --json): summary metrics with intervals, classes, confusion matrix, the
** groups of --by and the gap between the best and the worst.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_strbuf.h"
#include "eodkit/eval.h"
#include "ek_eval.h"

#define NAME_MAX_WIDTH 24

/* The metrics of a report's task: JSON names, labels for people, and the
   three the groups' table shows. */
typedef struct metric_set {
    const char *const *names;
    const char *const *labels;
    size_t n;
    const char *shown[3];
    const char *shown_labels[3];
} metric_set;

static const char *const class_labels[EK_C_COUNT] = {
    "accuracy",         "balanced accuracy", "kappa",     "mean IoU",   "mean F1",
    "change precision", "change recall",     "change F1", "change IoU",
};
static const char *const target_labels[EK_T_COUNT] = {"RMSE", "MAE", "bias", "R2"};

static metric_set metrics_of(const char *task)
{
    metric_set ms = {ek_metric_names,
                     class_labels,
                     EK_M_COUNT,
                     {"accuracy", "mean_iou", "kappa"},
                     {"accuracy", "mean IoU", "kappa"}};

    if (strcmp(task, "change") == 0) {
        ms = (metric_set){ek_change_metric_names,
                          class_labels,
                          EK_C_COUNT,
                          {"change_f1", "change_iou", "accuracy"},
                          {"change F1", "change IoU", "accuracy"}};
    } else if (strcmp(task, "regression") == 0) {
        ms = (metric_set){ek_target_metric_names,
                          target_labels,
                          EK_T_COUNT,
                          {"rmse", "mae", "r2"},
                          {"RMSE", "MAE", "R2"}};
    }
    return ms;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "-";
}

static long long integer(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* V with 3 decimals, or "-" when null, right-aligned in WIDTH. */
static void add_value(ek_strbuf *b, const json_t *v, int width)
{
    if (json_is_number(v)) {
        ek_strbuf_printf(b, "%*.3f", width, json_number_value(v));
    } else {
        ek_strbuf_printf(b, "%*s", width, "-");
    }
}

/* "0.812 (0.771-0.850)" of metric object M ({"value", "ci"}) into BUF. */
static void metric_text(const json_t *m, char *buf, size_t size)
{
    json_t *v = json_object_get(m, "value"), *ci = json_object_get(m, "ci");
    json_t *lo = json_array_get(ci, 0), *hi = json_array_get(ci, 1);
    size_t used;

    if (!json_is_number(v)) {
        snprintf(buf, size, "-");
        return;
    }
    used = (size_t)snprintf(buf, size, "%.3f", json_number_value(v));
    if (json_is_number(lo) && json_is_number(hi) && used < size) {
        snprintf(buf + used, size - used, " (%.3f-%.3f)", json_number_value(lo),
                 json_number_value(hi));
    }
}

static int name_width(const json_t *classes)
{
    size_t i;
    json_t *c;
    int w = 5;

    json_array_foreach(classes, i, c)
    {
        int n = (int)strlen(str(c, "name"));

        w = n > w ? n : w;
    }
    return w > NAME_MAX_WIDTH ? NAME_MAX_WIDTH : w;
}

static void add_classes(ek_strbuf *b, const json_t *overall)
{
    json_t *classes = json_object_get(overall, "classes"), *c;
    int w = name_width(classes);
    size_t i;

    ek_strbuf_printf(b, "\n%-*s %6s %12s %12s %9s %7s %7s %7s\n", w, "class", "id",
                     "support", "predicted", "precision", "recall", "f1", "iou");
    json_array_foreach(classes, i, c)
    {
        ek_strbuf_printf(b, "%-*.*s %6lld %12lld %12lld ", w, w, str(c, "name"),
                         integer(c, "id"), integer(c, "support"),
                         integer(c, "predicted"));
        add_value(b, json_object_get(c, "precision"), 9);
        add_value(b, json_object_get(c, "recall"), 8);
        add_value(b, json_object_get(c, "f1"), 8);
        add_value(b, json_object_get(c, "iou"), 8);
        ek_strbuf_puts(b, "\n");
    }
}

static void add_confusion(ek_strbuf *b, const json_t *doc, const json_t *overall)
{
    json_t *classes = json_object_get(doc, "classes"), *c, *row;
    json_t *rows = json_object_get(overall, "confusion");
    int w = name_width(classes);
    size_t i, j;

    if (strcmp(str(doc, "task"), "multilabel") == 0) {
        ek_strbuf_printf(b,
                         "\nconfusion (per class, chips)\n%-*s %10s %10s %10s %10s\n",
                         w, "class", "tn", "fp", "fn", "tp");
        json_array_foreach(rows, i, row)
        {
            ek_strbuf_printf(b, "%-*.*s %10lld %10lld %10lld %10lld\n", w, w,
                             str(json_array_get(classes, i), "name"),
                             integer(row, "tn"), integer(row, "fp"), integer(row, "fn"),
                             integer(row, "tp"));
        }
        return;
    }
    ek_strbuf_printf(b, "\nconfusion (rows: truth, columns: prediction, %ss)\n%-*s",
                     str(doc, "unit"), w, "");
    json_array_foreach(classes, i, c)
    {
        ek_strbuf_printf(b, " %12.12s", str(c, "name"));
    }
    ek_strbuf_puts(b, "\n");
    json_array_foreach(rows, i, row)
    {
        ek_strbuf_printf(b, "%-*.*s", w, w, str(json_array_get(classes, i), "name"));
        for (j = 0; j < json_array_size(row); j++) {
            ek_strbuf_printf(b, " %12lld",
                             (long long)json_integer_value(json_array_get(row, j)));
        }
        ek_strbuf_puts(b, "\n");
    }
}

static void add_groups(ek_strbuf *b, const json_t *doc, const metric_set *ms)
{
    json_t *groups = json_object_get(doc, "groups"), *g;
    json_t *gap = json_object_get(doc, "gap");
    char cell[64];
    size_t i, m;
    int w = 18;

    json_array_foreach(groups, i, g)
    {
        int n = (int)strlen(str(g, "name"));

        w = n > w ? n : w;
    }
    w = w > NAME_MAX_WIDTH ? NAME_MAX_WIDTH : w;
    ek_strbuf_printf(b, "\n%-*s %7s %7s  %-21s %-21s %s\n", w, str(doc, "by"), "chips",
                     "blocks", ms->shown_labels[0], ms->shown_labels[1],
                     ms->shown_labels[2]);
    json_array_foreach(groups, i, g)
    {
        ek_strbuf_printf(b, "%-*.*s %7lld %7lld ", w, w, str(g, "name"),
                         integer(g, "chips"), integer(g, "blocks"));
        for (m = 0; m < 3; m++) {
            metric_text(json_object_get(g, ms->shown[m]), cell, sizeof cell);
            ek_strbuf_printf(b, m < 2 ? " %-21s" : " %s\n", cell);
        }
    }
    ek_strbuf_puts(b, "\ngap (best - worst group)\n");
    for (m = 0; m < ms->n; m++) {
        json_t *one = json_object_get(gap, ms->names[m]);

        if (!json_is_object(one)) {
            ek_strbuf_printf(b, "%-18s -\n", ms->labels[m]);
            continue;
        }
        metric_text(one, cell, sizeof cell);
        ek_strbuf_printf(b, "%-18s %-21s %s - %s\n", ms->labels[m], cell,
                         str(one, "best"), str(one, "worst"));
    }
}

/* Bin edge V ({from, to} ends) with 3 significant decimals, or OPEN. */
static void edge_text(const json_t *v, const char *open, char *buf, size_t size)
{
    if (json_is_number(v)) {
        snprintf(buf, size, "%.4g", json_number_value(v));
    } else {
        snprintf(buf, size, "%s", open);
    }
}

#define BAR_WIDTH 40

/* The residual plots of group G (named NAME): the histogram of residuals
   as bars, then bias and RMSE per target bin. */
static void add_plots(ek_strbuf *b, const json_t *g, const char *name)
{
    json_t *bins = json_object_get(json_object_get(g, "residuals"), "bins");
    json_t *by = json_object_get(g, "by_target"), *bin;
    long long top = 0;
    char lo[32], hi[32];
    size_t i;

    json_array_foreach(bins, i, bin)
    {
        top = integer(bin, "pixels") > top ? integer(bin, "pixels") : top;
    }
    ek_strbuf_printf(b, "\nresiduals (prediction - target) of %s: %lld pixels\n", name,
                     integer(g, "scored"));
    json_array_foreach(bins, i, bin)
    {
        long long n = integer(bin, "pixels");
        int len = top > 0 ? (int)((n * BAR_WIDTH + top - 1) / top) : 0;

        edge_text(json_object_get(bin, "from"), "-inf", lo, sizeof lo);
        edge_text(json_object_get(bin, "to"), "inf", hi, sizeof hi);
        ek_strbuf_printf(b, "%10s to %-10s |", lo, hi);
        for (; len > 0; len--) {
            ek_strbuf_puts(b, "#");
        }
        ek_strbuf_printf(b, " %lld\n", n);
    }
    ek_strbuf_printf(b, "\n%10s    %-10s %12s %9s %9s\n", "target", "", "pixels",
                     "bias", "RMSE");
    json_array_foreach(by, i, bin)
    {
        edge_text(json_object_get(bin, "from"), "-inf", lo, sizeof lo);
        edge_text(json_object_get(bin, "to"), "inf", hi, sizeof hi);
        ek_strbuf_printf(b, "%10s to %-10s %12lld ", lo, hi, integer(bin, "pixels"));
        add_value(b, json_object_get(bin, "bias"), 9);
        add_value(b, json_object_get(bin, "rmse"), 10);
        ek_strbuf_puts(b, "\n");
    }
}

/* ---- detection and instance reports ---- */

static const char *const object_metrics[] = {"map",       "map_50", "map_75",
                                             "precision", "recall", "f1"};
static const char *const object_labels[] = {"mAP@[.5:.95]", "mAP@.5", "mAP@.75",
                                            "precision",    "recall", "F1"};

/* "0.123 / 0.456 / -" of the numbers KEYS[0..N) of O. */
static void triple(ek_strbuf *b, const json_t *o, const char *const *keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const json_t *v = json_object_get(o, keys[i]);

        if (json_is_number(v)) {
            ek_strbuf_printf(b, "%s%.3f", i ? " / " : "", json_number_value(v));
        } else {
            ek_strbuf_printf(b, "%s-", i ? " / " : "");
        }
    }
    ek_strbuf_puts(b, "\n");
}

static void add_object_report(ek_strbuf *b, const json_t *doc)
{
    static const char *const areas[] = {"map_small", "map_medium", "map_large"};
    static const char *const recalls[] = {"mar_1", "mar_10", "mar_100"};
    static const char *const recall_areas[] = {"mar_small", "mar_medium", "mar_large"};
    const json_t *overall = json_object_get(doc, "overall"), *classes, *c, *g;
    const json_t *groups = json_object_get(doc, "groups"),
                 *gap = json_object_get(doc, "gap");
    char cell[64];
    size_t i, m;
    int w;

    for (m = 0; m < 6; m++) {
        metric_text(json_object_get(overall, object_metrics[m]), cell, sizeof cell);
        ek_strbuf_printf(b, "%-18s %s\n", object_labels[m], cell);
    }
    ek_strbuf_printf(b, "%-18s ", "mAP small/med/lrg");
    triple(b, overall, areas, 3);
    ek_strbuf_printf(b, "%-18s ", "mAR@1/10/100");
    triple(b, overall, recalls, 3);
    ek_strbuf_printf(b, "%-18s ", "mAR small/med/lrg");
    triple(b, overall, recall_areas, 3);
    classes = json_object_get(overall, "classes");
    w = name_width(classes);
    ek_strbuf_printf(b, "\n%-*s %6s %9s %10s %7s %7s %7s %9s %7s\n", w, "class", "id",
                     "objects", "detected", "AP", "AP50", "AP75", "precision",
                     "recall");
    json_array_foreach(classes, i, c)
    {
        ek_strbuf_printf(b, "%-*.*s %6lld %9lld %10lld ", w, w, str(c, "name"),
                         integer(c, "id"), integer(c, "objects"),
                         integer(c, "detections"));
        add_value(b, json_object_get(c, "ap"), 7);
        add_value(b, json_object_get(c, "ap_50"), 8);
        add_value(b, json_object_get(c, "ap_75"), 8);
        add_value(b, json_object_get(c, "precision"), 10);
        add_value(b, json_object_get(c, "recall"), 8);
        ek_strbuf_puts(b, "\n");
    }
    if (!json_is_array(groups)) {
        return;
    }
    w = 18;
    json_array_foreach(groups, i, g)
    {
        int n = (int)strlen(str(g, "name"));

        w = n > w ? n : w;
    }
    w = w > NAME_MAX_WIDTH ? NAME_MAX_WIDTH : w;
    ek_strbuf_printf(b, "\n%-*s %7s %7s %8s  %-21s %-21s %s\n", w, str(doc, "by"),
                     "chips", "blocks", "objects", "mAP@[.5:.95]", "mAP@.5", "recall");
    json_array_foreach(groups, i, g)
    {
        ek_strbuf_printf(b, "%-*.*s %7lld %7lld %8lld ", w, w, str(g, "name"),
                         integer(g, "chips"), integer(g, "blocks"),
                         integer(g, "objects"));
        for (m = 0; m < 3; m++) {
            static const char *const shown[3] = {"map", "map_50", "recall"};

            metric_text(json_object_get(g, shown[m]), cell, sizeof cell);
            ek_strbuf_printf(b, m < 2 ? " %-21s" : " %s\n", cell);
        }
    }
    ek_strbuf_puts(b, "\ngap (best - worst group)\n");
    for (m = 0; m < 6; m++) {
        const json_t *one = json_object_get(gap, object_metrics[m]);

        if (!json_is_object(one)) {
            ek_strbuf_printf(b, "%-18s -\n", object_labels[m]);
            continue;
        }
        metric_text(one, cell, sizeof cell);
        ek_strbuf_printf(b, "%-18s %-21s %s - %s\n", object_labels[m], cell,
                         str(one, "best"), str(one, "worst"));
    }
}

int eodkit_eval_report_text(eodkit_ctx *ctx, const char *report_json, char **text)
{
    json_error_t err;
    json_t *doc = json_loads(report_json, 0, &err);
    json_t *overall = json_object_get(doc, "overall"), *boot, *split, *g;
    char cell[64];
    metric_set ms;
    ek_strbuf b;
    size_t i, m;

    *text = NULL;
    if (doc == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "not an eval report: %s", err.text);
    }
    boot = json_object_get(doc, "bootstrap");
    ms = metrics_of(str(doc, "task"));
    ek_strbuf_init(&b, ctx);
    ek_strbuf_printf(&b, "eval         %s, split ", str(doc, "dataset"));
    json_array_foreach(json_object_get(doc, "splits"), i, split)
    {
        ek_strbuf_printf(&b, "%s%s", i ? "," : "", json_string_value(split));
    }
    if (strcmp(str(doc, "unit"), "object") == 0) {
        ek_strbuf_printf(&b, ": %lld chips, %lld objects, %lld detections\n",
                         integer(overall, "chips"), integer(overall, "objects"),
                         integer(overall, "detections"));
        ek_strbuf_printf(
            &b,
            "task         %s, %zu classes, IoU of %s, precision and recall "
            "at score %g\n",
            str(doc, "task"), json_array_size(json_object_get(doc, "classes")),
            strcmp(str(doc, "iou_type"), "segm") == 0 ? "masks" : "boxes",
            json_number_value(json_object_get(doc, "threshold")));
    } else {
        ek_strbuf_printf(&b, ": %lld chips, %lld %ss scored, %lld ignored\n",
                         integer(overall, "chips"), integer(overall, "scored"),
                         str(doc, "unit"), integer(doc, "ignored"));
        if (ms.names == ek_target_metric_names) {
            ek_strbuf_printf(&b, "task         regression\n");
        } else {
            ek_strbuf_printf(&b, "task         %s, %zu classes\n", str(doc, "task"),
                             json_array_size(json_object_get(doc, "classes")));
        }
    }
    if (integer(boot, "replicates") > 0) {
        ek_strbuf_printf(&b,
                         "bootstrap    %lld replicates over %lld spatial block%s (%s), "
                         "seed %lld: 95%% intervals\n",
                         integer(boot, "replicates"), integer(overall, "blocks"),
                         integer(overall, "blocks") == 1 ? "" : "s",
                         str(boot, "blocks"), integer(boot, "seed"));
    }
    ek_strbuf_printf(&b, "\n%-18s %s\n", "metric",
                     integer(boot, "replicates") > 0 ? "value (95% interval)"
                                                     : "value");
    if (strcmp(str(doc, "unit"), "object") == 0) {
        add_object_report(&b, doc);
        json_decref(doc);
        return ek_strbuf_detach(&b, text);
    }
    for (m = 0; m < ms.n; m++) {
        metric_text(json_object_get(overall, ms.names[m]), cell, sizeof cell);
        ek_strbuf_printf(&b, "%-18s %s\n", ms.labels[m], cell);
    }
    if (ms.names == ek_target_metric_names) {
        add_plots(&b, overall, "all chips");
        json_array_foreach(json_object_get(doc, "groups"), i, g)
        {
            add_plots(&b, g, str(g, "name"));
        }
    } else {
        add_classes(&b, overall);
        add_confusion(&b, doc, overall);
    }
    if (json_is_array(json_object_get(doc, "groups"))) {
        add_groups(&b, doc, &ms);
    }
    json_decref(doc);
    return ek_strbuf_detach(&b, text);
}
