/*
** Audit: the pieces behind eodkit_audit(). Re-tagging and weighting the
** chip table (read by src/dataset/chip_table.c), the exact leakage
** measures over chip windows, entropy and sampling weights, per-band
** histograms of the training shards, and the writers of the HTML report
** (with its maps) and the datasheet.
*/
#ifndef EK_AUDIT_H
#define EK_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/ek_ctx.h"
#include "core/ek_strbuf.h"
#include "dataset/ek_chip_table.h"
#include "eodkit/audit.h"
#include "regions/ek_regions.h"

/* ---- the chip table (audit_index.c) ---- */

/* Re-tag every chip of IX with region layer R (country, continent, region)
   by the largest share of its footprint on its grid (GRIDS, N of them, see
   ek_dataset_grids_read), as a build tags; chips that meet no polygon become
   "none". */
int ek_audit_retag(eodkit_ctx *ctx, ek_chip_table *ix, ek_regions *r,
                   const ek_dataset_grid *grids, size_t n);

/* Store W_CONTINENT and W_CLASS (one per chip of IX, in IX's order) as the
   REAL columns weight_continent and weight_class of index IX->path; an index
   that held exactly these when IX was read is left untouched. */
int ek_audit_write_weights(eodkit_ctx *ctx, const ek_chip_table *ix,
                           const double *w_continent, const double *w_class);

/* ---- split leakage (leakage.c) ---- */

typedef struct ek_leak_rect {
    int64_t x, y, w, h; /* a chip's window on the grid, pixels */
    int32_t split;      /* 0 .. nsplits - 1 */
} ek_leak_rect;

typedef struct ek_leakage {
    size_t nsplits;
    /* Grid pixels covered by chips of two or more splits (each counted
       once), and per pair a < b of splits, pair_pixels[a * nsplits + b]. */
    int64_t shared_pixels;
    int64_t *pair_pixels;
    /* Whether two splits have chips (else the distances are meaningless). */
    int has_pairs;
    /* Smallest distance between the footprints of two chips of different
       splits (0 when they touch or overlap): Euclidean in pixels, Euclidean in
       CRS units, and the Chebyshev gap (the larger of the column and row gaps,
       the measure of the build's guard band). */
    double min_distance_pixels;
    double min_distance_crs;
    int64_t min_gap_pixels;
    size_t closest[2]; /* a pair of rects at min_distance_pixels */
} ek_leakage;

/*
** Measure leakage between the N rectangles RECTS of NSPLITS splits, exactly.
** Shared pixels come from a sweep over bands of grid rows in which the set of
** chips does not change (union of each split's column intervals per band):
** memory grows with the chips, never with the grid. Distances come from a
** k-d tree over the rectangles that skips subtrees of one split. RES_X and
** RES_Y are the pixel size in CRS units. Free OUT's buffers with
** ek_leakage_clear.
*/
int ek_leakage_compute(eodkit_ctx *ctx, const ek_leak_rect *rects, size_t n,
                       size_t nsplits, double res_x, double res_y,
                       ek_leakage *out /* OUT */);
void ek_leakage_clear(ek_leakage *l);

/* ---- balance (balance.c) ---- */

/*
** Shannon entropy of the N COUNTS divided by ln(CATEGORIES): 1 when the
** counts are equal over CATEGORIES categories, 0 when one holds everything.
** 0 when CATEGORIES < 2 or the counts sum to 0.
*/
double ek_audit_entropy(const double *counts, size_t n, size_t categories);

/*
** Sampling weights that equalise groups within each split: item i of split s
** in group g gets n_s / (G_s * n_sg), with n_s the items of s, G_s the groups
** that occur in s and n_sg the items of s in g. So each group of a split
** weighs the same in total, and a split's weights sum to its item count.
** SPLIT[i] < NSPLITS and GROUP[i] < NGROUPS; WEIGHTS receives N values.
*/
int ek_audit_weights(eodkit_ctx *ctx, const int32_t *split, const int32_t *group,
                     size_t n, size_t nsplits, size_t ngroups,
                     double *weights /* OUT */);

/* ---- per-band histograms (histogram.c) ---- */

/*
** Histograms of every band of every modality over the .npy shards of split
** SPLIT of the dataset in DIR: BINS equal bins from the band's min to max in
** STATS (stats.json), values equal to the nodata value and NaN left out, bin
** edges as numpy.histogram(range=(min, max)) places them. MODALITIES is
** collection.json's eodkit:modalities. *OUT: {"modality": [{"band", "name",
** "min", "max", "bins", "count", "counts"}]} (newly referenced).
*/
int ek_audit_histograms(eodkit_ctx *ctx, const char *dir, const char *split,
                        const json_t *modalities, const json_t *stats, int bins,
                        json_t **out /* OUT */);

/* ---- the reports (audit_html.c, audit_map.c, datasheet.c) ---- */

/* What the maps draw on: the region layer's polygons (lon/lat) and the
   dataset's grids. */
typedef struct ek_audit_map {
    ek_regions *layer; /* NULL: no layer could be read */
    const ek_dataset_grid *grids;
    size_t ngrids;
} ek_audit_map;

/*
** Append to B the SVG world map (equirectangular; country polygons of
** MAP->layer, simplified; countries shaded by their chips; chip density in
** 2-degree cells), or the SVG map of the chips of grid G coloured by split
** (over the layer's coastlines and borders nearby). Return B's status.
*/
int ek_audit_svg_world(ek_strbuf *b, const ek_chip_table *ix, const ek_audit_map *map);
int ek_audit_svg_splits(ek_strbuf *b, const ek_chip_table *ix, const ek_audit_map *map,
                        size_t g);

/* Colour of split K in every chart ("#rrggbb"). */
const char *ek_audit_split_colour(size_t k);

/* Write the self-contained HTML report for AUDIT (audit.json) to PATH. */
int ek_audit_html_write(eodkit_ctx *ctx, const char *path, const json_t *audit,
                        const ek_chip_table *ix, const ek_audit_map *map);

/* The parsed files of the dataset the datasheet draws on. */
typedef struct ek_audit_docs {
    const json_t *collection, *stats, *provenance, *audit;
    const char *recipe; /* the resolved recipe.yaml, or NULL */
} ek_audit_docs;

/* Write datasheet.md ("Datasheets for Datasets", Gebru et al.) to PATH. */
int ek_audit_datasheet_write(eodkit_ctx *ctx, const char *path,
                             const ek_audit_docs *docs);

#endif
