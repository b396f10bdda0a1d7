#!/usr/bin/env python3
"""Write the seed corpora of the harnesses (run by build.sh; nothing here is
committed): tests/data/xml cases for normalize (with their options encoded
in the first two bytes and the --domain file after a NUL), the domains for
domdef, conf/snapbroker.conf for config.  Store seeds come from
gen_store_seeds (a C program using the store API)."""
import os
import re
import sys

root, out = sys.argv[1], sys.argv[2]
xmldir = os.path.join(root, "tests", "data", "xml")
data_dir = "/tmp/sbfuzz-data"


def opts_bytes(args):
    a = b = 0
    it = iter(args)
    for arg in it:
        if arg == "--redefine": a |= 1
        elif arg == "--running": a |= 2
        elif arg == "--offline": a |= 4
        elif arg == "--disk-only": a |= 8
        elif arg == "--validate": a |= 16
        elif arg == "--secure": a |= 32
        elif arg == "--mixed": a |= 64
        elif arg == "--force-default": a |= 128
        elif arg == "--no-override": b |= 1
        elif arg == "--no-disk-entries": b |= 2
        elif arg == "--plugin":
            next(it); b |= 0x10
        elif arg == "--default-location":
            b |= {"no": 1, "internal": 2, "external": 3}[next(it)] << 2
        elif arg in ("--creation-time", "--domain"):
            next(it)
    return bytes([a, b])


def domain_of(args):
    if "--domain" in args:
        return args[args.index("--domain") + 1]
    return None


def write(d, name, blob):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def sub(blob):
    return blob.replace(b"@DATA@", data_dir.encode())


norm = os.path.join(out, "normalize")
for f in sorted(os.listdir(xmldir)):
    if not f.endswith(".in.xml"):
        continue
    base = f[:-len(".in.xml")]
    argsf = os.path.join(xmldir, base + ".args")
    args = open(argsf).read().split() if os.path.exists(argsf) else []
    xml = sub(open(os.path.join(xmldir, f), "rb").read())
    blob = opts_bytes(args) + xml
    dom = domain_of(args)
    if dom:
        blob += b"\0" + sub(open(os.path.join(xmldir, dom), "rb").read())
    write(norm, base, blob)
    # the same document in the other mode too
    write(norm, base + "-flip", bytes([blob[0] ^ 1]) + blob[1:])
    out_xml = os.path.join(xmldir, base + ".out.xml")
    if os.path.exists(out_xml):
        write(norm, base + "-out", bytes([1, 0]) + sub(open(out_xml, "rb").read()))

dd = os.path.join(xmldir, "domains")
for f in sorted(os.listdir(dd)):
    write(os.path.join(out, "domdef"), f, sub(open(os.path.join(dd, f), "rb").read()))
# embedded <domain> elements of the corpus are domain seeds as well
for f in sorted(os.listdir(xmldir)):
    if f.endswith(".xml") and f != "README.md":
        t = open(os.path.join(xmldir, f), "rb").read()
        m = re.search(rb"<domain[ >]", t)
        i, j = (m.start() if m else -1), t.rfind(b"</domain>")
        if i >= 0 and j > i:
            write(os.path.join(out, "domdef"), "emb-" + f, sub(t[i:j + 9]))

write(os.path.join(out, "config"), "snapbroker.conf",
      open(os.path.join(root, "conf", "snapbroker.conf"), "rb").read())
write(os.path.join(out, "config"), "minimal.conf",
      b'hosts = ( { name = "a"; plugin = "qemu"; uri = "qemu:///system"; '
      b'qemu = { monitor = { timeout = 5; }; }; } );\ndefault_host = "a";\n'
      b'state_dir = "st"; log_level = "debug";\n')
