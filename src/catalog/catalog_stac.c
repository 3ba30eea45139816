/*
** Catalog: STAC Collections in and out. Export writes a valid STAC 1.0
** Collection that also carries every catalog field under "eodkit:catalog",
** so import gives back exactly what was exported; a foreign Collection is
** mapped from its standard fields, and one written by `eodkit build` also
** from its splits, modalities, bands and label.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ogr_srs_api.h>

#include "ek_catalog.h"

/* Words of eodkit recipes and STAC, and how the shipped catalog says them. */
static const char *const task_words[][2] = {{"segmentation", "semantic segmentation"},
                                            {"multilabel", "classification"},
                                            {"detection", "object detection"},
                                            {NULL, NULL}};
static const char *const platform_words[][2] = {
    {"uav", "UAV"}, {"ground", "ground-based"}, {NULL, NULL}};
static const char *const kind_words[][2] = {
    {"sar", "SAR"}, {"dem", "DEM"}, {"lidar", "LiDAR"}, {NULL, NULL}};

static const char *catalog_word(const char *const words[][2], const char *word)
{
    size_t i;

    for (i = 0; words[i][0] != NULL; i++) {
        if (strcmp(words[i][0], word) == 0) {
            return words[i][1];
        }
    }
    return word;
}

/* Set field F of R from the strings of JSON array A, mapped through WORDS
   (when not NULL), "none" (the build's word for the sea) left out, joined
   by SEP. Nothing when A is not an array. */
static int set_list(eodkit_ctx *ctx, ek_record *r, int f, json_t *a,
                    const char *const words[][2], const char *sep)
{
    ek_strbuf b;
    json_t *item;
    char *text = NULL;
    size_t i;
    int rc;

    if (!json_is_array(a)) {
        return EODKIT_OK;
    }
    ek_strbuf_init(&b, ctx);
    json_array_foreach(a, i, item)
    {
        const char *s = json_string_value(item);

        if (s != NULL && strchr(s, ';') == NULL && strcmp(s, "none") != 0) {
            ek_strbuf_printf(&b, "%s%s", b.len > 0 ? sep : "",
                             words != NULL ? catalog_word(words, s) : s);
        }
    }
    rc = ek_strbuf_detach(&b, &text);
    if (rc == EODKIT_OK) {
        rc = ek_record_set(ctx, r, f, text);
    }
    free(text);
    return rc;
}

/* Set text field F of R from JSON string S (nothing when not a string). */
static int set_text(eodkit_ctx *ctx, ek_record *r, int f, json_t *s)
{
    return json_is_string(s) ? ek_record_set(ctx, r, f, json_string_value(s))
                             : EODKIT_OK;
}

/* Nonzero when the WKT of a grid describes a projected CRS in metres. */
static int metric_crs(const char *wkt)
{
    OGRSpatialReferenceH srs;
    int metric = 0;

    if (wkt == NULL) {
        return 0;
    }
    srs = OSRNewSpatialReference(NULL);
    ek_gdal_capture_begin(NULL);
    if (srs != NULL && OSRImportFromWkt(srs, (char **)&wkt) == OGRERR_NONE &&
        OSRIsProjected(srs)) {
        metric = fabs(OSRGetLinearUnits(srs, NULL) - 1.0) < 1e-9;
    }
    ek_gdal_capture_end();
    OSRDestroySpatialReference(srs);
    return metric;
}

/* The facts of a collection written by `eodkit build`: chips, chip size,
   resolution, bands, classes and the details kept as JSON. */
