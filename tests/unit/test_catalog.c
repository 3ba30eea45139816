/*
** Unit tests of the catalog internals: canonical values (numbers, lists,
** bounding boxes, text), the RFC 4180 reader behind CSV import (quoting,
** line numbers, fatal errors that import nothing), the CSV writer, opening
** files that are not catalogs, the SVG writer's escaping, statistics per
** combination and how --task matches.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog/ek_catalog.h"

/* A fresh, empty catalog in a temporary file. */
typedef struct fixture {
    char path[64];
    eodkit_ctx *ctx;
    eodkit_catalog *cat;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    int fd;

    snprintf(f->path, sizeof f->path, "/tmp/ek_catalog_XXXXXX");
    fd = mkstemp(f->path);
    close(fd);
    unlink(f->path);
    f->ctx = eodkit_ctx_new();
    assert_int_equal(
        eodkit_catalog_open(f->ctx, f->path, EODKIT_CATALOG_WRITE, 1, &f->cat),
        EODKIT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    eodkit_catalog_close(f->cat);
    eodkit_ctx_free(f->ctx);
    unlink(f->path);
    free(f);
    return 0;
}

/* Set field F of a fresh record from TEXT; return the status and the
   canonical value in OUT. */
static int canon(int f, const char *text, char *out, size_t size)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_record r = {0};
    int rc = ek_record_set(ctx, &r, f, text);

    snprintf(out, size, "%s", r.value[f] != NULL ? r.value[f] : "(null)");
    ek_record_clear(&r);
    eodkit_ctx_free(ctx);
    return rc;
}

