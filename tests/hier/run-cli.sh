#!/bin/sh
# snapshot-export / snapshot-import through the CLI on the reference
# plugin "ref" (a test fixture, tests/plugins/reference) and refhv (its
# ESX rules): options, files, errors and exit statuses.  TAP output.
#
#   run-cli.sh SNAPBROKER_EXE SOURCE_ROOT
set -u
sb=$1
src=$2
T=$(mktemp -d /tmp/sb-hiercli-XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
export SNAPBROKER_STATE_DIR=$T/state
unset SNAPBROKER_CONFIG SNAPBROKER_PLUGIN_DIR
. "$src/tests/hier/lib.sh"
# expect STATUS GREP-IN-OUTPUT DESCRIPTION -- ARGS...: the command's exit
# status and a fixed string of its stdout+stderr (empty: not checked)
expect() {
    want=$1 pattern=$2 what=$3
    shift 4
    "$sb" "$@" >"$T/out" 2>"$T/err"
    st=$?
    ok=0
    [ "$st" -eq "$want" ] || ok=1
    if [ -n "$pattern" ] && ! cat "$T/out" "$T/err" | grep -qF -- "$pattern"; then ok=1; fi
    [ $ok -eq 0 ] || echo "exit status $st, wanted $want; pattern '$pattern'" >>"$T/err"
    result $ok "$what"
}
R="-c ref:///default"

for s in a b c; do "$sb" $R snapshot-create-as test $s >/dev/null || exit 1; done
expect 0 "<domainsnapshot current='yes'>" "export to standard output" -- $R snapshot-export test
expect 0 "" "export --file" -- $R snapshot-export test --file "$T/h.xml"
result "$(grep -c '^  <name>[abc]</name>' "$T/h.xml" | grep -qx 3; echo $?)" "the file has a, b and c"
xmllint --noout --relaxng "$src/docs/schemas/domainsnapshots.rng" "$T/h.xml" >"$T/out" 2>"$T/err"
result $? "the document matches docs/schemas/domainsnapshots.rng"
expect 0 "<name>c</name>" "export --from" -- $R snapshot-export test --from c
expect 1 "error: NO_DOMAIN_SNAPSHOT" "export --from an unknown snapshot" -- \
    $R snapshot-export test --from nosuch
expect 1 "error: SYSTEM_ERROR: cannot create '$T/no/such/dir.xml'" "export into a missing directory" -- \
    $R snapshot-export test --file "$T/no/such/dir.xml"
result "$(test ! -e "$T/no"; echo $?)" "nothing was created"

export SNAPBROKER_STATE_DIR=$T/state2
expect 0 "Domain 'test': 3 snapshots imported from '$T/h.xml'" "import" -- \
    $R snapshot-import test "$T/h.xml" --current --map-path /guest=/elsewhere
expect 0 "c" "the current snapshot came along" -- $R snapshot-current test --name
expect 0 "file='/elsewhere/diskimage1'" "paths moved" -- $R snapshot-dumpxml test a
expect 1 "error: INVALID_ARG: --map-path 'nonsense': expected OLD=NEW" "a bad --map-path" -- \
    $R snapshot-import test "$T/h.xml" --map-path nonsense
expect 1 "error: INVALID_ARG: path map 'rel=/x': both paths must be absolute" \
    "a relative --map-path" -- $R snapshot-import test "$T/h.xml" --map-path rel=/x
expect 1 "error: SYSTEM_ERROR: Failed to open file '$T/none.xml'" "a missing file" -- \
    $R snapshot-import test "$T/none.xml"
printf '<domainsnapshots>\n<snapshot/>\n</domainsnapshots>\n' >"$T/bad.xml"
expect 1 "error: XML_ERROR: $T/bad.xml:2: only <domainsnapshot> elements" "a bad document" -- \
    $R snapshot-import test "$T/bad.xml"
expect 1 "error: INVALID_ARG: command 'snapshot-import' requires" "import without a file" -- \
    $R snapshot-import test
expect 1 "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE" "an ESX host cannot import" -- \
    -c refhv:///default snapshot-import test "$T/h.xml"
expect 0 "snapshot-export" "help lists the commands" -- help
tap_end
