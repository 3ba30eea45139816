/*
** Unit tests of the recipe parser: defaults, path resolution, and that every
** mistake is reported at the right line:column with a helpful message.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "recipe/ek_recipe.h"

static char dir[] = "/tmp/eodkit-recipe-XXXXXX";

static const char *write_recipe(const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/recipe.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load TEXT; expect status CODE and (when CODE != 0) a message containing WANT. */
static eodkit_recipe *load(const char *text, int code, const char *want)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *r = NULL;
    int rc = eodkit_recipe_load(ctx, write_recipe(text), &r);

    if (rc != code || (want != NULL && strstr(eodkit_ctx_message(ctx), want) == NULL)) {
        fail_msg("status %d, message: %s", rc, eodkit_ctx_message(ctx));
    }
    eodkit_ctx_free(ctx);
    return r;
}

static const char *minimal = "dataset: {name: t}\n"
                             "grid: {chip_size: 64}\n"
                             "modalities:\n"
                             "  - {name: optical, files: [a.tif]}\n";

static void defaults_are_filled(void **state)
{
    eodkit_recipe *r = load(minimal, EODKIT_OK, NULL);

    (void)state;
    assert_string_equal(r->name, "t");
    assert_string_equal(r->title, "t");
    assert_string_equal(r->license, "proprietary");
    assert_string_equal(r->like, "optical"); /* the first modality's grid */
    assert_int_equal(r->chip_w, 64);
    assert_int_equal(r->stride_y, 64);
    assert_true(r->error_threshold == 0);
    assert_true(r->max_nodata == 1.0);
    assert_int_equal(r->split.method, EK_SPLIT_RANDOM);
    assert_int_equal(r->split.nsplits, 3);
    assert_string_equal(r->split.names[1], "val");
    assert_int_equal(r->shard_bytes, 1LL << 30);
    assert_string_equal(r->modalities[0].kind, "other");
    assert_false(r->labels.present);
    eodkit_recipe_free(r);
}

static void relative_paths_resolve_against_the_recipe(void **state)
{
    eodkit_recipe *r = load(minimal, EODKIT_OK, NULL);
    char want[256];

    (void)state;
    snprintf(want, sizeof want, "%s/a.tif", dir);
    assert_string_equal(r->modalities[0].patterns[0], want);
    eodkit_recipe_free(r);
}

static void pairs_are_height_width(void **state)
{
    eodkit_recipe *r =
        load("dataset: {name: t}\n"
             "grid: {crs: EPSG:4326, resolution: [0.1, 0.2], chip_size: [32, 48], "
             "stride: [16, 24]}\n"
             "modalities: [{name: m, files: x.tif}]\n",
             EODKIT_OK, NULL);

    (void)state;
    assert_int_equal(r->chip_h, 32);
    assert_int_equal(r->chip_w, 48);
    assert_int_equal(r->stride_y, 16);
    assert_int_equal(r->stride_x, 24);
    assert_true(r->res_x == 0.1 && r->res_y == 0.2);
    assert_null(r->like);
    eodkit_recipe_free(r);
}

static void classes_and_shard_sizes(void **state)
{
    eodkit_recipe *r =
        load("dataset: {name: t}\n"
             "grid: {chip_size: 8}\n"
             "modalities: [{name: m, files: x.tif}]\n"
             "labels: {source: l.shp, attribute: A, classes: [forest, water],\n"
             "         class_names: {2: open water}}\n"
             "output: {shard_size: 512MiB}\n",
             EODKIT_OK, NULL);

    (void)state;
    assert_int_equal(r->labels.nclasses, 2);
    assert_int_equal(r->labels.classes[1].id, 2);
    assert_string_equal(r->labels.classes[1].name, "open water");
    assert_null(r->labels.classes[0].name);
    assert_int_equal(r->shard_bytes, 512LL << 20);
    eodkit_recipe_free(r);
}

