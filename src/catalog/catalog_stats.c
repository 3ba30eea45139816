/*
** Catalog: the statistics of the review "There Are No Data Like More Data"
** over the catalog: per year, task, platform, modality or continent the
** number and share of datasets, their total and share of size (pixels) and
** volume (GB), median and maximum; FAIR completeness; and their charts.
** Per value, a dataset with two tasks counts once in each group and shares
** are of the datasets that have a value, so they may add up past 1; per
** combination (as the review counts), each dataset is in exactly one group
** (its values together, or unknown) and shares are of all, adding up to 1.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ek_fs.h"
#include "ek_catalog.h"

/* The datasets sharing one value of the grouping field (or one combination
   of values); VALUE NULL: the datasets without any. */
typedef struct group {
    char *value;
    size_t count;
    double size_sum, volume_sum; /* pixels, GB */
    double *sizes, *volumes;     /* the known ones, sorted once complete */
    size_t nsizes, nvolumes, size_cap, volume_cap;
} group;

typedef struct stats {
    ek_by by;
    size_t datasets, with_value;
    size_t counted;                  /* the datasets the shares are of */
    double size_total, volume_total; /* of those COUNTED */
    group *groups;
    size_t ngroups, cap;
    size_t fair_known[EK_FAIR_NFIELDS];
    double fair_sum;
} stats;

/* The groupings in the order of ek_by, and the field each reads. */
static const char *const by_names[EK_NBY] = {"year",
                                             "task",
                                             "platform",
                                             "modality",
                                             "continent",
                                             "task-combination",
                                             "platform-combination",
                                             "modality-combination"};
static const int by_fields[EK_NBY] = {EK_F_YEAR,     EK_F_TASK,      EK_F_PLATFORM,
                                      EK_F_MODALITY, EK_F_CONTINENT, EK_F_TASK,
                                      EK_F_PLATFORM, EK_F_MODALITY};

int ek_by_parse(eodkit_ctx *ctx, const char *by, ek_by *out)
{
    int i;

    for (i = 0; i < EK_NBY; i++) {
        if (strcmp(by, by_names[i]) == 0) {
            *out = (ek_by)i;
            return EODKIT_OK;
        }
    }
    return ek_error(ctx, EODKIT_ERR_USAGE,
                    "cannot group by '%s' (year, task, platform, modality, continent, "
                    "task-combination, platform-combination, modality-combination)",
                    by);
}

/* Nonzero for the groupings that put each dataset in exactly one group. */
static int per_combination(ek_by by)
{
    return by >= EK_BY_TASK_COMBINATION;
}

/* How a group is shown to people. */
static const char *label(const group *g)
{
    return g->value != NULL ? g->value : "(unknown)";
}

/* Release what S holds and zero it (a zeroed S is fine). */
static void stats_free(stats *s)
{
    size_t i;

    for (i = 0; i < s->ngroups; i++) {
        free(s->groups[i].value);
        free(s->groups[i].sizes);
        free(s->groups[i].volumes);
    }
    free(s->groups);
    memset(s, 0, sizeof *s);
}

/* The group of VALUE (ignoring case; NULL: the group of the datasets
   without a value), added when new. */
static group *find_group(eodkit_ctx *ctx, stats *s, const char *value)
{
    size_t i;

    for (i = 0; i < s->ngroups; i++) {
        const char *v = s->groups[i].value;

        if (v == NULL ? value == NULL : value != NULL && strcasecmp(v, value) == 0) {
            return &s->groups[i];
        }
    }
    if (ek_grow(ctx, (void **)&s->groups, &s->cap, s->ngroups + 1, sizeof *s->groups) !=
        EODKIT_OK) {
        return NULL;
    }
    if (value != NULL) {
        s->groups[s->ngroups].value = ek_strdup(ctx, value);
        if (s->groups[s->ngroups].value == NULL) {
            return NULL;
        }
    }
    return &s->groups[s->ngroups++];
}

