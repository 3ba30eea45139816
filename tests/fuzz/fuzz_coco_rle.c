/*
** Fuzz harness: COCO's compressed RLE strings, as detections in a
** predictions file give them (src/eval/coco_eval.c): any bytes are parsed
** into run lengths or refused, and run lengths are laid into a mask only
** when they fill it exactly.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/ek_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    char *text = malloc(size + 1);
    int64_t *counts = NULL;
    uint8_t mask[7 * 9];
    size_t n = 0;

    if (ctx == NULL || text == NULL) {
        eodkit_ctx_free(ctx);
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (ek_coco_rle_string(ctx, text, &counts, &n) == EODKIT_OK) {
        ek_coco_rle_mask(counts, n, 7, 9, mask);
    }
    free(counts);
    free(text);
    eodkit_ctx_free(ctx);
    return 0;
}
