/*
** Dataset: the .npy reader behind the audit's histograms and the commands
** that read shards and predictions (eval, mosaic, preview). Parses the
** header dictionary NumPy writes and reads whole rows at a time.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ek_npy.h"

static int parse_descr(const char *descr, ek_npy_type *t)
{
    if ((descr[0] != '<' && descr[0] != '|' && descr[0] != '=') ||
        (descr[1] != 'u' && descr[1] != 'i' && descr[1] != 'f' && descr[1] != 'b') ||
        !isdigit((unsigned char)descr[2])) {
        return -1;
    }
    t->kind = descr[1];
    t->size = atoi(descr + 2);
    if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) {
        return -1;
    }
    if (t->kind == 'b') {
        return t->size == 1 ? 0 : -1;
    }
    return t->kind == 'f' && t->size < 4 ? -1 : 0;
}

/* Read the shape tuple starting at P ("(8, 32, 32)") into NF. */
static int parse_shape(const char *p, ek_npy *nf)
{
    for (p++; nf->ndim < EK_NPY_MAX_DIMS;) {
        char *end;
        long long v = strtoll(p, &end, 10);

        if (end == p) {
            break;
        }
        if (v < 0) {
            return -1;
        }
        nf->shape[nf->ndim++] = v;
        p = end + strspn(end, ", ");
    }
    return *p == ')' ? 0 : -1;
}

/* Bytes per row of NF, or 0 when the shape is absurdly large. */
static size_t row_bytes(const ek_npy *nf)
{
    size_t bytes = (size_t)nf->type.size;
    int i;

    for (i = 1; i < nf->ndim; i++) {
        if (nf->shape[i] != 0 && bytes > ((size_t)1 << 40) / (size_t)nf->shape[i]) {
            return 0;
        }
        bytes *= (size_t)nf->shape[i];
    }
    return bytes;
}

static int read_header(eodkit_ctx *ctx, const char *path, ek_npy *nf)
{
    unsigned char pre[12];
    char header[4096], *p, *descr, *shape, *end;
    size_t len;
    struct stat st;

    if (fread(pre, 1, 10, nf->f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 ||
        pre[6] < 1 || pre[6] > 3) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: not a NumPy .npy file", path);
    }
    len = (size_t)pre[8] | (size_t)pre[9] << 8;
    nf->data_offset = 10;
    if (pre[6] > 1) {
        if (fread(pre + 10, 1, 2, nf->f) != 2) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: truncated .npy header", path);
        }
        len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        nf->data_offset = 12;
    }
    if (len >= sizeof header || fread(header, 1, len, nf->f) != len) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: unreadable .npy header", path);
    }
    header[len] = '\0';
    nf->data_offset += (long long)len;
    descr = strstr(header, "'descr':");
    descr = descr != NULL ? strchr(descr + 8, '\'') : NULL;
    end = descr != NULL ? strchr(descr + 1, '\'') : NULL;
    if (descr != NULL && end != NULL && (size_t)(end - descr - 1) < sizeof nf->descr) {
        memcpy(nf->descr, descr + 1, (size_t)(end - descr - 1));
    }
    shape = strstr(header, "'shape':");
    p = shape != NULL ? strchr(shape, '(') : NULL;
    if (descr == NULL || parse_descr(descr + 1, &nf->type) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: unsupported .npy element type '%s' (use integers, "
                        "float32, float64 or bool, little-endian)",
                        path, nf->descr);
    }
    if (strstr(header, "'fortran_order': False") == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: a Fortran-order array (save it with "
                        "numpy.ascontiguousarray)",
                        path);
    }
    if (p == NULL || parse_shape(p, nf) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: unreadable .npy shape", path);
    }
    nf->row_bytes = row_bytes(nf);
    if (nf->row_bytes == 0 && nf->ndim > 1) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: rows of zero or absurd size", path);
    }
    if (fstat(fileno(nf->f), &st) != 0 ||
        (nf->ndim > 0 &&
         ((unsigned long long)st.st_size - (unsigned long long)nf->data_offset) /
                 nf->row_bytes <
             (unsigned long long)nf->shape[0])) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: shorter than its header says",
                        path);
    }
    return EODKIT_OK;
}

int ek_npy_open(eodkit_ctx *ctx, const char *path, ek_npy *nf)
{
    int rc;

    memset(nf, 0, sizeof *nf);
    nf->f = fopen(path, "rb");
    if (nf->f == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open", path);
    }
    rc = read_header(ctx, path, nf);
    if (rc != EODKIT_OK) {
        ek_npy_close(nf);
    }
    return rc;
}

void ek_npy_close(ek_npy *nf)
{
    if (nf->f != NULL) {
        fclose(nf->f);
        nf->f = NULL;
    }
}

int ek_npy_read_rows(eodkit_ctx *ctx, ek_npy *nf, const char *path, int64_t first,
                     int64_t count, void *buf)
{
    size_t bytes = (size_t)count * nf->row_bytes;

    if (first < 0 || count < 0 || nf->ndim == 0 || first + count > nf->shape[0]) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no rows %lld to %lld", path,
                        (long long)first, (long long)(first + count - 1));
    }
    if (fseeko(nf->f, (off_t)(nf->data_offset + first * (long long)nf->row_bytes),
               SEEK_SET) != 0 ||
        fread(buf, 1, bytes, nf->f) != bytes) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot read rows %lld to %lld", path,
                        (long long)first, (long long)(first + count - 1));
    }
    return EODKIT_OK;
}

double ek_npy_value(const unsigned char *p, ek_npy_type t)
{
    switch (t.kind) {
    case 'u':
    case 'b': {
        uint64_t v = 0;

        memcpy(&v, p, (size_t)t.size); /* little-endian host */
        return (double)v;
    }
    case 'i': {
        if (t.size == 1) {
            return (double)*(const int8_t *)p;
        } else if (t.size == 2) {
            int16_t v;

            memcpy(&v, p, 2);
            return v;
        } else if (t.size == 4) {
            int32_t v;

            memcpy(&v, p, 4);
            return v;
        } else {
            int64_t v;

            memcpy(&v, p, 8);
            return (double)v;
        }
    }
    default:
        if (t.size == 4) {
            float v;

            memcpy(&v, p, 4);
            return v;
        } else {
            double v;

            memcpy(&v, p, 8);
            return v;
        }
    }
}

void ek_npy_shape_text(const ek_npy *nf, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    int i;

    for (i = 0; i < nf->ndim && used < size; i++) {
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)nf->shape[i]);
    }
    if (used < size) {
        snprintf(buf + used, size - used, nf->ndim == 1 ? ",)" : ")");
    }
}
