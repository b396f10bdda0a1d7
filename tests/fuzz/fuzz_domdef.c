/* sb_domdef_parse() on arbitrary bytes, plus lookups on what it returns. */
#define SB_FUZZ_LIBXML 1
#include "fuzz_common.h"

#include "core/error.h"
#include "xml/domdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_forbid_libxml_output();
    sb_domdef *def = NULL;
    sb_error_clear();
    int rc = sb_domdef_parse((const char *)data, size, &def);
    fuzz_check_error(rc, "sb_domdef_parse");
    if (rc < 0) {
        if (def)
            FUZZ_FAIL("sb_domdef_parse failed but set *out");
        return 0;
    }
    if (!def)
        FUZZ_FAIL("sb_domdef_parse succeeded without a definition");
    for (size_t i = 0; i < def->ndisks; i++) {
        const sb_domdisk *d = &def->disks[i];
        if (!d->target)
            FUZZ_FAIL("disk %zu without target", i);
        long idx = sb_domdef_find_disk(def, d->target);
        if (idx < 0)
            FUZZ_FAIL("disk '%s' not found by its own target", d->target);
        if (d->src_path)
            (void)sb_domdef_find_disk(def, d->src_path);
    }
    sb_domdef_free(def);
    return 0;
}
