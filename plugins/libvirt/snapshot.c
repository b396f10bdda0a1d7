/* libvirt plugin - snapshots: one virDomainSnapshot* call each, with the
 * caller's flags (the broker's SB_SNAPSHOT_* values are libvirt's).  The
 * broker has already applied the API rules, the masks of conn_caps and its
 * normalization; libvirt applies the driver's own rules. */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct snap_args {
    const char *domain;
    const char *name;  /* the snapshot (or the listing's starting point) */
    const char *xml;
    unsigned flags;
    char **out_str;
    char ***out_names;
    size_t *out_n;
    int by_names;      /* listing: Num + ListNames only */
};

/* Domain and, when a->name is set, snapshot handles; on failure the
 * error is recorded and nothing is left to free. */
static int lookup(sb_conn *c, const struct snap_args *a, virDomainPtr *d,
                  virDomainSnapshotPtr *s)
{
    *s = NULL;
    if (!(*d = lvp_domain(c, a->domain)))
        return -c->err.code;
    if (a->name && !(*s = lvp_snapshot(c, *d, a->domain, a->name))) {
        virDomainFree(*d);
        *d = NULL;
        return -c->err.code;
    }
    return 0;
}

static void release(virDomainPtr d, virDomainSnapshotPtr s)
{
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
}

/* The name of the snapshot a broker-supplied definition describes. */
static int name_from_xml(sb_conn *c, struct snap_args *a, char **owned)
{
    if (!(*owned = lvp_xml_snapshot_name(a->xml)))
        return lvp_fail(c, SB_ERR_XML_ERROR, "snapshot definition of domain '%s' has no <name>",
                        a->domain);
    a->name = *owned;
    return 0;
}

/* The broker named this create (the caller gave no <name>).  A broker
 * older than ABI 1.6 cannot say: a name equal to the <creationTime> the
 * broker added is then taken for its default. */
static int name_defaulted(sb_conn *c)
{
    if (lvp_host->struct_size >=
            offsetof(struct sb_host_api, create_name_defaulted) + sizeof(void *) &&
        lvp_host->create_name_defaulted)
        return lvp_host->create_name_defaulted(c->h);
    return -1;
}

