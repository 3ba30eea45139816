/*
** Export: what export.c (the driver: splits, chips, images, YOLO labels,
** the output folder) and coco.c (COCO JSON, with instance masks as
** polygons or RLE) share.
*/
#ifndef EK_EXPORT_H
#define EK_EXPORT_H

#include <jansson.h>

#include "eodkit/export.h"
#include "eval/ek_eval.h"
#include "write/ek_write.h"

typedef struct ek_export {
    eodkit_ctx *ctx;
    eodkit_export_options opt;
    int yolo;       /* else COCO */
    ek_chipset *cs; /* the chips of the exported splits */
    ek_classes cl;  /* the dataset's classes (the background among them) */
    ek_object_reader objects;
    ek_chip_objects obj; /* the chip being exported */
    int instance;        /* the dataset has instance masks */
    int64_t h, w;        /* chip size */
    size_t mask_bytes;   /* one chip's instance row */
    int mask_size;       /* bytes per instance id: 2 or 4 */
    ek_shard_reader masks;
    unsigned char *mask; /* the chip's instance ids */
    ek_output out;       /* the folder being written: OUT_DIR.partial */
} ek_export;

/* The chip's image file name (no folder) into BUF: "<chip_id>.tif". */
void ek_export_image_name(const ek_audit_chip *c, char *buf, size_t size);

/* COCO: a new document for split SPLIT (categories from E's classes). */
json_t *ek_coco_new(const ek_export *e, const char *split);

/* COCO: add chip C (its objects are E->obj, its instance ids E->mask) to
   DOC: its image and one annotation per object, numbered from *NEXT_ID. */
int ek_coco_add(ek_export *e, json_t *doc, const ek_audit_chip *c, int64_t *next_id);

#endif
