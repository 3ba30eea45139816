/*
** Grid: cells of the reference grids (grid.system) that datasets share.
** The Major TOM grid's rows, columns, centroids and names, and the cell id
** of a chip on either system. doc/format.md (Cell ids) is the definition;
** tests/integration/test_reference_grid.py recomputes it in Python.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ek_plan.h"

/* The Earth radius Major TOM divides, km (its equatorial radius). */
#define MAJORTOM_RADIUS_KM 6378.137

int ek_majortom_rows(double spacing)
{
    return (int)ceil(M_PI * MAJORTOM_RADIUS_KM / spacing);
}

int ek_majortom_cols(double spacing, int row)
{
    double lat = row * (180.0 / ek_majortom_rows(spacing));
    int n =
        (int)ceil(2 * M_PI * MAJORTOM_RADIUS_KM * cos(lat * M_PI / 180.0) / spacing);

    return n > 1 ? n : 1;
}

/* Floor of A / B for a whole B > 0, whatever A's sign. */
static long long floor_div(long long a, long long b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void ek_majortom_cell_at(double spacing, double lon, double lat, int *row, int *col)
{
    int n;
    long long c;

    *row = (int)floor(lat / (180.0 / ek_majortom_rows(spacing)));
    n = ek_majortom_cols(spacing, *row);
    /* columns run from -(n / 2) to n - 1 - n / 2 (wrapping at 180 degrees) */
    c = (long long)floor(lon / (360.0 / n)) + n / 2;
    *col = (int)(c - floor_div(c, n) * n - n / 2);
}

void ek_majortom_centroid(double spacing, int row, int col, double *lon, double *lat)
{
    double dlat = 180.0 / ek_majortom_rows(spacing);
    double dlon = 360.0 / ek_majortom_cols(spacing, row);

    *lon = col * dlon + dlon / 2;
    *lat = row * dlat + dlat / 2;
}

void ek_majortom_name(int row, int col, char *buf, size_t size)
{
    snprintf(buf, size, "%d%c_%d%c", abs(row), row >= 0 ? 'U' : 'D', abs(col),
             col >= 0 ? 'R' : 'L');
}

void ek_plan_cell(const ek_plan *p, size_t chip_id, char *buf, size_t size)
{
    ek_chip c;
    const ek_grid *g;
    double left, top;

    buf[0] = '\0';
    if (p->recipe->system == EK_SYSTEM_MAJORTOM) {
        ek_majortom_name(p->cells[chip_id].row, p->cells[chip_id].col, buf, size);
        return;
    }
    if (p->recipe->system != EK_SYSTEM_UTM_CELLS) {
        return;
    }
    c = ek_plan_chip(p, chip_id);
    g = &p->grids[c.grid];
    left = g->gt[0] + c.window.x * g->gt[1];
    top = g->gt[3] + c.window.y * g->gt[5];
    /* OlmoEarth's tiles: column x / side, row -y / side (rows count down) */
    snprintf(buf, size, "%s_%g_%lld_%lld", g->crs_code, g->gt[1],
             llround(left / (p->chip_w * g->gt[1])),
             llround(-top / (p->chip_h * -g->gt[5])));
}