static void values_are_canonical(void **state)
{
    char v[256];

    (void)state;
    assert_int_equal(canon(EK_F_VOLUME, "2440.0", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "2440");
    assert_int_equal(canon(EK_F_VOLUME, "121000", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "121000");
    assert_int_equal(canon(EK_F_VOLUME, " 4.50 ", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "4.5");
    assert_int_equal(canon(EK_F_VOLUME, "1e3", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "1000");
    assert_int_equal(canon(EK_F_VOLUME, "0.000015", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "0.000015");
    assert_int_equal(canon(EK_F_SIZE, "1084000000000", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "1084000000000");
    assert_int_equal(canon(EK_F_YEAR, "", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "(null)");
    assert_int_equal(canon(EK_F_TASK, " a ; b;;A; c ", v, sizeof v), EODKIT_OK);
    assert_string_equal(v, "a;b;c");
    assert_int_equal(canon(EK_F_BBOX, "-84.5, 33.6, -84.4, 33.7", v, sizeof v),
                     EODKIT_OK);
    assert_string_equal(v, "-84.5,33.6,-84.4,33.7");
    assert_int_equal(canon(EK_F_DETAIL, "{\"b\": 1, \"a\": [2]}", v, sizeof v),
                     EODKIT_OK);
    assert_string_equal(v, "{\"a\":[2],\"b\":1}");
}

static void bad_values_are_refused(void **state)
{
    char v[64];

    (void)state;
    assert_int_equal(canon(EK_F_YEAR, "20x0", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_YEAR, "1850", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_YEAR, "2019.5", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_NUM_IMAGES, "-3", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_VOLUME, "0x10", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_VOLUME, "nan", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_VOLUME, "inf", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_BBOX, "1,2,3", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_BBOX, "0,50,1,40", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_BBOX, "0,0,200,1", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_NAME, "bad \xc3\x28 utf-8", v, sizeof v),
                     EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_NAME, "two\nlines", v, sizeof v), EODKIT_ERR_INPUT);
    assert_int_equal(canon(EK_F_DETAIL, "[1, 2]", v, sizeof v), EODKIT_ERR_INPUT);
    /* Notes may span lines (quoted CSV fields). */
    assert_int_equal(canon(EK_F_NOTES, "two\nlines", v, sizeof v), EODKIT_OK);
}

/* Import CSV TEXT into F's catalog; return the status and the report. */
static int import_text(fixture *f, const char *text, eodkit_catalog_report **report)
{
    ek_import imp;
    int rc = ek_import_begin(f->ctx, f->cat, 0, &imp);

    assert_int_equal(rc, EODKIT_OK);
    rc = ek_csv_import(f->ctx, &imp, "t.csv", text, strlen(text));
    return ek_import_end(f->ctx, &imp, rc, report);
}

static long long count(fixture *f)
{
    long long *pks = NULL;
    size_t n = 0;

    assert_int_equal(ek_catalog_all(f->ctx, f->cat, &pks, &n), EODKIT_OK);
    free(pks);
    return (long long)n;
}

static void csv_quoting_and_lines(void **state)
{
    fixture *f = *state;
    eodkit_catalog_report *report = NULL;
    ek_record r = {0};
    long long pk = 0;
    /* A BOM, CRLF, a quoted comma, doubled quotes, a line break inside a
       quoted field, a blank line and a bad row after them. */
    const char *text = "\xef\xbb\xbfname,notes,year\r\n"
                       "\"A, with comma\",\"say \"\"hi\"\"\",2001\r\n"
                       "B,\"first\nsecond\",2002\r\n"
                       "\r\n"
                       "C,,20x3\r\n"
                       "D,only two\r\n"
                       "E,,2005";

    assert_int_equal(import_text(f, text, &report), EODKIT_OK);
    assert_int_equal(report->added, 3);
    assert_int_equal(report->nrejected, 2);
    /* Line numbers count the line break inside B's notes and the blank line. */
    assert_non_null(strstr(report->rejected[0], "t.csv:6: bad number '20x3' in year"));
    assert_non_null(
        strstr(report->rejected[1], "t.csv:7: 2 fields, but the header has 3"));
    eodkit_catalog_report_free(report);
    assert_int_equal(ek_catalog_lookup(f->ctx, f->cat, "a, WITH comma", &pk),
                     EODKIT_OK);
    assert_true(pk != 0);
    assert_int_equal(ek_catalog_load(f->ctx, f->cat, pk, &r), EODKIT_OK);
    assert_string_equal(r.value[EK_F_NOTES], "say \"hi\"");
    ek_record_clear(&r);
    assert_int_equal(ek_catalog_lookup(f->ctx, f->cat, "B", &pk), EODKIT_OK);
    assert_int_equal(ek_catalog_load(f->ctx, f->cat, pk, &r), EODKIT_OK);
    assert_string_equal(r.value[EK_F_NOTES], "first\nsecond");
    ek_record_clear(&r);
    assert_int_equal(count(f), 3);

    /* The same text again changes nothing. */
    assert_int_equal(import_text(f, text, &report), EODKIT_OK);
    assert_int_equal(report->added, 0);
    assert_int_equal(report->updated, 0);
    assert_int_equal(report->unchanged, 3);
    eodkit_catalog_report_free(report);
}

static void broken_files_import_nothing(void **state)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"name,year\nA,2001\n\"B,2002\nC,2003\n", "t.csv:3: broken quoting"},
        {"name,year\nA,2001\n\"B\"x,2002\n", "t.csv:3: broken quoting"},
        {"name,year\nA,2001\nB\"q\",2002\n", "t.csv:3: broken quoting"},
        {"name,colour\nA,red\n", "t.csv:1: unknown column 'colour'"},
        {"name,year,name\nA,1,A\n", "column 'name' appears twice"},
        {"year\n2001\n", "no 'name' column"},
        {"", "empty file"},
    };
    fixture *f = *state;
    eodkit_catalog_report *report = NULL;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(import_text(f, cases[i].text, &report), EODKIT_ERR_INPUT);
        assert_null(report);
        if (strstr(eodkit_ctx_message(f->ctx), cases[i].message) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, eodkit_ctx_message(f->ctx),
                     cases[i].message);
        }
        assert_int_equal(count(f), 0);
    }
}

static void csv_writer_quotes_minimally(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_strbuf b;
    char *text = NULL;

    (void)state;
    ek_strbuf_init(&b, ctx);
    ek_csv_field(&b, "plain");
    ek_strbuf_puts(&b, "|");
    ek_csv_field(&b, "a,b");
    ek_strbuf_puts(&b, "|");
    ek_csv_field(&b, "say \"hi\"");
    ek_strbuf_puts(&b, "|");
    ek_csv_field(&b, "two\nlines");
    assert_int_equal(ek_strbuf_detach(&b, &text), EODKIT_OK);
    assert_string_equal(text, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    free(text);
    eodkit_ctx_free(ctx);
}

static void files_that_are_not_catalogs(void **state)
{
    char path[64];
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_catalog *cat = NULL;
    sqlite3 *db = NULL;
    FILE *fp;
    int fd;

    (void)state;
    snprintf(path, sizeof path, "/tmp/ek_catalog_XXXXXX");
    fd = mkstemp(path);
    close(fd);
    fp = fopen(path, "w");
    fputs("just some text, not a database at all, long enough for a header....", fp);
    fclose(fp);
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_WRITE, 0, &cat),
                     EODKIT_ERR_INPUT);
    assert_non_null(strstr(eodkit_ctx_message(ctx), "not a SQLite database"));
    assert_null(cat);

    /* Some other SQLite database: left alone. */
    unlink(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_WRITE, 0, &cat),
                     EODKIT_ERR_INPUT);
    assert_non_null(strstr(eodkit_ctx_message(ctx), "not an eodkit catalog"));

    /* A catalog from a newer eodkit. */
    unlink(path);
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_WRITE, 1, &cat),
                     EODKIT_OK);
    eodkit_catalog_close(cat);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    cat = NULL;
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_READ, 0, &cat),
                     EODKIT_ERR_INPUT);
    assert_non_null(strstr(eodkit_ctx_message(ctx), "newer than this eodkit"));

    /* Read-only opening of a missing file creates nothing. */
    unlink(path);
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_READ_ONLY, 0, &cat),
                     EODKIT_ERR_IO);
    assert_int_equal(access(path, F_OK), -1);
    eodkit_ctx_free(ctx);
}

