/*
** Core: paths and the file system. Builds write into a temporary folder and
** rename it into place, so the helpers here are the only place that creates,
** removes or renames output folders.
*/
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_vsi.h>
#include <openssl/evp.h>

#include "ek_fs.h"

char *ek_path_join(eodkit_ctx *ctx, const char *dir, const char *name)
{
    size_t n;

    if (name[0] == '/' || dir == NULL || dir[0] == '\0') {
        return ek_strdup(ctx, name);
    }
    n = strlen(dir);
    return ek_asprintf(ctx, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *ek_path_dirname(eodkit_ctx *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (slash == NULL) {
        return ek_strdup(ctx, ".");
    }
    if (slash == path) {
        return ek_strdup(ctx, "/");
    }
    dir = ek_calloc(ctx, (size_t)(slash - path) + 1, 1);
    if (dir != NULL) {
        memcpy(dir, path, (size_t)(slash - path));
    }
    return dir;
}

const char *ek_path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash == NULL ? path : slash + 1;
}

int ek_fs_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

int ek_fs_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ek_fs_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

long long ek_fs_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return -1;
    }
    return (long long)st.st_size;
}

int ek_fs_mkdirs(eodkit_ctx *ctx, const char *path)
{
    int rc = EODKIT_OK;
    char *copy = ek_strdup(ctx, path);
    char *p;

    if (copy == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;

            *p = '\0';
            if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
                rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create folder: %s", copy,
                              strerror(errno));
                goto out;
            }
            *p = saved;
            if (saved == '\0') {
                break;
            }
        }
    }
    if (!ek_fs_is_dir(path)) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: exists and is not a folder", path);
    }
out:
    free(copy);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int ek_fs_remove_tree(eodkit_ctx *ctx, const char *path)
{
    if (!ek_fs_exists(path)) {
        return EODKIT_OK;
    }
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot remove: %s", path,
                        strerror(errno));
    }
    return EODKIT_OK;
}

int ek_fs_rename(eodkit_ctx *ctx, const char *from, const char *to)
{
    if (rename(from, to) != 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot rename to %s: %s", from, to,
                        strerror(errno));
    }
    return EODKIT_OK;
}

/* glob's error callback: a folder that does not exist matches nothing;
   any other error stops the listing. */
static int glob_error(const char *path, int err)
{
    (void)path;
    return err != ENOENT && err != ENOTDIR;
}

int ek_fs_glob(eodkit_ctx *ctx, const char *pattern, char ***paths, size_t *n)
{
    int rc = EODKIT_OK;
    glob_t g;
    int grc;
    size_t i;

    *paths = NULL;
    *n = 0;
    memset(&g, 0, sizeof g);
    grc = glob(pattern, 0, glob_error, &g);
    if (grc == GLOB_NOMATCH) {
        goto out;
    }
    if (grc != 0) {
        rc = ek_error(ctx, grc == GLOB_NOSPACE ? EODKIT_ERR_NOMEM : EODKIT_ERR_IO,
                      "%s: cannot list files", pattern);
        goto out;
    }
    *paths = ek_calloc(ctx, g.gl_pathc, sizeof **paths);
    if (*paths == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < g.gl_pathc; i++) {
        (*paths)[i] = ek_strdup(ctx, g.gl_pathv[i]);
        if ((*paths)[i] == NULL) {
            ek_fs_free_list(*paths, i);
            *paths = NULL;
            rc = EODKIT_ERR_NOMEM;
            goto out;
        }
    }
    *n = g.gl_pathc;
out:
    globfree(&g);
    return rc;
}

void ek_fs_free_list(char **paths, size_t n)
{
    size_t i;

    for (i = 0; i < n && paths != NULL; i++) {
        free(paths[i]);
    }
    free(paths);
}

int ek_sha256_hex(eodkit_ctx *ctx, const void *data, size_t n, char hex[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0, i;

    if (EVP_Digest(data, n, digest, &dlen, EVP_sha256(), NULL) != 1) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL, "SHA-256 unavailable");
    }
    for (i = 0; i < dlen && i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    return EODKIT_OK;
}

int ek_fs_sha256(eodkit_ctx *ctx, const char *path, char hex[65])
{
    int rc = EODKIT_OK;
    VSILFILE *f = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    unsigned char *buf = NULL;
    size_t got;
    unsigned int i;

    buf = ek_calloc(ctx, 1 << 20, 1);
    md = EVP_MD_CTX_new();
    if (buf == NULL || md == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_NOMEM, "%s: out of memory for a checksum", path);
        goto out;
    }
    /* through GDAL's virtual file systems: an archive member hashes too */
    errno = 0;
    f = VSIFOpenL(path, "rb");
    if (f == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open: %s", path,
                      errno != 0 ? strerror(errno) : "no such file");
        goto out;
    }
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = ek_error(ctx, EODKIT_ERR_INTERNAL, "%s: SHA-256 unavailable", path);
        goto out;
    }
    while ((got = VSIFReadL(buf, 1, 1 << 20, f)) > 0) {
        EVP_DigestUpdate(md, buf, got);
    }
    if (!VSIFEofL(f)) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: read error", path);
        goto out;
    }
    EVP_DigestFinal_ex(md, digest, &dlen);
    for (i = 0; i < dlen && i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
out:
    if (f != NULL) {
        VSIFCloseL(f);
    }
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}

int ek_fs_write_file(eodkit_ctx *ctx, const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int failed;

    if (f == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create: %s", path,
                        strerror(errno));
    }
    failed = fwrite(data, 1, len, f) != len;
    failed |= fclose(f) != 0;
    if (failed) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: write failed: %s", path,
                        strerror(errno));
    }
    return EODKIT_OK;
}

int ek_fs_read_file(eodkit_ctx *ctx, const char *path, char **data, size_t *len)
{
    int rc = EODKIT_OK;
    FILE *f = NULL;
    long long size = ek_fs_size(path);
    char *buf = NULL;

    *data = NULL;
    f = fopen(path, "rb");
    if (f == NULL || size < 0) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    buf = ek_calloc(ctx, (size_t)size + 1, 1);
    if (buf == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: read error", path);
        goto out;
    }
    *data = buf;
    buf = NULL;
    if (len != NULL) {
        *len = (size_t)size;
    }
out:
    if (f != NULL) {
        fclose(f);
    }
    free(buf);
    return rc;
}
