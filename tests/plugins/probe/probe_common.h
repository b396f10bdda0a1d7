/* What both probe plugins share: the misbehaviour SB_PROBE selects. */
#ifndef SB_TESTS_PROBE_COMMON_H
#define SB_TESTS_PROBE_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "snapbroker/plugin.h"

/* 1 when SB_PROBE names this misbehaviour. */
static inline int probe_is(const char *what)
{
    const char *p = getenv("SB_PROBE");
    return p && strcmp(p, what) == 0;
}

/* The result rc of a create or revert, its answer replaced by text that
 * is not XML when it succeeded (the work is done) and the misbehaviour
 * what is asked for. */
static inline int probe_garbage_answer(int rc, const char *what, const struct sb_host_api *host,
                                       char **out)
{
    if (rc == 0 && probe_is(what)) {
        host->free(*out);
        *out = host->strdup("<domainsnapshot><name>cut short");
    }
    return rc;
}

#endif