static void mistakes_point_at_line_and_column(void **state)
{
    (void)state;
    load(
        "dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_sise: 8}\n",
        EODKIT_ERR_INPUT,
        "recipe.yaml:3:8: unknown key 'chip_sise' in grid (did you mean 'chip_size'?)");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid:\n  chip_size: "
         "-3\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:14: grid.chip_size: -3 is out of range [1, 16384]");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {method: blocks}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:8: split: 'method: blocks' needs 'block_size'");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {method: random, buffer: 1}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:33: split.buffer: only used with 'method: blocks'");
    load(
        "dataset: {name: t}\nmodalities: [{name: m, files: x, resampling: bilinaer}]\n",
        EODKIT_ERR_INPUT,
        "recipe.yaml:2:46: modalities[].resampling: unknown value 'bilinaer' (did you "
        "mean "
        "'bilinear'?)");
    load("dataset: {name: t}\ndataset: {name: u}\n", EODKIT_ERR_INPUT,
         "recipe.yaml:2:1: duplicate key 'dataset' in the recipe");
    load("dataset: {name: 'a b'}\n", EODKIT_ERR_INPUT,
         "dataset.name: 'a b' may only hold letters");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}, {name: m, files: y}]\n",
         EODKIT_ERR_INPUT, "recipe.yaml:2:42: modalities[].name: 'm' is used twice");
    load("dataset: {name: t}\ngrid: {crs: EPSG:4326, chip_size: 8}\n"
         "modalities: [{name: m, files: x}]\n",
         EODKIT_ERR_INPUT, "grid: 'resolution' is required with 'crs: EPSG:4326'");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\n"
         "grid: {crs: {like: radar}, chip_size: 8}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:3:13: grid.crs: 'like: radar' names no modality");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "output: {format: zarr}\n",
         EODKIT_ERR_INPUT, "output.format: 'zarr' is not supported yet; use npy");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "output: {shard_size: 3 parsecs}\n",
         EODKIT_ERR_INPUT, "output.shard_size: unknown unit in '3 parsecs'");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\n"
         "grid: {crs: EPSG:32724x, resolution: 30, chip_size: 8}\n",
         EODKIT_ERR_INPUT, "recipe.yaml:3:13: grid.crs: 'EPSG:32724x' is not an EPSG code");
    load("", EODKIT_ERR_INPUT, "the recipe is empty");
    load("dataset: [1, 2\n", EODKIT_ERR_INPUT, "YAML syntax error");
}

/* Write SIZE bytes of TEXT (which may hold NUL or non-UTF-8 bytes) as the
   recipe and expect a refusal whose message contains WANT. */
static void refuse_bytes(const char *text, size_t size, const char *want)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *r = NULL;
    const char *path = write_recipe("");
    FILE *f = fopen(path, "wb");
    int rc;

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, size, f), size);
    fclose(f);
    rc = eodkit_recipe_load(ctx, path, &r);
    if (rc != EODKIT_ERR_INPUT || strstr(eodkit_ctx_message(ctx), want) == NULL) {
        fail_msg("status %d, message: %s", rc, eodkit_ctx_message(ctx));
    }
    assert_null(r);
    eodkit_ctx_free(ctx);
}

/* A recipe of TEXT padded with a comment to SIZE bytes (newly allocated). */
static char *padded(const char *text, size_t size)
{
    char *s = malloc(size + 1);

    assert_non_null(s);
    memset(s, 'x', size);
    memcpy(s, text, strlen(text));
    memcpy(s + strlen(text), "# ", 2);
    s[size - 1] = '\n';
    s[size] = '\0';
    return s;
}

