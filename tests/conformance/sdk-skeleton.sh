#!/bin/sh
# The plugin SDK as a vendor gets it (TAP): install the project into a
# scratch DESTDIR, build examples/plugin-skeleton out of tree against the
# installed files alone - with meson and with a plain Makefile - load both
# builds with the installed CLI, and run the conformance kit on one; also
# build docs/examples/minimal-plugin.c with the command its comment gives.
#   sdk-skeleton.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$1
top=$2
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d "${TMPDIR:-/tmp}/sbsdk.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
. "$top/tests/common/tap_result.sh"
echo "1..8"

meson install -C "$build" --no-rebuild --destdir "$t/root" >"$t/install.log" 2>&1
result $? "meson install into a scratch DESTDIR" "$t/install.log"

pc=$(find "$t/root" -name snapbroker-plugin.pc | head -1)
pcdir=$(dirname "${pc:-/nonexistent/x}")
# A build directory configured before the .pc files became relocatable
# names its prefix literally: point it at the DESTDIR copy.
if [ -n "$pc" ] && ! grep -q '^prefix=${pcfiledir}' "$pc"; then
    mkdir "$t/pc"
    for f in "$pcdir"/snapbroker*.pc; do
        sed "s|^prefix=|prefix=$t/root|" "$f" >"$t/pc/$(basename "$f")"
    done
    pcdir=$t/pc
fi
# only the installed SDK: no system or build-tree .pc files
PKG_CONFIG_LIBDIR=$pcdir
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
inc=$(pkg-config --cflags-only-I snapbroker-plugin 2>/dev/null | sed 's/^-I//; s/ *$//')
map=$(pkg-config --variable=plugin_map snapbroker-plugin 2>/dev/null)
plugindir=$(pkg-config --variable=plugindir snapbroker-plugin 2>/dev/null)
lib_plugindir=$(pkg-config --variable=plugindir snapbroker 2>/dev/null)
{
    echo "include $inc, map $map, plugindir $plugindir (snapbroker.pc: $lib_plugindir)"
    [ -f "$inc/snapbroker/plugin.h" ] && [ -f "$inc/snapbroker/flags.h" ] &&
        [ -f "$inc/snapbroker/errors.h" ] && [ -f "$inc/snapbroker/common.h" ] &&
        [ -f "$map" ] && [ -n "$plugindir" ] && [ "$plugindir" = "$lib_plugindir" ] &&
        pkg-config --libs snapbroker-plugin | grep -q -- '--version-script='
} >"$t/pc.log" 2>&1
result $? "snapbroker-plugin.pc: plugin.h and its headers, the version script, plugindir" \
    "$t/pc.log"

# only the exported entry point: nothing else of the plugin is visible
exports_only_entry() {
    [ "$(nm -D --defined-only "$1" | awk '{print $3}')" = "sb_plugin_entry_v1" ]
}
cp -r "$top/examples/plugin-skeleton" "$t/src-meson"
{ meson setup "$t/bm" "$t/src-meson" && ninja -C "$t/bm" && exports_only_entry "$t/bm/skeleton.so"; } \
    >"$t/meson.log" 2>&1
result $? "the skeleton builds out of tree with meson and exports only its entry" "$t/meson.log"

cp -r "$top/examples/plugin-skeleton" "$t/src-make"
{ make -C "$t/src-make" && exports_only_entry "$t/src-make/skeleton.so"; } >"$t/make.log" 2>&1
result $? "the skeleton builds out of tree with make and exports only its entry" "$t/make.log"

cli=$(find "$t/root" -path '*/bin/snapbroker' | head -1)
lib=$(find "$t/root" -name 'libsnapbroker.so*' | head -1)
LD_LIBRARY_PATH=$(dirname "${lib:-/nonexistent/x}")
: >"$t/empty.conf" # no hosts: plugins are named directly
SNAPBROKER_CONFIG=$t/empty.conf
export LD_LIBRARY_PATH SNAPBROKER_CONFIG
for b in "$t/bm" "$t/src-make"; do
    SNAPBROKER_PLUGIN_DIR=$b "$cli" plugin-info skeleton >"$t/info.log" 2>&1 &&
        grep -q '^Name: *skeleton' "$t/info.log"
    result $? "the installed CLI loads the $(basename "$b") build" "$t/info.log"
done

# the build command docs/examples/minimal-plugin.c's comment gives, as
# written there (the lines after "Build (out of tree...")
mkdir "$t/minimal"
cp "$top/docs/examples/minimal-plugin.c" "$t/minimal/"
cmd=$(sed -n '/^ \* Build (out of tree/,/^ \* (the flags/p' "$top/docs/examples/minimal-plugin.c" |
    sed '1d;$d; s/^ \*  *//; s/\\$//' | tr '\n' ' ')
{
    echo "command: $cmd"
    (cd "$t/minimal" && sh -c "$cmd") && exports_only_entry "$t/minimal/minimal.so" &&
        SNAPBROKER_PLUGIN_DIR=$t/minimal "$cli" plugin-info minimal >"$t/minimal/info" &&
        grep -q '^Name: *minimal' "$t/minimal/info"
} >"$t/minimal.log" 2>&1
result $? "docs/examples/minimal-plugin.c builds with the command in its comment and loads" \
    "$t/minimal.log"

SNAPBROKER_PLUGIN_DIR=$t/bm "$here/run-kit.sh" "$cli" skeleton:///default >"$t/kit.log" 2>&1
status=$?
grep '^not ok' -A1 "$t/kit.log" >"$t/kit-fail.log"
result $status "the conformance kit passes: $(tail -1 "$t/kit.log" | sed 's/^# //')" "$t/kit-fail.log"
