#!/bin/bash
# Expected-output tests of the snapbroker CLI (TAP).
#
# usage: run-expected.sh SNAPBROKER PLUGIN_DIR [CASES [JSON_LINES]]
# Runs every case of CASES (a file in this directory; cases.txt by
# default), in order and in one state directory (the cases build on each
# other), one snapbroker process per case, and
# compares exit status, stdout and stderr (times masked) with
# expected/NAME.txt.  SB_CLI_REGEN=1 rewrites the expected files instead;
# review the diff before committing them.  With JSON_LINES (json_lines.c)
# a case given --json must also print lines json-c reads back as one JSON
# object each, on stdout and on stderr.
set -u
JSON_LINES=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/data
. "$HERE/lib.sh"
cli_setup "$1" "$2"

# name | words (shell syntax; $DATA and $TMP may be used).  Leading
# NAME=value words are the process's environment (LC_ALL, EDITOR).
mapfile -t CASES < <(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/${3:-cases.txt}")
echo "1..${#CASES[@]}"
n=0 fail=0
for line in "${CASES[@]}"; do
    n=$((n + 1))
    name=${line%%|*}; name=${name// /}
    words=${line#*|}
    eval "set -- $words"
    envs=()
    while [ $# -gt 0 ] && [[ $1 =~ ^[A-Z_][A-Z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    env ${envs[@]+"${envs[@]}"} "$SB_BIN" "$@" > "$TMP/out" 2> "$TMP/err"
    rc=$?
    {
        echo "\$ snapbroker$words"
        echo "exit: $rc"
        echo "--- stdout"
        cli_mask < "$TMP/out"
        echo "--- stderr"
        cli_mask < "$TMP/err"
    } > "$TMP/actual"
    exp="$HERE/expected/$name.txt"
    if [ "${SB_CLI_REGEN:-}" = 1 ]; then
        cp "$TMP/actual" "$exp"
    fi
    json_bad=""
    if [ -n "$JSON_LINES" ] && [[ " $words " == *" --json "* ]]; then
        json_bad=$("$JSON_LINES" < "$TMP/out" && "$JSON_LINES" < "$TMP/err")
    fi
    if [ -n "$json_bad" ]; then
        echo "not ok $n - $name"
        echo "# $json_bad"
        fail=1
    elif [ -f "$exp" ] && cmp -s "$exp" "$TMP/actual"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        [ -f "$exp" ] || echo "# missing $exp"
        diff -u "$exp" "$TMP/actual" 2>&1 | sed 's/^/# /'
        fail=1
    fi
done
exit $fail
