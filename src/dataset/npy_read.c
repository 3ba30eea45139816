/*
** Dataset: the .npy reader behind the audit's histograms and the commands
** that read shards and predictions (eval, mosaic, preview). Parses the
** header dictionary NumPy writes and reads whole rows at a time.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ek_npy.h"

/* The NumPy dtype names a dataset's arrays may have (doc/format.md). */
static const struct {
    const char *name;
    ek_npy_type type;
} dataset_types[] = {
    {"uint8", {'u', 1}},   {"uint16", {'u', 2}}, {"int16", {'i', 2}},
    {"uint32", {'u', 4}},  {"int32", {'i', 4}},  {"float32", {'f', 4}},
    {"float64", {'f', 8}}, {"int64", {'i', 8}}, /* box_range only */
};

int ek_npy_type_of(const char *name, ek_npy_type *t)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof dataset_types / sizeof *dataset_types; i++) {
        if (strcmp(name, dataset_types[i].name) == 0) {
            *t = dataset_types[i].type;
            return 0;
        }
    }
    return -1;
}

/* ---- the header dictionary ---- */

/* A cursor over the header text (a Python dict literal). */
typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t')) {
        c->p++;
    }
}

/* Consume character CH (after any space); 0 when it is there, else -1. */
static int expect(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 0;
    }
    return -1;
}

/* A quoted string ('...' or "...", no escapes) into BUF of SIZE bytes. */
static int parse_string(cursor *c, char *buf, size_t size)
{
    const char *start;
    char quote;

    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) {
        return -1;
    }
    quote = *c->p++;
    start = c->p;
    while (c->p < c->end && *c->p != quote && *c->p != '\\' && *c->p != '\0') {
        c->p++;
    }
    if (c->p >= c->end || *c->p != quote || (size_t)(c->p - start) >= size) {
        return -1;
    }
    memcpy(buf, start, (size_t)(c->p - start));
    buf[c->p - start] = '\0';
    c->p++;
    return 0;
}

/* The literal WORD (True, False); 0 when it is there. */
static int parse_word(cursor *c, const char *word)
{
    size_t n = strlen(word);

    skip_space(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) {
        return -1;
    }
    c->p += n;
    return 0;
}

/* A tuple of non-negative integers ("(8, 32, 32)", "(8,)", "()") into NF:
   a single number needs its trailing comma, as in Python. */
static int parse_shape(cursor *c, ek_npy *nf)
{
    int commas = 0;

    if (expect(c, '(') != 0) {
        return -1;
    }
    for (;;) {
        int64_t v = 0;

        skip_space(c);
        if (c->p < c->end && *c->p == ')') {
            break;
        }
        if (c->p >= c->end || !isdigit((unsigned char)*c->p) ||
            nf->ndim == EK_NPY_MAX_DIMS) {
            return -1;
        }
        for (; c->p < c->end && isdigit((unsigned char)*c->p); c->p++) {
            if (v > (INT64_MAX - 9) / 10) {
                return -1;
            }
            v = v * 10 + (*c->p - '0');
        }
        nf->shape[nf->ndim++] = v;
        skip_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            commas++;
        } else if (c->p >= c->end || *c->p != ')') {
            return -1;
        }
    }
    c->p++;
    return nf->ndim == 1 && commas == 0 ? -1 : 0;
}

/* The element type of DESCR ("<u2", "|u1", "<f4", "|b1"; '>' only where
   byte order means nothing, as NumPy reads it), or -1. */
static int parse_descr(const char *descr, ek_npy_type *t)
{
    if (strlen(descr) != 3 || !isdigit((unsigned char)descr[2]) ||
        (descr[0] != '<' && descr[0] != '|' && descr[0] != '=' &&
         !(descr[0] == '>' && descr[2] == '1')) ||
        (descr[1] != 'u' && descr[1] != 'i' && descr[1] != 'f' && descr[1] != 'b')) {
        return -1;
    }
    t->kind = descr[1];
    t->size = descr[2] - '0';
    if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) {
        return -1;
    }
    if (t->kind == 'b') {
        return t->size == 1 ? 0 : -1;
    }
    return t->kind == 'f' && t->size < 4 ? -1 : 0;
}

