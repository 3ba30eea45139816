/*
** Catalog: FAIR completeness. For each dataset, which of six facts that make
** it Findable, Accessible, Interoperable and Reusable the catalog knows: a
** persistent identifier, a licence, a url, provenance, its size and its
** location. The score is the share of them that is known.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_catalog.h"

const char *const ek_fair_fields[EK_FAIR_NFIELDS] = {
    "identifier", "licence", "url", "provenance", "size", "location"};

/* Nonzero when TEXT holds a DOI: "10." then 4 to 9 digits then "/". */
static int has_doi(const char *text)
{
    const char *p;

    for (p = text; p != NULL && (p = strstr(p, "10.")) != NULL; p++) {
        int digits = 0;
        const char *q = p + 3;

        if (p > text && isdigit((unsigned char)p[-1])) {
            continue;
        }
        while (isdigit((unsigned char)*q)) {
            q++, digits++;
        }
        if (digits >= 4 && digits <= 9 && *q == '/') {
            return 1;
        }
    }
    return 0;
}

double ek_fair_score(const ek_record *r, int present[EK_FAIR_NFIELDS])
{
    int i, n = 0;

    present[0] = has_doi(r->value[EK_F_URL]) || has_doi(r->value[EK_F_NOTES]);
    present[1] = r->value[EK_F_LICENSE] != NULL;
    present[2] = r->value[EK_F_URL] != NULL;
    present[3] = r->value[EK_F_PROVENANCE] != NULL;
    present[4] = r->value[EK_F_SIZE] != NULL || r->value[EK_F_VOLUME] != NULL;
    present[5] = r->value[EK_F_CONTINENT] != NULL || r->value[EK_F_REGION] != NULL ||
                 r->value[EK_F_BBOX] != NULL;
    for (i = 0; i < EK_FAIR_NFIELDS; i++) {
        n += present[i];
    }
    return (double)n / EK_FAIR_NFIELDS;
}

int eodkit_catalog_fair(eodkit_ctx *ctx, eodkit_catalog *cat, eodkit_format format,
                        char **out)
{
    long long *pks = NULL;
    size_t n = 0, i;
    ek_record r = {0};
    ek_strbuf b;
    json_t *list = json_array();
    int present[EK_FAIR_NFIELDS], k, rc;

    *out = NULL;
    ek_strbuf_init(&b, ctx);
    rc = ek_catalog_all(ctx, cat, &pks, &n);
    if (format == EODKIT_FORMAT_CSV) {
        ek_strbuf_puts(&b, "id,name,score");
        for (k = 0; k < EK_FAIR_NFIELDS; k++) {
            ek_strbuf_printf(&b, ",%s", ek_fair_fields[k]);
        }
        ek_strbuf_puts(&b, "\r\n");
    } else if (format == EODKIT_FORMAT_TEXT) {
        ek_strbuf_puts(&b, "score  missing                                   name\n");
    }
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        double score;
        json_t *missing = json_array();
        char text[128] = "";

        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        if (rc != EODKIT_OK) {
            json_decref(missing);
            break;
        }
        score = ek_fair_score(&r, present);
        for (k = 0; k < EK_FAIR_NFIELDS; k++) {
            if (!present[k]) {
                json_array_append_new(missing, json_string(ek_fair_fields[k]));
                snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s",
                         text[0] != '\0' ? "," : "", ek_fair_fields[k]);
            }
        }
        if (format == EODKIT_FORMAT_CSV) {
            ek_csv_field(&b, r.value[EK_F_ID]);
            ek_strbuf_puts(&b, ",");
            ek_csv_field(&b, r.value[EK_F_NAME]);
            ek_strbuf_printf(&b, ",%.4f", score);
            for (k = 0; k < EK_FAIR_NFIELDS; k++) {
                ek_strbuf_printf(&b, ",%d", present[k]);
            }
            ek_strbuf_puts(&b, "\r\n");
        } else if (format == EODKIT_FORMAT_TEXT) {
            ek_strbuf_printf(&b, "%4.0f%%  %-41s %s\n", score * 100, text,
                             r.value[EK_F_NAME]);
        }
        json_array_append_new(
            list, json_pack("{s:s?, s:s, s:f, s:o}", "id", r.value[EK_F_ID], "name",
                            r.value[EK_F_NAME], "score", score, "missing", missing));
    }
    if (rc == EODKIT_OK && format == EODKIT_FORMAT_JSON) {
        json_t *root = json_pack("{s:O}", "datasets", list);

        *out = root != NULL ? json_dumps(root, JSON_INDENT(2)) : NULL;
        rc =
            *out == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
        json_decref(root);
    }
    if (rc == EODKIT_OK && format != EODKIT_FORMAT_JSON) {
        rc = ek_strbuf_detach(&b, out);
    }
    ek_strbuf_free(&b);
    ek_record_clear(&r);
    json_decref(list);
    free(pks);
    return rc;
}
