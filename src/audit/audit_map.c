/*
** Audit: the report's two maps as inline SVG. The world map draws the
** region layer's countries (equirectangular, simplified), shaded by their
** chips, with chip density in 2-degree cells; the split map draws every chip
** on the dataset's grid in its split's colour over the nearby coastlines.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "ek_audit.h"
#include "geo/ek_srs.h"

/* World map: longitude -180..180 and latitude 84..-60 (Antarctica left out)
   at SCALE pixels per degree. */
#define WORLD_SCALE 2.5
#define WORLD_TOP 84.0
#define WORLD_BOTTOM -60.0
#define WORLD_W (360 * WORLD_SCALE)
#define WORLD_H ((WORLD_TOP - WORLD_BOTTOM) * WORLD_SCALE)
#define SIMPLIFY_DEGREES 0.1
#define CELL_DEGREES 2
#define SPLIT_MAP_W 900.0
#define SPLIT_MAP_H 560.0
/* Above this many chips the split map shows cells, not chips. */
#define SPLIT_MAP_CHIPS 8000
#define SPLIT_MAP_CELLS 120

static const char *const split_colours[] = {"#2563eb", "#f59e0b", "#dc2626", "#059669",
                                            "#7c3aed", "#db2777", "#0891b2", "#65a30d"};

const char *ek_audit_split_colour(size_t k)
{
    return split_colours[k % (sizeof split_colours / sizeof split_colours[0])];
}

/* Where a point lands on a map: the world map takes lon/lat; the split map
   takes grid CRS coordinates, through the grid's geotransform, less the
   frame's corner, times its scale. */
typedef struct projection {
    int world;
    double gt0, gt1, gt3, gt5; /* the grid's geotransform */
    double x0, y0, scale;      /* the frame */
} projection;

static void project(const projection *p, double x, double y, double *px, double *py)
{
    if (p->world) {
        *px = (x + 180.0) * WORLD_SCALE;
        *py = (WORLD_TOP - y) * WORLD_SCALE;
        return;
    }
    *px = ((x - p->gt0) / p->gt1 - p->x0) * p->scale;
    *py = ((y - p->gt3) / p->gt5 - p->y0) * p->scale;
}

/* Append the rings of polygon or multipolygon G as SVG path data. */
static void path_data(ek_strbuf *b, OGRGeometryH g, const projection *p)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int i, k, n;

    if (t == wkbMultiPolygon || t == wkbGeometryCollection || t == wkbPolygon) {
        for (i = 0; i < OGR_G_GetGeometryCount(g); i++) {
            path_data(b, OGR_G_GetGeometryRef(g, i), p);
        }
        return;
    }
    if (t != wkbLineString && t != wkbLinearRing) {
        return;
    }
    n = OGR_G_GetPointCount(g);
    if (n < 3) {
        return;
    }
    for (k = 0; k < n; k++) {
        double x, y;

        project(p, OGR_G_GetX(g, k), OGR_G_GetY(g, k), &x, &y);
        ek_strbuf_printf(b, "%s%.1f %.1f", k == 0 ? "M" : "L", x, y);
    }
    ek_strbuf_puts(b, "Z");
}

/* Chips per country code, for shading. */
static size_t *country_counts(const ek_chip_table *ix)
{
    size_t *n = calloc(ix->countries.n + 1, sizeof *n), i;

    for (i = 0; i < ix->n && n != NULL; i++) {
        n[ix->chips[i].country]++;
    }
    return n;
}

