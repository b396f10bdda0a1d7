#!/bin/sh
# The kit against the libvirt plugin on libvirt's test driver, served by a
# private libvirtd (tests/libvirt/private-libvirtd.sh: its own mount and
# pid namespaces, nothing of the machine's libvirt touched).  Through a
# daemon every process of the kit sees one host, as users of a libvirtd
# do; test:///default in-process would give each process a host of its
# own and the concurrency scenarios nothing to share.  The daemon keeps
# the test driver's state while a client is connected: the kit's own
# connection lasts the whole run.
#   libvirt-kit.sh CLI [KIT OPTIONS...]   (run-kit.sh CLI @libvirt-kit.sh)
# TAP on stdout; skipped (1..0) where no private libvirtd can run.
set -u
cli=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
skip() {
    echo "1..0 # SKIP $1"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "a private libvirtd needs root (mount and pid namespaces)"
for tool in unshare tini libvirtd virsh; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || skip "$tool is not installed"
done

dir=$(mktemp -d /tmp/sbk-lvd.XXXXXX) || exit 1
daemon=
cleanup() {
    # the namespace's init dies with unshare (--kill-child), and every
    # process of the namespace with it
    if [ -n "$daemon" ]; then
        kill -9 "$daemon" 2>/dev/null
        wait "$daemon" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

LVD_DRIVERS='' unshare --mount --pid --fork --mount-proc --propagation private --kill-child \
    sh "$here/../libvirt/private-libvirtd.sh" "$dir" none >"$dir/daemon.out" 2>&1 &
daemon=$!
uri="test+unix:///default?socket=$dir/sock/libvirt-sock"
# Ready when the daemon answers (a deadline that only catches a hang).
tries=0
until virsh -q -c "$uri" uri >/dev/null 2>&1; do
    tries=$((tries + 1))
    if ! kill -0 "$daemon" 2>/dev/null || [ "$tries" -ge 1200 ]; then
        echo "1..1"
        echo "not ok 1 - the private libvirtd did not start"
        sed 's/^/# /' "$dir/daemon.out"
        exit 1
    fi
    sleep 0.1
done
# An ASan build of the CLI gets libvirt only through dlopen, which ASan
# handles badly (tests/libvirt/lvt.c, asan_preload): its XDR interceptors
# find no libtirpc, and LeakSanitizer's exit scan misreads the dlopen'ed
# libvirt's thread-local storage.  Such a CLI gets both preloaded.
if ldd "$cli" 2>/dev/null | grep -q libasan; then
    libs=$(ldconfig -p | awk '$1 == "libtirpc.so.3" || $1 == "libvirt.so.0" {print $NF}' |
        sort -u | tr '\n' ' ')
    if [ -n "$libs" ]; then
        LD_PRELOAD="${libs% }"
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
        export LD_PRELOAD ASAN_OPTIONS
    fi
fi
"$here/run-kit.sh" "$cli" "libvirt+$uri" "$@"
