#!/bin/sh
# The kit against the vbox plugin on a VirtualBox machine written here: a
# settings file (vm1.vbox) with two VDI disks on SATA made by qemu-img, in
# a machine folder the plugin is pointed at (vbox:///DIR).  VirtualBox
# cannot be installed on Debian 12 and the plugin works on these files
# offline; the kit runs on that machine (--domain: the plugin defines no
# machines).  No guest-data scenarios: qemu cannot open VirtualBox's
# differencing images (docs/vbox.md).
#   vbox-kit.sh CLI [KIT OPTIONS...]   (run-kit.sh CLI @vbox-kit.sh)
# TAP on stdout; skipped (1..0) without qemu-img.
set -u
cli=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-img >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-img is not installed"; exit 0; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/sbk-vbox.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
vm=$dir/vms/vm1
mkdir -p "$vm"
# A VDI header keeps the image's UUID at byte 392, the first three fields
# little endian: the settings file registers each disk by it.
vdi_uuid() {
    od -An -tx1 -j392 -N16 "$1" | tr -d ' \n' | awk '{
        printf "%s%s%s%s-%s%s-%s%s-%s-%s", substr($0,7,2), substr($0,5,2), substr($0,3,2),
            substr($0,1,2), substr($0,11,2), substr($0,9,2), substr($0,15,2), substr($0,13,2),
            substr($0,17,4), substr($0,21,12) }'
}
for d in disk0 disk1; do
    qemu-img create -q -f vdi "$vm/$d.vdi" 8M || { echo "1..1"; echo "not ok 1 - qemu-img"; exit 1; }
done
u0=$(vdi_uuid "$vm/disk0.vdi")
u1=$(vdi_uuid "$vm/disk1.vdi")
cat >"$vm/vm1.vbox" <<VBOX
<?xml version="1.0"?>
<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">
  <Machine uuid="{0e000000-0000-4000-8000-00000000c0f1}" name="vm1" OSType="Debian_64" snapshotFolder="Snapshots">
    <MediaRegistry>
      <HardDisks>
        <HardDisk uuid="{$u0}" location="disk0.vdi" format="VDI" type="Normal"/>
        <HardDisk uuid="{$u1}" location="disk1.vdi" format="VDI" type="Normal"/>
      </HardDisks>
    </MediaRegistry>
    <Hardware>
      <CPU count="1"/>
      <Memory RAMSize="64"/>
      <StorageControllers>
        <StorageController name="SATA" type="AHCI" PortCount="2">
          <AttachedDevice type="HardDisk" port="0" device="0">
            <Image uuid="{$u0}"/>
          </AttachedDevice>
          <AttachedDevice type="HardDisk" port="1" device="0">
            <Image uuid="{$u1}"/>
          </AttachedDevice>
        </StorageController>
      </StorageControllers>
    </Hardware>
  </Machine>
</VirtualBox>
VBOX
"$here/run-kit.sh" "$cli" "vbox://$dir/vms" --domain vm1 "$@"