static int build_facts(eodkit_ctx *ctx, json_t *c, ek_record *r)
{
    json_t *splits = json_object_get(c, "eodkit:splits");
    json_t *mods = json_object_get(c, "eodkit:modalities");
    json_t *label = json_object_get(c, "eodkit:label");
    json_t *grid = json_object_get(c, "eodkit:grid");
    json_t *chip = json_object_get(grid, "chip_size"),
           *res = json_object_get(grid, "resolution");
    json_t *detail = json_object(), *dsplits = json_object(), *dmods = json_array();
    json_t *v, *m;
    ek_strbuf bands;
    const char *key;
    char text[96], *btext = NULL, *dtext = NULL;
    long long chips = 0, h = 0, w = 0;
    size_t i, k;
    int rc;

    json_object_foreach(splits, key, v)
    {
        json_int_t n = json_integer_value(json_object_get(v, "chips"));

        chips += n;
        json_object_set_new(dsplits, key, json_integer(n));
    }
    json_object_set_new(detail, "splits", dsplits);
    snprintf(text, sizeof text, "%lld", chips);
    rc = ek_record_set(ctx, r, EK_F_NUM_IMAGES, text);
    if (json_is_array(chip) && json_array_size(chip) == 2) {
        h = json_integer_value(json_array_get(chip, 0));
        w = json_integer_value(json_array_get(chip, 1));
        json_object_set(detail, "chip_size", chip);
    }
    if (rc == EODKIT_OK && h > 0 && w > 0) {
        if (h == w) {
            snprintf(text, sizeof text, "%lld", h);
        } else {
            snprintf(text, sizeof text, "%lldx%lld", h, w);
        }
        rc = ek_record_set(ctx, r, EK_F_IMAGE_SIZE, text);
        snprintf(text, sizeof text, "%lld", chips * h * w);
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_SIZE, text);
        }
    }
    json_object_set(detail, "crs",
                    json_object_get(grid, "crs") ? json_object_get(grid, "crs")
                                                 : json_null());
    if (rc == EODKIT_OK && json_array_size(res) == 2 &&
        metric_crs(json_string_value(json_object_get(grid, "wkt2")))) {
        double x = json_number_value(json_array_get(res, 0));
        double y = json_number_value(json_array_get(res, 1));
        char lo[40], hi[40];

        ek_format_real(fmin(x, y), lo, sizeof lo);
        ek_format_real(fmax(x, y), hi, sizeof hi);
        rc = ek_record_set(ctx, r, EK_F_RESOLUTION_MIN, lo);
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_RESOLUTION_MAX, hi);
        }
        if (x != y) {
            snprintf(text, sizeof text, "%s-%s", lo, hi);
        }
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_RESOLUTION, x == y ? lo : text);
        }
    }
    /* Bands: "optical: blue, green, red; dem: elevation". */
    ek_strbuf_init(&bands, ctx);
    json_array_foreach(mods, i, m)
    {
        json_t *names = json_array(), *b;

        ek_strbuf_printf(&bands, "%s%s:", i > 0 ? "; " : "",
                         json_string_value(json_object_get(m, "name")));
        json_array_foreach(json_object_get(m, "bands"), k, b)
        {
            const char *name = json_string_value(json_object_get(b, "name"));

            ek_strbuf_printf(&bands, "%s %s", k > 0 ? "," : "",
                             name != NULL ? name : "?");
            json_array_append_new(names, json_string(name != NULL ? name : "?"));
        }
        json_array_append_new(dmods,
                              json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:o}", "name",
                                        json_object_get(m, "name"), "kind",
                                        json_object_get(m, "kind"), "sensor",
                                        json_object_get(m, "sensor"), "platform",
                                        json_object_get(m, "platform"), "dtype",
                                        json_object_get(m, "dtype"), "bands", names));
    }
    json_object_set_new(detail, "modalities", dmods);
    if (rc == EODKIT_OK && bands.len > 0) {
        rc = ek_strbuf_detach(&bands, &btext);
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_BANDS, btext);
        }
    }
    ek_strbuf_free(&bands);
    if (json_is_object(label)) {
        json_t *classes = json_object_get(label, "classes");

        json_object_set(detail, "classes",
                        json_is_array(classes) ? classes : json_array());
        json_object_set(detail, "task", json_object_get(label, "task"));
        snprintf(text, sizeof text, "%zu", json_array_size(classes));
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_NUM_CLASSES, text);
        }
        if (rc == EODKIT_OK && json_is_string(json_object_get(label, "task"))) {
            rc = ek_record_set(
                ctx, r, EK_F_TASK,
                catalog_word(task_words,
                             json_string_value(json_object_get(label, "task"))));
        }
    }
    dtext = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    if (rc == EODKIT_OK) {
        rc = dtext == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                           : ek_record_set(ctx, r, EK_F_DETAIL, dtext);
    }
    free(dtext);
    free(btext);
    json_decref(detail);
    return rc;
}

