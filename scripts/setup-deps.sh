#!/bin/sh
# Install the Debian packages eodkit needs that are missing on this machine.
# Usage: scripts/setup-deps.sh build|test|fuzz
#   build: what compiling eodkit and running the demo needs (python3 renders
#          the --help texts and man pages)
#   test:  build + what `make check` needs (Python readers, MPI, a browser,
#          nginx for the remote-input tests, perf and GNU time for the
#          benchmarks' smoke run, man-db for the man page tests)
#   fuzz:  test + clang and its libFuzzer runtime (make fuzz)
# Only Debian's own repositories are used; nothing is fetched from elsewhere.
set -eu

build_pkgs="cmake make gcc pkg-config python3 libgdal-dev gdal-bin libyaml-dev libjansson-dev
libsqlite3-dev libssl-dev libmicrohttpd-dev libpng-dev dpkg-dev iso-codes"
test_pkgs="libcmocka-dev python3-numpy python3-gdal python3-rasterio python3-geopandas
python3-jsonschema python3-pytest python3-torch python3-torchvision python3-sklearn python3-pip
python3-setuptools python3-rtree libopenmpi-dev openmpi-bin chromium
linux-perf time nginx python3-yaml strace man-db"

fuzz_pkgs="clang libclang-rt-14-dev"

case "${1:-build}" in
build) wanted=$build_pkgs ;;
test) wanted="$build_pkgs $test_pkgs" ;;
fuzz) wanted="$build_pkgs $test_pkgs $fuzz_pkgs" ;;
*) echo "usage: $0 build|test|fuzz" >&2; exit 1 ;;
esac
# The browser tests drive Chromium with playwright-core from npm: install
# Debian's Node.js only where no node is on the PATH already.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then
    wanted="$wanted nodejs npm"
fi

missing=""
for p in $wanted; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "eodkit: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "eodkit: not root; run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