static void size_and_nesting_limits(void **state)
{
    const char *head = "dataset: {name: t}\nmodalities: [{name: m, files: x}]\n"
                       "grid: {chip_size: 8}\n";
    char *big = padded(head, 1024 * 1024);
    char *deep = malloc(200001);
    size_t i, used;

    (void)state;
    /* exactly 1 MiB loads; one byte more is refused */
    eodkit_recipe_free(load(big, EODKIT_OK, NULL));
    free(big);
    big = padded(head, 1024 * 1024 + 1);
    load(big, EODKIT_ERR_INPUT, "recipe.yaml: the recipe is larger than 1 MiB");
    free(big);
    /* 200,000 nested '[' once kept libyaml busy for minutes */
    assert_non_null(deep);
    memset(deep, '[', 200000);
    deep[200000] = '\0';
    load(deep, EODKIT_ERR_INPUT, "recipe.yaml:1:33: nested more than 32 levels deep");
    /* block nesting: 33 mappings, the last one at line 33, column 33 */
    for (i = 0, used = 0; i < 33; i++) {
        used += (size_t)sprintf(deep + used, "%*sk%zu:%s\n", (int)i, "", i,
                                i == 32 ? " 1" : "");
    }
    load(deep, EODKIT_ERR_INPUT, "recipe.yaml:33:33: nested more than 32 levels deep");
    free(deep);
}

static void yaml_features_a_recipe_refuses(void **state)
{
    static const char latin1[] = "dataset: {name: t}\n# caf\xe9 au lait\n";
    static const char nul[] = "dataset: {name: t}\ngrid: {chip_size: 8\0}\n";

    (void)state;
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "---\ndataset: {name: u}\n",
         EODKIT_ERR_INPUT, "recipe.yaml:4:1: a second YAML document");
    /* a syntax error in a second document is found too */
    load("dataset: {name: t}\n...\n[\n", EODKIT_ERR_INPUT, "recipe.yaml:3:1: YAML syntax error");
    load("dataset: {name: \"t\\0u\"}\n", EODKIT_ERR_INPUT,
         "recipe.yaml:1:17: text holds a NUL character");
    load("dataset: {name: t}\nmodalities: [{name: m, files: \"a\\u0000b\"}]\n",
         EODKIT_ERR_INPUT, "recipe.yaml:2:31: text holds a NUL character");
    load("dataset: &d {name: t}\n", EODKIT_ERR_INPUT,
         "recipe.yaml:1:10: YAML anchors (&name) are not supported");
    load("dataset: {name: t, keywords: [*k]}\n", EODKIT_ERR_INPUT,
         "recipe.yaml:1:31: YAML aliases (*name) are not supported");
    /* bytes that are not text: the message points at them, not at 1:1 */
    refuse_bytes(latin1, sizeof latin1 - 1,
                 "recipe.yaml:2:7: invalid trailing UTF-8 octet (a recipe is UTF-8 text)");
    refuse_bytes(nul, sizeof nul - 1,
                 "recipe.yaml:2:20: control characters are not allowed");
}

static void names_that_would_collide(void **state)
{
    (void)state;
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {ratios: {train: 0.5, audit.html: 0.5}}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:30: split.ratios: a split named 'audit.html' would collide with "
         "the dataset's audit.html");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {method: time, periods: {train: 2010-01-01, Items: 2015-01-01}}\n",
         EODKIT_ERR_INPUT, "recipe.yaml:4:52: split.periods: a split named 'Items'");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {method: regions, block_size: 10, ratios: {train: 0.9, test: 0.1},\n"
         "        hold_out: {TEST: {continent: [Africa]}}}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:5:20: split.hold_out: 'test' and 'TEST' differ only in case");
    load("dataset: {name: t}\nmodalities: [{name: m, files: x}]\ngrid: {chip_size: 8}\n"
         "split: {ratios: {train: 0.5, Train: 0.5}}\n",
         EODKIT_ERR_INPUT, "recipe.yaml:4:30: split.ratios: 'train' and 'Train' differ");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\n"
         "modalities: [{name: dem, files: x}, {name: s2, files: y}, {name: DEM, files: z}]\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:3:66: modalities[].name: 'dem' and 'DEM' differ only in case");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: Labels, files: x}]\n",
         EODKIT_ERR_INPUT, "modalities[].name: 'Labels' is reserved for the labels");
}