/* The footprint: the first bbox of the spatial extent (2D or 3D). */
static int set_bbox(eodkit_ctx *ctx, json_t *c, ek_record *r)
{
    json_t *b = json_array_get(
        json_object_get(json_object_get(json_object_get(c, "extent"), "spatial"),
                        "bbox"),
        0);
    size_t n = json_array_size(b), i;
    char text[4][40], *joined;
    int rc;

    if (n != 4 && n != 6) {
        return EODKIT_OK;
    }
    for (i = 0; i < 4; i++) {
        /* 3D: west, south, min z, east, north, max z */
        json_t *v = json_array_get(b, n == 6 && i >= 2 ? i + 1 : i);

        if (!json_is_number(v)) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "extent.spatial.bbox holds a non-number");
        }
        ek_format_real(json_number_value(v), text[i], sizeof text[i]);
    }
    joined = ek_asprintf(ctx, "%s,%s,%s,%s", text[0], text[1], text[2], text[3]);
    if (joined == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_record_set(ctx, r, EK_F_BBOX, joined);
    free(joined);
    return rc;
}

/* Provenance from the collection's providers: "STAC providers: USGS
   (producer, licensor); IBGE (producer)". */
static int set_providers(eodkit_ctx *ctx, json_t *c, ek_record *r)
{
    json_t *p, *role;
    ek_strbuf b;
    char *text = NULL;
    size_t i, k;
    int rc;

    ek_strbuf_init(&b, ctx);
    json_array_foreach(json_object_get(c, "providers"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));

        if (name == NULL) {
            continue;
        }
        ek_strbuf_printf(&b, "%s%s", b.len > 0 ? "; " : "STAC providers: ", name);
        json_array_foreach(json_object_get(p, "roles"), k, role)
        {
            if (json_is_string(role)) {
                ek_strbuf_printf(&b, "%s%s", k > 0 ? ", " : " (",
                                 json_string_value(role));
            }
        }
        ek_strbuf_puts(&b, json_array_size(json_object_get(p, "roles")) > 0 ? ")" : "");
    }
    if (b.len == 0) {
        ek_strbuf_free(&b);
        return EODKIT_OK;
    }
    rc = ek_strbuf_detach(&b, &text);
    if (rc == EODKIT_OK) {
        rc = ek_record_set(ctx, r, EK_F_PROVENANCE, text);
    }
    free(text);
    return rc;
}

/* The first link that points to a page about the dataset. */
static json_t *about_link(json_t *c)
{
    static const char *const rels[] = {"about", "cite-as", "describedby", NULL};
    json_t *link;
    size_t i, k;

    for (k = 0; rels[k] != NULL; k++) {
        json_array_foreach(json_object_get(c, "links"), i, link)
        {
            const char *rel = json_string_value(json_object_get(link, "rel"));

            if (rel != NULL && strcmp(rel, rels[k]) == 0) {
                return json_object_get(link, "href");
            }
        }
    }
    return NULL;
}

