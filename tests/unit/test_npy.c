/*
** Unit tests of the .npy header reader (src/dataset/npy_read.c) on
** hand-made files: it takes what numpy.load takes of the arrays eodkit reads
** (the dictionary of 'descr', 'fortran_order' and 'shape', keys in any
** order, either quotes, '>' for 1-byte types) and refuses what numpy.load
** refuses (a missing or extra key, a shape that is not a tuple of
** non-negative integers) or eodkit cannot read (Fortran order, big-endian
** multi-byte elements), and a file shorter than its header says.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataset/ek_npy.h"

/* Open the format 1.0 .npy file of header dictionary DICT followed by DATA
   bytes (zeros) into NF; return the status, the message in CTX. */
static int open_npy(eodkit_ctx *ctx, const char *dict, size_t data, ek_npy *nf)
{
    static unsigned char file[8192];
    size_t len = strlen(dict), total = 10 + len + 1 + data;
    FILE *f;

    assert_true(total <= sizeof file);
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (unsigned char)((len + 1) & 0xff);
    file[9] = (unsigned char)((len + 1) >> 8);
    memcpy(file + 10, dict, len);
    file[10 + len] = '\n';
    memset(file + 11 + len, 0, data);
    f = fmemopen(file, total, "rb");
    assert_non_null(f);
    return ek_npy_open_file(ctx, f, "x.npy", nf);
}

static void takes_what_numpy_writes(void **state)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_npy nf;

    (void)state;
    assert_int_equal(
        open_npy(ctx,
                 "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 4), }   ",
                 24, &nf),
        EODKIT_OK);
    assert_int_equal(nf.ndim, 3);
    assert_int_equal(nf.shape[0], 3);
    assert_int_equal(nf.shape[2], 4);
    assert_int_equal(nf.row_bytes, 8);
    assert_int_equal(nf.type.kind, 'u');
    ek_npy_close(&nf);
    /* any key order, double quotes, no trailing comma; a 1-tuple; a 0-d array */
    assert_int_equal(
        open_npy(ctx, "{\"shape\": (5,), \"fortran_order\": False, \"descr\": \"<f4\"}",
                 20, &nf),
        EODKIT_OK);
    assert_int_equal(nf.ndim, 1);
    assert_int_equal(nf.type.size, 4);
    ek_npy_close(&nf);
    assert_int_equal(
        open_npy(ctx, "{'descr': '<i2', 'fortran_order': False, 'shape': ()}", 2, &nf),
        EODKIT_OK);
    assert_int_equal(nf.ndim, 0);
    ek_npy_close(&nf);
    /* byte order means nothing for 1-byte elements, as NumPy reads them */
    assert_int_equal(open_npy(ctx,
                              "{'descr': '>u1', 'fortran_order': False, 'shape': (2,)}",
                              2, &nf),
                     EODKIT_OK);
    ek_npy_close(&nf);
    eodkit_ctx_free(ctx);
}

static void refuses_other_headers(void **state)
{
    static const struct {
        const char *dict;
        const char *message;
    } cases[] = {
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (5)}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False}", "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (5,), 'x': 1}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (-5,)}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (5; 2)}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (5,)} x",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': 0, 'shape': (5,)}",
         "unreadable .npy header"},
        {"{'descr': '|u1', 'fortran_order': True, 'shape': (5,)}", "Fortran-order"},
        {"{'descr': '>u2', 'fortran_order': False, 'shape': (5,)}",
         "unsupported .npy element type '>u2'"},
        {"{'descr': '<u16', 'fortran_order': False, 'shape': (5,)}",
         "unsupported .npy element type '<u16'"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (5,)}",
         "unsupported .npy element type '|O'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6,)}",
         "shorter than its header says"},
    };
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_npy nf;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(open_npy(ctx, cases[i].dict, 5, &nf), EODKIT_ERR_INPUT);
        assert_null(nf.f);
        if (strstr(eodkit_ctx_message(ctx), cases[i].message) == NULL ||
            strncmp(eodkit_ctx_message(ctx), "x.npy: ", 7) != 0) {
            fail_msg("%s: %s", cases[i].dict, eodkit_ctx_message(ctx));
        }
    }
    eodkit_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(takes_what_numpy_writes),
        cmocka_unit_test(refuses_other_headers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