static void band_names_must_be_distinct(void **state)
{
    (void)state;
    load("dataset: {name: t}\ngrid: {chip_size: 8}\n"
         "modalities: [{name: m, files: x, band_names: [red, nir, red]}]\n",
         EODKIT_ERR_INPUT, "recipe.yaml:3:57: modalities[].band_names: 'red' is used twice");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\n"
         "modalities: [{name: m, files: x, band_names: [red, '']}]\n",
         EODKIT_ERR_INPUT, "recipe.yaml:3:52: modalities[].band_names: a band name is empty");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\n"
         "modalities: [{name: m, band_files: [{name: B2, files: a}, {name: B2, files: b}]}]\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:3:66: modalities[].band_files[].name: 'B2' is used twice");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\n"
         "modalities: [{name: m, band_files: [{name: '', files: a}]}]\n",
         EODKIT_ERR_INPUT, "modalities[].band_files[].name: a band name is empty");
}

static void class_ids_must_stay_apart(void **state)
{
    size_t i, used;
    char *text = malloc(400000);

    (void)state;
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "labels: {source: l.shp, classes: {forest: 1, sea: 0}}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:51: labels.classes: 'sea' gets class id 0, the background id");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "labels: {source: l.shp, classes: [forest, sea], background: 2}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:43: labels.classes: 'sea' gets class id 2, the background id");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "labels: {source: l.tif, classes: {10: 1, 20: 255}, ignore_index: 255}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:46: labels.classes: '20' gets class id 255, the ignore index");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "labels: {source: l.shp, classes: [a, b], class_names: {1: x, 2: y, 1: z}}\n",
         EODKIT_ERR_INPUT, "recipe.yaml:4:68: labels.class_names: class id 1 is named twice");
    /* a list gives ids 1, 2, ...: more values than ids is refused */
    assert_non_null(text);
    used = (size_t)sprintf(text, "dataset: {name: t}\ngrid: {chip_size: 8}\n"
                                 "modalities: [{name: m, files: x}]\n"
                                 "labels: {source: l.shp, classes: [");
    for (i = 0; i <= 65535; i++) {
        used += (size_t)sprintf(text + used, "%zx,", i);
    }
    strcpy(text + used - 1, "]}\n");
    load(text, EODKIT_ERR_INPUT, "recipe.yaml:4:34: labels.classes: a list gives ids 1 to 65535");
    free(text);
}

/* The resolved recipe (recipe.yaml in a dataset) keeps the class names. */
static void resolved_recipe_keeps_class_names(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *r =
        load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
             "labels: {source: l.shp, classes: {a: 1, b: 2, c: 2}, class_names: {2: water}}\n",
             EODKIT_OK, NULL);
    eodkit_recipe *again = NULL;
    char resolved[256];

    (void)state;
    snprintf(resolved, sizeof resolved, "%s/resolved.yaml", dir);
    assert_int_equal(ek_recipe_write_resolved(ctx, r, resolved), EODKIT_OK);
    assert_int_equal(eodkit_recipe_load(ctx, resolved, &again), EODKIT_OK);
    assert_int_equal(again->labels.nclasses, 3);
    assert_null(again->labels.classes[0].name);
    assert_string_equal(again->labels.classes[1].name, "water");
    assert_string_equal(again->labels.classes[2].name, "water");
    remove(resolved);
    eodkit_recipe_free(again);
    eodkit_recipe_free(r);
    eodkit_ctx_free(ctx);
}

