#!/bin/bash
# Commands that only read create nothing in the state directory (TAP).
#
# usage: run-readonly-state.sh SNAPBROKER SOURCE_ROOT
# The CLI of the build tree on its default host (the qemu plugin, the
# embedded default configuration), as root would run it with
# /var/lib/snapbroker not there yet: SNAPBROKER_STATE_DIR names a
# directory that does not exist.
#  1. every read-only command on a fresh state directory leaves it absent;
#  2. with a defined domain and a snapshot, every read-only command leaves
#     the state tree exactly as it was (no new file or directory).
set -u
sb=$(realpath "$1")
src=$(realpath "$2")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-rostate-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/default.conf" <<EOF
default_host = "local";
hosts = ( { name = "local"; plugin = "qemu"; uri = "qemu:///session"; } );
EOF
export SNAPBROKER_CONFIG=$TMP/default.conf LC_ALL=C
unset SNAPBROKER_PLUGIN_DIR
export SNAPBROKER_STATE_DIR=$TMP/state

fresh=(
    "hosts" "--json hosts" "list" "list --all" "list --name" "plugin-info qemu"
    "-c qemu:///session list --all" "-r list --all"
    "snapshot-list vm" "snapshot-list --all-hosts" "snapshot-info vm s1"
    "snapshot-current vm" "snapshot-dumpxml vm s1" "dumpxml vm" "domstate vm"
    "check" "check vm" "xml-normalize --redefine $src/docs/examples/snapshot.xml"
    "help" "--version"
)
existing=(
    "hosts" "list --all" "plugin-info qemu" "snapshot-list vm" "snapshot-list vm --tree"
    "snapshot-list --all-hosts" "snapshot-info vm s1" "snapshot-current vm --name"
    "snapshot-dumpxml vm s1" "dumpxml vm" "domstate vm"
    "check" "check vm" "-r snapshot-list vm"
)
echo "1..$((${#fresh[@]} + ${#existing[@]} + 1))"
n=0 fail=0

for c in "${fresh[@]}"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    "$sb" $c >/dev/null 2>"$TMP/err"
    rc=$?
    if [ -e "$SNAPBROKER_STATE_DIR" ]; then
        echo "not ok $n - fresh state: '$c' (exit $rc) created $(find "$SNAPBROKER_STATE_DIR" | tr '\n' ' ')"
        rm -rf "$SNAPBROKER_STATE_DIR"
        fail=1
    else
        echo "ok $n - fresh state: '$c' (exit $rc) created nothing"
    fi
done

# a domain and a snapshot (shut off: qemu-img, no QEMU started)
n=$((n + 1))
qemu-img create -q -f qcow2 "$TMP/vm.qcow2" 16M
sed "s#/var/tmp/vm.qcow2#$TMP/vm.qcow2#" "$src/docs/examples/vm.xml" >"$TMP/vm.xml"
if "$sb" define "$TMP/vm.xml" >/dev/null 2>"$TMP/err" &&
    "$sb" snapshot-create-as vm s1 >/dev/null 2>>"$TMP/err"; then
    echo "ok $n - define vm, snapshot s1"
else
    echo "not ok $n - define vm, snapshot s1: $(cat "$TMP/err")"
    exit 1
fi
find "$SNAPBROKER_STATE_DIR" | sort >"$TMP/before"
for c in "${existing[@]}"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    "$sb" $c >/dev/null 2>"$TMP/err"
    rc=$?
    new=$(find "$SNAPBROKER_STATE_DIR" | sort | comm -13 "$TMP/before" -)
    if [ -n "$new" ] || [ $rc != 0 ]; then
        echo "not ok $n - existing state: '$c' (exit $rc: $(cat "$TMP/err")) created: $new"
        fail=1
    else
        echo "ok $n - existing state: '$c' created nothing"
    fi
done
exit $fail
