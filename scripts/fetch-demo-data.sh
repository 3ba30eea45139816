#!/bin/sh
# Fetch the real Olinda demo data and the default region layer from Debian
# packages (no R, no QGIS needed): apt-get download + dpkg -x into .cache/,
# then link the files eodkit uses into examples/data/. Runs once; later
# calls are no-ops.
#   r-cran-stars:  L7_ETMs.tif (Landsat-7 ETM+), olinda_dem_utm25s.tif (DEM)
#   r-cran-sf:     olinda1.shp (470 census-tract polygons)
#   r-cran-spdata: world.gpkg (177 countries with continents, 1:110m, CC0)
#   qgis-common:   world_map.gpkg (Natural Earth 1:10m countries, public
#                  domain): the default region layer, copied (not linked)
#                  so that `make install` installs the file itself
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/.cache/debian"
data="$top/examples/data"

if [ -f "$data/.complete" ] && [ -f "$data/world_map.gpkg" ]; then
    exit 0
fi
mkdir -p "$cache/debs" "$cache/root" "$data"
cd "$cache/debs"
for pkg in r-cran-stars r-cran-sf r-cran-spdata qgis-common; do
    if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
        # _apt cannot write into root-owned folders; the warning is harmless.
        apt-get download "$pkg" >/dev/null 2>&1 || {
            echo "eodkit: could not download $pkg (run 'apt-get update' as root)" >&2
            exit 3
        }
    fi
done
for pkg in r-cran-stars r-cran-sf r-cran-spdata; do
    dpkg -x "${pkg}"_*.deb "$cache/root"
done
# qgis-common is 130 MB unpacked: take the one file.
world=./usr/share/qgis/resources/data/world_map.gpkg
dpkg-deb --fsys-tarfile qgis-common_*.deb | tar -xO "$world" > "$data/world_map.gpkg.tmp" || {
    echo "eodkit: $world missing from the Debian package qgis-common" >&2
    exit 3
}
mv "$data/world_map.gpkg.tmp" "$data/world_map.gpkg"
lib="$cache/root/usr/lib/R/site-library"
for f in "$lib/stars/tif/L7_ETMs.tif" "$lib/stars/tif/olinda_dem_utm25s.tif" \
         "$lib/stars/tif/olinda_dem_utm25s.tif.aux.xml" \
         "$lib/sf/shape/olinda1.shp" "$lib/sf/shape/olinda1.shx" \
         "$lib/sf/shape/olinda1.dbf" "$lib/sf/shape/olinda1.prj" \
         "$lib/spData/shapes/world.gpkg"; do
    [ -f "$f" ] || { echo "eodkit: $f missing from the Debian package" >&2; exit 3; }
    ln -sf "$f" "$data/$(basename "$f")"
done
touch "$data/.complete"