static int op_create(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    char *unnamed = NULL;
    int rc;

    if ((rc = lookup(c, a, &d, &s)) < 0)
        return rc;
    /* A create without <name> reaches us named after the creationTime the
     * broker chose; libvirt sets the creation time itself when it takes the
     * snapshot, a second later if the clock ticked in between.  Left
     * unnamed, libvirt names it after its own creationTime, as it does for
     * its own clients. */
    int defaulted = name_defaulted(c);
    if (!(a->flags & SB_SNAPSHOT_CREATE_REDEFINE) && defaulted != 0)
        unnamed = lvp_xml_without_default_name(a->xml);
    if (!(s = virDomainSnapshotCreateXML(d, unnamed ? unnamed : a->xml, a->flags)))
        rc = lvp_fail_vir(c, "snapshot of domain '%s'", a->domain);
    else if (unnamed && a->out_str) {
        /* the broker learns libvirt's name from the definition; without it
         * it keeps its own, which the clock may have passed */
        char *taken = virDomainSnapshotGetXMLDesc(s, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
        if (taken)
            (void)lvp_out_str(c, a->out_str, taken); /* the snapshot exists */
        free(taken);
    }
    release(d, s);
    free(unnamed);
    return rc;
}

int lvp_snapshot_create(char **out_xml, sb_conn *c, const char *domain,
                        const char *snapshot_xml, unsigned flags)
{
    /* libvirt keeps the definition; the broker asks for it, and is given it
     * only for an unnamed create, to learn the name libvirt chose */
    struct snap_args a = { .domain = domain, .xml = snapshot_xml, .flags = flags,
                           .out_str = out_xml };
    return lvp_call(c, LVP_WRITE, "snapshot create", op_create, &a);
}

/* Revert and delete: the same shape, on a snapshot named by its XML;
 * then (when set) after(c, a, domain handle). */
static int op_on_snapshot(sb_conn *c, struct snap_args *a,
                          int (*fn)(virDomainSnapshotPtr, unsigned), const char *what,
                          int (*after)(sb_conn *, const struct snap_args *, virDomainPtr))
{
    virDomainPtr d;
    virDomainSnapshotPtr s;
    char *name = NULL;
    int rc;

    if ((rc = name_from_xml(c, a, &name)) < 0 || (rc = lookup(c, a, &d, &s)) < 0) {
        free(name);
        return rc;
    }
    if (fn(s, a->flags) < 0)
        rc = lvp_fail_vir(c, "%s snapshot '%s' of domain '%s'", what, a->name, a->domain);
    else if (after)
        rc = after(c, a, d);
    release(d, s);
    free(name);
    return rc;
}

/* REVERT_RUNNING / REVERT_PAUSED to a shut-off snapshot: libvirt 9.0's
 * test driver reports the domain started (its events) but leaves it shut
 * off, where the qemu driver starts it.  Finish what the flag asks. */
static int finish_revert_state(sb_conn *c, const struct snap_args *a, virDomainPtr d)
{
    const unsigned run = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED;
    int state = 0, reason = 0;

    if (!(a->flags & run))
        return 0;
    if (virDomainGetState(d, &state, &reason, 0) < 0)
        return lvp_fail_vir(c, "state of domain '%s' after reverting to snapshot '%s'",
                            a->domain, a->name);
    if (state != VIR_DOMAIN_SHUTOFF)
        return 0;
    if (virDomainCreate(d) < 0 ||
        ((a->flags & SB_SNAPSHOT_REVERT_PAUSED) && virDomainSuspend(d) < 0))
        return lvp_fail_vir(c, "domain '%s' reverted to snapshot '%s' but not %s", a->domain,
                            a->name,
                            (a->flags & SB_SNAPSHOT_REVERT_PAUSED) ? "paused" : "started");
    return 0;
}

static int op_revert(sb_conn *c, void *arg)
{
    return op_on_snapshot(c, arg, virDomainRevertToSnapshot, "reverting to",
                          finish_revert_state);
}

static int op_delete(sb_conn *c, void *arg)
{
    return op_on_snapshot(c, arg, virDomainSnapshotDelete, "deleting", NULL);
}

int lvp_snapshot_revert(char **out_xml, sb_conn *c, const char *domain,
                        const char *snapshot_xml, unsigned flags)
{
    struct snap_args a = { .domain = domain, .xml = snapshot_xml, .flags = flags };
    (void)out_xml;
    return lvp_call(c, LVP_WRITE, "snapshot revert", op_revert, &a);
}

int lvp_snapshot_delete(sb_conn *c, const char *domain, const char *snapshot_xml,
                        unsigned flags)
{
    struct snap_args a = { .domain = domain, .xml = snapshot_xml, .flags = flags };
    return lvp_call(c, LVP_WRITE, "snapshot delete", op_delete, &a);
}

/* ---- listings ----------------------------------------------------------- */

/* virDomainSnapshotNum + ListNames (and the Children variants): the only
 * listing ESX and VirtualBox offer. */
static int list_names(sb_conn *c, struct snap_args *a, virDomainPtr d, virDomainSnapshotPtr s)
{
    int n = s ? virDomainSnapshotNumChildren(s, a->flags) : virDomainSnapshotNum(d, a->flags);
    char **names = NULL;
    int rc = 0;

    if (n < 0)
        return lvp_fail_vir(c, "snapshots of domain '%s'", a->domain);
    if (!(names = calloc((size_t)n + 1, sizeof(*names))))
        return lvp_fail(c, SB_ERR_NO_MEMORY, "out of memory");
    if (n > 0) {
        n = s ? virDomainSnapshotListChildrenNames(s, names, n, a->flags)
              : virDomainSnapshotListNames(d, names, n, a->flags);
        if (n < 0)
            rc = lvp_fail_vir(c, "snapshots of domain '%s'", a->domain);
    }
    if (rc == 0)
        rc = lvp_out_names(c, a->out_names, a->out_n, (const char *const *)names, (size_t)n);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int op_list(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainSnapshotPtr *snaps = NULL;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    int rc, n = -1;

    if ((rc = lookup(c, a, &d, &s)) < 0)
        return rc;
    if (!a->by_names)
        n = s ? virDomainSnapshotListAllChildren(s, &snaps, a->flags)
              : virDomainListAllSnapshots(d, &snaps, a->flags);
    if (n >= 0)
        rc = lvp_out_snapshot_names(c, a->out_names, a->out_n, snaps, n);
    else if (a->by_names || (rc = lvp_fail_vir(c, "snapshots of domain '%s'", a->domain)) ==
                                -SB_ERR_NO_SUPPORT)
        rc = list_names(c, a, d, s);
    release(d, s);
    return rc;
}

static int list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                const char *from, unsigned flags, int by_names)
{
    struct snap_args a = { .domain = domain, .name = from, .flags = flags,
                           .out_names = out_names, .out_n = out_n, .by_names = by_names };
    return lvp_call(c, LVP_READ, "snapshot listing", op_list, &a);
}

int lvp_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                      const char *from, unsigned flags)
{
    return list(out_names, out_n, c, domain, from, flags, c->list_by_names);
}

