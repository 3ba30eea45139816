/*
** Core: input names (see ek_names.h): resolving the names a recipe gives
** against its folder, telling plain paths, local GDAL names and network
** names apart, and stamping the file behind a name through GDAL's virtual
** file systems (a HEAD request for a remote file, never a download).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <cpl_vsi.h>

#include "ek_fs.h"
#include "ek_names.h"
#include "ek_strbuf.h"

/* GDAL virtual file systems that reach the network (with their _streaming
   and ?option variants). */
static const char *const remote_prefixes[] = {
    "/vsicurl", "/vsis3",    "/vsigs",      "/vsiaz",   "/vsiadls",
    "/vsioss",  "/vsiswift", "/vsiwebhdfs", "/vsihdfs", NULL};

/* Virtual file systems that open a file inside another file. */
static const char *const archive_prefixes[] = {"/vsizip/", "/vsitar/", "/vsigzip/",
                                               "/vsi7z/",  "/vsirar/", NULL};

static int is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0 ||
           strncasecmp(s, "ftp://", 6) == 0;
}

/* Length of the archive prefix NAME starts with, or 0. */
static size_t archive_prefix(const char *name)
{
    size_t i;

    for (i = 0; archive_prefixes[i] != NULL; i++) {
        size_t n = strlen(archive_prefixes[i]);

        if (strncmp(name, archive_prefixes[i], n) == 0) {
            return n;
        }
    }
    return 0;
}

/* Length of the "DRIVER:" prefix of a subdataset name, or 0: GDAL's driver
   prefixes are upper case (NETCDF:, HDF5:, SENTINEL1_CALIB:, GTIFF_DIR:). */
static size_t subdataset_prefix(const char *name)
{
    size_t n = 0;

    while (isupper((unsigned char)name[n]) || isdigit((unsigned char)name[n]) ||
           name[n] == '_') {
        n++;
    }
    return n >= 2 && isupper((unsigned char)name[0]) && name[n] == ':' ? n + 1 : 0;
}

/* Resolve the components of subdataset name NAME (after its driver prefix
   of PREFIX bytes) into B: the first that is a file (quoted, or one that
   exists in DIR) is resolved. */
static void resolve_subdataset(ek_strbuf *b, const char *dir, const char *name,
                               size_t prefix)
{
    const char *p = name + prefix;
    int done = 0;

    ek_strbuf_add(b, name, prefix);
    while (*p != '\0' && b->status == EODKIT_OK) {
        int quoted = *p == '"';
        const char *start = p + quoted;
        const char *end = quoted ? strchr(start, '"') : strchr(start, ':');
        size_t n;
        char *part, *joined = NULL;

        if (end == NULL) {
            end = start + strlen(start);
        }
        n = (size_t)(end - start);
        part = ek_calloc(b->ctx, n + 1, 1);
        if (part == NULL) {
            b->status = EODKIT_ERR_NOMEM;
            return;
        }
        memcpy(part, start, n);
        if (!done && n > 0 && (quoted || strncmp(part, "/vsi", 4) == 0)) {
            joined = ek_name_resolve(b->ctx, dir, part);
        } else if (!done && n > 0 && part[0] != '/') {
            joined = ek_path_join(b->ctx, dir, part);
            if (joined != NULL && !ek_fs_exists(joined)) {
                free(joined);
                joined = NULL;
            }
        }
        done |= joined != NULL;
        ek_strbuf_printf(b, "%s%s%s", quoted ? "\"" : "",
                         joined != NULL ? joined : part, quoted ? "\"" : "");
        free(part);
        free(joined);
        p = quoted && *end == '"' ? end + 1 : end;
        if (*p == ':') {
            ek_strbuf_add(b, ":", 1);
            p++;
        }
    }
}

char *ek_name_resolve(eodkit_ctx *ctx, const char *dir, const char *name)
{
    size_t archive = archive_prefix(name), sub = subdataset_prefix(name);
    ek_strbuf b;
    char *out = NULL, *plain;

    if (is_url(name)) {
        return ek_asprintf(ctx, "/vsicurl/%s", name);
    }
    if (strncmp(name, "s3://", 5) == 0 || strncmp(name, "gs://", 5) == 0) {
        return ek_asprintf(ctx, "/vsi%.2s/%s", name, name + 5);
    }
    if (strncmp(name, "file://", 7) == 0) {
        return ek_name_resolve(ctx, dir, name + 7);
    }
    if (archive > 0) {
        const char *rest = name + archive;
        const char *close = rest[0] == '{' ? strchr(rest, '}') : NULL;
        char *inner;

        if (close != NULL) { /* /vsizip/{archive}/member */
            char *braced = ek_calloc(ctx, (size_t)(close - rest), 1);

            if (braced == NULL) {
                return NULL;
            }
            memcpy(braced, rest + 1, (size_t)(close - rest) - 1);
            inner = ek_name_resolve(ctx, dir, braced);
            out = inner == NULL ? NULL
                                : ek_asprintf(ctx, "%.*s{%s}%s", (int)archive, name,
                                              inner, close + 1);
            free(braced);
        } else {
            inner = ek_name_resolve(ctx, dir, rest);
            out = inner == NULL ? NULL
                                : ek_asprintf(ctx, "%.*s%s", (int)archive, name, inner);
        }
        free(inner);
        return out;
    }
    if (strncmp(name, "/vsi", 4) == 0 || sub == 0) {
        return ek_path_join(ctx, dir, name);
    }
    plain = ek_path_join(ctx, dir, name);
    if (plain == NULL || ek_fs_exists(plain)) {
        return plain; /* a file whose name merely looks like a subdataset */
    }
    free(plain);
    ek_strbuf_init(&b, ctx);
    resolve_subdataset(&b, dir, name, sub);
    ek_strbuf_detach(&b, &out);
    return out;
}

