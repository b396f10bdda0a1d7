#!/bin/sh
# A program built against the uninstalled pkg-config file
# (BUILD/meson-uninstalled/snapbroker-uninstalled.pc) reaches the public
# headers and the library, and none of the library's internal headers
# (TAP).  Arguments: the build root, then the C compiler command.
set -u
build=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PKG_CONFIG_PATH="$build/meson-uninstalled"
echo "1..3"
if ! flags=$(pkg-config --cflags --libs snapbroker-uninstalled 2>"$work/err"); then
    echo "Bail out! pkg-config: $(cat "$work/err")"
    exit 0
fi
cat >"$work/public.c" <<'C'
#include <stdio.h>
#include <snapbroker/snapbroker.h>
int main(void) { puts(sb_version()); return 0; }
C
# shellcheck disable=SC2086 # flags are words
if "$@" -o "$work/public" "$work/public.c" $flags >"$work/log" 2>&1 &&
    LD_LIBRARY_PATH="$build/broker/lib" "$work/public" >"$work/out" 2>&1 && [ -s "$work/out" ]; then
    echo "ok 1 - a program using <snapbroker/snapbroker.h> builds, links and runs"
else
    echo "not ok 1 - public program"
    sed 's/^/# /' "$work/log" "$work/out" 2>/dev/null
fi
n=2
for hdr in store/store.h core/api.h; do
    printf '#include "%s"\nint main(void) { return 0; }\n' "$hdr" >"$work/internal.c"
    # shellcheck disable=SC2086
    if "$@" -c -o "$work/internal.o" "$work/internal.c" $flags >"$work/log" 2>&1; then
        echo "not ok $n - the internal header $hdr is reachable through the .pc file ($flags)"
    else
        echo "ok $n - the internal header $hdr is not reachable"
    fi
    n=$((n + 1))
done
