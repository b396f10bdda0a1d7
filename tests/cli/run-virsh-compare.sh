#!/bin/bash
# Differential test (TAP): the tree scenario of virsh-scenario.txt with
# libvirt 9.0's virsh on test:///default and with snapbroker on the
# reference plugin must agree apart from creation times.
#
# usage: run-virsh-compare.sh SNAPBROKER PLUGIN_DIR
#
# virsh's test driver keeps its state in the connection only, so virsh
# runs once, interactively, fed the whole scenario with an `echo` marker
# after each command; snapbroker runs one process per command, as users
# run it.  Per command:
#   - both fail, or both succeed with the same stdout (times masked);
#   - when virsh's error has a libvirt class prefix ("invalid argument:",
#     "Domain snapshot not found:", ...), snapbroker's error class must be
#     that class.
# Mismatches listed in virsh-differences.txt are reported as such; a listed
# command that does not differ fails (the list must stay true).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/data
. "$HERE/lib.sh"

if ! command -v virsh > /dev/null; then
    echo "1..0 # SKIP virsh (libvirt-clients) is not installed"
    exit 0
fi
cli_setup "$1" "$2"

mapfile -t STEPS < <(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/virsh-scenario.txt")
mapfile -t KNOWN < <(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/virsh-differences.txt")

# ---- virsh: one session, blocks split at the markers
for i in "${!STEPS[@]}"; do
    printf '%s\necho @@STEP-END@@\n' "${STEPS[$i]//\$DATA/$DATA}"
done > "$TMP/virsh-in"
LC_ALL=C virsh -c test:///default < "$TMP/virsh-in" > "$TMP/virsh-out" 2>&1
mkdir "$TMP/v"
# Drop the banner and the echoed prompt lines; cut at the markers.
awk -v dir="$TMP/v" '
    BEGIN { n = 0; f = dir "/0" }
    /^virsh # / { started = 1; next }
    !started { next }
    /^@@STEP-END@@$/ { close(f); n++; f = dir "/" n; next }
    { print > f }
' "$TMP/virsh-out"

# The libvirt error prefix of a virsh error line -> our class name.
virsh_class() {
    case "$1" in
    "error: invalid argument:"*) echo INVALID_ARG ;;
    "error: Domain snapshot not found:"*) echo NO_DOMAIN_SNAPSHOT ;;
    "error: operation failed:"*) echo OPERATION_FAILED ;;
    "error: Requested operation is not valid:"*) echo OPERATION_INVALID ;;
    "error: unsupported configuration:"*) echo CONFIG_UNSUPPORTED ;;
    "error: XML error:"*) echo XML_ERROR ;;
    "error: Operation not supported:"*) echo OPERATION_UNSUPPORTED ;;
    *) echo "" ;;
    esac
}

known_reason() {
    local k
    for k in "${KNOWN[@]}"; do
        local cmd=${k%%|*}
        cmd=${cmd%"${cmd##*[![:space:]]}"}
        if [ "$cmd" = "$1" ]; then
            echo "${k#*|}"
            return 0
        fi
    done
    return 1
}

echo "1..${#STEPS[@]}"
fail=0
for i in "${!STEPS[@]}"; do
    n=$((i + 1))
    step=${STEPS[$i]}
    vblock="$TMP/v/$i"
    [ -f "$vblock" ] || : > "$vblock"
    verr=$(grep -m1 '^error: ' "$vblock")
    eval "set -- $step"
    "$SB_BIN" "$@" > "$TMP/sb-out" 2> "$TMP/sb-err"
    rc=$?
    why=""
    if [ -n "$verr" ]; then
        if [ $rc -eq 0 ]; then
            why="virsh failed ($verr), snapbroker succeeded"
        else
            want=$(virsh_class "$verr")
            got=$(sed -n 's/^error: \([A-Z_]*\): .*/\1/p' "$TMP/sb-err" | head -1)
            if [ -n "$want" ] && [ "$want" != "$got" ]; then
                why="error class: virsh $want ($verr), snapbroker $got ($(head -1 "$TMP/sb-err"))"
            fi
        fi
    elif [ $rc -ne 0 ]; then
        why="virsh succeeded, snapbroker failed: $(head -1 "$TMP/sb-err")"
    else
        cli_mask < "$vblock" > "$TMP/v-masked"
        cli_mask < "$TMP/sb-out" > "$TMP/sb-masked"
        if ! cmp -s "$TMP/v-masked" "$TMP/sb-masked"; then
            why="stdout differs"
        fi
    fi
    if reason=$(known_reason "$step"); then
        if [ -n "$why" ]; then
            echo "ok $n - $step # known difference:$reason"
        else
            echo "not ok $n - $step # listed in virsh-differences.txt but agrees now"
            fail=1
        fi
    elif [ -z "$why" ]; then
        echo "ok $n - $step"
    else
        echo "not ok $n - $step"
        echo "# $why"
        if [ "$why" = "stdout differs" ]; then
            diff -u --label virsh --label snapbroker "$TMP/v-masked" "$TMP/sb-masked" | sed 's/^/# /'
        fi
        fail=1
    fi
done
exit $fail
