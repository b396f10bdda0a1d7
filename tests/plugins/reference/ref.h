/* "ref": the reference plugin, a deterministic test fixture in the spirit of
 * libvirt's test:///default.  Not a product backend: it does no disk work.
 *
 * Like every plugin it includes only snapbroker/plugin.h.  Its domains live
 * in one small file under the host's state_dir, rewritten atomically, since
 * the CLI runs one process per command. */
#ifndef REF_H
#define REF_H

#include "snapbroker/plugin.h"

extern const struct sb_host_api *ref_host; /* from the entry */

struct ref_domain {
    char *name;
    int state; /* enum sb_domain_state */
    char *xml;
};

struct ref_state {
    struct ref_domain *doms;
    size_t n;
};

struct sb_conn {
    sb_host *h;
    char *file;      /* STATE/domains */
    char *lock_file; /* STATE/domains.lock */
};

/* SB_REF_CALL_LOG=FILE in the environment: the state callbacks append
 * their name to FILE, one line per call, so that a test sees which one
 * the broker asked (tests/api/test_api_active.c).  ref.c. */
void ref_call_log(const char *callback);

/* ---- ref_state.c ---- */

/* Take the lock (exclusive for writers) and read the state; a missing file
 * is the initial state (domain "test", running).  *lock_fd must be given to
 * ref_state_unlock(). */
int ref_state_load(struct ref_state *st, int *lock_fd, sb_conn *c, int exclusive);
/* Write atomically (temp, fsync, rename, directory fsync). */
int ref_state_save(const struct ref_state *st, sb_conn *c);
void ref_state_unlock(int lock_fd);
void ref_state_clear(struct ref_state *st);
struct ref_domain *ref_state_find(struct ref_state *st, const char *name);
/* NO_DOMAIN error naming the domain. */
int ref_no_domain(sb_conn *c, const char *name);

/* ---- ref_domain.c / ref_snapshot.c: the callbacks ---- */
int ref_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags);
int ref_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags);
int ref_domain_get_state(int *out_state, sb_conn *c, const char *domain);
int ref_domain_is_active(int *out_active, sb_conn *c, const char *domain);
int ref_domain_define(char **out_name, sb_conn *c, const char *xml, unsigned flags);
int ref_domain_undefine(sb_conn *c, const char *domain, unsigned flags);
int ref_domain_start(sb_conn *c, const char *domain, unsigned flags);
int ref_domain_destroy(sb_conn *c, const char *domain, unsigned flags);
int ref_domain_shutdown(sb_conn *c, const char *domain, unsigned flags);
int ref_domain_suspend(sb_conn *c, const char *domain, unsigned flags);
int ref_domain_resume(sb_conn *c, const char *domain, unsigned flags);
int ref_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags);
int ref_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags);
int ref_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags);

#endif
