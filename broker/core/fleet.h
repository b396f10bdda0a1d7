/* The fleet view (sb_fleet_list, docs/fleet.md): fleet.c runs the hosts
 * in parallel threads, fleet_host.c lists one host on its own
 * connection.  Nothing here is shared between threads but the job
 * (fleet.c) and what the library already makes thread-safe: the broker's
 * configuration (read only), its plugin registry (locked), the log ring
 * (locked), the errors (per thread). */
#ifndef SB_CORE_FLEET_H
#define SB_CORE_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/api.h"

/* What a host's worker needs of the query, copied (a worker may outlive
 * the call that started it). */
struct sb_fleet_filter {
    char *domain;                   /* NULL: every domain */
    long long created_before;       /* > 0: only snapshots older than this time */
    unsigned long long larger_than; /* with size_filter: only snapshots
                                       known larger */
    bool size_filter;               /* larger_than applies (it may be 0) */
    int usage;                      /* ask the plugin for sizes */
};

/* One listed snapshot; every string is its own. */
struct sb_fleet_snap {
    char *domain, *name, *parent, *where;
    long long creation_time;
    int state, external, is_current, known_bytes;
    unsigned long long bytes, memory_bytes;
};

struct sb_fleet_result {
    int status;               /* 0 or a negative class */
    char error[1024];
    size_t domains;
    struct sb_fleet_snap *v;  /* by domain name, parents first */
    size_t n, cap;
};

/* List host (a configured host name) of b into *out (zeroed first).  A
 * failure is recorded in out->status / out->error; what was listed before
 * it stays. */
void sb_fleet__list_host(struct sb_fleet_result *out, sb_broker *b, const char *host,
                         const struct sb_fleet_filter *f);
void sb_fleet__result_clear(struct sb_fleet_result *r);

#endif
