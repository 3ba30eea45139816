/*
** Build: one modality over one work unit. An acquisition is read part by
** part (bands that come from the same files) with its mask; a modality
** without time is one such read of all its files; a time mosaic merges the
** acquisitions (clear beats cloudy, newer beats older); a time stack gives
** each chip its newest usable acquisitions, oldest first.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gdalwarper.h>

#include "ek_build.h"
#include "grid/ek_time_select.h"

/* Where one acquisition goes. */
typedef struct acq_out {
    unsigned char *data;
    uint8_t *valid;
    uint8_t *cloud;
} acq_out;

/* Sources of part P of modality M (those of acquisition TIME, when given)
   and their placements on grid G, into SRC/PL; their number. */
static size_t pick_sources(const ek_modality *m, const ek_part *p, size_t g,
                           const int64_t *time, const ek_source **src,
                           const ek_placement **pl)
{
    size_t i, n = 0;

    for (i = p->first; i < p->first + p->count; i++) {
        if (time == NULL || m->sources[i].time == *time) {
            src[n] = &m->sources[i];
            pl[n] = ek_plan_placement(m, g, i);
            n++;
        }
    }
    return n;
}

static void base_request(const ek_plan *p, const ek_modality *m, size_t g,
                         ek_read_request *req)
{
    memset(req, 0, sizeof *req);
    req->grid = &p->grids[g];
    req->dtype = m->dtype;
    req->read_type = m->read_type;
    req->complex = m->recipe->complex;
    req->decibels =
        m->recipe->sar.scale != NULL && strcmp(m->recipe->sar.scale, "db") == 0;
    req->resampling = m->recipe->resampling;
    req->has_nodata = m->has_nodata;
    req->nodata = m->nodata;
    req->override_nodata = m->recipe->has_nodata;
    req->error_threshold = p->recipe->error_threshold;
}

/* The mask of acquisition TIME (or of all files) into OUT->cloud. */
static int read_mask(eodkit_ctx *ctx, ek_worker *w, size_t m, size_t g,
                     const ek_window *win, const int64_t *time, const ek_source **src,
                     const ek_placement **pl, acq_out *out)
{
    const ek_build *b = w->b;
    const ek_modality *mod = &b->plan->modalities[m];
    const ek_mask_recipe *mk = &mod->recipe->mask;
    ek_modality_buffers *buf = &w->mods[m];
    size_t plane = (size_t)win->w * (size_t)win->h, px, k;
    ek_read_request req;
    int rc;

    memset(out->cloud, 0, plane);
    if (!mk->present) {
        return EODKIT_OK;
    }
    if (mk->polygons != NULL) {
        return ek_shapes_render(ctx, b->masks[m], b->plan, g, win, GDT_Byte, out->cloud,
                                0, mk->time_field != NULL ? time : NULL);
    }
    base_request(b->plan, mod, g, &req);
    req.sources = src;
    req.placements = pl;
    req.nsources = pick_sources(mod, &mod->parts[0], g, time, src, pl);
    req.bands = &mk->band;
    req.nbands = 1;
    req.dtype = req.read_type = GDT_Float64;
    req.complex = EK_COMPLEX_REFUSE;
    req.decibels = 0;
    req.resampling = GRA_NearestNeighbour;
    req.has_nodata = req.override_nodata = 0;
    rc = ek_reader_read(ctx, w->reader, &req, win, buf->raw, buf->part_valid);
    for (px = 0; rc == EODKIT_OK && px < plane; px++) {
        double v = ((const double *)(const void *)buf->raw)[px];
        int masked = mk->values == NULL ? v != 0 : 0;

        for (k = 0; k < mk->nvalues && !masked; k++) {
            masked = v == mk->values[k];
        }
        out->cloud[px] = buf->part_valid[px] && masked;
    }
    return rc;
}

/* Acquisition TIME of modality M (every file when TIME is NULL) over WIN. */
static int read_acquisition(eodkit_ctx *ctx, ek_worker *w, size_t m, size_t g,
                            const ek_window *win, const int64_t *time, acq_out *out)
{
    const ek_build *b = w->b;
    const ek_modality *mod = &b->plan->modalities[m];
    ek_modality_buffers *buf = &w->mods[m];
    size_t plane = (size_t)win->w * (size_t)win->h, part, px;
    size_t dsize = (size_t)ek_dtype_size(mod->dtype);
    const ek_source **src = calloc(mod->nsources + 1, sizeof *src);
    const ek_placement **pl = calloc(mod->nsources + 1, sizeof *pl);
    int rc = src == NULL || pl == NULL
                 ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                 : EODKIT_OK;

    for (part = 0; part < mod->nparts && rc == EODKIT_OK; part++) {
        const ek_part *p = &mod->parts[part];
        ek_read_request req;

        base_request(b->plan, mod, g, &req);
        req.sources = src;
        req.placements = pl;
        req.nsources = pick_sources(mod, p, g, time, src, pl);
        req.bands = p->bands;
        req.nbands = p->nbands;
        rc = ek_reader_read(ctx, w->reader, &req, win,
                            out->data + (size_t)p->first_band * plane * dsize,
                            part == 0 ? out->valid : buf->part_valid);
        for (px = 0; part > 0 && px < plane; px++) {
            out->valid[px] &= buf->part_valid[px];
        }
    }
    if (rc == EODKIT_OK) {
        rc = read_mask(ctx, w, m, g, win, time, src, pl, out);
    }
    free(src);
    free(pl);
    return rc;
}

/* Time mosaic: merge acquisitions oldest to newest; a pixel is replaced by a
   clear observation, or by a cloudy one while it has no clear one. */
