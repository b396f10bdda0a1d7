#!/bin/sh
# snapshot-list --all-hosts (the fleet view, docs/fleet.md) through the
# CLI.  The fleet: two reference-plugin hosts (a test fixture,
# tests/plugins/reference), one whose URI no plugin accepts (a host that is
# down), and a qemu host with a real qcow2 image holding two internal
# snapshots and an external overlay, whose sizes are known exactly: the
# image has 64 KiB clusters, and a snapshot keeps its L1 table, the L2
# tables and data clusters the active image no longer shares.  Last, a
# reference host whose state lock another process holds (its listing
# blocks): it is reported as timed out, the others are listed.  TAP.
#
#   run-fleet.sh SNAPBROKER_EXE SOURCE_ROOT
set -u
sb=$1
T=$(mktemp -d /tmp/sb-fleet-XXXXXX)
holder=
cleanup() {
    # the lock holder (flock) ends when its command (sleep) is killed
    [ -s "$T/held" ] && kill "$(cat "$T/held")" 2>/dev/null
    [ -n "$holder" ] && wait "$holder" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export SNAPBROKER_STATE_DIR=$T/state SNAPBROKER_CONFIG=$T/fleet.conf
unset SNAPBROKER_PLUGIN_DIR
. "$2/tests/hier/lib.sh"
# expect STATUS DESCRIPTION -- ARGS...: run snapbroker, check its status
expect() {
    want=$1 what=$2
    shift 3
    "$sb" "$@" >"$T/out" 2>"$T/err"
    st=$?
    [ "$st" -eq "$want" ] || echo "exit status $st, wanted $want" >>"$T/err"
    result $((st != want)) "$what"
}
# has WHERE PATTERN DESCRIPTION: a fixed string in out or err
has() {
    grep -qF -- "$2" "$T/$1"
    result $? "$3"
}
hasnt() {
    ! grep -qF -- "$2" "$T/$1"
    result $? "$3"
}

cat >"$T/fleet.conf" <<EOF
default_host = "a";
hosts = (
  { name = "a"; plugin = "ref"; uri = "ref:///default"; },
  { name = "b"; plugin = "ref"; uri = "ref:///default"; },
  { name = "down"; plugin = "ref"; uri = "ref:///nowhere"; },
  { name = "q"; plugin = "qemu"; uri = "qemu:///session"; }
);
EOF
vm_xml "$T/vm.qcow2" >"$T/vm.xml"
write() { qemu-io -f qcow2 -c "write -P $2 0 $3" "$1" >/dev/null; }
setup() {
    "$sb" -c a snapshot-create-as test a1 && "$sb" -c a snapshot-create-as test a2 &&
        "$sb" -c b snapshot-create-as test b1 &&
        qemu-img create -q -f qcow2 -o cluster_size=65536 "$T/vm.qcow2" 64M &&
        "$sb" -c q define "$T/vm.xml" && write "$T/vm.qcow2" 1 4M &&
        "$sb" -c q snapshot-create-as vm base && write "$T/vm.qcow2" 2 2M &&
        "$sb" -c q snapshot-create-as vm mid && write "$T/vm.qcow2" 3 1M &&
        "$sb" -c q snapshot-create-as vm top --disk-only \
            --diskspec "vda,snapshot=external,file=$T/vm.top.qcow2" &&
        write "$T/vm.top.qcow2" 4 3M
}
setup >"$T/out" 2>"$T/err"
result $? "the fleet: ref hosts a (2 snapshots) and b (1), qemu host q (3)"

expect 1 "every host: a host that is down makes the status 1" -- snapshot-list --all-hosts
has out " a      test     a1 " "a's snapshots listed with host and domain"
has out " b      test     b1 " "b's snapshot listed"
has out " q      vm       base " "q's snapshots listed"
has err "error: INVALID_ARG: cannot open host 'down' (ref:///nowhere)" \
    "the host that is down is named on stderr"
has out "Creation Time" "a creation time column"
expect 0 "--host a --host q: only those, status 0" -- \
    snapshot-list --all-hosts --host a --host q --json
has out '"name":"base","parent":null' "JSON: base is a root"
has out '"location":"internal","current":false,"bytes":2228224,"memory_bytes":0' \
    "base holds 2 MiB of data, its L1 table and one L2 table (2228224 bytes)"
has out '"name":"mid","parent":"base"' "JSON: mid's parent"
has out '"bytes":1179648,' "mid holds 1 MiB of data, its L1 table and one L2 table"
has out '"name":"top","parent":"mid"' "JSON: the external snapshot"
has out "\"location\":\"external\",\"current\":true" "top is external and current"
has out "\"where\":\"$T/vm.top.qcow2\"" "top lives in its overlay"
has out '{"name":"a","plugin":"ref","uri":"ref:///default","status":"ok","error":null,"domains":1,"snapshots":2,"bytes":0,"unknown_sizes":2,' \
    "JSON: host a, sizes unknown (the reference plugin cannot tell)"
hasnt out '"name":"b"' "JSON: b not asked for"
expect 0 "--plugin qemu --larger-than 2M" -- \
    snapshot-list --all-hosts --plugin qemu --larger-than 2M
has out " base " "base holds more than 2 MiB"
hasnt out " mid " "mid holds less"
expect 0 "--larger-than 2228224: more than, not as much as" -- \
    snapshot-list --all-hosts --host q --larger-than 2228224
hasnt out " base " "base holds exactly 2228224 bytes"
expect 0 "--larger-than 2.1M: a decimal size" -- \
    snapshot-list --all-hosts --host q --larger-than 2.1M
has out " base " "base holds more than 2.1 MiB (2202009 bytes)"
hasnt out " mid " "mid holds less"
expect 0 "--larger-than 2.125MiB is exactly base's 2228224 bytes" -- \
    snapshot-list --all-hosts --host q --larger-than 2.125MiB
hasnt out " base " "base holds exactly 2.125 MiB, not more"
expect 0 "--larger-than 0 is a filter too" -- \
    snapshot-list --all-hosts --host a --host q --larger-than 0
hasnt out " a1 " "a1's size is unknown: left out"
has out " base " "base's size is known and above 0"
expect 0 "--older-than 0.5d: a decimal duration" -- snapshot-list --all-hosts --host a \
    --older-than 0.5d
hasnt out " a1 " "a1 is younger than half a day"
expect 0 "--older-than 1d: nothing that old" -- snapshot-list --all-hosts --host a \
    --older-than 1d
hasnt out " a1 " "a1 is younger than a day"
expect 0 "a domain by name over the fleet" -- snapshot-list --all-hosts vm --host q --host a
has out " vm       mid " "vm's snapshots"
hasnt out " test " "no other domain"
expect 1 "--summary: one line per host" -- snapshot-list --all-hosts --summary
has out " down   ref      failed " "the host that is down, in the summary"
has out " a      ref      ok       1         2           -      " "a: 1 domain, 2 snapshots, size unknown"
has out " q      qemu     ok       1         3 " "q: 1 domain, 3 snapshots"

# option errors: the command does not run
expect 1 "--larger-than needs a size" -- snapshot-list --all-hosts --larger-than 1x
has err "--larger-than '1x': expected a size" "the bad size is named"
expect 1 "a decimal point needs digits after it" -- snapshot-list --all-hosts --larger-than 2.M
has err "--larger-than '2.M': expected a size" "the bad size is named"
expect 1 "--older-than needs a duration" -- snapshot-list --all-hosts --older-than soon
has err "--older-than 'soon'" "the bad duration is named"
expect 1 "--host needs --all-hosts" -- snapshot-list test --host a
expect 1 "--tree is for one domain" -- snapshot-list --all-hosts --tree
has err "--tree cannot be used with --all-hosts" "says so"
expect 1 "an unknown host" -- snapshot-list --all-hosts --host nosuch
has err "no configured host named 'nosuch'" "names it"
expect 1 "snapshot-list without a domain nor --all-hosts" -- snapshot-list
has err "requires <domain> option" "as virsh says it"

# a host whose listing blocks: b's state lock held by another process
lock=$T/state/hosts/b/plugin-ref/domains.lock
flock -x "$lock" sh -c "echo \$\$ >'$T/held.new'; mv '$T/held.new' '$T/held'; exec sleep 600" \
    </dev/null >/dev/null 2>&1 &
holder=$!
# wait for the lock itself, bounded only to catch a hang (a loaded machine
# may take seconds to start flock)
i=0
while [ ! -s "$T/held" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/held" ]
result $? "another process holds b's lock (flock started within 120 s)"
expect 1 "a host that does not answer in --timeout is reported" -- \
    snapshot-list --all-hosts --host a --host b --timeout 15 --summary
has out " b      ref      timed out " "b timed out"
has out " a      ref      ok " "a was listed all the same"
has err "no answer within 15000 ms" "stderr says why"

tap_end
