/* sb_config_load_string() on arbitrary text, plus the group lookups. */
#include "fuzz_common.h"

#include "config/config.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    sb_config *c = NULL;
    sb_error_clear();
    int rc = sb_config_load_string(&c, text, "/fuzz/snapbroker.conf");
    fuzz_check_error(rc, "sb_config_load_string");
    if (rc < 0) {
        if (c)
            FUZZ_FAIL("sb_config_load_string failed but set *out");
    } else {
        if (!c || !c->state_dir)
            FUZZ_FAIL("config without state_dir");
        if (c->default_host && !sb_config_find_host(c, c->default_host))
            FUZZ_FAIL("default host '%s' not found", c->default_host);
        for (size_t i = 0; i < c->nhosts; i++) {
            const sb_config_host *h = &c->hosts[i];
            if (!h->name || !h->plugin)
                FUZZ_FAIL("host %zu without name or plugin", i);
            static const char *const keys[] = {"monitor.timeout", "timeout", "path",
                                               "a.b.c", "", ".", "x..y"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                const char *s;
                long long n;
                int bv;
                sb_error_clear();
                fuzz_check_error(sb_config_group_string(h->group, keys[k], &s), "group_string");
                fuzz_check_error(sb_config_group_int(h->group, keys[k], &n), "group_int");
                fuzz_check_error(sb_config_group_bool(h->group, keys[k], &bv), "group_bool");
            }
        }
        for (size_t i = 0; i < c->nwarnings; i++)
            if (!c->warnings[i])
                FUZZ_FAIL("NULL warning %zu", i);
    }
    sb_config_free(c);
    free(text);
    return 0;
}
