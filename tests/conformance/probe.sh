#!/bin/sh
# The kit against a plugin that breaks the ABI itself (probe-hv,
# tests/plugins/probe/, misbehaviour WHAT): the broker refuses each bad
# answer, so the kit must run to its summary and fail scenarios, never
# crash (it did: a NULL from snapshot_get_xml reached strlen); and it must
# still clean up after itself: every scratch domain it defined is gone
# (the host lists the domains it listed before the run) and so is its
# scratch directory.  The kit runs here as run-kit.sh runs it, in a state
# directory and a TMPDIR of this test's, so both can be looked at after.
#   probe.sh CLI PROBE_PLUGIN_DIR WHAT
set -u
cli=$1
dir=$2
what=$3
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/sbprobe.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/state" "$work/tmp"
SNAPBROKER_PLUGIN_DIR=$dir
SNAPBROKER_STATE_DIR=$work/state
export SNAPBROKER_PLUGIN_DIR SNAPBROKER_STATE_DIR
unset SNAPBROKER_CONFIG SB_PROBE
domains() {
    "$cli" -c probe-hv:///default list --all --name | sed '/^$/d' | sort
}
echo "1..2"
domains >"$work/before"
SB_PROBE=$what TMPDIR=$work/tmp "$cli" -c probe-hv:///default conformance --tap \
    >"$work/out" 2>&1
status=$?
summary=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' "$work/out" | tail -1)
if [ "$status" -eq 1 ] && [ -n "$summary" ] && grep -q "plugin 'probe-hv' returned" "$work/out"; then
    echo "ok 1 - probe-hv ($what) fails scenarios and the kit ends (${summary#\# })"
else
    tail -20 "$work/out" | sed 's/^/# /'
    echo "not ok 1 - the kit on probe-hv ($what): exit status $status, summary '${summary}'"
fi
domains >"$work/after"
left=$(ls -A "$work/tmp")
if cmp -s "$work/before" "$work/after" && [ -z "$left" ]; then
    echo "ok 2 - the kit removed its scratch domains and directory after probe-hv ($what)"
else
    diff "$work/before" "$work/after" | sed 's/^/# domains: /'
    [ -z "$left" ] || echo "# left in the kit's TMPDIR: $left"
    echo "not ok 2 - the kit left scratch domains or files after probe-hv ($what)"
fi
