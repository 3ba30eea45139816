/*
** Core: paths and the file system (joining and resolving paths, folders,
** globbing, atomic replacement, locks, checksums). POSIX, with Linux's
** renameat2() where the kernel offers it.
*/
#ifndef EK_FS_H
#define EK_FS_H

#include <stddef.h>
#include <stdint.h>

#include "ek_ctx.h"

/* Return DIR/NAME (NAME as is when absolute), newly allocated, or NULL. */
char *ek_path_join(eodkit_ctx *ctx, const char *dir, const char *name);

/* Return the folder part of PATH ("." when it has none), newly allocated. */
char *ek_path_dirname(eodkit_ctx *ctx, const char *path);

/* Return PATH without trailing slashes, followed by SUFFIX ("out/x/" and
   ".partial" give "out/x.partial"), newly allocated, or NULL. */
char *ek_path_suffixed(eodkit_ctx *ctx, const char *path, const char *suffix);

/* Return the last component of PATH (a pointer into PATH). */
const char *ek_path_basename(const char *path);

/* Nonzero when PATH exists (as anything) / is a folder / is a regular file. */
int ek_fs_exists(const char *path);
int ek_fs_is_dir(const char *path);
int ek_fs_is_file(const char *path);

/* Size of file PATH in bytes, or -1 when it cannot be stat'ed. */
long long ek_fs_size(const char *path);

/* Create folder PATH and any missing parents. */
int ek_fs_mkdirs(eodkit_ctx *ctx, const char *path);

/* Remove PATH and everything below it (no symlink is followed). Missing is
   not an error. */
int ek_fs_remove_tree(eodkit_ctx *ctx, const char *path);

/* Rename FROM to TO (same file system; atomic). */
int ek_fs_rename(eodkit_ctx *ctx, const char *from, const char *to);

/* Rename FROM to TO, which must not exist: EODKIT_ERR_EXISTS when it does
   (atomically checked where the kernel offers RENAME_NOREPLACE). */
int ek_fs_rename_new(eodkit_ctx *ctx, const char *from, const char *to);

/*
** Put folder FROM in place of folder TO, which exists. Where the kernel and
** the file system offer it (renameat2 RENAME_EXCHANGE: Linux >= 3.15 on
** ext4, xfs, btrfs, tmpfs, ...) the two are exchanged in one step and FROM
** then names the old TO, so TO never stops existing; elsewhere TO is first
** renamed to ASIDE (which must not exist), then FROM to TO.
*/
int ek_fs_replace(eodkit_ctx *ctx, const char *from, const char *to, const char *aside);

/* Nonzero when folder DIR exists and holds nothing but entries named in
   KEEP (NULL-terminated; NULL: nothing). */
int ek_fs_holds_only(const char *dir, const char *const *keep);

/* Remove everything in folder DIR but the entries named in KEEP. */
int ek_fs_clear_dir(eodkit_ctx *ctx, const char *dir, const char *const *keep);

/* Create folder DIR/SUB (which must not exist) and move every entry of DIR
   into it but SUB and those named in KEEP. */
int ek_fs_move_into(eodkit_ctx *ctx, const char *dir, const char *sub,
                    const char *const *keep);

/* ---- locks ---- */

/* The file in a locked folder that carries the lock and names its holder. */
#define EK_LOCK_FILE ".eodkit-lock"

/* ek_fs_lock's FLAGS. */
#define EK_LOCK_SHARED 1 /* a lock others may share (not exclusive) */
#define EK_LOCK_CREATE 2 /* create the folder (and its MARK) when missing */

/*
** Lock folder DIR for this process, exclusively or (EK_LOCK_SHARED) shared,
** with flock() on DIR/.eodkit-lock, and return the lock file's descriptor
** in *FD (release it with ek_fs_unlock). The operating system drops the
** lock when the process ends, however it ends, so a killed process leaves
** no stale lock. An exclusive holder writes its pid and host into the file;
** when another process holds the lock the error is EODKIT_ERR_EXISTS
** naming it, and nothing is created or changed. With a MARK (a file name,
** or NULL), DIR must hold that file or be empty, else EODKIT_ERR_EXISTS
** ("not made by eodkit"); the mark is written once the lock is held.
*/
int ek_fs_lock(eodkit_ctx *ctx, const char *dir, const char *mark, int flags, int *fd);

/* Set *HELD when another process holds folder DIR's lock exclusively, with
   "pid N on HOST" in WHO (SIZE bytes; "" when it wrote none); creates and
   changes nothing. EODKIT_OK, or EODKIT_ERR_NOMEM. */
int ek_fs_lock_holder(eodkit_ctx *ctx, const char *dir, int *held, char *who,
                      size_t size);

/* Release a lock of ek_fs_lock (a negative FD is ignored). */
void ek_fs_unlock(int fd);

/* Remove folder DIR, whose lock this process holds: its content first, then
   its MARK (the file name ek_fs_lock took, or NULL), the lock file last, so
   a process killed on the way leaves a folder ek_fs_lock still knows as
   eodkit's and the lock holds until nothing is left to protect. */
int ek_fs_remove_locked(eodkit_ctx *ctx, const char *dir, const char *mark);

/*
** Fault injection for the crash tests (doc/scaling.md): when the
** environment variable EODKIT_CRASH_AT is POINT (or "POINT:N" when N >= 0),
** the process kills itself with SIGKILL.
*/
void ek_crash_point(const char *point, long n);

/*
** Expand shell pattern PATTERN into *PATHS (sorted, newly allocated array of
** newly allocated strings, *N entries; free with ek_fs_free_list). No match
** is not an error here: *N is 0.
*/
int ek_fs_glob(eodkit_ctx *ctx, const char *pattern, char ***paths, size_t *n);
void ek_fs_free_list(char **paths, size_t n);

/* Write the lowercase hex SHA-256 of file PATH into HEX (65 bytes). PATH may
   be any name of GDAL's virtual file systems (an archive member, ...). */
int ek_fs_sha256(eodkit_ctx *ctx, const char *path, char hex[65]);

/* Write the lowercase hex SHA-256 of the N bytes of DATA into HEX. */
int ek_sha256_hex(eodkit_ctx *ctx, const void *data, size_t n, char hex[65]);

/* Write LEN bytes of DATA to a new file PATH (replacing it). */
int ek_fs_write_file(eodkit_ctx *ctx, const char *path, const void *data, size_t len);

/* Read the whole of file PATH into *DATA (NUL-terminated, newly allocated). */
int ek_fs_read_file(eodkit_ctx *ctx, const char *path, char **data, size_t *len);

#endif