int lvp_snapshot_list_names(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                            const char *from, unsigned flags)
{
    return list(out_names, out_n, c, domain, from, flags, 1);
}

/* ---- lookups --------------------------------------------------------------- */

static int op_get_xml(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    char *xml;
    int rc;

    if ((rc = lookup(c, a, &d, &s)) < 0)
        return rc;
    if (!(xml = virDomainSnapshotGetXMLDesc(s, a->flags)))
        rc = lvp_fail_vir(c, "XML of snapshot '%s' of domain '%s'", a->name, a->domain);
    else
        rc = lvp_out_str(c, a->out_str, xml);
    free(xml);
    release(d, s);
    return rc;
}

int lvp_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                         unsigned flags)
{
    struct snap_args a = { .domain = domain, .name = name, .flags = flags, .out_str = out_xml };
    return lvp_call(c, LVP_READ, "snapshot XML", op_get_xml, &a);
}

static int op_current(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    int rc;

    if ((rc = lookup(c, a, &d, &s)) < 0)
        return rc;
    if (!(s = virDomainSnapshotCurrent(d, 0)))
        rc = lvp_fail_vir(c, "current snapshot of domain '%s'", a->domain);
    else
        rc = lvp_out_str(c, a->out_str, virDomainSnapshotGetName(s));
    release(d, s);
    return rc;
}

int lvp_snapshot_current(char **out_name, sb_conn *c, const char *domain)
{
    struct snap_args a = { .domain = domain, .out_str = out_name };
    return lvp_call(c, LVP_READ, "current snapshot", op_current, &a);
}

static int op_parent(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainPtr d;
    virDomainSnapshotPtr s, p;
    int rc;

    if ((rc = lookup(c, a, &d, &s)) < 0)
        return rc;
    if (!(p = virDomainSnapshotGetParent(s, 0))) {
        rc = lvp_fail_vir(c, "parent of snapshot '%s' of domain '%s'", a->name, a->domain);
    } else {
        rc = lvp_out_str(c, a->out_str, virDomainSnapshotGetName(p));
        virDomainSnapshotFree(p);
    }
    release(d, s);
    return rc;
}

int lvp_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name)
{
    struct snap_args a = { .domain = domain, .name = name, .out_str = out_name };
    return lvp_call(c, LVP_READ, "snapshot parent", op_parent, &a);
}

static int op_exists(sb_conn *c, void *arg)
{
    struct snap_args *a = arg;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    char *name = NULL;
    int rc;

    if ((rc = name_from_xml(c, a, &name)) < 0)
        return rc;
    a->name = NULL;
    if ((rc = lookup(c, a, &d, &s)) == 0) {
        if ((s = virDomainSnapshotLookupByName(d, name, 0))) {
            rc = 1;
        } else if ((rc = lvp_fail_vir(c, "snapshot '%s' of domain '%s'", name, a->domain)) ==
                   -SB_ERR_NO_DOMAIN_SNAPSHOT) {
            memset(&c->err, 0, sizeof(c->err));
            rc = 0;
        }
        release(d, s);
    }
    free(name);
    return rc;
}

int lvp_snapshot_exists(sb_conn *c, const char *domain, const char *snapshot_xml)
{
    struct snap_args a = { .domain = domain, .xml = snapshot_xml };
    return lvp_call(c, LVP_READ, "snapshot lookup", op_exists, &a);
}
