#!/bin/sh
# docs/migration.md's walk-through, as written: every ```sh block of it
# runs in order, on "host A" or "host B" as its first line says.  The two
# hosts are two state directories on this machine (each its own qemu
# plugin host with its own domains and snapshot store) and two home
# directories; the image directories /srv/images (A) and /data/images (B)
# are moved into a scratch directory, and scp from host A is a local copy.
# Before the blocks, host A gets what the walk-through starts from: the
# shut-off guest vm with a real qcow2 disk and the snapshots base (disk
# all zeros) and upgraded (0x5a written after base).  After them: host B
# has the same hierarchy, the revert to base really brought base's data
# back, and host A is untouched.  TAP output.
#
#   run-migration.sh SNAPBROKER_EXE SOURCE_ROOT
set -u
exe=$1
doc=$2/docs/migration.md
T=$(mktemp -d /tmp/sb-migration-XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
mkdir -p "$T/a" "$T/b" "$T/home-a" "$T/home-b" "$T/bin" "$T/blocks"
. "$2/tests/hier/lib.sh"
check() { # DESCRIPTION COMMAND...
    what=$1
    shift
    "$@" >"$T/out" 2>&1
    result $? "$what"
}

# The commands the blocks run: snapbroker from the build tree (it finds the
# plugins built beside it), scp from host A as a local copy.
ln -s "$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")" "$T/bin/snapbroker"
cat >"$T/bin/scp" <<EOF
#!/bin/sh
# scp hosta:SRC... DEST: SRC relative to host A's home directory
eval "dest=\\\${\$#}"
while [ \$# -gt 1 ]; do
    src=\${1#hosta:}
    case \$src in /*) ;; *) src=$T/home-a/\$src ;; esac
    cp "\$src" "\$dest" || exit 1
    shift
done
EOF
chmod +x "$T/bin/scp"
export PATH="$T/bin:$PATH"
unset SNAPBROKER_CONFIG SNAPBROKER_PLUGIN_DIR
on() { # HOST COMMAND...: run on host a or b
    h=$1
    shift
    (cd "$T/home-$h" && SNAPBROKER_STATE_DIR=$T/state-$h "$@")
}

# ---- host A as the walk-through finds it
vm_xml "$T/a/vm.qcow2" >"$T/vm.xml"
setup() {
    qemu-img create -q -f qcow2 "$T/a/vm.qcow2" 16M &&
        on a snapbroker define "$T/vm.xml" &&
        on a snapbroker snapshot-create-as vm base &&
        qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' "$T/a/vm.qcow2" &&
        on a snapbroker snapshot-create-as vm upgraded
}
check "host A: vm with snapshots base and upgraded" setup

# ---- the walk-through's blocks
awk -v dir="$T/blocks" '
    /^```sh$/ { inblock = 1; k++; file = sprintf("%s/%02d", dir, k); next }
    /^```/ { inblock = 0; next }
    inblock { print > file }
' "$doc"
blocks=$(ls "$T/blocks")
check "docs/migration.md has sh blocks" test -n "$blocks"
for b in $blocks; do
    f=$T/blocks/$b
    host=$(head -n 1 "$f" | sed -n 's/^# on host \([AB]\)$/\1/p' | tr AB ab)
    if [ -z "$host" ]; then
        echo "# block $b does not start with '# on host A' or '# on host B'" >"$T/out"
        result 1 "block $b names its host"
        continue
    fi
    sed -e "s|/srv/images|$T/a|g" -e "s|/data/images|$T/b|g" "$f" >"$f.sh"
    check "block $b on host $host: $(sed -n 2p "$f")" on "$host" sh -e -x "$f.sh"
    [ -n "${SB_SHOW:-}" ] && cat "$T/out"
done

# ---- what the walk-through promises
tree_b() { on b snapbroker snapshot-list vm --parent --name; }
check "host B: the hierarchy arrived" sh -c \
    "SNAPBROKER_STATE_DIR=$T/state-b snapbroker snapshot-list vm --tree | grep -q '+- upgraded'"
check "host B: base is current after the revert" sh -c \
    "test \"\$(SNAPBROKER_STATE_DIR=$T/state-b snapbroker snapshot-current vm --name)\" = base"
check "host B: the disk holds base's data (zeros)" \
    qemu-io -f qcow2 -c 'read -P 0 0 1M' "$T/b/vm.qcow2"
check "host B: the disks of the snapshots moved" sh -c \
    "SNAPBROKER_STATE_DIR=$T/state-b snapbroker snapshot-dumpxml vm upgraded | grep -q \"file='$T/b/vm.qcow2'\""
check "host A: still upgraded, with its data" sh -c \
    "test \"\$(SNAPBROKER_STATE_DIR=$T/state-a snapbroker snapshot-current vm --name)\" = upgraded &&
     qemu-io -f qcow2 -c 'read -P 0x5a 0 1M' '$T/a/vm.qcow2'"
tap_end
