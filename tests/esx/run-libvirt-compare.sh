#!/bin/bash
# Differential test (TAP): the scenario of libvirt-compare.txt through
# libvirt 9.0's own ESX driver (virsh) and through snapbroker's esx plugin
# (the CLI), against the same vSphere simulator, each on a fresh VM of its
# own.  libvirt reaches the simulator through the proxy esxsim serves with
# -libvirt-fix (libvirt needs xsi:type on array items); snapbroker talks
# to the simulator directly.  Both read the same libvirt-style auth file.
#
# usage: run-libvirt-compare.sh SNAPBROKER ESXSIM
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SB=$1
SIM=$2

if ! command -v virsh > /dev/null; then
    echo "1..0 # SKIP virsh (libvirt-clients) is not installed"
    exit 0
fi
TMP=$(mktemp -d "${SB_BUILD_ROOT:-/tmp}/esx-lv-compare.XXXXXX")
SIM_PID=
cleanup() {
    exec 7>&- 2> /dev/null      # the simulator exits when its stdin closes
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2> /dev/null
        wait "$SIM_PID" 2> /dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# ---- the simulator, stopped by closing its stdin (fd 7) at exit
mkfifo "$TMP/in"
TMPDIR=$TMP "$SIM" -vm 0 -stdin -libvirt-fix < "$TMP/in" > "$TMP/facts" 2> "$TMP/esxsim.log" &
SIM_PID=$!
exec 7> "$TMP/in"
for _ in $(seq 1200); do  # a hang deadline only: ready in well under a second
    grep -q '^READY' "$TMP/facts" 2> /dev/null && break
    kill -0 "$SIM_PID" 2> /dev/null || break
    sleep 0.1
done
if ! grep -q '^READY' "$TMP/facts"; then
    echo "Bail out! esxsim did not start"; cat "$TMP/esxsim.log"; exit 1
fi
fact() { sed -n "s/^$1=//p" "$TMP/facts"; }
URL=$(fact URL)
CTL=$(fact CTL)
LV_HOSTPORT=$(fact LIBVIRT_URL | sed -E 's#^http://([^/]+)/.*#\1#')
HOSTPORT=$(echo "$URL" | sed -E 's#^http://([^/]+)/.*#\1#')

# A control request (tests/esx-sim/control.go) with bash's /dev/tcp: true
# when the simulator answers 200.
ctl() {
    local hp=${CTL#http://} reply
    hp=${hp%%/*}
    exec 6<> "/dev/tcp/${hp%:*}/${hp#*:}" || return 1
    printf 'GET /esxsim/%s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$hp" >&6
    reply=$(head -1 <&6)
    exec 6>&-
    case "$reply" in *" 200 "*) return 0 ;; *) return 1 ;; esac
}
ctl "vm/create?name=lvvm&disks=persistent,independent_persistent&power=on" || { echo "Bail out! control"; exit 1; }
ctl "vm/create?name=sbvm&disks=persistent,independent_persistent&power=on" || { echo "Bail out! control"; exit 1; }

# ---- both read this auth file
cat > "$TMP/auth.conf" <<AUTH
[credentials-sim]
authname=root
password=secret
[auth-esx-127.0.0.1]
credentials=sim
AUTH
chmod 600 "$TMP/auth.conf"
export LIBVIRT_AUTH_FILE=$TMP/auth.conf
export LIBVIRT_LOG_OUTPUTS="4:stderr"   # errors only: the driver warns about every unknown property
cat > "$TMP/sb.conf" <<CONF
hosts = ( { name = "sim"; plugin = "esx"; uri = "esx+http://$HOSTPORT/";
            esx = { auth_file = "$TMP/auth.conf"; }; } );
CONF
export SNAPBROKER_CONFIG=$TMP/sb.conf
export SNAPBROKER_STATE_DIR=$TMP/state
export TZ=UTC LC_ALL=C
LV_URI="esx://root@$LV_HOSTPORT/?transport=http"

mask() {
    sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}/<TIME>/g' \
           -e 's#<creationTime>[0-9]+</creationTime>#<creationTime>TIME</creationTime>#g' \
           -e 's/(lv|sb)vm/VM/g' -e 's/[[:space:]]+$//'
}

# The libvirt error prefix of a virsh error line -> our class name.
lv_class() {
    case "$1" in
    *"error: invalid argument:"*) echo INVALID_ARG ;;
    *"error: Domain snapshot not found:"*) echo NO_DOMAIN_SNAPSHOT ;;
    *"error: Requested operation is not valid:"*) echo OPERATION_INVALID ;;
    *"error: unsupported configuration:"*) echo CONFIG_UNSUPPORTED ;;
    *) echo "" ;;
    esac
}

mapfile -t STEPS < <(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/libvirt-compare.txt")
echo "1..${#STEPS[@]}"
status=0
n=0
for line in "${STEPS[@]}"; do
    n=$((n + 1))
    expect=$(echo "$line" | cut -d'|' -f1 | tr -d ' ')
    cmd=$(echo "$line" | cut -d'|' -f2 | sed -E 's/^ +| +$//g')
    # shellcheck disable=SC2086
    virsh -c "$LV_URI" ${cmd//\$VM/lvvm} > "$TMP/lv.out" 2> "$TMP/lv.err"
    lv=$?
    # shellcheck disable=SC2086
    "$SB" -c sim ${cmd//\$VM/sbvm} > "$TMP/sb.out" 2> "$TMP/sb.err"
    sb=$?
    mask < "$TMP/lv.out" | grep -v '^$' > "$TMP/lv.m"
    mask < "$TMP/sb.out" | grep -v '^$' > "$TMP/sb.m"
    why=""
    case "$expect" in
    same)
        if [ $lv -eq 0 ] && [ $sb -eq 0 ]; then
            cmp -s "$TMP/lv.m" "$TMP/sb.m" || why="outputs differ"
        elif [ $lv -ne 0 ] && [ $sb -ne 0 ]; then
            want=$(lv_class "$(grep -m1 'error:' "$TMP/lv.err")")
            if [ -n "$want" ] && ! grep -q "error: $want:" "$TMP/sb.err"; then
                why="libvirt says $want, snapbroker: $(head -1 "$TMP/sb.err")"
            fi
        else
            why="libvirt exit $lv, snapbroker exit $sb"
        fi ;;
    lv-refuses) [ $lv -ne 0 ] && [ $sb -eq 0 ] || why="libvirt exit $lv, snapbroker exit $sb" ;;
    sb-refuses) [ $lv -eq 0 ] && [ $sb -ne 0 ] || why="libvirt exit $lv, snapbroker exit $sb" ;;
    output)
        if [ $lv -ne 0 ] || [ $sb -ne 0 ]; then why="libvirt exit $lv, snapbroker exit $sb"
        elif cmp -s "$TMP/lv.m" "$TMP/sb.m"; then why="the outputs no longer differ"; fi ;;
    *) why="unknown expectation '$expect'" ;;
    esac
    if [ -z "$why" ]; then
        echo "ok $n - $expect: $cmd"
    else
        echo "not ok $n - $expect: $cmd: $why"
        sed 's/^/#   libvirt: /' "$TMP/lv.out" "$TMP/lv.err" | head -20
        sed 's/^/#   snapbroker: /' "$TMP/sb.out" "$TMP/sb.err" | head -20
        status=1
    fi
done
exit $status