/* Header fields, as the dictionary gives them. */
typedef struct header_fields {
    int descr, fortran, shape; /* seen */
    int fortran_order;
} header_fields;

/* The dictionary of header TEXT (LEN bytes): exactly the keys 'descr',
   'fortran_order' and 'shape' (the last of a repeated key counts), as
   numpy.load requires. */
static int parse_dict(const char *text, size_t len, ek_npy *nf, header_fields *h)
{
    cursor c = {text, text + len};
    char key[16];

    if (expect(&c, '{') != 0) {
        return -1;
    }
    skip_space(&c);
    while (c.p < c.end && *c.p != '}') {
        int rc;

        if (parse_string(&c, key, sizeof key) != 0 || expect(&c, ':') != 0) {
            return -1;
        }
        if (strcmp(key, "descr") == 0) {
            h->descr = 1;
            rc = parse_string(&c, nf->descr, sizeof nf->descr);
        } else if (strcmp(key, "fortran_order") == 0) {
            h->fortran = 1;
            h->fortran_order = parse_word(&c, "True") == 0;
            rc = h->fortran_order || parse_word(&c, "False") == 0 ? 0 : -1;
        } else if (strcmp(key, "shape") == 0) {
            h->shape = 1;
            nf->ndim = 0;
            rc = parse_shape(&c, nf);
        } else {
            return -1;
        }
        if (rc != 0) {
            return -1;
        }
        skip_space(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            skip_space(&c);
        } else if (c.p >= c.end || *c.p != '}') {
            return -1;
        }
    }
    if (expect(&c, '}') != 0) {
        return -1;
    }
    skip_space(&c);
    return c.p == c.end && h->descr && h->fortran && h->shape ? 0 : -1;
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
    char header[4096];
    header_fields h = {0, 0, 0, 0};
    size_t len;
    off_t size;

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
    if (parse_dict(header, len, nf, &h) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: unreadable .npy header (not the dictionary of 'descr', "
                        "'fortran_order' and 'shape' numpy.save writes)",
                        path);
    }
    if (parse_descr(nf->descr, &nf->type) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: unsupported .npy element type '%s' (use integers, "
                        "float32, float64 or bool, little-endian)",
                        path, nf->descr);
    }
    if (h.fortran_order) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: a Fortran-order array (save it with "
                        "numpy.ascontiguousarray)",
                        path);
    }
    nf->row_bytes = row_bytes(nf);
    if (nf->row_bytes == 0 && nf->ndim > 1) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: rows of zero or absurd size", path);
    }
    /* the file's size, then back to the first element */
    size = fseeko(nf->f, 0, SEEK_END) == 0 ? ftello(nf->f) : -1;
    if (size < 0 || fseeko(nf->f, (off_t)nf->data_offset, SEEK_SET) != 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot read it", path);
    }
    if (nf->ndim > 0 &&
        ((unsigned long long)size - (unsigned long long)nf->data_offset) /
                nf->row_bytes <
            (unsigned long long)nf->shape[0]) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: shorter than its header says",
                        path);
    }
    return EODKIT_OK;
}

int ek_npy_open_file(eodkit_ctx *ctx, FILE *f, const char *path, ek_npy *nf)
{
    int rc;

    memset(nf, 0, sizeof *nf);
    nf->f = f;
    rc = read_header(ctx, path, nf);
    if (rc != EODKIT_OK) {
        ek_npy_close(nf);
    }
    return rc;
}

int ek_npy_open(eodkit_ctx *ctx, const char *path, ek_npy *nf)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        memset(nf, 0, sizeof *nf);
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open", path);
    }
    return ek_npy_open_file(ctx, f, path, nf);
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
