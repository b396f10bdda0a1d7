#!/bin/sh
# The plugin SDK of a build tree that is not installed (TAP): with only
# BUILD/meson-uninstalled on the pkg-config path, snapbroker-plugin finds
# the -uninstalled file, which must build a plugin as the installed one
# does (sdk-skeleton.sh): the source include/ (never the library's
# internal headers), the source version script, the ABI, a plugindir the
# build-tree broker searches.  The skeleton builds out of tree with meson
# and make, exports only its entry, and the build-tree CLI loads it.
#   sdk-uninstalled.sh BUILD_ROOT SOURCE_ROOT CLI
set -u
build=$1
top=$2
cli=$3
t=$(mktemp -d "${TMPDIR:-/tmp}/sbsdku.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
. "$top/tests/common/tap_result.sh"
echo "1..6"

# only the build tree's uninstalled files: no system or installed .pc
PKG_CONFIG_LIBDIR=$build/meson-uninstalled
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
pcv() { pkg-config --variable="$1" snapbroker-plugin 2>/dev/null; }
abi() { sed -n "s/^#define SB_PLUGIN_ABI_$1 \([0-9]*\)u*$/\1/p" "$top/include/snapbroker/plugin.h"; }
{
    flags=$(pkg-config --cflags --libs snapbroker-plugin)
    echo "flags: $flags"
    echo "plugin_map $(pcv plugin_map), plugindir $(pcv plugindir)," \
        "ABI $(pcv abi_major).$(pcv abi_minor) (plugin.h: $(abi MAJOR).$(abi MINOR))"
    [ "$(pkg-config --cflags-only-I snapbroker-plugin | sed 's/ *$//')" = "-I$top/include" ] &&
        [ "$(pcv plugin_map)" = "$top/include/snapbroker/plugin.map" ] &&
        [ "$(pcv plugindir)" = "$build/plugins/out-of-tree" ] &&
        [ -n "$(abi MAJOR)" ] && [ "$(pcv abi_major)" = "$(abi MAJOR)" ] &&
        [ "$(pcv abi_minor)" = "$(abi MINOR)" ] &&
        echo "$flags" | grep -q -- "-Wl,--version-script=$top/include/snapbroker/plugin.map"
} >"$t/pc.log" 2>&1
result $? "snapbroker-plugin-uninstalled.pc: the source include/, version script, ABI, plugindir" \
    "$t/pc.log"

# the same flags as the file meson installs, paths aside
strip_paths() { tr ' ' '\n' | grep -v '^-I' | sed 's/--version-script=.*/--version-script=/' |
    grep -v '^$' | sort -u | tr '\n' ' '; }
{
    un=$(pkg-config --cflags --libs snapbroker-plugin | strip_paths)
    inst=$(PKG_CONFIG_LIBDIR=$build/meson-private pkg-config --cflags --libs snapbroker-plugin |
        strip_paths)
    echo "uninstalled: $un"
    echo "installed:   $inst"
    [ -n "$un" ] && [ "$un" = "$inst" ]
} >"$t/same.log" 2>&1
result $? "its flags are the installed file's, paths aside" "$t/same.log"

# a plugin reaches plugin.h and nothing of the library's own headers
(
    # shellcheck disable=SC2046 # flags are words
    for hdr in plugin/loader.h core/api.h store/store.h; do
        printf '#include "%s"\nint x;\n' "$hdr" >"$t/internal.c"
        if cc -c -o "$t/internal.o" "$t/internal.c" $(pkg-config --cflags snapbroker-plugin); then
            echo "$hdr is reachable"
            exit 1
        fi
    done
    exit 0
) >"$t/internal.log" 2>&1
result $? "the library's internal headers are not reachable" "$t/internal.log"

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

: >"$t/empty.conf" # no hosts: plugins are named directly
(
    ok=0
    for b in "$t/bm" "$t/src-make"; do
        SNAPBROKER_CONFIG=$t/empty.conf SNAPBROKER_PLUGIN_DIR=$b "$cli" plugin-info skeleton \
            >"$t/info" 2>&1 && grep -q '^Name: *skeleton' "$t/info" || ok=1
        cat "$t/info"
    done
    exit $ok
) >"$t/info.log" 2>&1
result $? "the build-tree CLI loads both builds" "$t/info.log"
