#!/bin/bash
# Where a host's metadata lives, and the warning when one hypervisor's
# metadata is under two names (docs/config.md) (TAP).
#
# usage: run-host-names.sh SNAPBROKER REF_PLUGIN_DIR
# On the reference plugin (URI ref:///default, domain "test"):
#  1. a URI with no configuration entry keeps its metadata under the name
#     derived from it (hosts/ref_default), and says nothing;
#  2. the same URI configured as host "lab": its metadata is under
#     hosts/lab (empty), and -c lab as well as -c ref:///default warn that
#     hosts/ref_default holds metadata of that URI;
#  3. a configured host with no other directory of its URI: no warning;
#  4. two configured names with one URI, both with metadata: each warns
#     about the other.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
cli_setup "$1" "$2"
S=$SNAPBROKER_STATE_DIR
unset SNAPBROKER_CONFIG
: >"$TMP/none.conf"
printf 'hosts = ( { name = "lab"; plugin = "ref"; uri = "ref:///default"; } );\n' >"$TMP/lab.conf"
printf 'hosts = ( { name = "a"; plugin = "ref"; uri = "ref:///default"; },
          { name = "b"; plugin = "ref"; uri = "ref:///default"; } );\n' >"$TMP/two.conf"

echo "1..9"
n=0 fail=0
result() { # result OK DESCRIPTION [DETAIL]
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        [ -n "${3-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
        fail=1
    fi
}
sb() { # sb CONF ARGS...: stdout in $TMP/out, stderr in $TMP/err
    local conf=$1
    shift
    "$SB_BIN" --config "$conf" "$@" >"$TMP/out" 2>"$TMP/err"
}

# 1. unconfigured URI
sb "$TMP/none.conf" -c ref:///default snapshot-create-as test s1
r=$?
[ $r = 0 ] && [ -d "$S/hosts/ref_default/domains/test" ] && [ ! -s "$TMP/err" ]
result $? "unconfigured ref:///default: metadata under hosts/ref_default, no warning" \
    "exit $r; $(cat "$TMP/err"); $(ls "$S/hosts" 2>&1)"

# 2. the same URI configured as "lab"
sb "$TMP/lab.conf" -c lab snapshot-list test --name
[ -z "$(tr -d '\n' <"$TMP/out")" ]
result $? "configured as lab: its own (empty) tree" "$(cat "$TMP/out")"
grep -q "^warning: host 'lab': metadata of ref:///default is also under '$S/hosts/ref_default'" "$TMP/err" &&
    grep -q "name this host 'ref_default'" "$TMP/err"
result $? "-c lab warns that hosts/ref_default holds metadata of its URI" "$(cat "$TMP/err")"
sb "$TMP/lab.conf" -c ref:///default snapshot-list test --name
[ -z "$(tr -d '\n' <"$TMP/out")" ] && grep -q "^warning: host 'lab': metadata of ref:///default is also under" "$TMP/err"
result $? "-c ref:///default is host lab once configured, and warns too" "$(cat "$TMP/out" "$TMP/err")"
[ "$(grep -c '^warning:' "$TMP/err")" = 1 ]
result $? "one warning per command" "$(cat "$TMP/err")"

# 3. no other directory of the URI: no warning
mv "$S/hosts/ref_default" "$TMP/moved"
sb "$TMP/lab.conf" -c lab snapshot-list test --name
[ ! -s "$TMP/err" ]
result $? "no warning without another directory of the URI" "$(cat "$TMP/err")"
# the documented fix: the derived directory moved to the host's name
rm -rf "$S/hosts/lab" && mv "$TMP/moved" "$S/hosts/lab"
sb "$TMP/lab.conf" -c lab snapshot-list test --name
[ "$(cat "$TMP/out")" = s1 ] && [ ! -s "$TMP/err" ]
result $? "hosts/ref_default moved to hosts/lab: lab has s1, no warning" "$(cat "$TMP/out" "$TMP/err")"

# 4. two names, one URI, both with metadata
sb "$TMP/two.conf" -c a snapshot-create-as test s2 &&
    sb "$TMP/two.conf" -c b snapshot-create-as test s3
grep -q "^warning: host 'b': host 'a' has the same URI ref:///default and metadata under '$S/hosts/a'" "$TMP/err"
result $? "b warns about a (same URI)" "$(cat "$TMP/err")"
sb "$TMP/two.conf" -c a snapshot-list test --name
[ "$(cat "$TMP/out")" = s2 ] &&
    grep -q "^warning: host 'a': host 'b' has the same URI ref:///default and metadata under '$S/hosts/b'" "$TMP/err"
result $? "a keeps its own tree (s2) and warns about b" "$(cat "$TMP/out" "$TMP/err")"
exit $fail
