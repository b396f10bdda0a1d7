#!/bin/sh
# scripts/demo, the quick start's first command, end to end (TAP):
# on this build (BUILD_DIR: its build step finds nothing to do), it says
# what it is doing before and after the build, and every step passes
# (the real qemu plugin, QEMU on KVM or TCG).
#   run-demo.sh SOURCE_ROOT BUILD_ROOT
src=$1
build=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "1..3"
BUILD_DIR=$build "$src/scripts/demo" >"$out" 2>&1 </dev/null
rc=$?
if [ $rc = 0 ] && grep -q '^demo: all steps passed' "$out"; then
    echo "ok 1 - scripts/demo passes every step"
else
    echo "not ok 1 - scripts/demo: exit $rc"
    tail -n 40 "$out" | sed 's/^/# /'
fi
# before the build, what it does; after it, that it is done
first=$(grep -n '^demo: building snapbroker in ' "$out" | cut -d: -f1)
done_at=$(grep -n '^demo: build done (' "$out" | cut -d: -f1)
scratch=$(grep -n '== scratch images' "$out" | cut -d: -f1)
if [ -n "$first" ] && [ -n "$done_at" ] && [ -n "$scratch" ] &&
    [ "$first" -lt "$done_at" ] && [ "$done_at" -lt "$scratch" ]; then
    echo "ok 2 - it says it builds, then that the build is done, before the demo steps"
else
    echo "not ok 2 - no 'building' / 'build done' lines before the steps (lines $first, $done_at, $scratch)"
    head -n 10 "$out" | sed 's/^/# /'
fi
if grep -q '^demo: checking the Debian packages' "$out" && grep -q '^setup: ' "$out"; then
    echo "ok 3 - it says it checks the packages"
else
    echo "not ok 3 - nothing said about the packages"
fi
[ $rc = 0 ] && grep -q '^demo: all steps passed' "$out" && [ -n "$first" ] && [ -n "$done_at" ]
