/*
** Spatial references from user text: OSRSetFromUserInput without its
** network fetches (see ek_srs.h).
*/
#include "geo/ek_srs.h"

#include <string.h>
#include <strings.h>

/* Whether TEXT starts with PREFIX, ignoring case. */
static int starts_with(const char *text, const char *prefix)
{
    return strncasecmp(text, prefix, strlen(prefix)) == 0;
}

OGRErr ek_srs_from_user(OGRSpatialReferenceH srs, const char *text)
{
    static const char *const ogc_urls[] = {
        "http://opengis.net/def/crs", "https://opengis.net/def/crs",
        "http://www.opengis.net/def/crs", "https://www.opengis.net/def/crs",
        NULL};
    size_t i;

    if (starts_with(text, "http://") || starts_with(text, "https://") ||
        starts_with(text, "ftp://")) {
        for (i = 0; ogc_urls[i] != NULL; i++) {
            if (starts_with(text, ogc_urls[i])) {
                return OSRSetFromUserInput(srs, text);
            }
        }
        return OGRERR_UNSUPPORTED_SRS;
    }
    return OSRSetFromUserInput(srs, text);
}
