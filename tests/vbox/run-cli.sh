#!/bin/sh
# vbox-cli: the commands docs/vbox.md shows, run with the built snapbroker
# CLI on a VirtualBox machine this script writes (a VDI base made by
# qemu-img, a pattern written by qemu-io).  After every change the settings
# file validates against VirtualBox's schema (tests/vbox/data/), the
# snapshot folder holds the images the tree needs and no other, and at the
# end, with every snapshot deleted, the base still reads the pattern.
# (The data merges themselves are checked by vbox-ops, which writes into
# differencing images through the plugin's VDI code: qemu cannot.)
#
# usage: run-cli.sh SNAPBROKER VBOX_PLUGIN_SO   (TAP on stdout)
set -u
SB=$1
PLUGIN_DIR=$(dirname "$2")
XSD=${SB_SOURCE_ROOT:?}/tests/vbox/data/VirtualBox-settings.xsd
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-vbox-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/state" "$TMP/vms/vm1"
: >"$TMP/snapbroker.conf"
export SNAPBROKER_CONFIG="$TMP/snapbroker.conf" SNAPBROKER_STATE_DIR="$TMP/state"
export SNAPBROKER_PLUGIN_DIR="$PLUGIN_DIR" TZ=UTC LC_ALL=C
VM=$TMP/vms/vm1
SETTINGS=$VM/vm1.vbox

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do printf '%s\n' "$line" | sed 's/^/# /'; done
}
# sb ARGS...: the CLI on the machine folder; output in $out (blanks at
# line ends dropped: --tree draws some, as virsh does), status in $rc
sb() {
    out=$("$SB" -c "vbox://$TMP/vms" "$@" 2>&1)
    rc=$?
    out=$(printf '%s\n' "$out" | sed 's/ *$//')
}
# expect DESCRIPTION WANT: the last command succeeded and printed WANT
expect() {
    if [ "$rc" -eq 0 ] && [ "$out" = "$2" ]; then ok "$1"; else
        not_ok "$1" "exit $rc, printed:" "$out" "wanted:" "$2"
    fi
}
# expect_error DESCRIPTION FRAGMENT: it failed (exit 1) naming FRAGMENT
expect_error() {
    case "$out" in
        *"$2"*) [ "$rc" -eq 1 ] && { ok "$1"; return; } ;;
    esac
    not_ok "$1" "exit $rc, printed:" "$out" "wanted exit 1 and: $2"
}
# valid DESCRIPTION NIMAGES: settings valid for VirtualBox, NIMAGES
# differencing images in the snapshot folder, the base sound
valid() {
    v=$(xmllint --noout --schema "$XSD" "$SETTINGS" 2>&1)
    vrc=$?
    imgs=$(find "$VM/Snapshots" -name '*.vdi' 2>/dev/null | wc -l)
    chk=$(qemu-img check -q -f vdi "$VM/disk0.vdi" 2>&1)
    crc=$?
    if [ "$vrc" -eq 0 ] && [ "$imgs" -eq "$2" ] && [ "$crc" -eq 0 ]; then ok "$1"; else
        not_ok "$1" "xmllint: $v" "$imgs images in Snapshots, wanted $2" "qemu-img check: $chk"
    fi
}
snap_xml() {
    printf '<domainsnapshot><name>%s</name><description>%s</description>' "$1" "$2"
    printf '<state>shutoff</state><creationTime>0</creationTime></domainsnapshot>\n'
}

# The machine: one 8 MiB VDI on SATA.  A VDI header keeps its UUID at
# byte 392, the first three fields little endian.
qemu-img create -q -f vdi "$VM/disk0.vdi" 8M
qemu-io -f vdi -c 'write -P 0x5a 0 3M' "$VM/disk0.vdi" >/dev/null
disk=$(od -An -tx1 -j392 -N16 "$VM/disk0.vdi" | tr -d ' \n' | awk '{
    printf "%s%s%s%s-%s%s-%s%s-%s-%s", substr($0,7,2), substr($0,5,2), substr($0,3,2),
        substr($0,1,2), substr($0,11,2), substr($0,9,2), substr($0,15,2), substr($0,13,2),
        substr($0,17,4), substr($0,21,12) }')
