#!/bin/sh
# Runs docs/examples/snapshot-tree twice on the reference plugin in a
# scratch state directory and checks its output (TAP).
set -u
example=$1
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
export SNAPBROKER_STATE_DIR="$state"
echo "1..2"
out1=$("$example" ref:///default test first 2>&1) && echo "$out1" | grep -q "state=running (current)" \
    && echo "ok 1 - first run creates and lists one snapshot" \
    || { echo "not ok 1 - first run"; echo "$out1" | sed 's/^/# /'; }
out2=$("$example" ref:///default test second 2>&1) && [ "$(echo "$out2" | grep -c 'parent=')" -eq 2 ] \
    && echo "$out2" | tail -1 | grep -q "(current)" && ! echo "$out2" | tail -1 | grep -q "parent=-" \
    && echo "ok 2 - second run lists two snapshots, the new one current with a parent" \
    || { echo "not ok 2 - second run"; echo "$out2" | sed 's/^/# /'; }
