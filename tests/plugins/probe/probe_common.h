/* What both probe plugins share: the misbehaviour SB_PROBE selects. */
#ifndef SB_TESTS_PROBE_COMMON_H
#define SB_TESTS_PROBE_COMMON_H

#include <stdlib.h>
#include <string.h>

/* 1 when SB_PROBE names this misbehaviour. */
static inline int probe_is(const char *what)
{
    const char *p = getenv("SB_PROBE");
    return p && strcmp(p, what) == 0;
}

#endif