static int read_mosaic(eodkit_ctx *ctx, ek_worker *w, size_t m, size_t g,
                       const ek_window *win)
{
    const ek_modality *mod = &w->b->plan->modalities[m];
    ek_modality_buffers *buf = &w->mods[m];
    size_t plane = (size_t)win->w * (size_t)win->h, px, t;
    size_t dsize = (size_t)ek_dtype_size(mod->dtype);
    acq_out out = {buf->acq, buf->acq_valid, buf->acq_cloud};
    int band, rc = EODKIT_OK;

    memset(buf->valid, 0, plane);
    memset(buf->cloud, 0, plane);
    for (px = 0; px < plane; px++) {
        buf->origin[px] = 0xffff;
    }
    for (t = 0; t < mod->ntimes && rc == EODKIT_OK; t++) {
        rc = read_acquisition(ctx, w, m, g, win, &mod->times[t], &out);
        for (px = 0; rc == EODKIT_OK && px < plane; px++) {
            int take = buf->acq_valid[px] &&
                       (!buf->acq_cloud[px] || !buf->valid[px] || buf->cloud[px]);

            if (!take) {
                continue;
            }
            for (band = 0; band < mod->nbands; band++) {
                size_t at = ((size_t)band * plane + px) * dsize;

                memcpy(buf->data + at, buf->acq + at, dsize);
            }
            buf->valid[px] = 1;
            buf->cloud[px] = buf->acq_cloud[px];
            buf->origin[px] = (uint16_t)t;
        }
    }
    /* pixels no acquisition covers hold the nodata value */
    if (rc == EODKIT_OK && mod->has_nodata) {
        for (px = 0; px < plane; px++) {
            for (band = 0; !buf->valid[px] && band < mod->nbands; band++) {
                ek_pixel_set(buf->data, mod->dtype, (size_t)band * plane + px,
                             mod->nodata);
            }
        }
    }
    return rc;
}

/* The slot of chip K's stack that an acquisition made at TIME can fill, or
   -1: a stack fills its slots from the last (acquisitions come newest
   first), a change pair the empty slot of TIME's period. */
static int free_slot(const ek_modality *mod, const ek_modality_buffers *buf, size_t k,
                     int64_t time)
{
    int have = buf->steps_done[k], s;

    if (!mod->recipe->time.pair) {
        return have < mod->steps ? mod->steps - 1 - have : -1;
    }
    s = ek_time_period(&mod->recipe->time, time);
    return s >= 0 && buf->step_times[k * (size_t)mod->steps + (size_t)s] == INT64_MIN
               ? s
               : -1;
}

/* Time stack: acquisitions newest first; each chip takes those whose nodata
   and cloud shares pass the filters, into its slots from the last (a pair:
   the newest usable acquisition of each period). */
static int read_stack(eodkit_ctx *ctx, ek_worker *w, size_t m, const ek_unit_view *v,
                      ek_unit_result *res)
{
    const ek_build *b = w->b;
    const ek_recipe *r = b->recipe;
    const ek_modality *mod = &b->plan->modalities[m];
    ek_modality_buffers *buf = &w->mods[m];
    size_t dsize = (size_t)ek_dtype_size(mod->dtype), k, t, done = 0;
    size_t step_bytes = b->arrays[m].chip_bytes / (size_t)mod->steps;
    acq_out out = {buf->acq, buf->acq_valid, buf->acq_cloud};
    int slot, rc = EODKIT_OK;

    for (k = 0; k < v->nchips; k++) {
        buf->steps_done[k] = 0;
        buf->step_nodata[k] = 0;
        buf->step_cloud[k] = 0;
        for (slot = 0; slot < mod->steps; slot++) {
            buf->step_times[k * (size_t)mod->steps + (size_t)slot] = INT64_MIN;
        }
    }
    for (t = mod->ntimes; t-- > 0 && done < v->nchips && rc == EODKIT_OK;) {
        rc = read_acquisition(ctx, w, m, v->grid, &v->window, &mod->times[t], &out);
        for (k = 0; k < v->nchips && rc == EODKIT_OK; k++) {
            ek_chip c = ek_plan_chip(b->plan, v->chip_ids[k]);
            int have = buf->steps_done[k];
            double nodata, cloud;

            slot = free_slot(mod, buf, k, mod->times[t]);
            if (slot < 0) {
                continue;
            }
            ek_chip_shares(buf->acq_valid, buf->acq_cloud, &v->window, &c.window,
                           &nodata, &cloud);
            if (nodata > r->max_nodata || cloud > r->max_cloud) {
                continue;
            }
            ek_cut_chip(res->data[m] + k * b->arrays[m].chip_bytes +
                            (size_t)slot * step_bytes,
                        buf->acq, &v->window, &c.window, mod->nbands, dsize);
            buf->step_times[k * (size_t)mod->steps + (size_t)slot] = mod->times[t];
            buf->step_nodata[k] =
                nodata > buf->step_nodata[k] ? nodata : buf->step_nodata[k];
            buf->step_cloud[k] =
                cloud > buf->step_cloud[k] ? cloud : buf->step_cloud[k];
            buf->steps_done[k] = have + 1;
            done += have + 1 == mod->steps;
        }
    }
    return rc;
}

int ek_read_modality(eodkit_ctx *ctx, ek_worker *w, size_t m, const ek_unit_view *v,
                     ek_unit_result *res)
{
    const ek_modality *mod = &w->b->plan->modalities[m];
    ek_modality_buffers *buf = &w->mods[m];
    acq_out out = {buf->data, buf->valid, buf->cloud};

    switch (mod->recipe->time.mode) {
    case EK_TIME_STACK:
        return read_stack(ctx, w, m, v, res);
    case EK_TIME_MOSAIC:
        return read_mosaic(ctx, w, m, v->grid, &v->window);
    default:
        return read_acquisition(ctx, w, m, v->grid, &v->window, NULL, &out);
    }
}
