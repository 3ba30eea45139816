/*
** Core: JSON text as eodkit writes it (see ek_json.h).
*/
#include <stdlib.h>
#include <string.h>

#include "ek_fs.h"
#include "ek_json.h"

int ek_write_json(eodkit_ctx *ctx, const json_t *o, const char *dir, const char *name)
{
    char *path = ek_path_join(ctx, dir, name);
    char *text = json_dumps(o, JSON_INDENT(2));
    int rc;

    if (path == NULL || text == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory writing %s", name);
    } else {
        size_t len = strlen(text);

        text[len] = '\n'; /* replace the NUL; write len + 1 bytes */
        rc = ek_fs_write_file(ctx, path, text, len + 1);
        text[len] = '\0';
    }
    free(path);
    free(text);
    return rc;
}

int ek_json_text(eodkit_ctx *ctx, json_t *doc, int precision, char **text)
{
    char *dumped =
        doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(precision))
                    : NULL;

    *text = dumped != NULL ? ek_asprintf(ctx, "%s\n", dumped) : NULL;
    free(dumped);
    json_decref(doc);
    return *text != NULL ? EODKIT_OK : ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
}
