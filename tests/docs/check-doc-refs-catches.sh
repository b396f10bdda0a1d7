#!/bin/sh
# check-doc-refs.py finds each kind of dangling reference (TAP): run on
# tests/docs/dangling/, a tree whose README.md has one of each and whose
# docs/guide.md has none, it must fail README.md with every problem named
# and pass docs/guide.md.
#   check-doc-refs-catches.sh PYTHON SOURCE_ROOT
py=$1
here=$2/tests/docs
out=$("$py" "$here/check-doc-refs.py" "$here/dangling")
rc=$?
echo "1..9"
n=0
expect() {
    n=$((n + 1))
    if printf '%s\n' "$out" | grep -q -- "$1"; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2: no line matching '$1' in:"
        printf '%s\n' "$out" | sed 's/^/# /'
    fi
}
n=$((n + 1))
if [ "$rc" = 1 ]; then echo "ok $n - exit status 1"; else echo "not ok $n - exit status $rc, not 1"; fi
expect '^not ok .* - README.md$' 'README.md fails'
expect '^ok .* - docs/guide.md$' 'docs/guide.md passes'
expect 'README.md:3: link to missing file docs/missing.md' 'a link to a missing file'
expect 'README.md:4: no such file or directory in the repository: broker/nowhere/gone.c' 'a missing repository path'
expect 'README.md:5: no such document: lost.md' 'a missing document name'
expect 'README.md:6: §5.1 does not say which document' 'a section sign citing no document'
expect 'README.md:6: docs/semantics.md has no section 42' 'a section semantics.md does not have'
expect 'README.md:7: names a document outside the repository: ../shared' 'a document outside the repository'
