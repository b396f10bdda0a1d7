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

# --file onto what is there already (broker/cli/outfile.c): a pipe, a FIFO
# or a device is written as it is and kept; a regular file is replaced
# whole (through symlinks), and kept as it was when the export fails
ln -s /proc/self/fd/1 "$T/stdout-link"
{ "$sb" $R snapshot-export test --file "$T/stdout-link" 2>"$T/err"; echo $? >"$T/st"; } |
    wc -c >"$T/out"
result "$([ "$(cat "$T/st")" -eq 0 ] && [ "$(cat "$T/out")" -gt 100 ]; echo $?)" \
    "export through a symlink to /proc/self/fd/1 (a pipe)"
result "$(test -L "$T/stdout-link"; echo $?)" "that symlink stays"
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
expect 0 "" "export into a FIFO" -- $R snapshot-export test --file "$T/fifo"
: 1<>"$T/fifo" # a reader still waiting for a writer ends
wait $reader
result "$(test -p "$T/fifo" && grep -qF '<name>c</name>' "$T/from-fifo"; echo $?)" \
    "the FIFO stays, its reader got the document"
ln -s /dev/full "$T/full"
expect 1 "error: SYSTEM_ERROR: cannot write '$T/full': No space left on device" \
    "export onto /dev/full through a symlink: the write's ENOSPC named" -- \
    $R snapshot-export test --file "$T/full"
result "$(test -L "$T/full"; echo $?)" "that symlink stays"
cp "$T/h.xml" "$T/old.xml"
ln -s old.xml "$T/old-link.xml"
expect 0 "" "export --from c through a symlink to an earlier export" -- \
    $R snapshot-export test --from c --file "$T/old-link.xml"
result "$(test -L "$T/old-link.xml" && grep -c '^  <name>' "$T/old.xml" | grep -qx 1; echo $?)" \
    "the symlink stays, the file it names is replaced"
cp "$T/h.xml" "$T/keep.xml"
(trap '' XFSZ; ulimit -f 1; exec "$sb" $R snapshot-export test --file "$T/keep.xml") \
    >"$T/out" 2>"$T/err"
st=$?
result "$([ $st -eq 1 ] && grep -qF "(the new copy of '$T/keep.xml'): File too large" "$T/err"
    echo $?)" "an export larger than the file size limit fails, naming EFBIG"
result "$(cmp -s "$T/h.xml" "$T/keep.xml" && ! ls -A "$T" | grep -q '\.tmp$'; echo $?)" \
    "the previous export is kept whole, no temporary file is left"
ln -s nowhere.xml "$T/dangling.xml"
expect 1 "cannot create '$T/dangling.xml': a symbolic link to a file that does not exist" \
    "a symlink to a missing file is refused" -- $R snapshot-export test --file "$T/dangling.xml"
result "$(test -L "$T/dangling.xml" && test ! -e "$T/nowhere.xml"; echo $?)" "nothing was created"
# the mode of what is written: secrets for the owner alone
(umask 022; exec "$sb" $R snapshot-export test --file "$T/plain.xml") >"$T/out" 2>"$T/err"
result "$(stat -c %a "$T/plain.xml" | grep -qx 644; echo $?)" "a new export: 0666 less the umask"
(umask 022; exec "$sb" $R snapshot-export test --security-info --file "$T/secret.xml") \
    >"$T/out" 2>"$T/err"
result "$(stat -c %a "$T/secret.xml" | grep -qx 600; echo $?)" \
    "a new export with --security-info: 0600"
(umask 022; exec "$sb" $R snapshot-export test --security-info --file "$T/plain.xml") \
    >"$T/out" 2>"$T/err"
result "$(stat -c %a "$T/plain.xml" | grep -qx 600; echo $?)" \
    "an export with --security-info over a 0644 file: 0600"

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
