#!/bin/bash
# `meson install` into a temporary DESTDIR, and the installed tree (TAP):
#   - the plugin directory holds the real plugins (plugins/<name>/ of the
#     source) and nothing else: no test plugin;
#   - the installed configuration's hosts all use an installed plugin, and
#     none is a test host; the installed CLI reads it without a warning;
#   - the installed CLI describes an installed plugin and refuses "ref";
#   - every document of docs/ and README.md is installed, with the examples;
#   - every installed path the man page names (FILES, EXAMPLES, SEE ALSO)
#     exists in the tree; the bash completion is there.
#
# usage: run-install.sh BUILD_ROOT SOURCE_ROOT PREFIX LIBDIR SYSCONFDIR DATADIR MANDIR
# (the last five as meson resolved them: absolute, or relative to PREFIX)
set -u
build=$1 src=$2 prefix=$3
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
libdir=$(abs "$4") sysconfdir=$(abs "$5") datadir=$(abs "$6") mandir=$(abs "$7")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-install-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
dest=$TMP/root
n=0 fail=0
check() { # check DESCRIPTION PROBLEMS
    n=$((n + 1))
    if [ -z "$2" ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        printf '%s\n' "$2" | sed 's/^/# /'
        fail=1
    fi
}

echo "1..8"
if ! out=$(meson install -C "$build" --no-rebuild --destdir "$dest" 2>&1); then
    echo "not ok 1 - meson install --destdir"
    printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
    exit 1
fi
check "meson install --destdir" ""

# 2. plugins: exactly the real ones that were built
plugdir=$dest$libdir/snapbroker/plugins
problems=""
for so in "$plugdir"/*.so; do
    [ -e "$so" ] || { problems="no plugin in $plugdir"; break; }
    name=$(basename "$so" .so)
    [ -d "$src/plugins/$name" ] ||
        problems="$problems${problems:+$'\n'}$name.so is not a plugin of plugins/ (a test plugin?)"
done
[ -e "$plugdir/qemu.so" ] || problems="$problems${problems:+$'\n'}qemu.so is not installed"
check "plugin directory: only real plugins ($(cd "$plugdir" 2>/dev/null && echo *.so))" "$problems"

# The installed CLI, on the installed tree (not the prefix the tree will
# live in: the plugin directory and library are in DESTDIR).
conf=$dest$sysconfdir/snapbroker/snapbroker.conf
cli() {
    LD_LIBRARY_PATH=$dest$libdir SNAPBROKER_CONFIG=$conf SNAPBROKER_PLUGIN_DIR=$plugdir \
        SNAPBROKER_STATE_DIR=$TMP/state "$dest$prefix/bin/snapbroker" "$@"
}

# 3. the configuration: real hosts only, each on an installed plugin
problems=""
if ! hosts=$(cli --json hosts 2>"$TMP/err"); then
    problems="snapbroker --json hosts failed: $(cat "$TMP/err")"
else
    [ -s "$TMP/err" ] && problems="warnings reading $conf: $(cat "$TMP/err")"
    plugins=$(grep -o '"plugin": *"[^"]*"' <<<"$hosts" | cut -d'"' -f4)
    names=$(grep -o '"name": *"[^"]*"' <<<"$hosts" | cut -d'"' -f4)
    [ -n "$plugins" ] || problems="$problems${problems:+$'\n'}no host in $conf"
    for p in $plugins; do
        [ -e "$plugdir/$p.so" ] ||
            problems="$problems${problems:+$'\n'}a host uses plugin '$p', which is not installed"
    done
    for h in $names; do
        case $h in test | ref*) problems="$problems${problems:+$'\n'}test host '$h' in $conf" ;; esac
    done
fi
check "installed configuration: hosts $(echo $names) on installed plugins" "$problems"

# 4. plugin-info: an installed plugin is described, the test plugin is not there
problems=""
cli plugin-info qemu >"$TMP/out" 2>"$TMP/err" ||
    problems="plugin-info qemu failed: $(cat "$TMP/err")"
if cli plugin-info ref >"$TMP/out" 2>"$TMP/err"; then
    problems="$problems${problems:+$'\n'}plugin-info ref succeeded: the test plugin is installed"
fi
check "installed CLI: plugin-info qemu works, plugin-info ref does not" "$problems"

# 5. documents
docdir=$dest$datadir/doc/snapbroker
problems=""
for f in "$src"/docs/*.md "$src/README.md"; do
    [ -f "$docdir/$(basename "$f")" ] ||
        problems="$problems${problems:+$'\n'}$(basename "$f") is not installed in $docdir"
done
for f in vm.xml snapshot.xml; do
    [ -f "$docdir/examples/$f" ] || problems="$problems${problems:+$'\n'}examples/$f is not installed"
done
check "documents: every docs/*.md, README.md and the examples" "$problems"

# 6. the man page's installed paths
man=$dest$mandir/man1/snapbroker.1
problems=""
if [ ! -f "$man" ]; then
    problems="no man page at $man"
else
    grep -q '@[A-Z]*@' "$man" && problems="unsubstituted: $(grep -o '@[A-Z]*@' "$man" | sort -u | tr '\n' ' ')"
    paths=$(sed 's/\\-/-/g; s/\\&//g' "$man" | grep -oE "($prefix|$sysconfdir)/[A-Za-z0-9_./+-]*[A-Za-z0-9_]" | sort -u)
    for p in $paths; do
        [ -e "$dest$p" ] || problems="$problems${problems:+$'\n'}the man page names $p, not installed"
    done
fi
check "man page: every installed path it names exists ($(echo $paths | wc -w) paths)" "$problems"

# 7. SEE ALSO's documents are in the installed documentation directory
problems=""
for d in $(sed -n '/^\.SH SEE ALSO/,$p' "$man" 2>/dev/null | grep -oE '[a-z-]+\.md'); do
    [ -f "$docdir/$d" ] || problems="$problems${problems:+$'\n'}SEE ALSO names $d, not in $docdir"
done
check "man page: SEE ALSO documents are installed" "$problems"

# 8. bash completion
comp=$dest$datadir/bash-completion/completions/snapbroker
problems=""
[ -f "$comp" ] && bash -n "$comp" || problems="no valid completion at $comp"
check "bash completion installed" "$problems"
exit $fail
