/*
** Unit tests of input names (core/names.c): resolving what a recipe writes
** against its folder (plain paths, archive members, URLs, subdatasets) and
** telling the kinds of names apart.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ek_names.h"

static char dir[] = "/tmp/eodkit-names-XXXXXX";

static void expect(const char *name, const char *want)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    char *got = ek_name_resolve(ctx, dir, name);
    char expanded[512];

    snprintf(expanded, sizeof expanded, want, dir);
    assert_non_null(got);
    if (strcmp(got, expanded) != 0) {
        fail_msg("%s resolved to %s, not %s", name, got, expanded);
    }
    free(got);
    eodkit_ctx_free(ctx);
}

static void test_resolve(void **state)
{
    (void)state;
    expect("a.tif", "%s/a.tif");
    expect("/abs/a.tif", "/abs/a.tif");
    expect("data/L7_*.tif", "%s/data/L7_*.tif");
    expect("/vsizip/data/a.zip/x.hgt", "/vsizip/%s/data/a.zip/x.hgt");
    expect("/vsizip//abs/a.zip/x.hgt", "/vsizip//abs/a.zip/x.hgt");
    expect("/vsizip/{data/a.zip}/x.tif", "/vsizip/{%s/data/a.zip}/x.tif");
    expect("/vsitar/b.tar.gz/x.tif", "/vsitar/%s/b.tar.gz/x.tif");
    expect("/vsizip//vsicurl/https://h/a.zip/x.tif",
           "/vsizip//vsicurl/https://h/a.zip/x.tif");
    expect("https://h/x.tif?a=[1]", "/vsicurl/https://h/x.tif?a=[1]");
    expect("/vsizip/https://h/a.zip/x.tif", "/vsizip//vsicurl/https://h/a.zip/x.tif");
    expect("/vsis3/bucket/x.tif", "/vsis3/bucket/x.tif");
    /* object storage and file URLs, as STAC asset hrefs give them */
    expect("s3://bucket/a/x.tif", "/vsis3/bucket/a/x.tif");
    expect("gs://bucket/x.tif", "/vsigs/bucket/x.tif");
    expect("file:///abs/a.tif", "/abs/a.tif");
    expect("file://a.tif", "%s/a.tif");
    expect("NETCDF:\"f.nc\":var", "NETCDF:\"%s/f.nc\":var");
    expect("NETCDF:\"/abs/f.nc\":var", "NETCDF:\"/abs/f.nc\":var");
    expect("HDF5:\"f.h5\"://group/x", "HDF5:\"%s/f.h5\"://group/x");
    expect("NETCDF:\"/vsizip/a.zip/f.nc\":var", "NETCDF:\"/vsizip/%s/a.zip/f.nc\":var");
    /* unquoted: only a part that is a file in the folder */
    expect("NETCDF:exists.nc:var", "NETCDF:%s/exists.nc:var");
    expect("NETCDF:missing.nc:var", "NETCDF:missing.nc:var");
    expect("SENTINEL1_CALIB:SIGMA0:exists.nc:IW_VV",
           "SENTINEL1_CALIB:SIGMA0:%s/exists.nc:IW_VV");
    /* a file whose name looks like a subdataset name is a file */
    expect("ABC:def.tif", "%s/ABC:def.tif");
}

static void test_kinds(void **state)
{
    (void)state;
    assert_int_equal(ek_name_kind_of("/data/a.tif"), EK_NAME_PATH);
    assert_int_equal(ek_name_kind_of("data/a*.tif"), EK_NAME_PATH);
    assert_int_equal(ek_name_kind_of("/vsizip//data/a.zip/x"), EK_NAME_LOCAL);
    assert_int_equal(ek_name_kind_of("NETCDF:\"/data/f.nc\":v"), EK_NAME_LOCAL);
    assert_int_equal(ek_name_kind_of("/vsicurl/https://h/x.tif"), EK_NAME_REMOTE);
    assert_int_equal(ek_name_kind_of("/vsicurl?url=https://h/x.tif"), EK_NAME_REMOTE);
    assert_int_equal(ek_name_kind_of("/vsizip//vsis3/b/a.zip/x"), EK_NAME_REMOTE);
    assert_int_equal(ek_name_kind_of("/vsigs_streaming/b/x.tif"), EK_NAME_REMOTE);
    assert_int_equal(ek_name_kind_of("NETCDF:\"/vsiaz/c/f.nc\":v"), EK_NAME_REMOTE);
    assert_int_equal(ek_name_kind_of("/vsimem/x.tif"), EK_NAME_LOCAL);
    /* VRT text: local, or remote when it reads a remote file */
    assert_int_equal(ek_name_kind_of("<VRTDataset rasterXSize=\"2\"><VRTRasterBand>"
                                     "<SimpleSource><SourceFilename>/data/[a].tif"
                                     "</SourceFilename></SimpleSource></VRTRasterBand>"
                                     "</VRTDataset>"),
                     EK_NAME_LOCAL);
    assert_int_equal(ek_name_kind_of("<VRTDataset><VRTRasterBand><SimpleSource>"
                                     "<SourceFilename>/vsicurl/https://h/x.tif"
                                     "</SourceFilename></SimpleSource></VRTRasterBand>"
                                     "</VRTDataset>"),
                     EK_NAME_REMOTE);
}

static void test_remote_part(void **state)
{
    const char *name = "/vsizip//vsicurl/https://h/a.zip/x.tif";

    (void)state;
    assert_ptr_equal(ek_name_remote_part(name), name + 8);
    assert_null(ek_name_remote_part("/vsizip//data/vsicurl.zip/x.tif"));
}

static void test_stamp(void **state)
{
    char path[512];
    ek_name_stamp st;

    (void)state;
    snprintf(path, sizeof path, "/vsizip/%s/exists.nc/member.tif", dir);
    assert_int_equal(ek_name_stamp_of(path, &st), 0); /* the file behind the name */
    assert_int_equal(st.bytes, 5);
    snprintf(path, sizeof path, "NETCDF:\"%s/exists.nc\":var", dir);
    assert_int_equal(ek_name_stamp_of(path, &st), 0);
    assert_int_equal(st.bytes, 5);
    assert_true(st.mtime_ns > 0);
    snprintf(path, sizeof path, "%s/missing.tif", dir);
    assert_int_equal(ek_name_stamp_of(path, &st), -1);
    assert_int_equal(st.bytes, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_remote_part),
        cmocka_unit_test(test_stamp),
    };
    char path[512];
    FILE *f;
    int failed;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(path, sizeof path, "%s/exists.nc", dir);
    f = fopen(path, "w");
    fputs("12345", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/ABC:def.tif", dir);
    f = fopen(path, "w");
    fclose(f);
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) {
        failed++;
    }
    return failed;
}
