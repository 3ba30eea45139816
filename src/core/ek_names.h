/*
** Core: input names. A recipe names its rasters with anything GDAL opens:
** plain paths (globs apply), archive members (/vsizip/, /vsitar/,
** /vsigzip/), network files (https:// URLs, /vsicurl/, /vsis3/, /vsigs/,
** /vsiaz/, ...) and subdatasets (NETCDF:"f.nc":var). Here such names are
** resolved against the recipe's folder, told apart, and stamped (size,
** time, ETag) without being read whole.
*/
#ifndef EK_NAMES_H
#define EK_NAMES_H

#include <stdint.h>

#include "ek_ctx.h"

typedef enum ek_name_kind {
    EK_NAME_PATH,  /* a plain local path: globs apply */
    EK_NAME_LOCAL, /* a GDAL name on local data: /vsizip/, a subdataset, ... */
    EK_NAME_REMOTE /* a GDAL name that reaches the network */
} ek_name_kind;

/*
** Input NAME as written in a recipe (or a files_from list) in folder DIR,
** as the name GDAL is given, newly allocated (NULL with CTX set on OOM):
** a relative path becomes DIR/NAME, also inside an archive name
** (/vsizip/a.zip/x.tif) or a subdataset name (NETCDF:"f.nc":v, where the
** file part is a quoted one or one that exists in DIR); an http://,
** https:// or ftp:// URL is read through /vsicurl/ (ranged reads, not a
** whole download), an s3:// or gs:// URL through /vsis3/ or /vsigs/, a
** file:// URL is its path; any other /vsi name is kept as is.
*/
char *ek_name_resolve(eodkit_ctx *ctx, const char *dir, const char *name);

/* What kind of name a resolved NAME is. VRT XML text (which GDAL opens as
   a dataset) is a local name, or a remote one when it reads a remote file. */
ek_name_kind ek_name_kind_of(const char *name);

/* Where in NAME its network file system name starts ("/vsicurl/https://...
   inside /vsizip//vsicurl/https://.../a.zip/b.tif"), or NULL. */
const char *ek_name_remote_part(const char *name);

/* Identity of an input without reading it whole: for the build fingerprint
   and provenance of remote inputs. */
typedef struct ek_name_stamp {
    long long bytes;        /* -1 when unknown */
    long long mtime_ns;     /* modification time, ns since 1970; 0 unknown */
    char etag[128];         /* remote: the ETag header, "" when none */
    char last_modified[64]; /* remote: the Last-Modified header, "" when none */
} ek_name_stamp;

/*
** Stamp NAME: the stat of the file behind it (the archive of an archive
** member, the file of a subdataset; for a remote file GDAL's HEAD request,
** with its ETag and Last-Modified headers). Return 0, or -1 (with
** ST->bytes -1) when the file cannot be reached.
*/
int ek_name_stamp_of(const char *name, ek_name_stamp *st /* OUT */);

#endif
