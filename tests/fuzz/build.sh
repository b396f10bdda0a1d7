#!/bin/sh
# Build the libFuzzer harnesses with clang and write their seed corpora.
# Not part of the meson build (meson builds with gcc here).
#   tests/fuzz/build.sh [OUTDIR]      default: build-fuzz-clang (git-ignored)
# Then see tests/fuzz/README.md for running them.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build-fuzz-clang}
CC=${CC:-clang}
mkdir -p "$OUT/obj" "$OUT/seeds"
OUT=$(cd "$OUT" && pwd)

cat > "$OUT/sb_config.h" <<EOC
#pragma once
#define SB_BUILD_ROOT "$OUT"
#define SB_INSTALL_DATADIR "/nonexistent/share/snapbroker"
#define SB_INSTALL_PLUGIN_DIR "/nonexistent/lib/snapbroker/plugins"
#define SB_INSTALL_SYSCONFDIR "/nonexistent/etc"
#define SB_SOURCE_ROOT "$ROOT"
#define SB_VERSION "fuzz"
EOC

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
 -Wno-unused-command-line-argument -Wno-format-zero-length \
 -I$ROOT/include -I$ROOT/broker -I$OUT $(pkg-config --cflags libxml-2.0 libconfig)"
LIBS="$(pkg-config --libs libxml-2.0 libconfig) -ldl -lpthread"

objs=""
for src in "$ROOT"/broker/core/*.c "$ROOT"/broker/xml/*.c "$ROOT"/broker/store/*.c \
           "$ROOT"/broker/config/*.c "$ROOT"/broker/plugin/*.c; do
    o="$OUT/obj/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
    if [ ! -e "$o" ] || [ "$src" -nt "$o" ]; then
        $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$o"
    fi
    objs="$objs $o"
done
rm -f "$OUT/libbroker_fuzz.a"
ar rcs "$OUT/libbroker_fuzz.a" $objs

for t in normalize domdef store config; do
    $CC $CFLAGS $SAN -fsanitize=fuzzer "$ROOT/tests/fuzz/fuzz_$t.c" \
        "$OUT/libbroker_fuzz.a" $LIBS -o "$OUT/fuzz_$t"
done

# Seeds (generated, never committed).
rm -rf "$OUT/seeds"
python3 "$ROOT/tests/fuzz/gen_seeds.py" "$ROOT" "$OUT/seeds"
$CC $CFLAGS $SAN "$ROOT/tests/fuzz/gen_store_seeds.c" "$OUT/libbroker_fuzz.a" $LIBS \
    -o "$OUT/gen_store_seeds"
"$OUT/gen_store_seeds" "$OUT/seeds/store"
# the crash inputs kept as regression cases are seeds too
for t in normalize domdef store config; do
    if [ -d "$ROOT/tests/fuzz/regress/$t" ]; then
        cp "$ROOT/tests/fuzz/regress/$t"/* "$OUT/seeds/$t/" 2>/dev/null || true
    fi
done
echo "built in $OUT: fuzz_normalize fuzz_domdef fuzz_store fuzz_config; seeds in $OUT/seeds"
