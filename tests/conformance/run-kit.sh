#!/bin/sh
# Run the conformance kit against one host, in a state directory of its
# own that is removed afterwards (with any QEMU the kit left running, by
# the pid files the qemu plugin writes there).  The state directory goes
# to /dev/shm where there is one: the fixtures fsync every change, which
# the semantics do not depend on and a loaded disk makes slow.
#   run-kit.sh CLI URI [KIT OPTIONS...]
# TAP on stdout; exit status that of the kit.
# A URI '@SCRIPT' names a wrapper beside this script that sets a host up
# first (a private daemon, a simulator's VM), run as SCRIPT CLI [KIT
# OPTIONS...]; it calls run-kit.sh again with the host's URI, or with a
# host name and SBKIT_CONFIG naming the configuration that defines it (a
# host whose credentials cannot be in a URI).
set -u
cli=$1
uri=$2
shift 2
case "$uri" in
    @*) exec "$(dirname "$0")/${uri#@}" "$cli" "$@" ;;
esac
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
state=$(mktemp -d "$base/sbkit-state.XXXXXX") || exit 1
cleanup() {
    for pidfile in "$state"/hosts/*/plugin-*/run/*/qemu.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
SNAPBROKER_STATE_DIR=$state
export SNAPBROKER_STATE_DIR
# nothing of the caller's configuration, only what a wrapper wrote
if [ -n "${SBKIT_CONFIG:-}" ]; then
    SNAPBROKER_CONFIG=$SBKIT_CONFIG
    export SNAPBROKER_CONFIG
else
    unset SNAPBROKER_CONFIG
fi
"$cli" -c "$uri" conformance --tap "$@"
