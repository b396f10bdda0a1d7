#!/bin/sh
# The catalogue's own rules, without running it (TAP):
#   1. at least 150 scenarios, every ID unique and of the form FAMILY-WORDS;
#   2. every section a scenario cites is a heading of docs/semantics.md;
#   3. docs/conformance.md lists every scenario (regenerate it with
#      `ninja -C build conformance-doc` after adding scenarios).
#   check-catalogue.sh CLI SOURCE_ROOT
set -u
cli=$1
top=$2
list=$(mktemp)
trap 'rm -f "$list"' EXIT
"$cli" conformance --list | awk 'NF && $0 !~ /^ +needs:/ {print $1, $2}' >"$list"
echo "1..3"

n=$(wc -l <"$list")
dups=$(awk '{print $1}' "$list" | sort | uniq -d)
bad=$(awk '$1 !~ /^[A-Z]+(-[A-Z0-9_]+)+$/ {print $1}' "$list")
if [ "$n" -ge 150 ] && [ -z "$dups" ] && [ -z "$bad" ]; then
    echo "ok 1 - $n scenarios, IDs unique and well-formed"
else
    echo "not ok 1 - $n scenarios (at least 150), duplicates: [$dups], malformed: [$bad]"
fi

missing=""
for sec in $(awk '{sub(/^§/, "", $2); print $2}' "$list" | sort -u); do
    case $sec in
    *.*) pattern="^### $sec " ;;
    *) pattern="^## $sec\. " ;;
    esac
    grep -q "$pattern" "$top/docs/semantics.md" || missing="$missing $sec"
done
if [ -z "$missing" ]; then
    echo "ok 2 - every cited section is in docs/semantics.md"
else
    echo "not ok 2 - sections cited but not in docs/semantics.md:$missing"
fi

absent=$(awk '{print $1}' "$list" | while read -r id; do
    grep -q "^| $id |" "$top/docs/conformance.md" || echo "$id"
done)
if [ -z "$absent" ]; then
    echo "ok 3 - docs/conformance.md has every scenario"
else
    echo "not ok 3 - docs/conformance.md lacks (run ninja conformance-doc):" $absent
fi