/* The keys of tasks change and regression and of scene-label tables. */
static void task_keys(void **state)
{
    static const struct {
        const char *labels; /* the labels mapping (and a time mapping) */
        const char *want;   /* NULL: accepted */
    } cases[] = {
        {"labels: {source: d.tif, task: regression, classes: {1: 1}}\n",
         "5:52: labels.classes: not used with 'task: regression' (a regression target "
         "holds values, not classes"},
        {"labels: {source: d.tif, task: regression, resampling: average, nodata: -9}\n",
         NULL},
        {"labels: {source: l.tif, task: segmentation, resampling: bilinear}\n",
         "labels.resampling: not used with 'task: segmentation'"},
        {"labels: {source: [a.tif, b.tif], task: segmentation}\n",
         "labels.source: expected one path; a list of two (before, after) is for "
         "'task: change'"},
        {"labels: {source: [a.tif, b.tif], task: change}\n",
         "'task: change' needs two acquisitions per chip"},
        {"labels: {source: [a.tif, b.tif], task: change, pair: [optical, optical]}\n",
         "labels.pair: 'optical' twice"},
        {"labels: {table: t.csv, task: segmentation}\n",
         "labels.table: not used with 'task: segmentation'"},
        {"labels: {table: t.csv, source: l.tif, task: multilabel, labels: x}\n",
         "give either 'source' (a label layer) or 'table'"},
        {"labels: {source: l.tif, task: multilabel, key: id}\n",
         "labels.key: only used with 'table'"},
        {"labels: {table: t.csv, task: multilabel}\n", "labels: missing required key 'labels'"},
        {"labels: {table: t.csv, task: multilabel, labels: x, mixed: vote}\n",
         "labels.mixed"},
        {"labels: {table: t.csv, task: classification, labels: x, scenes: radar}\n",
         "labels.scenes: 'radar' is not a modality of the recipe"},
        /* the class keys of detection and instance, and theirs only there */
        {"labels: {source: b.gpkg, task: detection, classes: {1: 1}, background: 0, "
         "min_class_share: 0, oriented: true}\n",
         NULL},
        {"labels: {source: b.gpkg, task: instance, class_names: {1: b}, classes: [1]}\n",
         NULL},
        {"labels: {table: t.csv, task: detection}\n",
         "labels.table: not used with 'task: detection'"},
        {"labels: {source: d.tif, task: regression, box_size: 4}\n",
         "labels.box_size: only for task detection or instance (the task is regression)"},
        {"labels: {source: [a.tif, b.tif], task: change, min_visibility: 0.3}\n",
         "labels.min_visibility: only for task detection or instance (the task is change)"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];

        snprintf(text, sizeof text, "%s%s", minimal, cases[i].labels);
        eodkit_recipe_free(load(text, cases[i].want == NULL ? EODKIT_OK : EODKIT_ERR_INPUT,
                                cases[i].want));
    }
}

/* time: {mode: pair}: two periods in order, stored as a stack of two. */
static void time_pairs(void **state)
{
    static const char *head = "dataset: {name: t}\n"
                              "grid: {chip_size: 64}\n"
                              "modalities:\n"
                              "  - name: s\n"
                              "    files: [a.tif]\n";
    char text[1024];
    eodkit_recipe *r;

    (void)state;
    snprintf(text, sizeof text,
             "%s    time: {mode: pair, before: {to: 2016-03-01}, after: {from: "
             "2016-05-01, to: 2016-12-31}}\n"
             "labels: {source: [a.tif, b.tif], task: change}\n",
             head);
    r = load(text, EODKIT_OK, NULL);
    assert_int_equal(r->modalities[0].time.mode, EK_TIME_STACK);
    assert_int_equal(r->modalities[0].time.count, 2);
    assert_true(r->modalities[0].time.pair);
    assert_true(r->modalities[0].time.periods[0].from == INT64_MIN);
    assert_true(r->modalities[0].time.periods[0].to == 1456876799); /* 2016-03-01 end */
    assert_true(r->modalities[0].time.periods[1].from == 1462060800);
    assert_non_null(strstr(r->labels.after, "/b.tif"));
    eodkit_recipe_free(r);
    snprintf(text, sizeof text,
             "%s    time: {mode: pair, before: {to: 2016-06-01}, after: {from: "
             "2016-05-01}}\n",
             head);
    eodkit_recipe_free(load(text, EODKIT_ERR_INPUT,
                            "time.after: starts before the 'before' period ends"));
    snprintf(text, sizeof text, "%s    time: {mode: pair, count: 2}\n", head);
    eodkit_recipe_free(load(text, EODKIT_ERR_INPUT,
                            "time.count: not used with 'mode: pair'"));
    snprintf(text, sizeof text, "%s    time: {mode: pair, before: {from: 2016-01-01}, "
             "after: {from: 2016-05-01}}\n", head);
    eodkit_recipe_free(load(text, EODKIT_ERR_INPUT, "time.before: needs 'to'"));
    snprintf(text, sizeof text, "%s    time: {mode: stack, count: 2, before: {to: x}}\n",
             head);
    eodkit_recipe_free(load(text, EODKIT_ERR_INPUT,
                            "'before' and 'after' are only used with 'mode: pair'"));
}

