#!/bin/sh
# A libvirtd of the tests' own, with nothing of the machine's libvirt
# touched: configuration, sockets, state, caches and logs all live in DIR.
#
#   unshare --mount --pid --fork --mount-proc --propagation private \
#           --kill-child sh private-libvirtd.sh DIR PORT
#
# It must run as PID 1 of new mount and pid namespaces (the command above):
# the mounts below are then seen by this daemon only, and when the daemon's
# init (tini, below) dies the kernel kills every process of the namespace,
# QEMU guests included, so nothing outlives the test.
#
# Why each step (libvirt 9.0 on Debian 12, monolithic libvirtd):
# - the privileged QEMU driver has compiled-in paths (/etc/libvirt,
#   /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt):
#   DIR/etc is bound over /etc/libvirt, /var gets an overlay whose upper
#   layer is in DIR, /run a private tmpfs;
# - the driver looks the default user libvirt-qemu up even when qemu.conf
#   says root: private copies of /etc/passwd and /etc/group add it when the
#   machine has no such user;
# - no cgroups (cgroup_controllers = [], /sys/fs/cgroup detached), no
#   security driver, no namespaces for guests, no virtlogd (stdio_handler
#   "file"): no other daemon is needed;
# - only the qemu and storage drivers are loaded (LIBVIRT_DRIVER_DIR);
# - tini is the namespace's init: it reaps the QEMUs libvirt double-forks
#   at once (libvirt polls until they are gone).
# The daemon listens on DIR/sock/libvirt-sock and on 127.0.0.1:PORT (tcp,
# no authentication: loopback only, for the remote-transport tests); PORT
# "none": the unix socket only.  LVD_DRIVERS (default "qemu storage"): the
# driver modules to load; "" serves libvirt's test driver alone (it is part
# of libvirt itself: test+unix:///default?socket=DIR/sock/libvirt-sock).
set -eu
D=$1
PORT=$2
modules=${LVD_DRIVERS-qemu storage}
[ "$$" = 1 ] || { echo "private-libvirtd.sh: not PID 1 of a new namespace (see its header)" >&2; exit 2; }
[ -d /etc/libvirt ] || { echo "private-libvirtd.sh: /etc/libvirt missing (is libvirt installed?)" >&2; exit 2; }
drivers=
for d in /usr/lib/*/libvirt/connection-driver /usr/lib/libvirt/connection-driver; do
    [ -f "$d/libvirt_driver_qemu.so" ] && drivers=$d && break
done
[ -n "$drivers" ] || [ -z "$modules" ] ||
    { echo "private-libvirtd.sh: libvirt's qemu driver is not installed" >&2; exit 2; }
listen=--listen
tcp=1
[ "$PORT" = none ] && listen= && tcp=0

mkdir -p "$D/etc" "$D/var-upper" "$D/var-work" "$D/sock" "$D/drivers" "$D/log"
cat >"$D/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$D/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = $tcp
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "none"
log_outputs = "3:file:$D/log/libvirtd.log"
EOF
cat >"$D/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
EOF
cp /etc/passwd "$D/passwd"
cp /etc/group "$D/group"
grep -q '^libvirt-qemu:' "$D/passwd" ||
    echo 'libvirt-qemu:x:64055:64055:private libvirtd:/nonexistent:/usr/sbin/nologin' >>"$D/passwd"
grep -q '^libvirt-qemu:' "$D/group" || echo 'libvirt-qemu:x:64055:' >>"$D/group"
for m in $modules; do
    ln -sf "$drivers/libvirt_driver_$m.so" "$D/drivers/"
done

mount --bind "$D/etc" /etc/libvirt
mount --bind "$D/passwd" /etc/passwd
mount --bind "$D/group" /etc/group
mount -t overlay overlay -o "lowerdir=/var,upperdir=$D/var-upper,workdir=$D/var-work" /var
mount -t tmpfs tmpfs /run
umount -l /sys/fs/cgroup 2>/dev/null || true
mkdir -p /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /run/libvirt

export LIBVIRT_DRIVER_DIR="$D/drivers"
exec tini -- /usr/sbin/libvirtd -f "$D/etc/libvirtd.conf" $listen
