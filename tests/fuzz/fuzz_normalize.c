/* sb_xml_normalize() in create and redefine mode, then idempotence:
 * the output, parsed again in redefine mode, formats to the same string.
 *
 * Input: byte 0 and 1 pick the options, then the snapshot XML; an optional
 * NUL byte separates a domain definition (opts.domain_xml) from it. */
#define SB_FUZZ_LIBXML 1
#include "fuzz_common.h"

#include "core/error.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_forbid_libxml_output();
    if (size < 2)
        return 0;
    uint8_t a = data[0], b = data[1];
    data += 2;
    size -= 2;

    sb_normalize_opts o;
    memset(&o, 0, sizeof(o));
    o.redefine = a & 1;
    o.running = (a >> 1) & 1;
    o.offline = (a >> 2) & 1;
    o.disk_only = (a >> 3) & 1;
    o.validate = (a >> 4) & 1;
    o.secure = (a >> 5) & 1;
    o.mixed_locations = (a >> 6) & 1;
    o.force_default = (a >> 7) & 1;
    o.no_override = b & 1;
    o.no_disk_entries = (b >> 1) & 1;
    o.default_location = (b >> 2) & 3; /* 0 default, 1.. locations */
    o.plugin_name = (b & 0x10) ? "fuzz" : NULL;
    o.creation_time = (b & 0x20) ? 0x7fffffffffffffffLL : 1700000000LL;

    /* Split off the domain. */
    const uint8_t *nul = memchr(data, 0, size);
    char *snap = malloc(size + 1), *dom = NULL;
    if (!snap)
        return 0;
    size_t snaplen = nul ? (size_t)(nul - data) : size;
    memcpy(snap, data, snaplen);
    snap[snaplen] = '\0';
    if (nul) {
        size_t dlen = size - snaplen - 1;
        dom = malloc(dlen + 1);
        if (!dom) {
            free(snap);
            return 0;
        }
        memcpy(dom, nul + 1, dlen);
        dom[dlen] = '\0';
        o.domain_xml = dom;
    }

    char *out = NULL;
    sb_error_clear();
    int rc = sb_xml_normalize(snap, snaplen, "fuzz.xml", &o, &out);
    fuzz_check_error(rc, "sb_xml_normalize");
    if (rc == 0) {
        if (!out)
            FUZZ_FAIL("sb_xml_normalize succeeded without output");
    }
    /* A creationTime of 0 is accepted in redefine mode and omitted from
     * the output, as libvirt does (docs/format.md): such output is not a
     * redefine input any more, by design.  Everything else must be. */
    if (rc == 0 && strstr(out, "\n  <creationTime>")) {
        /* Idempotence: normalized output is a valid redefine input and
         * formats back to itself. */
        sb_snapdef *def = NULL;
        sb_error_clear();
        rc = sb_snapdef_parse(out, strlen(out), "normalized.xml", SB_SNAP_PARSE_REDEFINE, &def);
        if (rc < 0)
            FUZZ_FAIL("normalized output does not parse in redefine mode: %s\n--- output:\n%s",
                      sb_error_last()->message, out);
        char *again = NULL;
        rc = sb_snapdef_format(def, o.secure ? SB_SNAP_FORMAT_SECURE : 0, &again);
        if (rc < 0)
            FUZZ_FAIL("re-format failed: %s", sb_error_last()->message);
        if (strcmp(out, again) != 0)
            FUZZ_FAIL("not idempotent\n--- first:\n%s\n--- second:\n%s", out, again);
        free(again);
        sb_snapdef_free(def);
    } else if (rc < 0 && out) {
        FUZZ_FAIL("sb_xml_normalize failed but set *out_xml");
    }
    free(out);
    free(snap);
    free(dom);
    return 0;
}
