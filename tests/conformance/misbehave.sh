#!/bin/sh
# One misbehaving plugin (tests/plugins/misbehave/) against the kit (TAP):
#   misbehave.sh CLI PLUGIN_DIR NAME ID
# With ID, the scenario ID must fail for plugin NAME (the rule it breaks)
# and say why; with +ID, NAME breaks nothing that scenario ID checks,
# though it does what a too strict kit would fail, and ID must pass; with
# ID empty, NAME breaks nothing and the whole catalogue must pass.
set -u
cli=$1
dir=$2
name=$3
id=$4
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
SNAPBROKER_PLUGIN_DIR=$dir
export SNAPBROKER_PLUGIN_DIR
echo "1..1"
if [ -z "$id" ]; then
    if "$here/run-kit.sh" "$cli" "$name:///default" >"$out" 2>&1; then
        echo "ok 1 - $name passes every scenario it declares ($(tail -1 "$out" | sed 's/^# //'))"
    else
        grep -A1 '^not ok' "$out" | sed 's/^/# /'
        echo "not ok 1 - $name, which breaks nothing, fails scenarios"
    fi
    exit 0
fi
case "$id" in
    +*)
        id=${id#+}
        "$here/run-kit.sh" "$cli" "$name:///default" --only "$id" >"$out" 2>&1
        status=$?
        if [ "$status" -eq 0 ] && grep -q "^ok 1 - $id:" "$out" &&
            ! grep -q "^ok 1 - $id:.*# SKIP" "$out"; then
            echo "ok 1 - $id passes $name"
        else
            sed 's/^/# /' "$out"
            echo "not ok 1 - $id fails or skips $name, which breaks nothing it checks" \
                "(exit status $status)"
        fi
        exit 0
        ;;
esac
"$here/run-kit.sh" "$cli" "$name:///default" --only "$id" >"$out" 2>&1
status=$?
if [ "$status" -eq 1 ] && grep -q "^not ok 1 - $id:" "$out"; then
    why=$(grep -A1 "^not ok 1 - $id:" "$out" | tail -1 | sed 's/^# //')
    echo "ok 1 - $id catches $name: $why"
else
    sed 's/^/# /' "$out"
    echo "not ok 1 - $id does not catch $name (exit status $status)"
fi