static void new_catalog_holds_the_shipped_datasets(void **state)
{
    char path[64];
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_catalog *cat = NULL;
    long long *pks = NULL;
    size_t n = 0;
    int fd;

    (void)state;
    snprintf(path, sizeof path, "/tmp/ek_catalog_XXXXXX");
    fd = mkstemp(path);
    close(fd);
    unlink(path);
    assert_int_equal(eodkit_catalog_open(ctx, path, EODKIT_CATALOG_READ, 0, &cat),
                     EODKIT_OK);
    assert_int_equal(ek_catalog_all(ctx, cat, &pks, &n), EODKIT_OK);
    assert_int_equal(n, 285);
    free(pks);
    eodkit_catalog_close(cat);
    unlink(path);
    eodkit_ctx_free(ctx);
}

static void svg_escapes_labels(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    const char *labels[2] = {"<script>", "a & b"};
    double values[2] = {1, 2};
    ek_series s = {"share \"x\"", values};
    ek_strbuf b;
    char *svg = NULL;

    (void)state;
    ek_strbuf_init(&b, ctx);
    ek_svg_bars(&b, "T<itle>", "%", labels, 2, &s, 1);
    assert_int_equal(ek_strbuf_detach(&b, &svg), EODKIT_OK);
    assert_null(strstr(svg, "<script>"));
    assert_non_null(strstr(svg, "&lt;script&gt;"));
    assert_non_null(strstr(svg, "a &amp; b"));
    assert_non_null(strstr(svg, "T&lt;itle&gt;"));
    assert_non_null(strstr(svg, "share &quot;x&quot;"));
    assert_int_equal(strncmp(svg, "<svg ", 5), 0);
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);
    eodkit_ctx_free(ctx);
}

/* The "value" and "datasets" of group I of stats J, and its share of KEY. */
static const char *group_value(json_t *j, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(j, "groups"), i), "value"));
}

static double group_number(json_t *j, size_t i, const char *key)
{
    return json_number_value(
        json_object_get(json_array_get(json_object_get(j, "groups"), i), key));
}

/* The number of datasets search --task TASK finds in F's catalog. */
static json_int_t found_by_task(fixture *f, const char *task)
{
    eodkit_catalog_query q;
    json_t *j = NULL;
    json_int_t total;

    memset(&q, 0, sizeof q);
    q.task = task;
    assert_int_equal(ek_search_json(f->ctx, f->cat, &q, &j), EODKIT_OK);
    total = json_integer_value(json_object_get(j, "total"));
    json_decref(j);
    return total;
}

