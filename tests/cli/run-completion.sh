#!/bin/bash
# The bash completion (contrib/bash-completion/snapbroker) through its
# completion function, as bash calls it for <TAB> (TAP).
#
# usage: run-completion.sh SNAPBROKER PLUGIN_DIR SOURCE_ROOT
# On the reference plugin (domain "test" with snapshots s1, s2 and s2's
# child s3), each case sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as
# bash does, calls _snapbroker and compares COMPREPLY (sorted) with the
# expected words.  Every case runs twice: with the plain variables (no
# bash-completion package) and under the package's _init_completion and
# _filedir when it is installed (/usr/share/bash-completion).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
cli_setup "$(realpath "$1")" "$(realpath "$2")"
src=$(realpath "$3")
"$SB_BIN" snapshot-create-as test s1 >/dev/null &&
    "$SB_BIN" snapshot-create-as test s2 >/dev/null &&
    "$SB_BIN" snapshot-create-as test s3 >/dev/null ||
    { echo "1..0 # SKIP: could not create the snapshots"; exit 1; }
# files for the file-taking options
mkdir "$TMP/files"
: >"$TMP/files/dom.xml"
: >"$TMP/files/notes.txt"
cd "$TMP/files" || exit 1

# case EXPECTED WORD... : the last word is the one being completed.
cases=(
    # issue 14: after --domain X --snapshotname, the snapshots of X
    "s1 s2 s3|snapshot-info --domain test --snapshotname "
    "s1 s2 s3|snapshot-dumpxml --domain=test --snapshotname "
    # issue 14: --domain given by name: the next bare word is a snapshot
    "s1 s2 s3|snapshot-delete --domain test "
    "s3|snapshot-delete --domain test s3"
    "test|snapshot-info --snapshotname s1 "
    "|snapshot-delete --domain test s1 "
    # issue 14: an option once, however often its help mentions it
    "--from|snapshot-list --fr"
    # issue 14: xml-normalize --domain is a domain XML file
    "dom.xml|xml-normalize --domain "
    "dom.xml|xml-normalize --redefine "
    # issue 14: plugin-info offers the plugins
    "ref|plugin-info r"
    "ref|snapshot-list --all-hosts --plugin r"
    # issue 14, virsh parity: snapshot-edit and --xpath
    "test|snapshot-edit "
    "s1 s2 s3|snapshot-edit test "
    "--clone --current|snapshot-edit test s1 --c"
    "--xpath|snapshot-dumpxml test s1 --xp"
    "|snapshot-dumpxml test s1 --xpath "
    "--with-snapshot --without-snapshot|list --with"
    "--state-other --state-paused --state-running --state-shutoff|list --state-"
    "--reason|domstate test --r"
    "--inactive|dumpxml test --ina"
    "--validate|define --va"
    # what worked before keeps working
    "test|snapshot-revert "
    "s1 s2 s3|snapshot-revert test "
    "s1 s2 s3|snapshot-list test --from "
    "s1 s2 s3|snapshot-list test --from="
    "|snapshot-create-as test "
    "test|snapshot-create-as "
    "dom.xml|snapshot-create test "
    "dom.xml|define "
    "ref|-c "
    "s1 s2 s3|-c ref snapshot-current test "
    "snapshot-list|help snapshot-l"
    "snapshot-list|snapshot-l"
    "--descendants|snapshot-list test --current --de"
    "--children --children-only|snapshot-delete test s1 --chi"
    "--readonly|--r"
)

# comp WORD...: COMPREPLY of _snapbroker for that command line, sorted.
comp() {
    COMP_WORDS=("$SB_BIN" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _snapbroker
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}

# split LINE: the words of a case as bash hands them to a completion
# function: split at blanks and around '=' (COMP_WORDBREAKS), and an empty
# last word when the line ends in a blank or '='.
split() {
    local line=$1
    words=()
    read -r -a words <<<"${line//=/ = }"
    [[ $line == *" " || $line == *"=" ]] && words+=("")
}

run_cases() {
    local mode=$1 exp got line
    for c in "${cases[@]}"; do
        n=$((n + 1))
        exp=${c%%|*}
        line=${c#*|}
        split "$line"
        got=$(comp "${words[@]}")
        if [ "$got" = "$exp" ]; then
            echo "ok $n - $mode: '$line' -> '$exp'"
        else
            echo "not ok $n - $mode: '$line' -> '$got', expected '$exp'"
            fail=1
        fi
    done
}

echo "1..$((2 * ${#cases[@]}))"
n=0 fail=0
(
    . "$src/contrib/bash-completion/snapbroker"
    run_cases plain
    exit $fail
) || fail=1
n=${#cases[@]}
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
    (
        . "$bc"
        . "$src/contrib/bash-completion/snapbroker"
        run_cases bash-completion
        exit $fail
    ) || fail=1
else
    for c in "${cases[@]}"; do
        n=$((n + 1))
        echo "ok $n # SKIP bash-completion is not installed ($bc)"
    done
fi
exit $fail