int ek_stac_to_record(eodkit_ctx *ctx, json_t *c, ek_record *r)
{
    json_t *exact = json_object_get(c, "eodkit:catalog");
    json_t *id = json_object_get(c, "id"), *title = json_object_get(c, "title");
    json_t *sum = json_object_get(c, "summaries"), *instruments;
    ek_strbuf sensors;
    char *text = NULL;
    size_t i;
    json_t *v;
    int rc;

    if (json_is_object(exact)) {
        return ek_record_from_json(ctx, r, exact);
    }
    if (!json_is_string(id) || json_string_length(id) == 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "the collection has no \"id\"");
    }
    rc = set_text(ctx, r, EK_F_ID, id);
    if (rc == EODKIT_OK) {
        rc = set_text(ctx, r, EK_F_NAME, json_is_string(title) ? title : id);
    }
    if (rc == EODKIT_OK && json_is_string(title) && !json_equal(title, id)) {
        rc = set_text(ctx, r, EK_F_ALIASES, id);
    }
    if (rc == EODKIT_OK) {
        rc = set_text(ctx, r, EK_F_DESCRIPTION, json_object_get(c, "description"));
    }
    if (rc == EODKIT_OK) {
        rc = set_text(ctx, r, EK_F_LICENSE, json_object_get(c, "license"));
    }
    if (rc == EODKIT_OK) {
        rc = set_text(ctx, r, EK_F_URL, about_link(c));
    }
    if (rc == EODKIT_OK) {
        rc = set_bbox(ctx, c, r);
    }
    if (rc == EODKIT_OK) {
        rc = set_providers(ctx, c, r);
    }
    instruments = json_object_get(sum, "instruments");
    ek_strbuf_init(&sensors, ctx);
    json_array_foreach(instruments, i, v)
    {
        if (json_is_string(v)) {
            ek_strbuf_printf(&sensors, "%s%s", sensors.len > 0 ? "; " : "",
                             json_string_value(v));
        }
    }
    if (rc == EODKIT_OK && sensors.len > 0) {
        rc = ek_strbuf_detach(&sensors, &text);
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_SENSOR, text);
        }
    }
    ek_strbuf_free(&sensors);
    free(text);
    if (rc == EODKIT_OK) {
        rc = set_list(ctx, r, EK_F_TASK, json_object_get(sum, "label:tasks"),
                      task_words, ";");
    }
    if (rc == EODKIT_OK) {
        rc = set_list(ctx, r, EK_F_PLATFORM,
                      json_object_get(sum, "eodkit:platform_types"), platform_words,
                      ";");
    }
    if (rc == EODKIT_OK) {
        rc = set_list(ctx, r, EK_F_MODALITY, json_object_get(sum, "eodkit:kinds"),
                      kind_words, ";");
    }
    /* Written by the build's region tagging: continent names and ISO 3166
       alpha-3 country codes. */
    if (rc == EODKIT_OK) {
        rc = set_list(ctx, r, EK_F_CONTINENT, json_object_get(sum, "eodkit:continents"),
                      NULL, ";");
    }
    if (rc == EODKIT_OK) {
        rc = set_list(ctx, r, EK_F_REGION, json_object_get(sum, "eodkit:countries"),
                      NULL, ", ");
    }
    if (rc == EODKIT_OK) {
        rc = ek_record_set(ctx, r, EK_F_SOURCE, "STAC");
    }
    if (rc == EODKIT_OK && json_is_object(json_object_get(c, "eodkit:splits"))) {
        rc = build_facts(ctx, c, r);
        if (rc == EODKIT_OK) {
            rc = ek_record_set(ctx, r, EK_F_SOURCE, "eodkit");
        }
    }
    return rc;
}

/* Nonzero when LICENSE is an SPDX-style identifier STAC 1.0 accepts. */
static int stac_license(const char *license)
{
    const char *p;

    if (license == NULL || license[0] == '\0') {
        return 0;
    }
    for (p = license; *p != '\0'; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' ||
              *p == '+')) {
            return 0;
        }
    }
    return 1;
}

json_t *ek_stac_from_record(const ek_record *r, const char *stac_id)
{
    const char *name = r->value[EK_F_NAME], *desc = r->value[EK_F_DESCRIPTION];
    json_t *c, *facts = ek_record_to_json(r), *keywords = json_array(),
               *links = json_array();
    char item[512];
    double bbox[4] = {-180, -90, 180, 90};
    size_t i;

    for (i = 0; ek_record_list_item(r, EK_F_TASK, i, item, sizeof item); i++) {
        json_array_append_new(keywords, json_string(item));
    }
    for (i = 0; ek_record_list_item(r, EK_F_MODALITY, i, item, sizeof item); i++) {
        json_array_append_new(keywords, json_string(item));
    }
    if (r->value[EK_F_URL] != NULL) {
        json_array_append_new(
            links, json_pack("{s:s, s:s}", "rel", "about", "href", r->value[EK_F_URL]));
    }
    ek_record_bbox(r, bbox);
    c = json_pack(
        "{s:s, s:s, s:[], s:s, s:s, s:s?, s:o, s:s, s:{s:{s:[[f,f,f,f]]}, "
        "s:{s:[[n,n]]}}, s:o, s:o}",
        "type", "Collection", "stac_version", "1.0.0", "stac_extensions", "id", stac_id,
        "title", name, "description", desc, "keywords", keywords, "license",
        stac_license(r->value[EK_F_LICENSE]) ? r->value[EK_F_LICENSE] : "proprietary",
        "extent", "spatial", "bbox", bbox[0], bbox[1], bbox[2], bbox[3], "temporal",
        "interval", "links", links, "eodkit:catalog", facts);
    if (c != NULL && desc == NULL) {
        /* STAC requires a description. */
        json_object_set_new(
            c, "description",
            json_sprintf("%s: an Earth-observation machine-learning dataset "
                         "listed in the eodkit catalog",
                         name));
    }
    return c;
}
