/*
** Dataset: reading NumPy .npy files (the shards a build writes, and the
** prediction arrays `eodkit eval` and `eodkit mosaic` are given), row by row
** and never whole, so memory does not grow with the file.
*/
#ifndef EK_NPY_H
#define EK_NPY_H

#include <stdint.h>
#include <stdio.h>

#include "core/ek_ctx.h"

#define EK_NPY_MAX_DIMS 6

/* The element type of an .npy file. */
typedef struct ek_npy_type {
    char kind; /* 'u', 'i', 'f', or 'b' (bool, read as 0/1) */
    int size;  /* bytes */
} ek_npy_type;

typedef struct ek_npy {
    FILE *f;
    ek_npy_type type;
    int64_t shape[EK_NPY_MAX_DIMS];
    int ndim;
    long long data_offset; /* where the elements start */
    size_t row_bytes;      /* bytes of one row (the first axis) */
    char descr[16];        /* the header's 'descr', for messages */
} ek_npy;

/*
** Open .npy file PATH (format 1.0 to 3.0, C order, little-endian, integer,
** float32/float64 or bool elements, up to EK_NPY_MAX_DIMS dimensions) and
** read its header: the dictionary of 'descr', 'fortran_order' and 'shape'
** numpy.save writes, nothing else; the file is left positioned at the first
** element. A file shorter than its header says is refused. On failure NF holds no open
*file
** and CTX names PATH (EODKIT_ERR_IO when it cannot be opened,
** EODKIT_ERR_INPUT when it is not such an array). Close with ek_npy_close.
*/
int ek_npy_open(eodkit_ctx *ctx, const char *path, ek_npy *nf /* OUT */);

/* ek_npy_open of the file already open as F (PATH names it in messages),
   which NF takes over: closed by ek_npy_close, or at once on failure. F
   may be any seekable stream (fmemopen too). */
int ek_npy_open_file(eodkit_ctx *ctx, FILE *f, const char *path, ek_npy *nf /* OUT */);

/* The element type of dataset arrays of NumPy dtype NAME ("uint8", "int16",
   "float32", ...: the types doc/format.md lists, "int64" of box_range
   among them) into *T; -1 for any other name. */
int ek_npy_type_of(const char *name, ek_npy_type *t /* OUT */);

/* Close NF's file (a closed or failed NF is fine). */
void ek_npy_close(ek_npy *nf);

/* Read COUNT rows from row FIRST of NF (opened from PATH) into BUF
   (COUNT * NF->row_bytes bytes). */
int ek_npy_read_rows(eodkit_ctx *ctx, ek_npy *nf, const char *path, int64_t first,
                     int64_t count, void *buf);

/* The element at P of type T as a double (little-endian host). */
double ek_npy_value(const unsigned char *p, ek_npy_type t);

/* "(8, 32, 32)": NF's shape as NumPy prints it, into BUF of SIZE bytes. */
void ek_npy_shape_text(const ek_npy *nf, char *buf, size_t size);

#endif
