#!/bin/sh
# The kit against a plugin that breaks the ABI itself (probe-hv,
# tests/plugins/probe/, misbehaviour WHAT): the broker refuses each bad
# answer, so the kit must run to its summary and fail scenarios, never
# crash (it did: a NULL from snapshot_get_xml reached strlen).
#   probe.sh CLI PROBE_PLUGIN_DIR WHAT
set -u
cli=$1
dir=$2
what=$3
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
SNAPBROKER_PLUGIN_DIR=$dir
SB_PROBE=$what
export SNAPBROKER_PLUGIN_DIR SB_PROBE
echo "1..1"
"$here/run-kit.sh" "$cli" "probe-hv:///default" >"$out" 2>&1
status=$?
summary=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
if [ "$status" -eq 1 ] && [ -n "$summary" ] && grep -q "plugin 'probe-hv' returned" "$out"; then
    echo "ok 1 - probe-hv ($what) fails scenarios and the kit ends (${summary#\# })"
else
    tail -20 "$out" | sed 's/^/# /'
    echo "not ok 1 - the kit on probe-hv ($what): exit status $status, summary '${summary}'"
fi