const char *ek_name_remote_part(const char *name)
{
    const char *first = NULL;
    size_t i;

    for (i = 0; remote_prefixes[i] != NULL; i++) {
        const char *at = strstr(name, remote_prefixes[i]);

        while (at != NULL) {
            char next = at[strlen(remote_prefixes[i])];

            if (next == '/' || next == '_' || next == '?') {
                first = first == NULL || at < first ? at : first;
                break;
            }
            at = strstr(at + 1, remote_prefixes[i]);
        }
    }
    return first;
}

ek_name_kind ek_name_kind_of(const char *name)
{
    if (ek_name_remote_part(name) != NULL) {
        return EK_NAME_REMOTE;
    }
    if (strncmp(name, "/vsi", 4) == 0 || strncmp(name, "<VRTDataset", 11) == 0 ||
        (subdataset_prefix(name) > 0 && !ek_fs_exists(name))) {
        return EK_NAME_LOCAL;
    }
    return EK_NAME_PATH;
}

/* Stat NAME through GDAL (a remote file: a HEAD request GDAL caches) as a
   file, not a folder; fill ST. */
static int stat_file(const char *name, ek_name_stamp *st)
{
    VSIStatBufL s;
    char **headers;
    const char *v;

    if (VSIStatExL(name, &s,
                   VSI_STAT_EXISTS_FLAG | VSI_STAT_NATURE_FLAG | VSI_STAT_SIZE_FLAG) !=
            0 ||
        !VSI_ISREG(s.st_mode)) {
        return -1;
    }
    st->bytes = (long long)s.st_size;
    st->mtime_ns = (long long)s.st_mtime * 1000000000LL;
    if (strncmp(name, "/vsi", 4) != 0) {
        struct stat ps; /* local: nanoseconds, as make does */

        if (stat(name, &ps) == 0) {
            st->mtime_ns = (long long)ps.st_mtim.tv_sec * 1000000000LL +
                           (long long)ps.st_mtim.tv_nsec;
        }
        return 0;
    }
    headers = VSIGetFileMetadata(name, "HEADERS", NULL);
    v = CSLFetchNameValue(headers, "ETag");
    snprintf(st->etag, sizeof st->etag, "%s", v != NULL ? v : "");
    v = CSLFetchNameValue(headers, "Last-Modified");
    snprintf(st->last_modified, sizeof st->last_modified, "%s", v != NULL ? v : "");
    CSLDestroy(headers);
    return 0;
}

/* Stamp the longest prefix of NAME (cut at a '/') that is a file. */
static int stamp_prefix(char *name, size_t keep, ek_name_stamp *st)
{
    char *slash;

    while (stat_file(name, st) != 0) {
        slash = strrchr(name, '/');
        if (slash == NULL || (size_t)(slash - name) <= keep) {
            return -1;
        }
        *slash = '\0';
    }
    return 0;
}

int ek_name_stamp_of(const char *name, ek_name_stamp *st)
{
    size_t archive = archive_prefix(name), sub = subdataset_prefix(name);
    char *copy;
    int rc = -1;

    memset(st, 0, sizeof *st);
    st->bytes = -1;
    if (archive > 0) {
        const char *rest = name + archive + (name[archive] == '{');

        copy = strdup(rest);
        if (copy != NULL && name[archive] == '{' && strchr(copy, '}') != NULL) {
            *strchr(copy, '}') = '\0';
        }
        rc = copy == NULL ? -1 : ek_name_stamp_of(copy, st);
        free(copy);
        return rc;
    }
    if (sub > 0 && strncmp(name, "/vsi", 4) != 0 && !ek_fs_exists(name)) {
        char **parts = CSLTokenizeString2(name + sub, ":", CSLT_HONOURSTRINGS);
        int i;

        for (i = 0; parts != NULL && parts[i] != NULL && rc != 0; i++) {
            rc = parts[i][0] != '\0' ? ek_name_stamp_of(parts[i], st) : -1;
        }
        CSLDestroy(parts);
        return rc;
    }
    copy = strdup(name);
    if (copy != NULL) {
        /* a remote name keeps at least its scheme and host */
        const char *host = strstr(copy, "://");

        rc = stamp_prefix(copy, host != NULL ? (size_t)(host - copy) + 3 : 0, st);
    }
    free(copy);
    if (rc != 0) {
        memset(st, 0, sizeof *st);
        st->bytes = -1;
    }
    return rc;
}
