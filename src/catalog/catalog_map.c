/*
** Catalog: the world map of dataset footprints that `serve` shows, as plain
** SVG on an equirectangular canvas, over the country outlines of a region
** layer (src/regions; e.g. the CC0 world layer) when one is given.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ogr_api.h>

#include "ek_catalog.h"
#include "regions/ek_regions.h"

struct ek_outline {
    char *path_data; /* SVG path "M x y L ... Z" in lon, -lat */
};

/* Append the rings of polygon geometry G to B as SVG path data. */
static void ring_path(ek_strbuf *b, OGRGeometryH g)
{
    int i, n = OGR_G_GetGeometryCount(g);

    if (n > 0) {
        for (i = 0; i < n; i++) {
            ring_path(b, OGR_G_GetGeometryRef(g, i));
        }
        return;
    }
    /* A ring: points to 0.1 degree, repeats after rounding dropped. */
    {
        int k, npts = OGR_G_GetPointCount(g);
        long px = LONG_MIN, py = LONG_MIN;

        for (k = 0; k < npts; k++) {
            long x = lround(OGR_G_GetX(g, k) * 10), y = lround(-OGR_G_GetY(g, k) * 10);

            if (x == px && y == py) {
                continue;
            }
            ek_strbuf_printf(b, "%c%.1f %.1f", k == 0 ? 'M' : 'L', x / 10.0, y / 10.0);
            px = x, py = y;
        }
        if (npts > 0) {
            ek_strbuf_puts(b, "Z");
        }
    }
}

int ek_outline_load(eodkit_ctx *ctx, const char *path, ek_outline **out)
{
    ek_regions *regions = NULL;
    ek_outline *o = NULL;
    ek_strbuf b;
    size_t i;
    int rc;

    *out = NULL;
    rc = ek_regions_open(ctx, path, NULL, "the map background", &regions);
    if (rc != EODKIT_OK) {
        return rc;
    }
    ek_strbuf_init(&b, ctx);
    for (i = 0; i < regions->n; i++) {
        ring_path(&b, regions->items[i].geom);
    }
    ek_regions_free(regions);
    o = ek_calloc(ctx, 1, sizeof *o);
    rc = o == NULL ? EODKIT_ERR_NOMEM : ek_strbuf_detach(&b, &o->path_data);
    ek_strbuf_free(&b);
    if (rc != EODKIT_OK) {
        free(o);
        return rc;
    }
    *out = o;
    return EODKIT_OK;
}

void ek_outline_free(ek_outline *o)
{
    if (o != NULL) {
        free(o->path_data);
        free(o);
    }
}

/* Append S to B percent-encoded for a URL query value. */
static void url_value(ek_strbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
            ch == '~') {
            ek_strbuf_add(b, s, 1);
        } else {
            ek_strbuf_printf(b, "%%%02X", ch);
        }
    }
}

/* One footprint: the box W, S, E, N (two boxes when it crosses the
   antimeridian) and a dot at its centre so that small areas show, linking
   to the page of the dataset called KEY (its id, else its name) and titled
   with its NAME. */
static void footprint(ek_strbuf *b, const char *key, const char *name, double w,
                      double s, double e, double n)
{
    int part;

    ek_strbuf_puts(b, "<a target=\"_top\" href=\"/dataset?id=");
    url_value(b, key);
    ek_strbuf_puts(b, "\"><title>");
    ek_strbuf_xml(b, name);
    ek_strbuf_puts(b, "</title>");
    for (part = 0; part < (e < w ? 2 : 1); part++) {
        double x0 = part == 0 ? w : -180, x1 = e < w && part == 0 ? 180 : e;

        ek_strbuf_printf(b,
                         "<rect class=\"fp\" x=\"%.4f\" y=\"%.4f\" width=\"%.4f\" "
                         "height=\"%.4f\"/>",
                         x0, -n, x1 - x0, n - s);
    }
    ek_strbuf_printf(b,
                     "<circle class=\"dot\" cx=\"%.4f\" cy=\"%.4f\" r=\"1.6\"/></a>\n",
                     e < w ? w : (w + e) / 2, -(s + n) / 2);
}

int ek_map_svg(eodkit_ctx *ctx, eodkit_catalog *cat, const ek_outline *outline,
               char **svg)
{
    sqlite3_stmt *st = NULL;
    ek_strbuf b;
    int rc = EODKIT_OK, step = SQLITE_DONE, deg;

    *svg = NULL;
    if (sqlite3_prepare_v2(
            cat->db,
            "SELECT coalesce(id, name), name, bbox_west, bbox_south, bbox_east, "
            "bbox_north FROM dataset WHERE bbox_west IS NOT NULL ORDER BY pk",
            -1, &st, NULL) != SQLITE_OK) {
        return ek_catalog_sql_error(ctx, cat, "listing footprints");
    }
    ek_strbuf_init(&b, ctx);
    ek_strbuf_puts(
        &b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"-180 -90 360 180\" "
        "role=\"img\" aria-label=\"Footprints of the datasets\">\n"
        "<style>.sea{fill:#eaf2f8}.land{fill:#d9d4c7;stroke:#b5ad9a;"
        "stroke-width:.2}.grid{stroke:#c9d6e0;stroke-width:.2;fill:none}"
        ".fp{fill:rgba(200,60,40,.25);stroke:#c83c28;stroke-width:.4}"
        ".dot{fill:#c83c28;stroke:#fff;stroke-width:.4}a:hover .fp,a:hover .dot"
        "{fill:#1f5f99}</style>\n"
        "<rect class=\"sea\" x=\"-180\" y=\"-90\" width=\"360\" height=\"180\"/>\n");
    if (outline != NULL) {
        ek_strbuf_puts(&b, "<path class=\"land\" fill-rule=\"evenodd\" d=\"");
        ek_strbuf_puts(&b, outline->path_data);
        ek_strbuf_puts(&b, "\"/>\n");
    }
    ek_strbuf_puts(&b, "<path class=\"grid\" d=\"");
    for (deg = -150; deg <= 150; deg += 30) {
        ek_strbuf_printf(&b, "M%d -90V90", deg);
    }
    for (deg = -60; deg <= 60; deg += 30) {
        ek_strbuf_printf(&b, "M-180 %dH180", deg);
    }
    ek_strbuf_puts(&b, "\"/>\n");
    while (rc == EODKIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);

        if (key == NULL || name == NULL) { /* name is NOT NULL: out of memory */
            rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        } else {
            footprint(&b, key, name, sqlite3_column_double(st, 2),
                      sqlite3_column_double(st, 3), sqlite3_column_double(st, 4),
                      sqlite3_column_double(st, 5));
        }
    }
    if (rc == EODKIT_OK && step != SQLITE_DONE) {
        rc = ek_catalog_sql_error(ctx, cat, "listing footprints");
    }
    sqlite3_finalize(st);
    ek_strbuf_puts(&b, "</svg>\n");
    if (rc != EODKIT_OK) {
        ek_strbuf_free(&b);
        return rc;
    }
    return ek_strbuf_detach(&b, svg);
}
