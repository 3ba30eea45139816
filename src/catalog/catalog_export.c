/*
** Catalog: export. Every dataset, in the order it was added, as the shipped
** CSV format, as JSON with every field, or as a STAC catalog folder. Output
** is written beside its target and renamed into place, so a failed export
** never leaves a half-written file or folder.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ek_fs.h"
#include "ek_catalog.h"

/* Write TEXT to PATH through PATH.partial and a rename. */
static int write_atomic(eodkit_ctx *ctx, const char *path, const char *text)
{
    char *tmp = ek_asprintf(ctx, "%s.partial", path);
    int rc;

    if (tmp == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_fs_write_file(ctx, tmp, text, strlen(text));
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename(ctx, tmp, path);
    }
    if (rc != EODKIT_OK) {
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* Write JSON J (a new reference, released here) to PATH, indented. */
static int write_json(eodkit_ctx *ctx, const char *path, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
    int rc;

    json_decref(j);
    if (text == NULL) {
        return ek_error(ctx, EODKIT_ERR_NOMEM, "%s: out of memory", path);
    }
    rc = write_atomic(ctx, path, text);
    free(text);
    return rc;
}

/* Append S to B lowercased, runs of other characters than letters and
   digits becoming one dash, up to 64 bytes in all. */
static void slug(ek_strbuf *b, const char *s)
{
    int dash = b->len > 0 && b->data[b->len - 1] == '-';

    for (; *s != '\0' && b->len < 64; s++) {
        if (isalnum((unsigned char)*s)) {
            char c = (char)tolower((unsigned char)*s);

            ek_strbuf_add(b, &c, 1);
            dash = 0;
        } else if (!dash && b->len > 0) {
            ek_strbuf_puts(b, "-");
            dash = 1;
        }
    }
}

/* A folder name for R that is safe on every file system: its id when that
   is a word ("atlanta-buildings"), else "<id>-<name>" as a slug
   ("4-bigearthnet"). */
static char *folder_name(eodkit_ctx *ctx, const ek_record *r)
{
    const char *id = r->value[EK_F_ID], *p;
    int word = id != NULL && isalpha((unsigned char)id[0]) && strlen(id) <= 64;
    ek_strbuf b;
    char *out = NULL;

    for (p = id; word && *p != '\0'; p++) {
        word = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
    }
    ek_strbuf_init(&b, ctx);
    if (word) {
        ek_strbuf_puts(&b, id);
    } else {
        if (id != NULL) {
            slug(&b, id);
            ek_strbuf_puts(&b, "-");
        }
        slug(&b, r->value[EK_F_NAME]);
        if (b.len == 0) {
            ek_strbuf_puts(&b, "dataset");
        }
    }
    ek_strbuf_detach(&b, &out);
    return out;
}

/* Write the STAC catalog of PKS into new folder DIR. */
static int export_stac(eodkit_ctx *ctx, eodkit_catalog *cat, const long long *pks,
                       size_t n, const char *dir)
{
    json_t *links = json_array();
    ek_record r = {0};
    char *tmp = NULL, *path = NULL, *name = NULL, *folder = NULL;
    size_t i;
    int rc = EODKIT_OK;

    if (ek_fs_exists(dir)) {
        json_decref(links);
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: exists; remove it or export to a new folder", dir);
    }
    tmp = ek_asprintf(ctx, "%s.partial", dir);
    rc = tmp == NULL ? EODKIT_ERR_NOMEM : ek_fs_remove_tree(ctx, tmp);
    if (rc == EODKIT_OK) {
        rc = ek_fs_mkdirs(ctx, tmp);
    }
    json_array_append_new(links,
                          json_pack("{s:s, s:s, s:s}", "rel", "root", "href",
                                    "./catalog.json", "type", "application/json"));
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        int k;

        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        name = rc == EODKIT_OK ? folder_name(ctx, &r) : NULL;
        rc = rc == EODKIT_OK && name == NULL ? EODKIT_ERR_NOMEM : rc;
        /* Two datasets may reduce to one name: number the later ones. */
        for (k = 1; rc == EODKIT_OK; k++) {
            free(folder);
            folder = k == 1 ? ek_path_join(ctx, tmp, name)
                            : ek_asprintf(ctx, "%s/%s-%d", tmp, name, k);
            if (folder == NULL) {
                rc = EODKIT_ERR_NOMEM;
            } else if (!ek_fs_exists(folder)) {
                break;
            }
        }
        if (rc == EODKIT_OK) {
            const char *base = ek_path_basename(folder);
            json_t *c = ek_stac_from_record(&r, base);

            json_array_append_new(
                links, json_pack("{s:s, s:o, s:s, s:s}", "rel", "child", "href",
                                 json_sprintf("./%s/collection.json", base), "type",
                                 "application/json", "title", r.value[EK_F_NAME]));
            if (c != NULL) {
                json_t *clinks = json_object_get(c, "links");

                json_array_append_new(
                    clinks, json_pack("{s:s, s:s, s:s}", "rel", "root", "href",
                                      "../catalog.json", "type", "application/json"));
                json_array_append_new(
                    clinks, json_pack("{s:s, s:s, s:s}", "rel", "parent", "href",
                                      "../catalog.json", "type", "application/json"));
            }
            rc = ek_fs_mkdirs(ctx, folder);
            path =
                rc == EODKIT_OK ? ek_path_join(ctx, folder, "collection.json") : NULL;
            if (rc == EODKIT_OK) {
                rc = path == NULL ? EODKIT_ERR_NOMEM : write_json(ctx, path, c);
            } else {
                json_decref(c);
            }
            free(path);
            path = NULL;
        }
        free(name);
        name = NULL;
    }
    if (rc == EODKIT_OK) {
        path = ek_path_join(ctx, tmp, "catalog.json");
        rc = path == NULL
                 ? EODKIT_ERR_NOMEM
                 : write_json(ctx, path,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "type",
                                        "Catalog", "stac_version", "1.0.0", "id",
                                        "eodkit-catalog", "title", "eodkit catalog",
                                        "description",
                                        "Earth-observation machine-learning datasets "
                                        "exported from an eodkit catalog",
                                        "links", links));
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename(ctx, tmp, dir);
    }
    if (rc != EODKIT_OK && tmp != NULL) {
        eodkit_ctx *quiet = eodkit_ctx_new();

        /* Clean up without losing the first error's message. */
        if (quiet != NULL) {
            ek_fs_remove_tree(quiet, tmp);
        }
        eodkit_ctx_free(quiet);
    }
    ek_record_clear(&r);
    json_decref(links);
    free(folder);
    free(path);
    free(tmp);
    return rc;
}

