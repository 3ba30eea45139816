/*
** Fuzz harness of the recipe loader. Each input is written as a recipe in a
** scratch folder whose data/ holds small generated inputs named like the demo
** and BigEarthNet data the example recipes use, then loaded; a recipe that
** loads is written in its resolved form, which must load again and be a fixed
** point, and, when every file it names lies in data/, planned (globs, GDAL
** opens, bands, CRS, grid, AOI, chips), so mutations reach the checks that
** follow parsing. Every refusal must carry a message naming the recipe.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/ek_fs.h"
#include "grid/ek_plan.h"
#include "recipe/ek_recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[] = "/tmp/eodkit-fuzz-recipe-XXXXXX";
static char data_dir[64];
static eodkit_ctx *fs_ctx; /* for the harness's own file operations */

/* A failed expectation: a bug the fuzzer found. */
static void fail(const char *what, const char *message)
{
    fprintf(stderr, "fuzz_recipe: %s: %s\n", what, message);
    abort();
}

/* A north-up raster of NBANDS x W x H pixels of TYPE at DATA/NAME. */
static void make_raster(const char *name, int epsg, double x0, double y0, double res,
                        int w, int h, int nbands, GDALDataType type)
{
    char path[256];
    double gt[6] = {x0, res, 0, y0, 0, -res};
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    char *wkt = NULL;
    GDALDatasetH ds;
    int b, i;

    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    *strrchr(path, '/') = '\0';
    if (ek_fs_mkdirs(fs_ctx, path) != 0) {
        fail(path, "cannot create");
    }
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, nbands, type, NULL);
    if (ds == NULL || OSRImportFromEPSG(srs, epsg) != OGRERR_NONE ||
        OSRExportToWkt(srs, &wkt) != OGRERR_NONE) {
        fail(path, "cannot create the raster");
    }
    GDALSetGeoTransform(ds, gt);
    GDALSetProjection(ds, wkt);
    for (b = 1; b <= nbands; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        double *row = calloc((size_t)w, sizeof *row);

        for (i = 0; i < h; i++) {
            int k;

            for (k = 0; k < w; k++) {
                row[k] = 1 + (i * 7 + k * 3 + b) % 200;
            }
            if (GDALRasterIO(band, GF_Write, 0, i, w, 1, row, w, 1, GDT_Float64, 0, 0) !=
                CE_None) {
                fail(path, "cannot write");
            }
        }
        free(row);
    }
    GDALClose(ds);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
}

/* A shapefile at DATA/NAME with one polygon (corners X0,Y0 .. X1,Y1 in EPSG)
   and a text field TIPO. */
static void make_polygons(const char *name, int epsg, double x0, double y0, double x1,
                          double y1)
{
    char path[256], wkt[256];
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRFieldDefnH field = OGR_Fld_Create("TIPO", OFTString);
    OGRFeatureH f;
    OGRGeometryH g = NULL;
    char *text = wkt;

    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    snprintf(wkt, sizeof wkt, "POLYGON ((%f %f,%f %f,%f %f,%f %f,%f %f))", x0, y0, x1,
             y0, x1, y1, x0, y1, x0, y0);
    OSRImportFromEPSG(srs, epsg);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    ds = GDALCreate(GDALGetDriverByName("ESRI Shapefile"), path, 0, 0, 0, GDT_Unknown,
                    NULL);
    layer = ds != NULL ? GDALDatasetCreateLayer(ds, "olinda1", srs, wkbPolygon, NULL)
                       : NULL;
    if (layer == NULL || OGR_L_CreateField(layer, field, 1) != OGRERR_NONE ||
        OGR_G_CreateFromWkt(&text, srs, &g) != OGRERR_NONE) {
        fail(path, "cannot create the polygons");
    }
    f = OGR_F_Create(OGR_L_GetLayerDefn(layer));
    OGR_F_SetFieldString(f, 0, "URBANO");
    OGR_F_SetGeometryDirectly(f, g);
    if (OGR_L_CreateFeature(layer, f) != OGRERR_NONE) {
        fail(path, "cannot write the polygons");
    }
    OGR_F_Destroy(f);
    OGR_Fld_Destroy(field);
    GDALClose(ds);
    OSRDestroySpatialReference(srs);
}

static void remove_scratch(void)
{
    ek_fs_remove_tree(fs_ctx, scratch);
    eodkit_ctx_free(fs_ctx);
}

