/* Snapshot callbacks of the reference plugin.  Metadata is the broker's
 * (meta_owner BROKER) and there are no disks to copy, so what remains is
 * the domain state: HALT on create, and libvirt's revert transitions. */
#include "ref.h"

#include <string.h>

/* Read-modify-write of one domain under the exclusive lock. */
struct edit {
    struct ref_state st;
    struct ref_domain *d;
    int lock;
};

static int edit_begin(struct edit *e, sb_conn *c, const char *domain)
{
    int rc = ref_state_load(&e->st, &e->lock, c, 1);

    if (rc < 0)
        return rc;
    if (!(e->d = ref_state_find(&e->st, domain))) {
        rc = ref_no_domain(c, domain);
        ref_state_unlock(e->lock);
        ref_state_clear(&e->st);
    }
    return rc;
}

static int edit_end(struct edit *e, sb_conn *c, int save)
{
    int rc = save ? ref_state_save(&e->st, c) : 0;

    ref_state_unlock(e->lock);
    ref_state_clear(&e->st);
    return rc;
}

/* The snapshot definition, through the broker's XML service. */
static int view(sb_conn *c, const char *xml, struct sb_snapshot_view **out)
{
    *out = NULL;
    if (!ref_host->snapshot_view) /* an older broker without XML services */
        return ref_host->set_error(c->h, SB_ERR_OPERATION_UNSUPPORTED,
                                   "ref plugin: the broker provides no snapshot_view service");
    return ref_host->snapshot_view(c->h, xml, out);
}

int ref_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags)
{
    struct sb_snapshot_view *v;
    struct edit e;
    int rc, save = 0;

    *out_xml = NULL;
    if ((rc = view(c, xml, &v)) < 0)
        return rc;
    if ((rc = edit_begin(&e, c, domain)) < 0) {
        ref_host->snapshot_view_free(v);
        return rc;
    }
    ref_host->log(c->h, SB_LOG_DEBUG, "snapshot '%s' of domain '%s' (state %d)",
                  v->name ? v->name : "", domain, v->state);
    /* No disk or memory work: the fixture only records the effect on the
     * domain.  HALT stops a running guest afterwards. */
    if ((flags & SB_SNAPSHOT_CREATE_HALT) && e.d->state != SB_DOMAIN_SHUTOFF) {
        e.d->state = SB_DOMAIN_SHUTOFF;
        save = 1;
    }
    rc = edit_end(&e, c, save);
    ref_host->snapshot_view_free(v);
    return rc;
}

static int snapshot_active(int state)
{
    return state == SB_STATE_RUNNING || state == SB_STATE_PAUSED || state == SB_STATE_BLOCKED;
}

/* libvirt's documented revert semantics (virDomainRevertToSnapshot):
 *   snapshot of an active guest: running, or paused when the snapshot was
 *     paused; RUNNING / PAUSED override;
 *   snapshot of an inactive guest (shutoff, disk-snapshot): shut off, unless
 *     RUNNING / PAUSED ask to start it afterwards. */
static int revert_target(int snap_state, unsigned flags)
{
    if (flags & SB_SNAPSHOT_REVERT_PAUSED)
        return SB_DOMAIN_PAUSED;
    if (flags & SB_SNAPSHOT_REVERT_RUNNING)
        return SB_DOMAIN_RUNNING;
    if (!snapshot_active(snap_state))
        return SB_DOMAIN_SHUTOFF;
    return snap_state == SB_STATE_PAUSED ? SB_DOMAIN_PAUSED : SB_DOMAIN_RUNNING;
}

int ref_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags)
{
    struct sb_snapshot_view *v;
    struct edit e;
    int rc;

    *out_xml = NULL;
    if ((flags & SB_SNAPSHOT_REVERT_RUNNING) && (flags & SB_SNAPSHOT_REVERT_PAUSED))
        return ref_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                   "flags 'running' and 'paused' are mutually exclusive");
    if ((rc = view(c, xml, &v)) < 0)
        return rc;
    if ((rc = edit_begin(&e, c, domain)) < 0) {
        ref_host->snapshot_view_free(v);
        return rc;
    }
    e.d->state = revert_target(v->state, flags);
    /* The definition comes back with the snapshot, as in libvirt. */
    if (v->domain_xml) {
        char *x = ref_host->strdup(v->domain_xml);
        if (!x) {
            edit_end(&e, c, 0);
            ref_host->snapshot_view_free(v);
            return ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
        }
        ref_host->free(e.d->xml);
        e.d->xml = x;
    }
    rc = edit_end(&e, c, 1);
    ref_host->snapshot_view_free(v);
    return rc;
}

int ref_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    struct edit e;
    int rc;

    (void)xml;   /* no data to remove: internal snapshots of nothing */
    (void)flags; /* CHILDREN etc. are the broker's business (meta_owner BROKER) */
    if ((rc = edit_begin(&e, c, domain)) < 0)
        return rc;
    return edit_end(&e, c, 0);
}
