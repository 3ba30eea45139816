/*
** Core: paths and the file system. Builds write into a temporary folder and
** rename it into place, so the helpers here are the only place that creates,
** removes, renames or locks output folders.
*/
#define _GNU_SOURCE /* flock, renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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

char *ek_path_suffixed(eodkit_ctx *ctx, const char *path, const char *suffix)
{
    int n = (int)strlen(path);

    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    return ek_asprintf(ctx, "%.*s%s", n, path, suffix);
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

/* Nonzero when renameat2() failed with ERR because the kernel or the file
   system does not offer the flag asked for (NFS, older kernels). */
static int flag_unsupported(int err)
{
    return err == EINVAL || err == ENOSYS || err == ENOTSUP;
}

int ek_fs_rename_new(eodkit_ctx *ctx, const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
        return EODKIT_OK;
    }
    if (!flag_unsupported(errno)) {
        return ek_error(ctx, errno == EEXIST ? EODKIT_ERR_EXISTS : EODKIT_ERR_IO,
                        "%s: cannot rename to %s: %s", from, to, strerror(errno));
    }
#endif
    if (ek_fs_exists(to)) {
        return ek_error(ctx, EODKIT_ERR_EXISTS, "%s: cannot rename to %s: %s", from, to,
                        strerror(EEXIST));
    }
    return ek_fs_rename(ctx, from, to);
}

int ek_fs_replace(eodkit_ctx *ctx, const char *from, const char *to, const char *aside)
{
    int rc;

#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0) {
        return EODKIT_OK;
    }
    if (!flag_unsupported(errno)) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot exchange with %s: %s", from, to,
                        strerror(errno));
    }
#endif
    rc = ek_fs_rename_new(ctx, to, aside);
    ek_crash_point("replace", -1);
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename_new(ctx, from, to);
    }
    return rc;
}