/* Per combination, a dataset is in one group whatever the order and case
   of its values, those without a value in the null group last, and each
   share column adds up to 1. */
static void combinations_count_each_dataset_once(void **state)
{
    fixture *f = *state;
    eodkit_catalog_report *report = NULL;
    json_t *j = NULL;
    double sum = 0;
    size_t i;

    assert_int_equal(import_text(f,
                                 "name,task,size_measure_px\n"
                                 "A,Object Detection;classification,100\n"
                                 "B,CLASSIFICATION;object detection,300\n"
                                 "C,,600\n"
                                 "D,super-resolution,\n"
                                 "E,50%_off,\n",
                                 &report),
                     EODKIT_OK);
    eodkit_catalog_report_free(report);
    assert_int_equal(ek_stats_json(f->ctx, f->cat, EK_BY_TASK_COMBINATION, &j),
                     EODKIT_OK);
    assert_true(json_is_true(json_object_get(j, "partition")));
    assert_int_equal(json_array_size(json_object_get(j, "groups")), 4);
    assert_string_equal(group_value(j, 0), "classification + Object Detection");
    assert_int_equal(group_number(j, 0, "datasets"), 2);
    assert_true(group_number(j, 0, "size_share") == 0.4);
    assert_string_equal(group_value(j, 1), "50%_off");
    assert_string_equal(group_value(j, 2), "super-resolution");
    assert_null(group_value(j, 3));
    assert_true(group_number(j, 3, "size_share") == 0.6);
    for (i = 0; i < 4; i++) {
        sum += group_number(j, i, "share");
    }
    assert_true(sum > 1 - 1e-12 && sum < 1 + 1e-12);
    json_decref(j);

    /* Per task, A and B count under both of their tasks. */
    assert_int_equal(ek_stats_json(f->ctx, f->cat, EK_BY_TASK, &j), EODKIT_OK);
    assert_true(json_is_false(json_object_get(j, "partition")));
    assert_int_equal(group_number(j, 0, "datasets"), 2);
    assert_int_equal(group_number(j, 1, "datasets"), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "shares_of")), 4);
    json_decref(j);
}

/* --task: a synonym, else the start of a task or of one of its words
   (split at spaces and hyphens); % and _ are plain characters. */
static void task_synonyms_and_word_prefixes(void **state)
{
    fixture *f = *state;
    eodkit_catalog_report *report = NULL;

    assert_int_equal(import_text(f,
                                 "name,task\n"
                                 "A,object detection\n"
                                 "B,change detection\n"
                                 "C,super-resolution\n"
                                 "D,50%_off\n"
                                 "E,semantic segmentation;instance segmentation\n",
                                 &report),
                     EODKIT_OK);
    eodkit_catalog_report_free(report);
    assert_int_equal(found_by_task(f, "detection"), 1); /* the synonym: object */
    assert_int_equal(found_by_task(f, "od"), 1);
    assert_int_equal(found_by_task(f, "det"), 2); /* a word prefix: both */
    assert_int_equal(found_by_task(f, "CHANGE"), 1);
    assert_int_equal(found_by_task(f, "res"), 1);
    assert_int_equal(found_by_task(f, "super res"), 1);
    assert_int_equal(found_by_task(f, "segmentation"), 1);
    assert_int_equal(found_by_task(f, "50%"), 1);
    assert_int_equal(found_by_task(f, "%"), 0);
    assert_int_equal(found_by_task(f, "_"), 0);
    assert_int_equal(found_by_task(f, "off"), 0);
    assert_int_equal(found_by_task(f, "etection"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_are_canonical),
        cmocka_unit_test(bad_values_are_refused),
        cmocka_unit_test_setup_teardown(csv_quoting_and_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_files_import_nothing, setup, teardown),
        cmocka_unit_test(csv_writer_quotes_minimally),
        cmocka_unit_test(files_that_are_not_catalogs),
        cmocka_unit_test(new_catalog_holds_the_shipped_datasets),
        cmocka_unit_test(svg_escapes_labels),
        cmocka_unit_test_setup_teardown(combinations_count_each_dataset_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(task_synonyms_and_word_prefixes, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