/* A sequential colour from pale to deep teal for T in [0, 1]. */
static void ramp(double t, char out[8])
{
    static const double lo[3] = {204, 236, 230}, hi[3] = {0, 88, 104};
    int c[3], k;

    for (k = 0; k < 3; k++) {
        c[k] = (int)lround(lo[k] + (hi[k] - lo[k]) * t);
    }
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static void world_countries(ek_strbuf *b, const ek_chip_table *ix,
                            const ek_audit_map *map, const size_t *per_country,
                            size_t most)
{
    projection p = {1, 0, 1, 0, 1, 0, 0, 1};
    size_t i;

    if (map->layer == NULL) {
        return;
    }
    ek_strbuf_puts(b, "<g class=\"land\">");
    for (i = 0; i < map->layer->n; i++) {
        const ek_region *r = &map->layer->items[i];
        /* Douglas-Peucker: a quarter pixel; keeping topology costs a second
           per build with a 1:10m layer and shows nothing at this scale */
        OGRGeometryH s = OGR_G_Simplify(r->geom, SIMPLIFY_DEGREES);
        int32_t k =
            r->country != NULL ? ek_strtab_find(&ix->countries, r->country) : -1;
        size_t chips = k >= 0 && per_country != NULL ? per_country[k] : 0;
        char fill[8] = "#e5e7eb";

        if (chips > 0) {
            ramp(0.25 + 0.75 * log1p((double)chips) / log1p((double)most), fill);
        }
        ek_strbuf_printf(b, "<path fill=\"%s\" d=\"", fill);
        path_data(b, s != NULL ? s : r->geom, &p);
        ek_strbuf_puts(b, "\"><title>");
        ek_strbuf_xml(b, r->country_name != NULL ? r->country_name
                         : r->country != NULL    ? r->country
                                                 : "?");
        ek_strbuf_printf(b, ": %zu chips</title></path>", chips);
        OGR_G_DestroyGeometry(s);
    }
    ek_strbuf_puts(b, "</g>");
}

int ek_audit_svg_world(ek_strbuf *b, const ek_chip_table *ix, const ek_audit_map *map)
{
    enum { NX = 360 / CELL_DEGREES, NY = 180 / CELL_DEGREES };
    size_t *cells = calloc((size_t)NX * NY, sizeof *cells);
    double *sum_lon = calloc((size_t)NX * NY, sizeof *sum_lon);
    double *sum_lat = calloc((size_t)NX * NY, sizeof *sum_lat);
    size_t *per_country = country_counts(ix), most = 1, densest = 1, i, k;
    int lon, lat;

    if (cells == NULL || sum_lon == NULL || sum_lat == NULL || per_country == NULL) {
        free(cells);
        free(sum_lon);
        free(sum_lat);
        free(per_country);
        return ek_error(b->ctx, EODKIT_ERR_NOMEM,
                        "out of memory drawing the world map");
    }
    for (k = 0; k < ix->countries.n; k++) {
        if (strcmp(ix->countries.names[k], EK_TAG_SEA) != 0 && per_country[k] > most) {
            most = per_country[k];
        }
    }
    for (i = 0; i < ix->n; i++) {
        const ek_chip_row *c = &ix->chips[i];
        int cx = (int)floor((c->lon + 180.0) / CELL_DEGREES);
        int cy = (int)floor((90.0 - c->lat) / CELL_DEGREES);

        cx = cx < 0 ? 0 : cx >= NX ? NX - 1 : cx;
        cy = cy < 0 ? 0 : cy >= NY ? NY - 1 : cy;
        k = (size_t)cy * NX + (size_t)cx;
        cells[k]++;
        sum_lon[k] += c->lon;
        sum_lat[k] += c->lat;
        densest = cells[k] > densest ? cells[k] : densest;
    }
    ek_strbuf_printf(b,
                     "<svg class=\"map world\" viewBox=\"0 0 %g %g\" role=\"img\" "
                     "aria-label=\"World map of chip locations\">"
                     "<rect class=\"sea\" width=\"%g\" height=\"%g\"/>",
                     WORLD_W, WORLD_H, WORLD_W, WORLD_H);
    ek_strbuf_puts(b, "<g class=\"graticule\">");
    for (lon = -150; lon <= 150; lon += 30) {
        ek_strbuf_printf(b, "<line x1=\"%g\" y1=\"0\" x2=\"%g\" y2=\"%g\"/>",
                         (lon + 180) * WORLD_SCALE, (lon + 180) * WORLD_SCALE, WORLD_H);
    }
    for (lat = -30; lat <= 60; lat += 30) {
        ek_strbuf_printf(b, "<line x1=\"0\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>",
                         (WORLD_TOP - lat) * WORLD_SCALE, WORLD_W,
                         (WORLD_TOP - lat) * WORLD_SCALE);
    }
    ek_strbuf_puts(b, "</g>");
    world_countries(b, ix, map, per_country, most);
    ek_strbuf_puts(b, "<g class=\"density\">");
    for (k = 0; k < (size_t)NX * NY; k++) {
        if (cells[k] > 0) {
            double r = 3.0 + 9.0 * sqrt((double)cells[k] / (double)densest);
            double x = (sum_lon[k] / cells[k] + 180.0) * WORLD_SCALE;
            double y = (WORLD_TOP - sum_lat[k] / cells[k]) * WORLD_SCALE;

            ek_strbuf_printf(
                b,
                "<circle class=\"halo\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>"
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill-opacity=\"%.2f\">"
                "<title>%zu chips</title></circle>",
                x, y, r + 6, x, y, r, 0.45 + 0.5 * (double)cells[k] / (double)densest,
                cells[k]);
        }
    }
    ek_strbuf_puts(b, "</g></svg>");
    free(cells);
    free(sum_lon);
    free(sum_lat);
    free(per_country);
    return b->status;
}

/* ---- the split map, on the grid ---- */

typedef struct frame {
    int32_t grid;
    int64_t x0, y0, x1, y1; /* its chips' extent on the grid, pixels */
    double scale;           /* map pixels per grid pixel */
} frame;

/* Country outlines near the chips, clipped to the frame, in map pixels. */
static void split_map_land(ek_strbuf *b, const ek_audit_map *map,
                           const ek_dataset_grid *grid, const frame *f)
{
    OGRSpatialReferenceH grid_srs = NULL, wgs84 = NULL;
    OGRCoordinateTransformationH to_lonlat = NULL, to_grid = NULL;
    OGRGeometryH box = NULL, box_ll = NULL, ring;
    OGREnvelope env;
    projection p = {0,           grid->gt[0],   grid->gt[1],   grid->gt[3],
                    grid->gt[5], (double)f->x0, (double)f->y0, f->scale};
    double w = (double)(f->x1 - f->x0), h = (double)(f->y1 - f->y0);
    size_t i;
    int k;

    if (map->layer == NULL || grid->wkt == NULL || grid->gt[1] == 0 ||
        grid->gt[5] == 0) {
        return;
    }
    grid_srs = OSRNewSpatialReference(grid->wkt);
    wgs84 = ek_srs_lonlat();
    if (grid_srs == NULL || wgs84 == NULL) {
        goto out;
    }
    OSRSetAxisMappingStrategy(grid_srs, OAMS_TRADITIONAL_GIS_ORDER);
    to_lonlat = OCTNewCoordinateTransformation(grid_srs, wgs84);
    to_grid = OCTNewCoordinateTransformation(wgs84, grid_srs);
    if (to_lonlat == NULL || to_grid == NULL) {
        goto out;
    }
    /* the frame in the grid CRS, densified, then in lon/lat */
    ring = OGR_G_CreateGeometry(wkbLinearRing);
    for (k = 0; k <= 32; k++) {
        int side = k / 8 % 4;
        double t = (k % 8) / 8.0;
        double px = side == 0   ? f->x0 + t * w
                    : side == 1 ? f->x1
                    : side == 2 ? f->x1 - t * w
                                : f->x0;
        double py = side == 0   ? f->y0
                    : side == 1 ? f->y0 + t * h
                    : side == 2 ? f->y1
                                : f->y1 - t * h;

        OGR_G_AddPoint_2D(ring, grid->gt[0] + px * grid->gt[1],
                          grid->gt[3] + py * grid->gt[5]);
    }
    box = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(box, ring);
    box_ll = OGR_G_Clone(box);
    if (OGR_G_Transform(box_ll, to_lonlat) != OGRERR_NONE) {
        goto out;
    }
    OGR_G_GetEnvelope(box_ll, &env);
    ek_strbuf_puts(b, "<g class=\"land\">");
    for (i = 0; i < map->layer->n; i++) {
        OGRGeometryH cut, g = map->layer->items[i].geom;
        OGREnvelope e;

        OGR_G_GetEnvelope(g, &e);
        if (e.MaxX < env.MinX || e.MinX > env.MaxX || e.MaxY < env.MinY ||
            e.MinY > env.MaxY) {
            continue;
        }
        cut = OGR_G_Intersection(g, box_ll);
        if (cut != NULL && !OGR_G_IsEmpty(cut) &&
            OGR_G_Transform(cut, to_grid) == OGRERR_NONE) {
            OGRGeometryH inside = OGR_G_Intersection(cut, box);

            if (inside != NULL) {
                ek_strbuf_puts(b, "<path d=\"");
                path_data(b, inside, &p);
                ek_strbuf_puts(b, "\"/>");
            }
            OGR_G_DestroyGeometry(inside);
        }
        OGR_G_DestroyGeometry(cut);
    }
    ek_strbuf_puts(b, "</g>");
out:
    OGR_G_DestroyGeometry(box);
    OGR_G_DestroyGeometry(box_ll);
    if (to_lonlat != NULL) {
        OCTDestroyCoordinateTransformation(to_lonlat);
    }
    if (to_grid != NULL) {
        OCTDestroyCoordinateTransformation(to_grid);
    }
    if (grid_srs != NULL) {
        OSRDestroySpatialReference(grid_srs);
    }
    if (wgs84 != NULL) {
        OSRDestroySpatialReference(wgs84);
    }
}

/* Every chip of the frame's grid as a rectangle in its split's colour. */
static void split_map_chips(ek_strbuf *b, const ek_chip_table *ix, const frame *f)
{
    size_t i;

    for (i = 0; i < ix->n; i++) {
        const ek_chip_row *c = &ix->chips[i];

        if (c->grid != f->grid) {
            continue;
        }
        ek_strbuf_printf(b,
                         "<rect data-s=\"%d\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                         "height=\"%.2f\" fill=\"%s\"/>",
                         (int)c->split, (double)(c->x - f->x0) * f->scale,
                         (double)(c->y - f->y0) * f->scale, c->w * f->scale,
                         c->h * f->scale, ek_audit_split_colour((size_t)c->split));
    }
}

/* The split with most chips in cell K, or -1 when it has none. */
static int cell_split(const uint32_t *counts, size_t k, size_t ns)
{
    size_t best = 0, s;

    for (s = 1; s < ns; s++) {
        best = counts[k * ns + s] > counts[k * ns + best] ? s : best;
    }
    return counts[k * ns + best] > 0 ? (int)best : -1;
}

/* Many chips: cells of the frame in the colour of their most frequent split
   (by chip centre); runs of cells of one split along a row become one
   rectangle, which keeps the file small. */
static int split_map_cells(ek_strbuf *b, const ek_chip_table *ix, const frame *f)
{
    double cell =
        (double)(f->x1 - f->x0 > f->y1 - f->y0 ? f->x1 - f->x0 : f->y1 - f->y0) /
        SPLIT_MAP_CELLS;
    size_t nx = (size_t)ceil((double)(f->x1 - f->x0) / cell) + 1;
    size_t ny = (size_t)ceil((double)(f->y1 - f->y0) / cell) + 1;
    size_t ns = ix->splits.n, i, x, y;
    uint32_t *counts = calloc(nx * ny * ns, sizeof *counts);

    if (counts == NULL) {
        return ek_error(b->ctx, EODKIT_ERR_NOMEM,
                        "out of memory drawing the split map");
    }
    for (i = 0; i < ix->n; i++) {
        const ek_chip_row *c = &ix->chips[i];
        size_t cx = (size_t)((double)(c->x - f->x0 + c->w / 2) / cell);
        size_t cy = (size_t)((double)(c->y - f->y0 + c->h / 2) / cell);

        if (c->grid == f->grid) {
            counts[(cy * nx + cx) * ns + (size_t)c->split]++;
        }
    }
    for (y = 0; y < ny; y++) {
        for (x = 0; x < nx;) {
            int split = cell_split(counts, y * nx + x, ns);
            size_t run = 1;

            while (x + run < nx && cell_split(counts, y * nx + x + run, ns) == split) {
                run++;
            }
            if (split >= 0) {
                ek_strbuf_printf(b,
                                 "<rect class=\"cell\" data-s=\"%d\" x=\"%.2f\" "
                                 "y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                                 "fill=\"%s\"/>",
                                 split, (double)x * cell * f->scale,
                                 (double)y * cell * f->scale,
                                 (double)run * cell * f->scale, cell * f->scale,
                                 ek_audit_split_colour((size_t)split));
            }
            x += run;
        }
    }
    free(counts);
    return b->status;
}

int ek_audit_svg_splits(ek_strbuf *b, const ek_chip_table *ix, const ek_audit_map *map,
                        size_t g)
{
    frame f = {(int32_t)g, INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN, 1};
    double w, h;
    size_t i, n = 0;
    int rc = EODKIT_OK;

    for (i = 0; i < ix->n; i++) {
        const ek_chip_row *c = &ix->chips[i];

        if (c->grid != f.grid) {
            continue;
        }
        n++;
        f.x0 = c->x < f.x0 ? c->x : f.x0;
        f.y0 = c->y < f.y0 ? c->y : f.y0;
        f.x1 = c->x + c->w > f.x1 ? c->x + c->w : f.x1;
        f.y1 = c->y + c->h > f.y1 ? c->y + c->h : f.y1;
    }
    if (n == 0) {
        return b->status;
    }
    w = (double)(f.x1 - f.x0);
    h = (double)(f.y1 - f.y0);
    f.scale = fmin(SPLIT_MAP_W / (w > 0 ? w : 1), SPLIT_MAP_H / (h > 0 ? h : 1));
    ek_strbuf_printf(b,
                     "<svg class=\"map splitmap\" viewBox=\"0 0 %.2f %.2f\" "
                     "style=\"max-width:%.0fpx\" role=\"img\" "
                     "aria-label=\"Chips on the grid, coloured by split\">"
                     "<rect class=\"sea\" width=\"%.2f\" height=\"%.2f\"/>",
                     w * f.scale, h * f.scale, w * f.scale, w * f.scale, h * f.scale);
    if (g < map->ngrids) {
        split_map_land(b, map, &map->grids[g], &f);
    }
    ek_strbuf_puts(b, "<g class=\"chips\">");
    if (n <= SPLIT_MAP_CHIPS) {
        split_map_chips(b, ix, &f);
    } else {
        rc = split_map_cells(b, ix, &f);
    }
    ek_strbuf_puts(b, "</g></svg>");
    return rc != EODKIT_OK ? rc : b->status;
}
