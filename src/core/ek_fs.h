/*
** Core: paths and the file system (joining and resolving paths, folders,
** globbing, atomic replacement, checksums). POSIX only.
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