static int compare_text(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/*
** The combination of the values of LIST (';'-joined, as a record holds
** them; NULL: none) in *OUT: the values sorted ignoring case and joined by
** " + " ("classification + object detection"), so that the order a source
** gave them in does not matter; NULL when there is none.
*/
static int combination_of(eodkit_ctx *ctx, const char *list, char **out)
{
    char *copy = NULL, **items = NULL, *p;
    const char *q;
    size_t n = 1, i;
    ek_strbuf b;
    int rc;

    *out = NULL;
    if (list == NULL) {
        return EODKIT_OK;
    }
    for (q = list; *q != '\0'; q++) {
        n += *q == ';';
    }
    copy = ek_strdup(ctx, list);
    items = ek_calloc(ctx, n, sizeof *items);
    if (copy == NULL || items == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    n = 0;
    items[n++] = copy;
    for (p = copy; *p != '\0'; p++) {
        if (*p == ';') {
            *p = '\0';
            items[n++] = p + 1;
        }
    }
    qsort(items, n, sizeof *items, compare_text);
    ek_strbuf_init(&b, ctx);
    for (i = 0; i < n; i++) {
        ek_strbuf_printf(&b, "%s%s", i > 0 ? " + " : "", items[i]);
    }
    rc = ek_strbuf_detach(&b, out);
out:
    free(items);
    free(copy);
    return rc;
}

/* Append V to the array *A of *N values (capacity *CAP). */
static int push(eodkit_ctx *ctx, double **a, size_t *n, size_t *cap, double v)
{
    if (ek_grow(ctx, (void **)a, cap, *n + 1, sizeof **a) != EODKIT_OK) {
        return EODKIT_ERR_NOMEM;
    }
    (*a)[(*n)++] = v;
    return EODKIT_OK;
}

/* Count a dataset of SIZE pixels and VOLUME GB (when HAS_SIZE, HAS_VOLUME)
   into group G. */
static int add_to_group(eodkit_ctx *ctx, group *g, int has_size, double size,
                        int has_volume, double volume)
{
    g->count++;
    if (has_size) {
        g->size_sum += size;
        if (push(ctx, &g->sizes, &g->nsizes, &g->size_cap, size) != EODKIT_OK) {
            return EODKIT_ERR_NOMEM;
        }
    }
    if (has_volume) {
        g->volume_sum += volume;
        if (push(ctx, &g->volumes, &g->nvolumes, &g->volume_cap, volume) != EODKIT_OK) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

/* Count dataset R into the groups of its values, or into the one group of
   their combination. */
static int add_record(eodkit_ctx *ctx, stats *s, const ek_record *r)
{
    int present[EK_FAIR_NFIELDS], i, f = by_fields[s->by], rc = EODKIT_OK;
    double size = 0, volume = 0;
    int has_size = ek_record_number(r, EK_F_SIZE, &size);
    int has_volume = ek_record_number(r, EK_F_VOLUME, &volume);
    char value[512];
    size_t k = 0;

    s->datasets++;
    s->fair_sum += ek_fair_score(r, present);
    for (i = 0; i < EK_FAIR_NFIELDS; i++) {
        s->fair_known[i] += (size_t)present[i];
    }
    volume /= 1000; /* MB -> GB */
    if (per_combination(s->by)) {
        char *key = NULL;
        group *g = NULL;

        rc = combination_of(ctx, r->value[f], &key);
        if (rc == EODKIT_OK) {
            g = find_group(ctx, s, key);
            rc = g == NULL ? EODKIT_ERR_NOMEM
                           : add_to_group(ctx, g, has_size, size, has_volume, volume);
        }
        free(key);
        k = r->value[f] != NULL;
    } else {
        for (; rc == EODKIT_OK &&
               (f == EK_F_YEAR ? (k == 0 && r->value[f] != NULL)
                               : ek_record_list_item(r, f, k, value, sizeof value));
             k++) {
            group *g = find_group(ctx, s, f == EK_F_YEAR ? r->value[f] : value);

            rc = g == NULL ? EODKIT_ERR_NOMEM
                           : add_to_group(ctx, g, has_size, size, has_volume, volume);
        }
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    s->with_value += k > 0;
    if (k > 0 || per_combination(s->by)) {
        s->counted++;
        s->size_total += has_size ? size : 0;
        s->volume_total += has_volume ? volume : 0;
    }
    return EODKIT_OK;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Years in order; other values by count, most first, then by name. */
static int compare_year(const void *a, const void *b)
{
    return atoi(((const group *)a)->value) - atoi(((const group *)b)->value);
}

/* The group of the datasets without a value comes last. */
static int compare_count(const void *a, const void *b)
{
    const group *x = a, *y = b;

    if ((x->value == NULL) != (y->value == NULL)) {
        return x->value == NULL ? 1 : -1;
    }
    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return x->value == NULL ? 0 : strcasecmp(x->value, y->value);
}

static double median(const double *v, size_t n)
{
    if (n == 0) {
        return NAN;
    }
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Gather the statistics of CAT grouped BY into S (release with stats_free;
   zeroed on failure). */
static int compute(eodkit_ctx *ctx, eodkit_catalog *cat, ek_by by, stats *s)
{
    long long *pks = NULL;
    size_t n = 0, i;
    ek_record r = {0};
    int rc;

    memset(s, 0, sizeof *s);
    s->by = by;
    rc = ek_catalog_all(ctx, cat, &pks, &n);
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        if (rc == EODKIT_OK) {
            rc = add_record(ctx, s, &r);
        }
    }
    ek_record_clear(&r);
    free(pks);
    if (rc != EODKIT_OK) {
        stats_free(s);
        return rc;
    }
    /* qsort may not be given a NULL array, even an empty one. */
    if (s->ngroups > 0) {
        qsort(s->groups, s->ngroups, sizeof *s->groups,
              by == EK_BY_YEAR ? compare_year : compare_count);
    }
    for (i = 0; i < s->ngroups; i++) {
        if (s->groups[i].nsizes > 0) {
            qsort(s->groups[i].sizes, s->groups[i].nsizes, sizeof(double),
                  compare_double);
        }
        if (s->groups[i].nvolumes > 0) {
            qsort(s->groups[i].volumes, s->groups[i].nvolumes, sizeof(double),
                  compare_double);
        }
    }
    return EODKIT_OK;
}

static double max_of(const double *v, size_t n)
{
    return n == 0 ? NAN : v[n - 1];
}

/* PART / WHOLE, or NAN when WHOLE is 0. */
static double share(double part, double whole)
{
    return whole > 0 ? part / whole : NAN;
}

/* The shares of G in the datasets, size and volume of S. */
static void group_shares(const stats *s, const group *g, double out[3])
{
    out[0] = share((double)g->count, (double)s->counted);
    out[1] = share(g->size_sum, s->size_total);
    out[2] = share(g->volume_sum, s->volume_total);
}

/* A JSON number, or null for NAN. */
static json_t *number(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

int ek_stats_json(eodkit_ctx *ctx, eodkit_catalog *cat, ek_by by, json_t **out)
{
    json_t *groups = json_array(), *fair = json_object();
    stats s;
    size_t i;
    int rc = compute(ctx, cat, by, &s);

    *out = NULL;
    if (rc != EODKIT_OK) {
        json_decref(groups);
        json_decref(fair);
        return rc;
    }
    for (i = 0; i < s.ngroups; i++) {
        const group *g = &s.groups[i];
        double sh[3];

        group_shares(&s, g, sh);
        json_array_append_new(
            groups,
            json_pack(
                "{s:o, s:I, s:o, s:f, s:o, s:f, s:o, s:I, s:I, s:o, s:o, s:o, s:o}",
                "value", g->value != NULL ? json_string(g->value) : json_null(),
                "datasets", (json_int_t)g->count, "share", number(sh[0]), "size_px",
                g->size_sum, "size_share", number(sh[1]), "volume_gb", g->volume_sum,
                "volume_share", number(sh[2]), "datasets_with_size",
                (json_int_t)g->nsizes, "datasets_with_volume", (json_int_t)g->nvolumes,
                "median_size_px", number(median(g->sizes, g->nsizes)), "max_size_px",
                number(max_of(g->sizes, g->nsizes)), "median_volume_gb",
                number(median(g->volumes, g->nvolumes)), "max_volume_gb",
                number(max_of(g->volumes, g->nvolumes))));
    }
    for (i = 0; i < EK_FAIR_NFIELDS; i++) {
        json_object_set_new(fair, ek_fair_fields[i],
                            number(share((double)s.fair_known[i], (double)s.datasets)));
    }
    *out = json_pack("{s:s, s:b, s:I, s:I, s:I, s:f, s:f, s:o, s:{s:o, s:o}}", "by",
                     by_names[by], "partition", per_combination(by), "datasets",
                     (json_int_t)s.datasets, "with_value", (json_int_t)s.with_value,
                     "shares_of", (json_int_t)s.counted, "size_px", s.size_total,
                     "volume_gb", s.volume_total, "groups", groups, "fair", "fields",
                     fair, "mean_score", number(share(s.fair_sum, (double)s.datasets)));
    stats_free(&s);
    return *out == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
}

/* V as a percentage for the table ("" when unknown). */
static void percent(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "-");
    } else {
        snprintf(buf, size, "%.2f%%", v * 100);
    }
}

/* V with an SI suffix, "-" when unknown. */
static void si(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "-");
    } else {
        ek_format_si(v, buf, size);
    }
}

/* The widest group label of S (at least that of the heading, at most 48). */
static int label_width(const stats *s)
{
    size_t w = strlen(by_names[s->by]), i;

    for (i = 0; i < s->ngroups; i++) {
        size_t n = strlen(label(&s->groups[i]));

        w = n > w ? n : w;
    }
    return w < 48 ? (int)w : 48;
}

static void stats_text(ek_strbuf *b, const stats *s)
{
    int w = label_width(s);
    size_t i;
    int k;

    if (per_combination(s->by)) {
        const char *field = ek_fields[by_fields[s->by]].name;

        ek_strbuf_printf(
            b,
            "%zu datasets, each counted once under the combination of its "
            "%ss (%zu without a %s under (unknown)); shares are of all %zu "
            "and add up to 100%%\n\n",
            s->datasets, field, s->datasets - s->with_value, field, s->counted);
    } else {
        ek_strbuf_printf(
            b,
            "%zu datasets, %zu with a %s (a dataset with several counts in "
            "each; shares are of those %zu)\n\n",
            s->datasets, s->with_value, by_names[s->by], s->counted);
    }
    ek_strbuf_printf(b, "%-*s %8s %7s %9s %7s %9s %7s %9s %9s %9s %9s\n", w,
                     by_names[s->by], "datasets", "share", "size px", "share",
                     "volume GB", "share", "median px", "max px", "median GB",
                     "max GB");
    for (i = 0; i < s->ngroups; i++) {
        const group *g = &s->groups[i];
        const char *name = label(g);
        double sh[3];
        char c[8][32];

        group_shares(s, g, sh);
        percent(c[0], sizeof c[0], sh[0]);
        si(c[1], sizeof c[1], g->nsizes > 0 ? g->size_sum : NAN);
        percent(c[2], sizeof c[2], sh[1]);
        si(c[3], sizeof c[3], g->nvolumes > 0 ? g->volume_sum : NAN);
        percent(c[4], sizeof c[4], sh[2]);
        si(c[5], sizeof c[5], median(g->sizes, g->nsizes));
        si(c[6], sizeof c[6], max_of(g->sizes, g->nsizes));
        si(c[7], sizeof c[7], median(g->volumes, g->nvolumes));
        /* A label cut to the column shows that with "~". */
        if ((int)strlen(name) > w) {
            ek_strbuf_printf(b, "%.*s~", w - 1, name);
        } else {
            ek_strbuf_printf(b, "%-*s", w, name);
        }
        ek_strbuf_printf(b, " %8zu %7s %9s %7s %9s %7s %9s %9s %9s", g->count, c[0],
                         c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        si(c[0], sizeof c[0], max_of(g->volumes, g->nvolumes));
        ek_strbuf_printf(b, " %9s\n", c[0]);
    }
    ek_strbuf_printf(b, "\nFAIR completeness of %zu datasets (mean score %.0f%%)\n",
                     s->datasets, share(s->fair_sum, (double)s->datasets) * 100);
    for (k = 0; k < EK_FAIR_NFIELDS; k++) {
        ek_strbuf_printf(b, "  %-11s %5.1f%%\n", ek_fair_fields[k],
                         share((double)s->fair_known[k], (double)s->datasets) * 100);
    }
}

/* A CSV number cell: empty when unknown. */
static void csv_number(ek_strbuf *b, double v)
{
    char buf[40] = "";

    if (!isnan(v)) {
        ek_format_real(v, buf, sizeof buf);
    }
    ek_strbuf_printf(b, ",%s", buf);
}

static void stats_csv(ek_strbuf *b, const stats *s)
{
    size_t i;

    ek_strbuf_printf(b,
                     "%s,datasets,share,size_px,size_share,volume_gb,volume_share,"
                     "median_size_px,max_size_px,median_volume_gb,max_volume_gb\r\n",
                     by_names[s->by]);
    for (i = 0; i < s->ngroups; i++) {
        const group *g = &s->groups[i];
        double sh[3];

        group_shares(s, g, sh);
        ek_csv_field(b, g->value); /* empty: the datasets without a value */
        ek_strbuf_printf(b, ",%zu", g->count);
        csv_number(b, sh[0]);
        csv_number(b, g->size_sum);
        csv_number(b, sh[1]);
        csv_number(b, g->volume_sum);
        csv_number(b, sh[2]);
        csv_number(b, median(g->sizes, g->nsizes));
        csv_number(b, max_of(g->sizes, g->nsizes));
        csv_number(b, median(g->volumes, g->nvolumes));
        csv_number(b, max_of(g->volumes, g->nvolumes));
        ek_strbuf_puts(b, "\r\n");
    }
}

int eodkit_catalog_stats(eodkit_ctx *ctx, eodkit_catalog *cat, const char *by,
                         eodkit_format format, char **out)
{
    ek_by b_by = EK_BY_YEAR;
    ek_strbuf b;
    json_t *j = NULL;
    stats s;
    int rc;

    *out = NULL;
    rc = ek_by_parse(ctx, by, &b_by);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (format == EODKIT_FORMAT_JSON) {
        rc = ek_stats_json(ctx, cat, b_by, &j);
        if (rc == EODKIT_OK) {
            *out = json_dumps(j, JSON_INDENT(2));
            rc = *out == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                              : EODKIT_OK;
        }
        json_decref(j);
        return rc;
    }
    rc = compute(ctx, cat, b_by, &s);
    if (rc != EODKIT_OK) {
        return rc;
    }
    ek_strbuf_init(&b, ctx);
    if (format == EODKIT_FORMAT_CSV) {
        stats_csv(&b, &s);
    } else {
        stats_text(&b, &s);
    }
    stats_free(&s);
    return ek_strbuf_detach(&b, out);
}

/* Bars of the shares of datasets, size and volume per group of S (at most
   the 30 largest groups). */
static int groups_chart(eodkit_ctx *ctx, const stats *s, ek_strbuf *b)
{
    size_t n = s->ngroups < 30 ? s->ngroups : 30, i;
    const char **labels = ek_calloc(ctx, n, sizeof *labels);
    double *v = ek_calloc(ctx, 3 * n, sizeof *v);
    char title[128];
    int rc = labels == NULL || v == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        double sh[3];

        group_shares(s, &s->groups[i], sh);
        labels[i] = label(&s->groups[i]);
        v[i] = 100 * sh[0];
        v[n + i] = 100 * sh[1];
        v[2 * n + i] = 100 * sh[2];
    }
    if (rc == EODKIT_OK) {
        ek_series series[3] = {
            {"datasets", v}, {"size (pixels)", v + n}, {"volume (GB)", v + 2 * n}};

        if (per_combination(s->by)) {
            snprintf(title, sizeof title, "Share per %s (each of %zu datasets once)",
                     by_names[s->by], s->counted);
        } else {
            snprintf(title, sizeof title, "Share per %s (%zu datasets with a %s)",
                     by_names[s->by], s->with_value, by_names[s->by]);
        }
        ek_svg_bars(b, title, "%", labels, n, series, 3);
    }
    free(labels);
    free(v);
    return rc;
}

/* Lines of the median and maximum size (VOLUME 0) or volume per year. */
static int growth_chart(eodkit_ctx *ctx, const stats *s, int volume, ek_strbuf *b)
{
    size_t n = s->ngroups, i;
    double *v = ek_calloc(ctx, 3 * n, sizeof *v);

    if (v == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        const group *g = &s->groups[i];

        v[i] = atof(g->value);
        v[n + i] =
            volume ? median(g->volumes, g->nvolumes) : median(g->sizes, g->nsizes);
        v[2 * n + i] =
            volume ? max_of(g->volumes, g->nvolumes) : max_of(g->sizes, g->nsizes);
    }
    {
        ek_series series[2] = {{"median", v + n}, {"maximum", v + 2 * n}};

        ek_svg_lines(b,
                     volume ? "Dataset volume per year (GB, log scale)"
                            : "Dataset size per year (pixels, log scale)",
                     volume ? " GB" : " px", v, n, series, 2);
    }
    free(v);
    return EODKIT_OK;
}

static int fair_chart(const stats *s, ek_strbuf *b)
{
    double v[EK_FAIR_NFIELDS];
    ek_series series = {"known", v};
    char title[128];
    int k;

    for (k = 0; k < EK_FAIR_NFIELDS; k++) {
        v[k] = 100 * share((double)s->fair_known[k], (double)s->datasets);
    }
    snprintf(title, sizeof title, "FAIR completeness per field (%zu datasets)",
             s->datasets);
    ek_svg_bars(b, title, "%", ek_fair_fields, EK_FAIR_NFIELDS, &series, 1);
    return EODKIT_OK;
}

static const char *const chart_names[EK_NCHARTS] = {"groups", "growth-size",
                                                    "growth-volume", "fair"};

int ek_chart_parse(eodkit_ctx *ctx, const char *name, ek_chart *out)
{
    ek_strbuf choices;
    int i, rc;

    for (i = 0; i < EK_NCHARTS; i++) {
        if (strcmp(name, chart_names[i]) == 0) {
            *out = (ek_chart)i;
            return EODKIT_OK;
        }
    }
    ek_strbuf_init(&choices, ctx);
    for (i = 0; i < EK_NCHARTS; i++) {
        ek_strbuf_printf(&choices, "%s%s", i > 0 ? ", " : "", chart_names[i]);
    }
    rc =
        choices.status != EODKIT_OK
            ? choices.status
            : ek_error(ctx, EODKIT_ERR_USAGE, "no chart '%s' (%s)", name, choices.data);
    ek_strbuf_free(&choices);
    return rc;
}

/* Nonzero for the charts drawn from the statistics grouped by year. */
static int per_year(ek_chart chart)
{
    return chart == EK_CHART_GROWTH_SIZE || chart == EK_CHART_GROWTH_VOLUME;
}

/* CHART drawn from S (grouped by year for the growth charts) as an SVG
   document in *SVG (newly allocated). */
static int render_chart(eodkit_ctx *ctx, const stats *s, ek_chart chart, char **svg)
{
    ek_strbuf b;
    int rc;

    ek_strbuf_init(&b, ctx);
    switch (chart) {
    case EK_CHART_GROUPS:
        rc = groups_chart(ctx, s, &b);
        break;
    case EK_CHART_GROWTH_SIZE:
    case EK_CHART_GROWTH_VOLUME:
        rc = growth_chart(ctx, s, chart == EK_CHART_GROWTH_VOLUME, &b);
        break;
    default: /* EK_CHART_FAIR */
        rc = fair_chart(s, &b);
        break;
    }
    if (rc != EODKIT_OK) {
        ek_strbuf_free(&b);
        return rc;
    }
    return ek_strbuf_detach(&b, svg);
}

int ek_stats_chart(eodkit_ctx *ctx, eodkit_catalog *cat, ek_by by, ek_chart chart,
                   char **svg)
{
    stats s;
    int rc;

    *svg = NULL;
    rc = compute(ctx, cat, per_year(chart) ? EK_BY_YEAR : by, &s);
    if (rc != EODKIT_OK) {
        return rc;
    }
    rc = render_chart(ctx, &s, chart, svg);
    stats_free(&s);
    return rc;
}

int eodkit_catalog_charts(eodkit_ctx *ctx, eodkit_catalog *cat, const char *by,
                          const char *dir)
{
    ek_by b_by = EK_BY_YEAR;
    stats grouped = {0}, years = {0};
    const stats *yearly = &grouped;
    int i, rc;

    rc = ek_by_parse(ctx, by, &b_by);
    if (rc == EODKIT_OK) {
        rc = ek_fs_mkdirs(ctx, dir);
    }
    /* One scan per grouping: by BY, and by year for the growth charts. */
    if (rc == EODKIT_OK) {
        rc = compute(ctx, cat, b_by, &grouped);
    }
    if (rc == EODKIT_OK && b_by != EK_BY_YEAR) {
        rc = compute(ctx, cat, EK_BY_YEAR, &years);
        yearly = &years;
    }
    for (i = 0; rc == EODKIT_OK && i < EK_NCHARTS; i++) {
        char *svg = NULL, *path = NULL, file[64];

        /* The groups chart is named after its grouping ("task.svg"). */
        snprintf(file, sizeof file, "%s.svg",
                 i == EK_CHART_GROUPS ? by : chart_names[i]);
        rc = render_chart(ctx, per_year((ek_chart)i) ? yearly : &grouped, (ek_chart)i,
                          &svg);
        if (rc == EODKIT_OK) {
            path = ek_path_join(ctx, dir, file);
            rc = path == NULL ? EODKIT_ERR_NOMEM
                              : ek_fs_write_file(ctx, path, svg, strlen(svg));
        }
        free(svg);
        free(path);
    }
    stats_free(&grouped);
    stats_free(&years);
    return rc;
}