/* The scratch folder and its data, once per process. */
static void set_up(void)
{
    static const char *const s2_bands[] = {"B01", "B02", "B03", "B04", "B05", "B8A"};
    static const double s2_res[] = {60, 10, 10, 10, 20, 20};
    char name[128];
    size_t i;

    fs_ctx = eodkit_ctx_new();
    if (fs_ctx == NULL || mkdtemp(scratch) == NULL) {
        fail(scratch, "cannot create");
    }
    atexit(remove_scratch);
    snprintf(data_dir, sizeof data_dir, "%s/data", scratch);
    GDALAllRegister();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    /* The demo's Olinda scene (UTM 25S, 28.5 m, 6 bands), its DEM (30 m)
       and the census polygons, cut down to a few chips. */
    make_raster("L7_ETMs.tif", 31985, 288790.5, 9120747, 28.5, 96, 96, 6, GDT_Byte);
    make_raster("olinda_dem_utm25s.tif", 31985, 288780, 9120750, 30, 90, 90, 1,
                GDT_Int16);
    make_polygons("olinda1.shp", 31985, 289000, 9118500, 291000, 9120500);
    /* BigEarthNet-like patches: Sentinel-2 bands at 10, 20 and 60 m with the
       date in the name, Sentinel-1 VV, in UTM 34N and 33N. */
    for (i = 0; i < sizeof s2_bands / sizeof s2_bands[0]; i++) {
        int n = (int)(1200 / s2_res[i]);

        snprintf(name, sizeof name, "bigearthnet/s2/P1/P1_20170613T101031_%s.tif",
                 s2_bands[i]);
        make_raster(name, 32634, 499980, 5300040, s2_res[i], n, n, 1, GDT_UInt16);
        snprintf(name, sizeof name, "bigearthnet/s2/P2/P2_20180522T101031_%s.tif",
                 s2_bands[i]);
        make_raster(name, 32633, 699960, 5300040, s2_res[i], n, n, 1, GDT_UInt16);
    }
    make_raster("bigearthnet/s1/P1/P1_VV.tif", 32634, 499980, 5300040, 10, 120, 120, 1,
                GDT_Float32);
}

/* Whether PATH lies in the scratch data folder (no "..", no GDAL prefix):
   the only files the harness lets the planner open. */
static int in_data(const char *path)
{
    size_t n = strlen(data_dir);

    return path == NULL || (strncmp(path, data_dir, n) == 0 && path[n] == '/' &&
                            strstr(path, "..") == NULL);
}

/* Whether planning R opens only the scratch data, and no CRS from a file or
   URL (GDAL would read or fetch it). */
static int plannable(const ek_recipe *r)
{
    size_t i, j, k;

    if (!in_data(r->aoi) || (r->crs != NULL && strpbrk(r->crs, "/\\") != NULL)) {
        return 0;
    }
    for (i = 0; i < r->nmodalities; i++) {
        const ek_modality_recipe *m = &r->modalities[i];

        for (j = 0; j < m->npatterns; j++) {
            if (!in_data(m->patterns[j])) {
                return 0;
            }
        }
        for (j = 0; j < m->nband_files; j++) {
            for (k = 0; k < m->band_files[j].npatterns; k++) {
                if (!in_data(m->band_files[j].patterns[k])) {
                    return 0;
                }
            }
        }
    }
    return 1;
}

/* The whole of file PATH, NUL-terminated, into a new buffer. */
static char *slurp(const char *path, size_t *len)
{
    char *text = NULL;

    if (ek_fs_read_file(fs_ctx, path, &text, len) != 0) {
        fail(path, "cannot read back");
    }
    return text;
}

/* The resolved form of R must load again and resolve to itself. */
static void check_resolved(const ek_recipe *r)
{
    char first[128], second[128];
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_recipe *again = NULL;
    char *a, *b;
    size_t na, nb;

    snprintf(first, sizeof first, "%s/resolved.yaml", scratch);
    snprintf(second, sizeof second, "%s/resolved2.yaml", scratch);
    if (ek_recipe_write_resolved(ctx, r, first) != EODKIT_OK) {
        fail("writing the resolved recipe", eodkit_ctx_message(ctx));
    }
    if (eodkit_recipe_load(ctx, first, &again) != EODKIT_OK) {
        fail("the resolved recipe does not load", eodkit_ctx_message(ctx));
    }
    if (ek_recipe_write_resolved(ctx, again, second) != EODKIT_OK) {
        fail("writing the resolved recipe again", eodkit_ctx_message(ctx));
    }
    a = slurp(first, &na);
    b = slurp(second, &nb);
    if (na != nb || memcmp(a, b, na) != 0) {
        fail("the resolved recipe changes when resolved again", second);
    }
    free(a);
    free(b);
    eodkit_recipe_free(again);
    eodkit_ctx_free(ctx);
}

static void check_plan(const ek_recipe *r)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_plan *plan = NULL;
    int rc;

    ek_gdal_capture_begin(ctx);
    rc = ek_plan_make(ctx, r, &plan);
    ek_gdal_capture_end();
    if (rc != EODKIT_OK && eodkit_ctx_message(ctx)[0] == '\0') {
        fail("planning failed without a message", "");
    }
    ek_plan_free(plan);
    eodkit_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready = 0;
    char path[128];
    eodkit_ctx *ctx;
    eodkit_recipe *r = NULL;
    FILE *f;
    int rc;

    if (!ready) {
        set_up();
        ready = 1;
    }
    snprintf(path, sizeof path, "%s/recipe.yaml", scratch);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fail(path, "cannot write");
    }
    ctx = eodkit_ctx_new();
    rc = eodkit_recipe_load(ctx, path, &r);
    if (rc != EODKIT_OK && (rc != EODKIT_ERR_INPUT ||
                            strncmp(eodkit_ctx_message(ctx), path, strlen(path)) != 0)) {
        fail("a refusal that does not name the recipe", eodkit_ctx_message(ctx));
    }
    if (rc == EODKIT_OK) {
        check_resolved(r);
        if (plannable(r)) {
            check_plan(r);
        }
    }
    eodkit_recipe_free(r);
    eodkit_ctx_free(ctx);
    return 0;
}