int eodkit_catalog_export(eodkit_ctx *ctx, eodkit_catalog *cat,
                          eodkit_export_format format, const char *path)
{
    long long *pks = NULL;
    size_t n = 0, i;
    ek_record r = {0};
    ek_strbuf b;
    json_t *list = json_array();
    char *text = NULL;
    int rc;

    rc = ek_catalog_all(ctx, cat, &pks, &n);
    if (rc == EODKIT_OK && format == EODKIT_EXPORT_STAC) {
        rc = export_stac(ctx, cat, pks, n, path);
        json_decref(list);
        free(pks);
        return rc;
    }
    ek_strbuf_init(&b, ctx);
    if (format == EODKIT_EXPORT_CSV) {
        ek_csv_header(&b);
    }
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        if (rc == EODKIT_OK && format == EODKIT_EXPORT_CSV) {
            ek_csv_record(&b, &r);
        } else if (rc == EODKIT_OK &&
                   json_array_append_new(list, ek_record_to_json(&r)) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        }
    }
    if (rc == EODKIT_OK && format == EODKIT_EXPORT_CSV) {
        rc = ek_strbuf_detach(&b, &text);
        if (rc == EODKIT_OK) {
            rc = write_atomic(ctx, path, text);
        }
    } else if (rc == EODKIT_OK) {
        rc = write_json(ctx, path,
                        json_pack("{s:i, s:O}", "eodkit_catalog", 1, "datasets", list));
    }
    ek_strbuf_free(&b);
    ek_record_clear(&r);
    json_decref(list);
    free(text);
    free(pks);
    return rc;
}
