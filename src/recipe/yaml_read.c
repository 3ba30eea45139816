/*
** Recipe: reading recipe.yaml within limits that keep a hostile file from
** hanging libyaml or exhausting memory, and typed access to the document
** with file:line:column errors. The recipe parser (recipe.c) is written
** entirely in terms of these calls.
*/
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_yaml.h"

/* Read at most EK_YAML_MAX_BYTES of FILE into a new buffer (*TEXT, *LEN). */
static int read_recipe(ek_yaml *y, const char *file, unsigned char **text, size_t *len)
{
    int rc = EODKIT_OK;
    FILE *f = fopen(file, "rb");
    unsigned char *buf = NULL;
    size_t n = 0;

    *text = NULL;
    if (f == NULL) {
        return ek_error(y->ctx, EODKIT_ERR_INPUT, "%s: cannot open recipe: %s", file,
                        strerror(errno));
    }
    /* One byte more than allowed tells an over-long file (or a FIFO, or
       /dev/zero) from one at the limit without trusting its size. */
    buf = ek_calloc(y->ctx, EK_YAML_MAX_BYTES + 1, 1);
    if (buf == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    n = fread(buf, 1, EK_YAML_MAX_BYTES + 1, f);
    if (ferror(f)) {
        rc = ek_error(y->ctx, EODKIT_ERR_INPUT, "%s: cannot read recipe: %s", file,
                      strerror(errno));
    } else if (n > EK_YAML_MAX_BYTES) {
        rc = ek_error(y->ctx, EODKIT_ERR_INPUT,
                      "%s: the recipe is larger than %d MiB; list files with globs "
                      "rather than one by one",
                      file, EK_YAML_MAX_BYTES / (1024 * 1024));
    }
out:
    fclose(f);
    if (rc != EODKIT_OK) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return EODKIT_OK;
}

/* Report the error PARSER stopped at. Reader errors (bytes that are not
   text) carry a byte offset rather than a mark: count lines in TEXT. */
static int syntax_error(ek_yaml *y, const char *file, const yaml_parser_t *parser,
                        const unsigned char *text, size_t len)
{
    size_t line = parser->problem_mark.line + 1, column = parser->problem_mark.column + 1;
    size_t i;

    if (parser->error == YAML_MEMORY_ERROR) {
        return ek_error(y->ctx, EODKIT_ERR_NOMEM, "%s: out of memory reading the recipe",
                        file);
    }
    if (parser->error == YAML_READER_ERROR) {
        line = 1, column = 1;
        for (i = 0; i < parser->problem_offset && i < len; i++) {
            if (text[i] == '\n') {
                line++, column = 1;
            } else if ((text[i] & 0xC0) != 0x80) {
                column++; /* not a UTF-8 continuation byte: a new character */
            }
        }
        return ek_error(y->ctx, EODKIT_ERR_INPUT,
                        "%s:%zu:%zu: %s (a recipe is UTF-8 text)",
                        file, line, column, parser->problem);
    }
    return ek_error(y->ctx, EODKIT_ERR_INPUT, "%s:%zu:%zu: YAML syntax error: %s%s%s",
                    file, line, column,
                    parser->problem ? parser->problem : "unreadable YAML",
                    parser->context ? " " : "", parser->context ? parser->context : "");
}

static int event_fail(ek_yaml *y, const char *file, const yaml_event_t *ev,
                      const char *problem)
{
    return ek_error(y->ctx, EODKIT_ERR_INPUT, "%s:%zu:%zu: %s", file,
                    ev->start_mark.line + 1, ev->start_mark.column + 1, problem);
}

/* One event of the stream check (see check_stream); *DEPTH and *DOCUMENTS
   count open collections and documents. */
static int check_event(ek_yaml *y, const char *file, const yaml_event_t *ev,
                       int *depth, int *documents)
{
    const yaml_char_t *anchor = NULL;
    char text[128];

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*documents > 1) {
            return event_fail(y, file, ev,
                              "a second YAML document: a recipe is one document "
                              "(remove this '---' and what follows)");
        }
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        anchor = ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                       : ev->data.mapping_start.anchor;
        if (++*depth > EK_YAML_MAX_DEPTH) {
            snprintf(text, sizeof text, "nested more than %d levels deep",
                     EK_YAML_MAX_DEPTH);
            return event_fail(y, file, ev, text);
        }
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        --*depth;
        break;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
            return event_fail(y, file, ev, "text holds a NUL character (\\0)");
        }
        break;
    case YAML_ALIAS_EVENT:
        return event_fail(y, file, ev,
                          "YAML aliases (*name) are not supported in a recipe; write "
                          "the value out");
    default:
        break;
    }
    if (anchor != NULL) {
        return event_fail(y, file, ev,
                          "YAML anchors (&name) are not supported in a recipe; write "
                          "the value out");
    }
    return EODKIT_OK;
}

