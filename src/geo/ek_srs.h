/*
** Spatial references from text a user or a catalog wrote: the one way
** eodkit turns a CRS string into an OGRSpatialReferenceH, so a recipe or a
** STAC Item can never make GDAL fetch a URL over the network.
*/
#ifndef EK_SRS_H
#define EK_SRS_H

#include <ogr_srs_api.h>

/*
** Set SRS from TEXT as OSRSetFromUserInput does (EPSG:n, a PROJ string,
** WKT, PROJJSON, an OGC URN or an OGC CRS URL such as
** http://www.opengis.net/def/crs/EPSG/0/32633, which PROJ resolves from
** its own database), except that any other URL (http, https, ftp) is
** refused: GDAL 3.6 would download it. Returns OGRERR_NONE on success,
** OGRERR_UNSUPPORTED_SRS for a refused URL, GDAL's error otherwise.
*/
OGRErr ek_srs_from_user(OGRSpatialReferenceH srs, const char *text);

#endif
