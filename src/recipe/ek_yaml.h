/*
** Recipe: typed, position-aware access to a YAML document (libyaml). Every
** accessor reports a mistake as "file:line:column: what: problem" with
** EODKIT_ERR_INPUT, so the recipe parser reads like a schema.
*/
#ifndef EK_YAML_H
#define EK_YAML_H

#include <stddef.h>

#include <yaml.h>

#include "ek_recipe.h"

typedef struct ek_yaml {
    eodkit_ctx *ctx;
    const char *file;
    yaml_document_t doc;
    int loaded;
} ek_yaml;

/* Limits checked before libyaml builds the document (doc/recipe.md): its
   scanner slows down quadratically with flow nesting and with the number of
   anchors, and aliases multiply text, so a small hostile file could hang a
   build or exhaust memory. Real recipes are a few KiB, 6 levels deep. */
#define EK_YAML_MAX_BYTES (1024 * 1024)
#define EK_YAML_MAX_DEPTH 32

/* Parse FILE into Y (Y->ctx must be set). YAML syntax errors carry their
   line:column. Refused, at their line:column: a file larger than
   EK_YAML_MAX_BYTES, nesting deeper than EK_YAML_MAX_DEPTH, anchors and
   aliases, NUL characters in text, a second document. An empty file is an
   error. */
int ek_yaml_load(ek_yaml *y, const char *file);
void ek_yaml_free(ek_yaml *y);

yaml_node_t *ek_yaml_root(ek_yaml *y);
ek_mark ek_yaml_mark(const yaml_node_t *n);

/* Fail at node N (or at the document start when N is NULL). */
int ek_yaml_fail(ek_yaml *y, const yaml_node_t *n, const char *fmt, ...)
    EK_PRINTF(3, 4);

/* N must be a mapping whose keys are all in KEYS (NULL-terminated) and
   distinct; an unknown key is reported with the nearest valid one. */
int ek_yaml_check_map(ek_yaml *y, yaml_node_t *n, const char *what,
                      const char *const *keys);

/* Value of KEY in mapping MAP, or NULL when absent or null. */
yaml_node_t *ek_yaml_get(ek_yaml *y, yaml_node_t *map, const char *key);

/* Like ek_yaml_get, but a missing KEY is an error reported at MAP. */
int ek_yaml_require(ek_yaml *y, yaml_node_t *map, const char *what, const char *key,
                    yaml_node_t **out);

/* The text of scalar N, or NULL when N is not a scalar. Owned by Y. */
const char *ek_yaml_text(const yaml_node_t *n);

int ek_yaml_string(ek_yaml *y, yaml_node_t *n, const char *what, char **out);
int ek_yaml_number(ek_yaml *y, yaml_node_t *n, const char *what, double *out);
int ek_yaml_int(ek_yaml *y, yaml_node_t *n, const char *what, long long min,
                long long max, long long *out);
int ek_yaml_bool(ek_yaml *y, yaml_node_t *n, const char *what, int *out);

/* N must be one of CHOICES (NULL-terminated); *INDEX gets its position. */
int ek_yaml_choice(ek_yaml *y, yaml_node_t *n, const char *what,
                   const char *const *choices, int *index);

/* A scalar or a sequence of scalars, as newly allocated strings. */
int ek_yaml_string_list(ek_yaml *y, yaml_node_t *n, const char *what, char ***out,
                        size_t *count);

/* A positive number, or a sequence [A, B] of two positive numbers. */
int ek_yaml_number_pair(ek_yaml *y, yaml_node_t *n, const char *what, double *a,
                        double *b);

/* A path: N's text resolved against folder BASE (as is when absolute). */
int ek_yaml_path(ek_yaml *y, const char *base, yaml_node_t *n, const char *what,
                 char **out);

/* Optional text KEY of MAP into *OUT (replaced; untouched when absent). */
int ek_yaml_opt_string(ek_yaml *y, yaml_node_t *map, const char *key, const char *what,
                       char **out);

/* Optional fraction (0..1) KEY of MAP into *OUT (untouched when absent). */
int ek_yaml_opt_fraction(ek_yaml *y, yaml_node_t *map, const char *key,
                         const char *what, double *out);

/* Check that S (the text of N) can be a folder or file name part: letters,
   digits, '_', '-', '.', not starting with '.'. */
int ek_yaml_check_name(ek_yaml *y, yaml_node_t *n, const char *what, const char *s);

/* Number of items of sequence N (0 if N is not a sequence) and item I. */
size_t ek_yaml_seq_len(const yaml_node_t *n);
yaml_node_t *ek_yaml_seq_item(ek_yaml *y, yaml_node_t *n, size_t i);

/* Number of pairs of mapping N and pair I's key and value nodes. */
size_t ek_yaml_map_len(const yaml_node_t *n);
void ek_yaml_map_pair(ek_yaml *y, yaml_node_t *n, size_t i, yaml_node_t **key,
                      yaml_node_t **value);

#endif