/* Walk the events of TEXT before libyaml builds a document of it, checking
   the limits of ek_yaml_load, and any syntax error in the whole file (the
   loader itself stops reading after the first document). */
static int check_stream(ek_yaml *y, const char *file, const unsigned char *text,
                        size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, documents = 0, done = 0;
    int rc = EODKIT_OK;

    if (!yaml_parser_initialize(&parser)) {
        return ek_error(y->ctx, EODKIT_ERR_NOMEM, "%s: cannot start the YAML parser",
                        file);
    }
    yaml_parser_set_input_string(&parser, text, len);
    while (rc == EODKIT_OK && !done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax_error(y, file, &parser, text, len);
            break;
        }
        rc = check_event(y, file, &ev, &depth, &documents);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int ek_yaml_load(ek_yaml *y, const char *file)
{
    int rc;
    unsigned char *text = NULL;
    size_t len = 0;
    yaml_parser_t parser;
    int parser_ready = 0;

    rc = read_recipe(y, file, &text, &len);
    if (rc == EODKIT_OK) {
        rc = check_stream(y, file, text, len);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = ek_error(y->ctx, EODKIT_ERR_NOMEM, "%s: cannot start the YAML parser",
                      file);
        goto out;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &y->doc)) {
        rc = syntax_error(y, file, &parser, text, len);
        goto out;
    }
    y->loaded = 1;
    y->file = file;
    if (yaml_document_get_root_node(&y->doc) == NULL) {
        rc = ek_error(y->ctx, EODKIT_ERR_INPUT, "%s: the recipe is empty", file);
    }
out:
    if (parser_ready) {
        yaml_parser_delete(&parser);
    }
    free(text);
    return rc;
}

void ek_yaml_free(ek_yaml *y)
{
    if (y->loaded) {
        yaml_document_delete(&y->doc);
        y->loaded = 0;
    }
}

yaml_node_t *ek_yaml_root(ek_yaml *y)
{
    return yaml_document_get_root_node(&y->doc);
}

ek_mark ek_yaml_mark(const yaml_node_t *n)
{
    ek_mark m = {0, 0};

    if (n != NULL) {
        m.line = (int)n->start_mark.line + 1;
        m.column = (int)n->start_mark.column + 1;
    }
    return m;
}

int ek_yaml_fail(ek_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
    char text[EK_MESSAGE_MAX];
    ek_mark m = ek_yaml_mark(n);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (m.line == 0) {
        m.line = 1;
        m.column = 1;
    }
    return ek_error(y->ctx, EODKIT_ERR_INPUT, "%s:%d:%d: %s", y->file, m.line, m.column,
                    text);
}

const char *ek_yaml_text(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
    const char *t = ek_yaml_text(n);

    if (t == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return 0;
    }
    return strcmp(t, "") == 0 || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
           strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a value";
    }
}

size_t ek_yaml_map_len(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_MAPPING_NODE) {
        return 0;
    }
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

void ek_yaml_map_pair(ek_yaml *y, yaml_node_t *n, size_t i, yaml_node_t **key,
                      yaml_node_t **value)
{
    yaml_node_pair_t *p = n->data.mapping.pairs.start + i;

    *key = yaml_document_get_node(&y->doc, p->key);
    *value = yaml_document_get_node(&y->doc, p->value);
}

