/*
** Label: objects (detection and instance tasks). Each vector feature that
** meets a chip is clipped to the chip (OGR/GEOS); it is kept when at least
** min_visibility of its area lies inside, and described by the bounds of
** the clipped part in chip pixels and, for oriented boxes, by its minimum
** rotated rectangle (the minimum-area rectangle over the convex hull's
** edges, as shapely computes it).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "ek_label.h"

/* The rectangle of chip window CW (geotransform GT) as a polygon. */
static OGRGeometryH chip_polygon(const double gt[6], const ek_window *cw)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    double x0 = gt[0], x1 = gt[0] + cw->w * gt[1];
    double y0 = gt[3], y1 = gt[3] + cw->h * gt[5];

    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddPoint_2D(ring, x1, y0);
    OGR_G_AddPoint_2D(ring, x1, y1);
    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

static int compare_index(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

/* The points of RING (a closed ring) in chip pixels (geotransform GT) into
   X and Y; return how many (without the closing repeat), at most MAX. */
static int ring_pixels(OGRGeometryH ring, const double gt[6], double *x, double *y,
                       int max)
{
    int n = OGR_G_GetPointCount(ring) - 1, i;

    n = n < max ? n : max;
    for (i = 0; i < n; i++) {
        x[i] = (OGR_G_GetX(ring, i) - gt[0]) / gt[1];
        y[i] = (OGR_G_GetY(ring, i) - gt[3]) / gt[5];
    }
    return n;
}

/*
** The minimum-area rectangle around the N hull points X, Y (pixels) into
** OBB: for each hull edge, the bounds of the hull in the frame of that edge;
** the first of the smallest (shapely's minimum_rotated_rectangle). Corners
** go clockwise as seen on the image (y down), from the topmost (the
** leftmost of equally high ones).
*/
static void min_rotated_rectangle(const double *x, const double *y, int n, float obb[8])
{
    double best = INFINITY, corner[4][2], area, signed_area = 0;
    int i, j, first = 0;

    for (i = 0; i < n; i++) {
        double dx = x[(i + 1) % n] - x[i], dy = y[(i + 1) % n] - y[i];
        double len = sqrt(dx * dx + dy * dy), ux, uy, vx, vy;
        double a0 = INFINITY, a1 = -INFINITY, b0 = INFINITY, b1 = -INFINITY;

        if (len == 0) {
            continue;
        }
        ux = dx / len, uy = dy / len, vx = -uy, vy = ux;
        for (j = 0; j < n; j++) {
            double a = ux * x[j] + uy * y[j], b = vx * x[j] + vy * y[j];

            a0 = fmin(a0, a), a1 = fmax(a1, a), b0 = fmin(b0, b), b1 = fmax(b1, b);
        }
        area = (a1 - a0) * (b1 - b0);
        if (area < best) {
            /* back from the edge's frame: x = ux a + vx b, y = uy a + vy b */
            double a[4] = {a0, a1, a1, a0}, b[4] = {b0, b0, b1, b1};

            best = area;
            for (j = 0; j < 4; j++) {
                corner[j][0] = ux * a[j] + vx * b[j];
                corner[j][1] = uy * a[j] + vy * b[j];
            }
        }
    }
    for (j = 0; j < 4; j++) {
        signed_area += corner[j][0] * corner[(j + 1) % 4][1] -
                       corner[(j + 1) % 4][0] * corner[j][1];
        if (corner[j][1] < corner[first][1] ||
            (corner[j][1] == corner[first][1] && corner[j][0] < corner[first][0])) {
            first = j;
        }
    }
    /* y points down: a positive shoelace sum turns clockwise on the image */
    for (j = 0; j < 4; j++) {
        int k = signed_area >= 0 ? (first + j) % 4 : (first - j + 4) % 4;

        obb[2 * j] = (float)corner[k][0];
        obb[2 * j + 1] = (float)corner[k][1];
    }
}

/* The oriented box of the part SHAPE of an object (CRS units) into OBB. */
static int oriented_box(eodkit_ctx *ctx, OGRGeometryH shape, const double gt[6],
                        float obb[8])
{
    OGRGeometryH hull = OGR_G_ConvexHull(shape);
    OGRGeometryH ring = hull != NULL ? OGR_G_GetGeometryRef(hull, 0) : NULL;
    double *x = NULL, *y = NULL;
    int n = ring != NULL ? OGR_G_GetPointCount(ring) : 0, rc = EODKIT_OK;

    if (n < 4) { /* a hull of an area is a polygon */
        rc = ek_error_gdal(ctx, "the convex hull of an object is not a polygon");
        goto out;
    }
    x = ek_calloc(ctx, (size_t)n, sizeof *x);
    y = ek_calloc(ctx, (size_t)n, sizeof *y);
    if (x == NULL || y == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    n = ring_pixels(ring, gt, x, y, n);
    min_rotated_rectangle(x, y, n, obb);
out:
    free(x);
    free(y);
    OGR_G_DestroyGeometry(hull);
    return rc;
}

/* Describe feature K (geometry GEOM) on chip CHIP (geotransform GT) into O;
 *KEEP = 0 when too little of it lies inside. */
static int describe(eodkit_ctx *ctx, const ek_labels *l, size_t k, OGRGeometryH geom,
                    OGRGeometryH chip, const double gt[6], ek_object *o, int *keep)
{
    const ek_labels_recipe *lr = l->recipe;
    OGRGeometryH part = NULL, shape = geom;
    double area = OGR_G_Area(geom), inside = area;
    OGREnvelope e;
    int rc = EODKIT_OK;

    *keep = 0;
    memset(o, 0, sizeof *o);
    o->truncated = !OGR_G_Within(geom, chip);
    if (o->truncated) {
        part = OGR_G_Intersection(geom, chip);
        if (part == NULL) {
            return ek_error_gdal(ctx,
                                 "%s: feature %u cannot be clipped to a chip (an "
                                 "invalid polygon? ogr2ogr -makevalid mends it)",
                                 lr->source, l->shapes->ids[k]);
        }
        inside = OGR_G_Area(part);
        shape = part;
    }
    if (!(area > 0) || !(inside > 0) || inside < lr->min_visibility * area) {
        OGR_G_DestroyGeometry(part);
        return EODKIT_OK;
    }
    *keep = 1;
    o->id = l->shapes->ids[k];
    o->cls = (int)l->shapes->burn[k];
    o->visible = o->truncated ? (float)(inside / area) : 1.0f;
    OGR_G_GetEnvelope(shape, &e);
    o->box[0] = (float)((e.MinX - gt[0]) / gt[1]);
    o->box[1] = (float)((e.MaxY - gt[3]) / gt[5]);
    o->box[2] = (float)((e.MaxX - gt[0]) / gt[1]);
    o->box[3] = (float)((e.MinY - gt[3]) / gt[5]);
    if (lr->oriented) {
        rc = oriented_box(ctx, shape, gt, o->obb);
    }
    OGR_G_DestroyGeometry(part);
    return rc;
}

int ek_labels_objects(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                      const ek_window *cw, ek_object **objs, size_t *n, size_t *cap)
{
    const ek_shapes *sh = l->shapes;
    OGRGeometryH chip;
    CPLRectObj rect;
    void **found;
    double gt[6];
    int nfound = 0, i, keep, rc = EODKIT_OK;

    ek_grid_window_gt(&p->grids[g], cw, gt);
    rect.minx = gt[0];
    rect.maxx = gt[0] + cw->w * gt[1];
    rect.maxy = gt[3];
    rect.miny = gt[3] + cw->h * gt[5];
    found = CPLQuadTreeSearch(sh->trees[g], &rect, &nfound);
    if (nfound == 0) {
        CPLFree(found);
        return EODKIT_OK;
    }
    qsort(found, (size_t)nfound, sizeof *found, compare_index); /* feature order */
    chip = chip_polygon(gt, cw);
    for (i = 0; i < nfound && rc == EODKIT_OK; i++) {
        size_t k = (size_t)(intptr_t)found[i] - 1;

        rc = ek_grow(ctx, (void **)objs, cap, *n + 1, sizeof **objs);
        if (rc == EODKIT_OK) {
            rc = describe(ctx, l, k, sh->geoms[g * sh->n + k], chip, gt, &(*objs)[*n],
                          &keep);
        }
        *n += rc == EODKIT_OK && keep;
    }
    OGR_G_DestroyGeometry(chip);
    CPLFree(found);
    return rc;
}