/* Nonzero when NAME is one of NAMES (NULL-terminated; NULL: none). */
static int listed(const char *name, const char *const *names)
{
    for (; names != NULL && *names != NULL; names++) {
        if (strcmp(name, *names) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The names in folder DIR but "." and ".." (free with ek_fs_free_list). */
static int list_dir(eodkit_ctx *ctx, const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;
    int rc = EODKIT_OK;

    *names = NULL;
    *n = 0;
    if (d == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot list: %s", dir,
                        strerror(errno));
    }
    for (e = readdir(d); e != NULL && rc == EODKIT_OK; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        rc = ek_grow(ctx, (void **)names, &cap, *n + 1, sizeof **names);
        if (rc == EODKIT_OK) {
            (*names)[*n] = ek_strdup(ctx, e->d_name);
            rc = (*names)[*n] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            *n += rc == EODKIT_OK;
        }
    }
    closedir(d);
    if (rc != EODKIT_OK) {
        ek_fs_free_list(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

int ek_fs_holds_only(const char *dir, const char *const *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int only = d != NULL;

    for (e = d != NULL ? readdir(d) : NULL; e != NULL && only; e = readdir(d)) {
        only = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
               listed(e->d_name, keep);
    }
    if (d != NULL) {
        closedir(d);
    }
    return only;
}

int ek_fs_clear_dir(eodkit_ctx *ctx, const char *dir, const char *const *keep)
{
    char **names = NULL, *path;
    size_t n = 0, i;
    int rc = list_dir(ctx, dir, &names, &n);

    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        if (listed(names[i], keep)) {
            continue;
        }
        path = ek_path_join(ctx, dir, names[i]);
        rc = path == NULL ? EODKIT_ERR_NOMEM : ek_fs_remove_tree(ctx, path);
        free(path);
    }
    ek_fs_free_list(names, n);
    return rc;
}

int ek_fs_move_into(eodkit_ctx *ctx, const char *dir, const char *sub,
                    const char *const *keep)
{
    char **names = NULL, *from = NULL, *to = NULL,
         *target = ek_path_join(ctx, dir, sub);
    size_t n = 0, i;
    int rc = target == NULL ? EODKIT_ERR_NOMEM : list_dir(ctx, dir, &names, &n);

    if (rc == EODKIT_OK && mkdir(target, 0777) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create folder: %s", target,
                      strerror(errno));
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        if (listed(names[i], keep) || strcmp(names[i], sub) == 0) {
            continue;
        }
        from = ek_path_join(ctx, dir, names[i]);
        to = ek_path_join(ctx, target, names[i]);
        rc =
            from == NULL || to == NULL ? EODKIT_ERR_NOMEM : ek_fs_rename(ctx, from, to);
        free(from);
        free(to);
    }
    ek_fs_free_list(names, n);
    free(target);
    return rc;
}

/* ---- locks ---- */

/* Wait this long, at most, for a lock's holder to write its pid. */
#define HOLDER_WAIT_TRIES 100
#define HOLDER_WAIT_NS 10000000L

/*
** Whether another process holds lock file FD exclusively and wrote its pid
** and host into it (into *PID and HOST), just after it took the lock: wait
** a moment for them, or for a stale pid of a killed holder to be replaced.
** Shared holders (part builds) leave no pid: 0 at once when only they hold
** it, and 0 when it is free.
*/
static int holder(int fd, long *pid, char host[256])
{
    struct timespec pause = {0, HOLDER_WAIT_NS};
    char text[320], here[256] = "";
    ssize_t got;
    int tries, found = 0;

    gethostname(here, sizeof here - 1);
    for (tries = 0; tries < HOLDER_WAIT_TRIES && !found; tries++) {
        got = pread(fd, text, sizeof text - 1, 0);
        text[got > 0 ? got : 0] = '\0';
        found =
            sscanf(text, "%ld %255s", pid, host) == 2 && *pid > 0 &&
            (strcmp(host, here) != 0 || kill((pid_t)*pid, 0) == 0 || errno != ESRCH);
        if (!found && flock(fd, LOCK_SH | LOCK_NB) == 0) {
            flock(fd, LOCK_UN); /* only shared holders: none will write a pid */
            break;
        }
        if (!found) {
            nanosleep(&pause, NULL);
        }
    }
    return found;
}

/* The error for folder DIR whose lock file FD another process holds,
   naming that process when it can (holder). */
static int busy(eodkit_ctx *ctx, const char *dir, int fd)
{
    char host[256] = "";
    long pid = 0;

    if (!holder(fd, &pid, host)) {
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: in use by another eodkit process; wait for it to finish, "
                        "or choose another output folder",
                        dir);
    }
    return ek_error(ctx, EODKIT_ERR_EXISTS,
                    "%s: in use by another eodkit process (pid %ld on %s); wait for it "
                    "to finish, or choose another output folder",
                    dir, pid, host);
}

/* Record this process in lock file FD it just locked: its pid and host when
   it holds the lock alone, nothing when shared. Only messages read it, so a
   failure (a full disk) is not one of the lock's. */
static void note_holder(int fd, int shared)
{
    char text[320], host[256] = "";
    struct stat st;
    int len;

    /* an empty file stays untouched (a refused process changes nothing) */
    if (fstat(fd, &st) != 0 || (st.st_size > 0 && ftruncate(fd, 0) != 0) || shared) {
        return;
    }
    gethostname(host, sizeof host - 1);
    len = snprintf(text, sizeof text, "%ld %s\n", (long)getpid(),
                   host[0] != '\0' ? host : "localhost");
    if (pwrite(fd, text, (size_t)len, 0) != len) {
        return;
    }
}

/* Nonzero when descriptor FD and PATH are the same file. */
static int same_file(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Why folder DIR may not be locked (as ek_fs_lock with MARK and FLAGS
   says), or EODKIT_OK. */
static int lockable(eodkit_ctx *ctx, const char *dir, const char *mark, int flags)
{
    static const char *const lock_only[] = {EK_LOCK_FILE, NULL};
    char *path;
    int ours;

    if (!ek_fs_exists(dir)) {
        return (flags & EK_LOCK_CREATE)
                   ? ek_fs_mkdirs(ctx, dir)
                   : ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such folder", dir);
    }
    if (!ek_fs_is_dir(dir)) {
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: exists and is not a folder made by eodkit; remove it or "
                        "choose another output folder",
                        dir);
    }
    if (mark == NULL) {
        return EODKIT_OK;
    }
    path = ek_path_join(ctx, dir, mark);
    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    /* empty but for a lock file: just made by another eodkit process. Its
       mark is written before anything else goes in, so it is looked for
       after the listing: the other order would miss it when that process
       writes it and more in between (parts of a job array starting at once) */
    ours = ek_fs_holds_only(dir, lock_only) || ek_fs_is_file(path);
    free(path);
    if (!ours) {
        return ek_error(ctx, EODKIT_ERR_EXISTS,
                        "%s: exists and was not made by eodkit; remove it or choose "
                        "another output folder",
                        dir);
    }
    return EODKIT_OK;
}

int ek_fs_lock(eodkit_ctx *ctx, const char *dir, const char *mark, int flags, int *fd)
{
    char *lock = ek_path_join(ctx, dir, EK_LOCK_FILE);
    char *mark_path = mark != NULL ? ek_path_join(ctx, dir, mark) : NULL;
    int shared = (flags & EK_LOCK_SHARED) != 0, tries, rc = EODKIT_OK;

    *fd = -1;
    if (lock == NULL || (mark != NULL && mark_path == NULL)) {
        rc = EODKIT_ERR_NOMEM;
    }
    /* A holder removes the folder before it lets go of the lock, so a lock
       taken on a file no longer at its path is taken again. */
    for (tries = 0; rc == EODKIT_OK && *fd < 0; tries++) {
        rc = tries < 100 ? lockable(ctx, dir, mark, flags)
                         : ek_error(ctx, EODKIT_ERR_IO,
                                    "%s: cannot lock: it keeps being replaced", dir);
        if (rc != EODKIT_OK) {
            break;
        }
        *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (*fd < 0) {
            if (errno != ENOENT) {
                rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot create: %s", lock,
                              strerror(errno));
            }
            continue;
        }
        if (flock(*fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
            rc = errno == EWOULDBLOCK
                     ? busy(ctx, dir, *fd)
                     : ek_error(ctx, EODKIT_ERR_IO, "%s: cannot lock: %s", lock,
                                strerror(errno));
        } else if (same_file(*fd, lock)) {
            break;
        }
        close(*fd);
        *fd = -1;
    }
    if (rc == EODKIT_OK && mark_path != NULL && !ek_fs_exists(mark_path)) {
        rc = ek_fs_write_file(ctx, mark_path, "", 0);
    }
    if (rc == EODKIT_OK) {
        note_holder(*fd, shared);
    } else if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(mark_path);
    free(lock);
    return rc;
}

int ek_fs_lock_holder(eodkit_ctx *ctx, const char *dir, int *held, char *who,
                      size_t size)
{
    char *lock = ek_path_join(ctx, dir, EK_LOCK_FILE), host[256] = "";
    int fd = lock != NULL ? open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    int rc = lock == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    long pid = 0;

    *held = 0;
    who[0] = '\0';
    if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        *held = 1;
        if (holder(fd, &pid, host)) {
            snprintf(who, size, "pid %ld on %s", pid, host);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    free(lock);
    return rc;
}

void ek_fs_unlock(int fd)
{
    if (fd >= 0) {
        note_holder(fd, 1); /* forget the pid: no one holds it now */
        close(fd);
    }
}

int ek_fs_remove_locked(eodkit_ctx *ctx, const char *dir, const char *mark)
{
    const char *const lock_and_mark[] = {EK_LOCK_FILE, mark, NULL};
    static const char *const lock_only[] = {EK_LOCK_FILE, NULL};
    char *lock = ek_path_join(ctx, dir, EK_LOCK_FILE);
    int rc = lock == NULL ? EODKIT_ERR_NOMEM : ek_fs_clear_dir(ctx, dir, lock_and_mark);

    if (rc == EODKIT_OK && mark != NULL) {
        rc = ek_fs_clear_dir(ctx, dir, lock_only);
    }

    if (rc == EODKIT_OK && unlink(lock) != 0 && errno != ENOENT) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot remove: %s", lock,
                      strerror(errno));
    }
    /* another process may have begun afresh in it since the lock file went */
    if (rc == EODKIT_OK && rmdir(dir) != 0 && errno != ENOTEMPTY && errno != EEXIST) {
        rc =
            ek_error(ctx, EODKIT_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    }
    free(lock);
    return rc;
}

void ek_crash_point(const char *point, long n)
{
    const char *want = getenv("EODKIT_CRASH_AT");
    char here[64];

    if (want == NULL) {
        return;
    }
    if (n < 0) {
        snprintf(here, sizeof here, "%s", point);
    } else {
        snprintf(here, sizeof here, "%s:%ld", point, n);
    }
    if (strcmp(want, here) == 0) {
        raise(SIGKILL);
    }
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
