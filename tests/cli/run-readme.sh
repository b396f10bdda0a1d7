#!/bin/bash
# README.md and the man page work as written (TAP).
#
# usage: run-readme.sh SOURCE_ROOT BUILD_ROOT MAN_PAGE DOCDIR
#   MAN_PAGE: the configured snapbroker.1 of the build; DOCDIR: the
#   installed documentation directory it names.
#
# 1. Every ```sh block of README.md after the quick start's, one command
#    per line, pasted as a user would: from a copy of the source tree's
#    top (build/ is this build, docs/examples/ a copy), with the embedded
#    default configuration (one host "local", the qemu plugin), plugins
#    found beside the CLI as in any build tree.  The only change: the disk
#    image /var/tmp/vm.qcow2 the examples name is a scratch file.
# 2. The commands of the man page's EXAMPLES, with `snapbroker` this
#    build's CLI and DOCDIR the copy of docs/; then the example snapshot
#    (docs/examples/snapshot.xml) is redefined into the example domain.
# Each command must exit 0 and print nothing on stderr; some outputs are
# checked too.  The quick start itself (scripts/demo, scripts/test) is not
# run: it installs packages and runs the whole suite.
set -u
src=$(realpath "$1") build=$(realpath "$2") man=$3 docdir=$4

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-readme-test.XXXXXX")
cleanup() {
    # a domain a failed case left running
    for s in "$TMP"/state*; do
        [ -d "$s" ] && SNAPBROKER_STATE_DIR=$s "$build/broker/cli/snapbroker" destroy vm >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
img=$TMP/vm.qcow2
mkdir -p "$TMP/top/docs/examples" "$TMP/bin"
ln -s "$build" "$TMP/top/build"
for f in "$src"/docs/examples/*; do
    sed "s#/var/tmp/vm.qcow2#$img#g" "$f" >"$TMP/top/docs/examples/$(basename "$f")"
done
ln -s "$build/broker/cli/snapbroker" "$TMP/bin/snapbroker"
cat >"$TMP/default.conf" <<EOF
# the embedded default (docs/config.md), whatever the machine has installed
default_host = "local";
hosts = ( { name = "local"; plugin = "qemu"; uri = "qemu:///session"; } );
EOF
export SNAPBROKER_CONFIG=$TMP/default.conf
unset SNAPBROKER_PLUGIN_DIR
export LC_ALL=C TZ=UTC

# README: the ```sh blocks after the first one (the quick start's)
awk '/^## Quick start/ { q = 1 } q && /^```sh$/ { n++; on = n > 1; next } /^```/ { on = 0; next }
     on && NF && !/^#/ { print }' "$src/README.md" >"$TMP/readme.cmds"
# man page: between .nf and .fi in EXAMPLES
awk '/^\.SH EXAMPLES/ { e = 1; next } /^\.SH/ { e = 0 } e && /^\.nf/ { on = 1; next }
     e && /^\.fi/ { on = 0; next } on { print }' "$man" |
    sed -e 's/\\-/-/g' -e 's/\\&//g' >"$TMP/man.cmds"

nreadme=$(wc -l <"$TMP/readme.cmds")
nman=$(wc -l <"$TMP/man.cmds")
echo "1..$((nreadme + nman + 3))"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }

# expect COMMAND OUTPUT: what some commands must print
expect() {
    case $1 in
    *"--help") grep -q "snapshot-create-as" <<<"$2" || echo "no snapshot-create-as in the help" ;;
    *"snapshot-list vm --tree") grep -qx "s1" <<<"$2" || echo "no s1 in the tree" ;;
    *"snapshot-info vm s1") grep -q '"name": *"s1"' <<<"$2" || echo "no name s1 in the JSON" ;;
    *"xml-normalize --redefine "*) grep -q "<name>before-upgrade</name>" <<<"$2" ||
        echo "not the canonical example snapshot" ;;
    *" define "*) grep -q "Domain 'vm' defined" <<<"$2" || echo "no 'Domain vm defined'" ;;
    esac
}

# run LABEL STATE_DIR FILE: each line of FILE in its own shell, from $TMP/top
run() {
    local label=$1 state=$2 line out err rc why
    while IFS= read -r line; do
        line=${line//\/var\/tmp\/vm.qcow2/$img}
        line=${line//$docdir/$TMP/top/docs}
        out=$(cd "$TMP/top" && PATH=$TMP/bin:$PATH SNAPBROKER_STATE_DIR=$state \
            bash -c "$line" 2>"$TMP/err")
        rc=$?
        err=$(cat "$TMP/err")
        why=""
        [ $rc = 0 ] || why="exit status $rc"
        [ -z "$err" ] || why="${why:+$why, }stderr: $err"
        [ -n "$why" ] || why=$(expect "$line" "$out")
        if [ -z "$why" ]; then
            ok "$label: $line"
        else
            notok "$label: $line: $why"
            printf '%s\n' "$out" | sed 's/^/# /'
        fi
    done <"$3"
}

run README "$TMP/state" "$TMP/readme.cmds"
# README's block leaves nothing behind: vm was undefined, its image is back
# to no snapshot
if [ -z "$(SNAPBROKER_STATE_DIR=$TMP/state "$build/broker/cli/snapbroker" list --all --name 2>&1)" ] &&
    ! qemu-img snapshot -l "$img" | grep -q s1; then
    ok "README: vm is gone and its image has no snapshot left"
else
    notok "README: something is left: $(SNAPBROKER_STATE_DIR=$TMP/state "$build/broker/cli/snapbroker" list --all --name 2>&1); $(qemu-img snapshot -l "$img")"
fi
rm -f "$img"
run "man page" "$TMP/state-man" "$TMP/man.cmds"
# the example snapshot redefines into the example domain (the man page's
# examples left vm defined)
if out=$(SNAPBROKER_STATE_DIR=$TMP/state-man "$build/broker/cli/snapbroker" snapshot-create vm \
        "$TMP/top/docs/examples/snapshot.xml" --redefine 2>&1) &&
    SNAPBROKER_STATE_DIR=$TMP/state-man "$build/broker/cli/snapbroker" snapshot-list vm --name |
    grep -qx before-upgrade; then
    ok "docs/examples/snapshot.xml redefines into vm"
else
    notok "docs/examples/snapshot.xml does not redefine into vm: $out"
fi
if [ "$nreadme" -ge 5 ] && [ "$nman" -ge 5 ]; then
    ok "found $nreadme README commands and $nman man page examples"
else
    notok "found only $nreadme README commands and $nman man page examples"
fi
exit $fail
