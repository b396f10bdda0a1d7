#!/usr/bin/env python3
"""Every reference in the documentation resolves inside the repository (TAP).

usage: check-doc-refs.py SOURCE_ROOT

The documents are README.md, every *.md under docs/, bench/ and examples/,
and the man pages docs/*.1.  One TAP line per document; a document fails
when it has
  1. a Markdown link to a file that does not exist (relative to the
     document; http(s) and mail links are not followed);
  2. a repository path (a word starting with one of the top directories,
     e.g. `broker/config/config_file.c`) that names nothing in the tree;
  3. a document name `NAME.md` that is neither beside it, in docs/, nor at
     the top;
  4. a section sign that does not say where it points: outside
     docs/semantics.md and docs/conformance.md (whose tables cite
     semantics.md), a "§N.N" must follow "semantics.md " and name one of
     its headings;
  5. a name of a document that lives outside the repository (the design
     notes the project started from: perf-anchors, libvirt-semantics,
     ../shared/).
Paths of built files (a .so, a program under build/) are not checked
against the source tree: rule 2 skips words with placeholders (<x>, NAME,
*, ...) and known build outputs.
"""
import os
import re
import sys

TOP_DIRS = ("broker", "plugins", "docs", "tests", "include", "conf", "scripts",
            "bench", "contrib", "examples")
FOREIGN = re.compile(r"perf-anchors|libvirt-semantics|\.\./shared|\bshared/")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w./$@<-])(?:%s)/[\w./+-]*[\w+]" % "|".join(TOP_DIRS))
MDNAME = re.compile(r"(?<![\w./-])[\w-]+\.md\b")
SECTION = re.compile(r"§\s*([0-9]+(?:\.[0-9]+)*)")
# built files and directories that exist only in a build tree
BUILT = re.compile(r"\.(so|a|o)$|^plugins/[\w-]+/?$|^tests/plugins/reference/?$|^bench/out/")
# a path cited as another project's ("QEMU's `docs/interop/qcow2.txt`")
FOREIGN_PATH = re.compile(r"(QEMU|libvirt|VirtualBox|ESX)'s `?$", re.I)


def documents(root):
    docs = ["README.md"]
    for sub in ("docs", "bench", "examples"):
        for d, dirs, files in os.walk(os.path.join(root, sub)):
            dirs[:] = [x for x in dirs if not x.startswith(("build", "."))]
            for f in files:
                if f.endswith(".md") or (sub == "docs" and re.search(r"\.[1-8]$", f)):
                    docs.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(docs)


def semantics_sections(root):
    secs = set()
    with open(os.path.join(root, "docs", "semantics.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? ", line)
            if m:
                secs.add(m.group(1))
    return secs


def check(root, doc, secs):
    problems = []
    here = os.path.dirname(doc)
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        text = f.read()
    if doc.endswith((".1", ".5", ".8")):
        text = text.replace("\\-", "-").replace("\\&", "")
    in_fence = False
    for n, line in enumerate(text.splitlines(), 1):
        where = "%s:%d" % (doc, n)
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if FOREIGN.search(line):
            problems.append("%s: names a document outside the repository: %s"
                            % (where, FOREIGN.search(line).group(0)))
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            if not os.path.exists(os.path.join(root, here, path)):
                problems.append("%s: link to missing file %s" % (where, target))
        # link targets were checked above, relative to the document
        words = LINK.sub("]()", line)
        for m in PATH.finditer(words):
            p = m.group(0).rstrip(".")
            if re.search(r"[<>*]|\.\.\.|[A-Z]{3,}", words[m.start():m.end() + 1]):
                continue
            if BUILT.search(p) or FOREIGN_PATH.search(words[:m.start()]):
                continue
            # a program the build makes beside its sources (bench/store_bench,
            # tests/esx-sim/esxsim): no extension, in a directory meson builds
            if "." not in os.path.basename(p) and os.path.exists(
                    os.path.join(root, os.path.dirname(p), "meson.build")):
                continue
            if not os.path.exists(os.path.join(root, p)):
                problems.append("%s: no such file or directory in the repository: %s"
                                % (where, p))
        for m in MDNAME.finditer(words):
            name = m.group(0)
            if not any(os.path.exists(os.path.join(root, d, name))
                       for d in (here, "docs", "")):
                problems.append("%s: no such document: %s" % (where, name))
        if doc in ("docs/semantics.md", "docs/conformance.md"):
            own = True
        else:
            own = False
        for m in SECTION.finditer(line):
            sec = m.group(1)
            cited = line[:m.start()].rstrip().rstrip("`")  # `docs/semantics.md` §11
            if not own and not cited.endswith("semantics.md"):
                problems.append("%s: §%s does not say which document it cites "
                                "(write \"semantics.md §N\")" % (where, sec))
            elif sec not in secs:
                problems.append("%s: docs/semantics.md has no section %s" % (where, sec))
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    secs = semantics_sections(root)
    docs = documents(root)
    print("1..%d" % len(docs))
    failed = False
    for i, doc in enumerate(docs, 1):
        problems = check(root, doc, secs)
        print("%s %d - %s" % ("not ok" if problems else "ok", i, doc))
        for p in problems:
            print("# " + p)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
