# Shared by the tests/hier scripts (sourced, POSIX sh; $T is the script's
# scratch directory).
#
# result STATUS DESCRIPTION: one TAP line, numbered; on failure what the
# command left in $T/out and $T/err follows as comments.  tap_end: the
# plan; its status is the script's verdict.
n=0
fails=0
result() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        fails=$((fails + 1))
        echo "not ok $n - $2"
        sed 's/^/# /' "$T/out" "$T/err" 2>/dev/null
    fi
}
tap_end() {
    echo "1..$n"
    [ "$fails" -eq 0 ]
}

# vm_xml IMAGE: the definition of the shut-off qemu guest "vm" whose one
# disk is the qcow2 image IMAGE.
vm_xml() {
    cat <<XML
<domain type='qemu'>
  <name>vm</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$1'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}