static void missing_recipe_file(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *r = NULL;

    (void)state;
    assert_int_equal(eodkit_recipe_load(ctx, "/nonexistent/recipe.yaml", &r),
                     EODKIT_ERR_INPUT);
    assert_non_null(
        strstr(eodkit_ctx_message(ctx), "/nonexistent/recipe.yaml: cannot open"));
    assert_null(r);
    eodkit_ctx_free(ctx);
}

static void nearest_word_finds_typos_only(void **state)
{
    const char *const keys[] = {"resolution", "chip_size", "stride", "aoi"};

    (void)state;
    assert_string_equal(ek_nearest_word("resolutoin", keys, 4), "resolution");
    assert_string_equal(ek_nearest_word("Stride", keys, 4), "stride");
    assert_null(ek_nearest_word("colour", keys, 4));
}

static void sample_keys(void **state)
{
    eodkit_recipe *r = load(
        "dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
        "sample: {by: cell, total: 500, allocation: equal}\n",
        EODKIT_OK, NULL);

    (void)state;
    assert_true(r->sample.present);
    assert_int_equal(r->sample.by, EK_SAMPLE_CELL);
    assert_int_equal(r->sample.total, 500);
    assert_int_equal(r->sample.max_per_group, 0);
    assert_int_equal(r->sample.allocation, EK_ALLOCATION_EQUAL);
    assert_true(r->sample.seed == 0 && r->sample.cell_km == 100);
    assert_int_equal(r->sample.by_mark.line, 4);
    assert_int_equal(r->sample.by_mark.column, 14);
    eodkit_recipe_free(r);
    r = load(minimal, EODKIT_OK, NULL);
    assert_false(r->sample.present);
    eodkit_recipe_free(r);
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "sample:\n  by: country\n  max_per_group: 0\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:6:18: sample.max_per_group: must be at least 1 chip, not 0");
    load("dataset: {name: t}\ngrid: {chip_size: 8}\nmodalities: [{name: m, files: x}]\n"
         "sample: {by: clas, max_per_group: 3}\n",
         EODKIT_ERR_INPUT,
         "recipe.yaml:4:14: sample.by: unknown value 'clas' (did you mean 'class'?)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_filled),
        cmocka_unit_test(relative_paths_resolve_against_the_recipe),
        cmocka_unit_test(pairs_are_height_width),
        cmocka_unit_test(classes_and_shard_sizes),
        cmocka_unit_test(mistakes_point_at_line_and_column),
        cmocka_unit_test(size_and_nesting_limits),
        cmocka_unit_test(yaml_features_a_recipe_refuses),
        cmocka_unit_test(names_that_would_collide),
        cmocka_unit_test(band_names_must_be_distinct),
        cmocka_unit_test(class_ids_must_stay_apart),
        cmocka_unit_test(resolved_recipe_keeps_class_names),
        cmocka_unit_test(task_keys),
        cmocka_unit_test(time_pairs),
        cmocka_unit_test(missing_recipe_file),
        cmocka_unit_test(nearest_word_finds_typos_only),
        cmocka_unit_test(sample_keys),
    };
    int failed;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    remove(write_recipe(""));
    rmdir(dir);
    return failed;
}