cat >"$SETTINGS" <<EOF
<?xml version="1.0"?>
<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">
  <Machine uuid="{0e000000-0000-4000-8000-0000000000c1}" name="vm1" OSType="Debian_64" snapshotFolder="Snapshots">
    <MediaRegistry>
      <HardDisks>
        <HardDisk uuid="{$disk}" location="disk0.vdi" format="VDI" type="Normal"/>
      </HardDisks>
    </MediaRegistry>
    <Hardware>
      <CPU count="2"/>
      <Memory RAMSize="512"/>
      <StorageControllers>
        <StorageController name="SATA" type="AHCI" PortCount="2">
          <AttachedDevice type="HardDisk" port="0" device="0">
            <Image uuid="{$disk}"/>
          </AttachedDevice>
        </StorageController>
      </StorageControllers>
    </Hardware>
  </Machine>
</VirtualBox>
EOF
valid "the machine this test wrote is valid" 0

sb list --all
expect "list --all" " Id   Name   State
-----------------------
 -    vm1    shut off"

snap_xml s1 "before the upgrade" >"$TMP/s1.xml"
sb snapshot-create vm1 "$TMP/s1.xml"
expect "snapshot-create from a file" "Domain snapshot s1 created from '$TMP/s1.xml'"
valid "after the create: one differencing image" 1

cp "$SETTINGS" "$TMP/before"
sb snapshot-create-as vm1 other
expect_error "snapshot-create-as: a create is parsed as a redefine, as libvirt's VirtualBox driver does" \
    "missing <state>"
if cmp -s "$SETTINGS" "$TMP/before"; then ok "the refused create changed nothing"; else
    not_ok "the refused create changed nothing"
fi
valid "after the refused create" 1

snap_xml s2 "" >"$TMP/s2.xml"
sb snapshot-create vm1 "$TMP/s2.xml"
valid "after the second create" 2
sb snapshot-list vm1 --name
expect "snapshot-list --name" "s1
s2"
sb snapshot-list vm1 --tree
expect "snapshot-list --tree" "s1
  |
  +- s2"
sb snapshot-current vm1 --name
expect "snapshot-current --name" "s2"
sb snapshot-parent vm1 s2
expect "snapshot-parent" "s1"
sb --json snapshot-list vm1
case "$out" in
    *'"name":"s1"'*'"children":1'*'"name":"s2"'*'"parent":"s1"'*'"current":true'*) ok "--json snapshot-list" ;;
    *) not_ok "--json snapshot-list" "$out" ;;
esac
sb snapshot-dumpxml vm1 s1
case "$out" in
    *"<name>s1</name>"*"<description>before the upgrade</description>"*"<state>shutoff</state>"*)
        ok "snapshot-dumpxml" ;;
    *) not_ok "snapshot-dumpxml" "$out" ;;
esac

sb snapshot-revert vm1 s1
expect "snapshot-revert" "Domain snapshot s1 reverted"
sb snapshot-current vm1 --name
expect "the reverted-to snapshot is current" "s1"
# s2 keeps the image it froze; the current state has a fresh one on s1's
valid "after the revert: s2's image and a fresh one" 2

sb snapshot-delete vm1 s2
expect "snapshot-delete of a leaf" "Domain snapshot s2 deleted"
valid "after deleting s2: its image went" 1

# the replication workflow: the definition out, the metadata gone, the
# definition back in
sb snapshot-dumpxml vm1 s1
printf '%s\n' "$out" >"$TMP/s1-def.xml"
sb snapshot-delete vm1 s1 --metadata
expect "snapshot-delete --metadata" "Domain snapshot s1 deleted"
sb snapshot-list vm1 --name
expect "no snapshots left" ""
valid "--metadata keeps every image" 1
sb snapshot-create vm1 "$TMP/s1-def.xml" --redefine
expect "snapshot-create --redefine" "Domain snapshot s1 created from '$TMP/s1-def.xml'"
sb snapshot-current vm1 --name
expect "the machine's first redefined snapshot is current" "s1"
valid "after the redefine" 1

sb snapshot-delete vm1 s1
expect "snapshot-delete: merged back into the base" "Domain snapshot s1 deleted"
valid "after the last delete: no differencing image" 0
if qemu-io -f vdi -c 'read -P 0x5a 0 3M' "$VM/disk0.vdi" >/dev/null 2>&1; then
    ok "the base reads the pattern"
else
    not_ok "the base reads the pattern"
fi
if xmllint --noout --schema "$XSD" "$SETTINGS-prev" 2>/dev/null; then
    ok "the previous settings are kept, valid"
else
    not_ok "the previous settings are kept, valid"
fi

sb snapshot-info vm1 nosuch
expect_error "an unknown snapshot" "has no snapshots with name 'nosuch'"
sb snapshot-list nosuch
expect_error "an unknown machine" "no domain with matching name 'nosuch'"

echo "1..$n"
[ "$failed" -eq 0 ]
