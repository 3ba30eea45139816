/*
** Label: the change mask of task change. One change layer (any label layer
** or raster: where it has a class, something changed), or two label
** sources, before and after, with the same classes: a pixel changed where
** its class differs. Both are rendered like any labels, then compared; with
** two sources each pixel's classes before and after are kept too.
*/
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_label.h"

/* CLASSES (N, by id) gets the classes of FROM that it lacks. */
static int merge_classes(eodkit_ctx *ctx, ek_class **classes, size_t *n,
                         const ek_labels *from)
{
    size_t i, j;

    for (i = 0; i < from->nclasses; i++) {
        ek_class *grown;

        for (j = 0; j < *n && (*classes)[j].id != from->classes[i].id; j++) {
        }
        if (j < *n) {
            continue;
        }
        grown = ek_realloc_array(ctx, *classes, *n + 1, sizeof **classes);
        if (grown == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        *classes = grown;
        for (j = *n; j > 0 && grown[j - 1].id > from->classes[i].id; j--) {
            grown[j] = grown[j - 1];
        }
        grown[j].id = from->classes[i].id;
        grown[j].name = ek_strdup(ctx, from->classes[i].name);
        (*n)++;
        if (grown[j].name == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

/* The two sources must give every class id they share the same name: else
   their ids come from different value tables (e.g. sorted text values) and
   comparing them would be meaningless. */
static int check_agree(eodkit_ctx *ctx, const ek_recipe *r, const ek_change *c)
{
    char where[512];
    size_t i, j;

    for (i = 0; i < c->before->nclasses; i++) {
        for (j = 0; j < c->after->nclasses; j++) {
            const ek_class *a = &c->before->classes[i], *b = &c->after->classes[j];

            if (a->id == b->id && strcmp(a->name, b->name) != 0) {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: the two label sources give class id %d to '%s' "
                    "(%s) and to '%s' (%s); map both with labels.classes "
                    "so that a class has one id",
                    ek_recipe_where(r, r->labels.source_mark, where, sizeof where),
                    a->id, a->name, r->labels.source, b->name, r->labels.after);
            }
        }
    }
    return EODKIT_OK;
}

int ek_change_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    ek_change *c = ek_calloc(ctx, 1, sizeof *c);
    int rc;

    if (c == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->change = c;
    rc = ek_labels_open_source(ctx, r, p, source_id, &c->before);
    if (rc == EODKIT_OK && lr->after != NULL) {
        c->after_recipe = *r;
        c->after_recipe.labels.source = lr->after;
        rc = ek_labels_open_source(ctx, &c->after_recipe, p, source_id + 1, &c->after);
    }
    if (rc == EODKIT_OK && c->after != NULL) {
        rc = check_agree(ctx, r, c);
    }
    if (rc == EODKIT_OK) {
        rc = merge_classes(ctx, &c->classes, &c->nclasses, c->before);
    }
    if (rc == EODKIT_OK && c->after != NULL) {
        rc = merge_classes(ctx, &c->classes, &c->nclasses, c->after);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    c->max_class_id = c->before->max_id;
    c->class_type = c->before->dtype;
    if (c->after != NULL && c->after->max_id > c->max_class_id) {
        c->max_class_id = c->after->max_id;
        c->class_type = c->after->dtype;
    }
    /* the mask: 0 no change (the background), 1 change, the ignore index */
    l->is_raster = c->before->is_raster;
    l->max_id = lr->has_ignore && lr->ignore_index > 1 ? lr->ignore_index : 1;
    l->dtype = l->plane_type = l->max_id > 255 ? GDT_UInt16 : GDT_Byte;
    l->classes = ek_calloc(ctx, 1, sizeof *l->classes);
    if (l->classes == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->classes[0].id = 1;
    l->classes[0].name = ek_strdup(ctx, "change");
    l->nclasses = 1;
    return l->classes[0].name == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

void ek_change_free(ek_change *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    ek_labels_free(c->before);
    ek_labels_free(c->after);
    for (i = 0; i < c->nclasses; i++) {
        free(c->classes[i].name);
    }
    free(c->classes);
    free(c);
}

int ek_change_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, void *raw,
                     uint8_t *raw_valid, void *out, void *pair)
{
    const ek_change *c = l->change;
    const ek_labels_recipe *lr = l->recipe;
    size_t plane = (size_t)w->w * (size_t)w->h, px;
    unsigned char *before = ek_calloc(ctx, 2 * plane, sizeof(uint16_t));
    unsigned char *after = before != NULL ? before + plane * sizeof(uint16_t) : NULL;
    int rc = before == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    if (rc == EODKIT_OK) {
        rc = ek_labels_render(ctx, c->before, p, g, w, reader, raw, raw_valid, before);
    }
    if (rc == EODKIT_OK && c->after != NULL) {
        rc = ek_labels_render(ctx, c->after, p, g, w, reader, raw, raw_valid, after);
    }
    for (px = 0; rc == EODKIT_OK && px < plane; px++) {
        int b = (int)ek_pixel_get(before, c->before->dtype, px), a, mask;

        if (c->after == NULL) {
            mask = lr->has_ignore && b == lr->ignore_index ? lr->ignore_index
                                                           : b != lr->background;
        } else {
            a = (int)ek_pixel_get(after, c->after->dtype, px);
            mask = lr->has_ignore && (b == lr->ignore_index || a == lr->ignore_index)
                       ? lr->ignore_index
                       : a != b;
            if (pair != NULL) {
                ek_pixel_set(pair, c->class_type, px, b);
                ek_pixel_set(pair, c->class_type, plane + px, a);
            }
        }
        ek_pixel_set(out, l->dtype, px, mask);
    }
    free(before);
    return rc;
}