size_t ek_yaml_seq_len(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
        return 0;
    }
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *ek_yaml_seq_item(ek_yaml *y, yaml_node_t *n, size_t i)
{
    return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

int ek_yaml_check_map(ek_yaml *y, yaml_node_t *n, const char *what,
                      const char *const *keys)
{
    size_t i, j, nkeys = 0;

    if (n == NULL || n->type != YAML_MAPPING_NODE) {
        return ek_yaml_fail(y, n, "%s: expected a mapping of keys, got %s", what,
                            n == NULL ? "nothing" : kind_name(n));
    }
    while (keys[nkeys] != NULL) {
        nkeys++;
    }
    for (i = 0; i < ek_yaml_map_len(n); i++) {
        yaml_node_t *key, *value;
        const char *name;
        const char *near;

        ek_yaml_map_pair(y, n, i, &key, &value);
        name = ek_yaml_text(key);
        if (name == NULL) {
            return ek_yaml_fail(y, key, "%s: keys must be plain words", what);
        }
        for (j = 0; j < nkeys; j++) {
            if (strcmp(name, keys[j]) == 0) {
                break;
            }
        }
        if (j == nkeys) {
            near = ek_nearest_word(name, keys, nkeys);
            if (near != NULL) {
                return ek_yaml_fail(y, key,
                                    "unknown key '%s' in %s (did you mean '%s'?)", name,
                                    what, near);
            }
            return ek_yaml_fail(
                y, key, "unknown key '%s' in %s (valid keys: see doc/recipe.md)", name,
                what);
        }
        for (j = 0; j < i; j++) {
            yaml_node_t *other, *ignored;

            ek_yaml_map_pair(y, n, j, &other, &ignored);
            if (strcmp(ek_yaml_text(other) ? ek_yaml_text(other) : "", name) == 0) {
                return ek_yaml_fail(y, key, "duplicate key '%s' in %s", name, what);
            }
        }
    }
    return EODKIT_OK;
}

yaml_node_t *ek_yaml_get(ek_yaml *y, yaml_node_t *map, const char *key)
{
    size_t i;

    for (i = 0; i < ek_yaml_map_len(map); i++) {
        yaml_node_t *k, *v;
        const char *name;

        ek_yaml_map_pair(y, map, i, &k, &v);
        name = ek_yaml_text(k);
        if (name != NULL && strcmp(name, key) == 0) {
            return is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

int ek_yaml_require(ek_yaml *y, yaml_node_t *map, const char *what, const char *key,
                    yaml_node_t **out)
{
    *out = ek_yaml_get(y, map, key);
    if (*out == NULL) {
        return ek_yaml_fail(y, map, "%s: missing required key '%s'", what, key);
    }
    return EODKIT_OK;
}

int ek_yaml_string(ek_yaml *y, yaml_node_t *n, const char *what, char **out)
{
    const char *t = ek_yaml_text(n);

    if (t == NULL) {
        return ek_yaml_fail(y, n, "%s: expected text, got %s", what, kind_name(n));
    }
    *out = ek_strdup(y->ctx, t);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

int ek_yaml_number(ek_yaml *y, yaml_node_t *n, const char *what, double *out)
{
    const char *t = ek_yaml_text(n);
    char *end = NULL;
    double v;

    if (t == NULL) {
        return ek_yaml_fail(y, n, "%s: expected a number, got %s", what, kind_name(n));
    }
    errno = 0;
    v = strtod(t, &end);
    if (end == t || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        return ek_yaml_fail(y, n, "%s: expected a number, got '%s'", what, t);
    }
    *out = v;
    return EODKIT_OK;
}

int ek_yaml_int(ek_yaml *y, yaml_node_t *n, const char *what, long long min,
                long long max, long long *out)
{
    const char *t = ek_yaml_text(n);
    char *end = NULL;
    long long v;

    if (t == NULL) {
        return ek_yaml_fail(y, n, "%s: expected a whole number, got %s", what,
                            kind_name(n));
    }
    errno = 0;
    v = strtoll(t, &end, 10);
    if (end == t || *end != '\0' || errno == ERANGE) {
        return ek_yaml_fail(y, n, "%s: expected a whole number, got '%s'", what, t);
    }
    if (v < min || v > max) {
        return ek_yaml_fail(y, n, "%s: %lld is out of range [%lld, %lld]", what, v, min,
                            max);
    }
    *out = v;
    return EODKIT_OK;
}

int ek_yaml_bool(ek_yaml *y, yaml_node_t *n, const char *what, int *out)
{
    static const char *const words[] = {"true", "false", "yes", "no",
                                        "on",   "off",   NULL};
    int index;
    int rc = ek_yaml_choice(y, n, what, words, &index);

    if (rc == EODKIT_OK) {
        *out = index % 2 == 0;
    }
    return rc;
}

int ek_yaml_choice(ek_yaml *y, yaml_node_t *n, const char *what,
                   const char *const *choices, int *index)
{
    const char *t = ek_yaml_text(n);
    char list[512] = "";
    size_t nchoices = 0, used = 0;
    const char *near;

    if (t == NULL) {
        return ek_yaml_fail(y, n, "%s: expected a word, got %s", what, kind_name(n));
    }
    for (nchoices = 0; choices[nchoices] != NULL; nchoices++) {
        if (strcmp(t, choices[nchoices]) == 0) {
            *index = (int)nchoices;
            return EODKIT_OK;
        }
        if (used < sizeof list) {
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     nchoices ? ", " : "", choices[nchoices]);
        }
    }
    near = ek_nearest_word(t, choices, nchoices);
    if (near != NULL) {
        return ek_yaml_fail(y, n, "%s: unknown value '%s' (did you mean '%s'?)", what,
                            t, near);
    }
    return ek_yaml_fail(y, n, "%s: unknown value '%s' (one of: %s)", what, t, list);
}

int ek_yaml_string_list(ek_yaml *y, yaml_node_t *n, const char *what, char ***out,
                        size_t *count)
{
    size_t i, len;
    char **items;

    *out = NULL;
    *count = 0;
    if (n->type == YAML_SCALAR_NODE) {
        len = 1;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        len = ek_yaml_seq_len(n);
    } else {
        return ek_yaml_fail(y, n, "%s: expected a list of text, got a mapping", what);
    }
    items = ek_calloc(y->ctx, len, sizeof *items);
    if (items == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len; i++) {
        yaml_node_t *item = n->type == YAML_SCALAR_NODE ? n : ek_yaml_seq_item(y, n, i);
        int rc = ek_yaml_string(y, item, what, &items[i]);

        if (rc != EODKIT_OK) {
            while (i > 0) {
                free(items[--i]);
            }
            free(items);
            return rc;
        }
    }
    *out = items;
    *count = len;
    return EODKIT_OK;
}

int ek_yaml_number_pair(ek_yaml *y, yaml_node_t *n, const char *what, double *a,
                        double *b)
{
    int rc;

    if (n->type == YAML_SEQUENCE_NODE) {
        if (ek_yaml_seq_len(n) != 2) {
            return ek_yaml_fail(y, n, "%s: expected one number or a list of two", what);
        }
        rc = ek_yaml_number(y, ek_yaml_seq_item(y, n, 0), what, a);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_number(y, ek_yaml_seq_item(y, n, 1), what, b);
        }
    } else {
        rc = ek_yaml_number(y, n, what, a);
        *b = *a;
    }
    if (rc == EODKIT_OK && (*a <= 0 || *b <= 0)) {
        return ek_yaml_fail(y, n, "%s: must be greater than 0", what);
    }
    return rc;
}

int ek_yaml_path(ek_yaml *y, const char *base, yaml_node_t *n, const char *what,
                 char **out)
{
    char *raw = NULL;
    int rc = ek_yaml_string(y, n, what, &raw);

    if (rc != EODKIT_OK) {
        return rc;
    }
    *out = ek_path_join(y->ctx, base, raw);
    free(raw);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

int ek_yaml_opt_string(ek_yaml *y, yaml_node_t *map, const char *key, const char *what,
                       char **out)
{
    yaml_node_t *n = ek_yaml_get(y, map, key);

    if (n == NULL) {
        return EODKIT_OK;
    }
    free(*out);
    *out = NULL;
    return ek_yaml_string(y, n, what, out);
}

int ek_yaml_opt_fraction(ek_yaml *y, yaml_node_t *map, const char *key,
                         const char *what, double *out)
{
    yaml_node_t *n = ek_yaml_get(y, map, key);
    int rc;

    if (n == NULL) {
        return EODKIT_OK;
    }
    rc = ek_yaml_number(y, n, what, out);
    if (rc == EODKIT_OK && (*out < 0 || *out > 1)) {
        return ek_yaml_fail(y, n, "%s: must be a fraction between 0 and 1", what);
    }
    return rc;
}

int ek_yaml_check_name(ek_yaml *y, yaml_node_t *n, const char *what, const char *s)
{
    const char *p;

    if (s[0] == '\0' || s[0] == '.') {
        return ek_yaml_fail(y, n, "%s: '%s' is not a valid name", what, s);
    }
    for (p = s; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
            return ek_yaml_fail(
                y, n, "%s: '%s' may only hold letters, digits, '_', '-' and '.'", what,
                s);
        }
    }
    return EODKIT_OK;
}
