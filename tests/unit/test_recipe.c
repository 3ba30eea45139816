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
    load("", EODKIT_ERR_INPUT, "the recipe is empty");
    load("dataset: [1, 2\n", EODKIT_ERR_INPUT, "YAML syntax error");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_filled),
        cmocka_unit_test(relative_paths_resolve_against_the_recipe),
        cmocka_unit_test(pairs_are_height_width),
        cmocka_unit_test(classes_and_shard_sizes),
        cmocka_unit_test(mistakes_point_at_line_and_column),
        cmocka_unit_test(missing_recipe_file),
        cmocka_unit_test(nearest_word_finds_typos_only),
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
