#!/bin/bash
# Same output as another eodkit binary for every build the test suite runs
# (an EODKIT_BIN wrapper; bench/README.md shows how to run the suite with
# it). Each `eodkit build RECIPE ... -o OUT` (not --resume or --part) runs
# first with the BASE binary, whose output is moved aside, then with the
# NEW one at the same path (outputs record their paths); the two folders
# are compared file by file and one line per build goes to LOG:
#   SAME <files> RECIPE              byte-identical
#   DIFF RECIPE KEPT                 KEPT holds base/, new/ and the files that differ (diff)
#   EXITS base=B new=N RECIPE KEPT   (also tests that kill, lock or time a
#                                    build, which runs twice here)
#   BOTHFAIL CODE same-message|other-message RECIPE [KEPT]
# The test sees the new binary's output and exit code. Other commands run
# the new binary alone.
BASE=${EODKIT_COMPARE_BASE:?the eodkit binary to compare with}
NEW=${EODKIT_COMPARE_NEW:?the eodkit binary under test}
LOG=${EODKIT_COMPARE_LOG:-/tmp/eodkit-compare.log}
# both binaries tag regions with one layer (each defaults to its own tree's)
if [ -z "${EODKIT_REGIONS+set}" ] && [ -n "$EODKIT_SOURCE_DIR" ]; then
    export EODKIT_REGIONS="$EODKIT_SOURCE_DIR/examples/data/world.gpkg"
fi
if [ "$1" != build ]; then exec "$NEW" "$@"; fi
out="" prev="" recipe="$2"
for a in "$@"; do
    if [ "$prev" = "-o" ] || [ "$prev" = "--output" ]; then out="$a"; fi
    case "$a" in --resume | --part | --part=*) exec "$NEW" "$@" ;; esac
    prev="$a"
done
if [ -z "$out" ]; then exec "$NEW" "$@"; fi
keep=$(mktemp -d "${TMPDIR:-/tmp}/eodkit-compare.XXXXXX")
"$BASE" "$@" >"$keep/base.out" 2>"$keep/base.err"
b=$?
if [ $b = 0 ] && [ -d "$out" ]; then mv "$out" "$keep/base"; fi
"$NEW" "$@" >"$keep/new.out" 2>"$keep/new.err"
n=$?
cat "$keep/new.out"
cat "$keep/new.err" >&2
if [ $b != $n ]; then
    echo "EXITS base=$b new=$n $recipe $keep" >>"$LOG"
elif [ $b != 0 ]; then
    if cmp -s "$keep/base.err" "$keep/new.err"; then
        echo "BOTHFAIL $b same-message $recipe" >>"$LOG"
        rm -rf "$keep"
    else
        echo "BOTHFAIL $b other-message $recipe $keep" >>"$LOG"
    fi
elif diff -rq "$keep/base" "$out" >"$keep/diff" 2>&1; then
    echo "SAME $(find "$out" -type f | wc -l) $recipe" >>"$LOG"
    rm -rf "$keep"
else
    cp -a "$out" "$keep/new"
    echo "DIFF $recipe $keep" >>"$LOG"
fi
exit $n
