/* refhv's snapshots: the hypervisor's own tree (meta_owner HYPERVISOR),
 * with ESX's or VirtualBox's rules (refhv.h). */
#include "refhv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Not found: ESX says NO_DOMAIN_SNAPSHOT, VirtualBox OPERATION_INVALID. */
static int no_snapshot(sb_conn *c, const char *domain, const char *name)
{
    if (REFHV_VBOX)
        return hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                  "domain '%s' has no snapshots with name '%s'", domain, name);
    return hv_host->set_error(c->h, SB_ERR_NO_DOMAIN_SNAPSHOT,
                              "could not find snapshot with name '%s' in domain '%s'", name,
                              domain);
}

/* Load, then find the domain (and the snapshot if name is given). */
static int open_dom(struct hv_state *st, struct hv_dom **d, struct hv_snap **s, sb_conn *c,
                    const char *domain, const char *name, int exclusive)
{
    int rc = hv_load(st, c, exclusive);

    if (rc < 0)
        return rc;
    if (!(*d = hv_find_dom(st, domain)))
        rc = hv_no_domain(c, domain);
    else if (s && !(*s = hv_find_snap(*d, name)))
        rc = no_snapshot(c, domain, name);
    if (rc < 0)
        hv_release(st);
    return rc;
}

static int done(struct hv_state *st, sb_conn *c, int rc, int save)
{
    if (rc == 0 && save)
        rc = hv_save(st, c);
    hv_release(st);
    return rc;
}

static int domain_active(int state)
{
    return state != SB_DOMAIN_SHUTOFF && state != SB_DOMAIN_CRASHED &&
           state != SB_DOMAIN_NOSTATE;
}

/* ESX records the VM's power state; VirtualBox "online" or not. */
static int snap_state_of_domain(int dstate)
{
    if (!domain_active(dstate))
        return SB_STATE_SHUTOFF;
    if (!REFHV_VBOX && dstate == SB_DOMAIN_PAUSED)
        return SB_STATE_PAUSED;
    return SB_STATE_RUNNING;
}

static int snap_online(int state)
{
    return state == SB_STATE_RUNNING || state == SB_STATE_PAUSED || state == SB_STATE_BLOCKED;
}

/* Add a snapshot under parent_id; *id_out gets its id. */
static int add_snap(sb_conn *c, struct hv_dom *d, const struct sb_snapshot_view *v,
                    unsigned parent_id, int state, long long ctime, unsigned *id_out)
{
    struct hv_snap *ns = hv_host->realloc(d->snaps, (d->nsnaps + 1) * sizeof(*ns));
    unsigned id = 1;

    if (!ns)
        return hv_oom(c);
    d->snaps = ns;
    for (size_t i = 0; i < d->nsnaps; i++)
        if (ns[i].id >= id)
            id = ns[i].id + 1;
    struct hv_snap *s = &ns[d->nsnaps++];
    memset(s, 0, sizeof(*s));
    s->id = *id_out = id;
    s->parent_id = parent_id;
    s->state = state;
    s->ctime = ctime;
    s->name = hv_strdup(v->name);
    s->desc = hv_strdup(v->description);
    s->dom_xml = hv_strdup(v->domain_xml ? v->domain_xml : d->xml);
    if (!s->name || (v->description && !s->desc) || !s->dom_xml)
        return hv_oom(c); /* the half-filled record is freed with the state */
    return 0;
}

/* VirtualBox's redefine: edit the machine's settings file. */
static int redefine_vbox(sb_conn *c, struct hv_dom *d, const struct sb_snapshot_view *v,
                         unsigned flags)
{
    struct hv_snap *old = hv_find_snap(d, v->name), *parent = hv_find_snap(d, v->parent);
    unsigned id = 0;
    int rc = 0;

    if (old) {
        if (v->description && hv_set(&old->desc, v->description) < 0)
            return hv_oom(c);
        id = old->id;
    } else {
        if (v->parent && !parent)
            return hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                                      "parent snapshot '%s' of '%s' must be redefined first",
                                      v->parent, v->name);
        if (!v->parent && d->nsnaps)
            return hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                                      "domain '%s' already has a root snapshot; a VirtualBox "
                                      "machine has one root only",
                                      d->name);
        rc = add_snap(c, d, v, parent ? parent->id : 0,
                      snap_online(v->state) ? SB_STATE_RUNNING : SB_STATE_SHUTOFF,
                      v->creation_time, &id);
    }
    if (rc == 0 && (flags & SB_SNAPSHOT_CREATE_CURRENT))
        d->current = id;
    return rc;
}

int hv_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags)
{
    struct sb_snapshot_view *v = NULL;
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    *out_xml = NULL;
    if ((rc = hv_host->snapshot_view(c->h, xml, &v)) < 0)
        return rc;
    if ((rc = open_dom(&st, &d, NULL, c, domain, NULL, 1)) < 0) {
        hv_host->snapshot_view_free(v);
        return rc;
    }
    if (REFHV_VBOX && (flags & SB_SNAPSHOT_CREATE_REDEFINE)) {
        rc = redefine_vbox(c, d, v, flags);
    } else if (!REFHV_VBOX && hv_find_snap(d, v->name)) {
        rc = hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                "domain '%s' already has a snapshot with name '%s'", domain,
                                v->name);
    } else if (!d->current && d->nsnaps) {
        /* only a damaged tree or a METADATA_ONLY delete leaves this */
        rc = hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                                "domain '%s' has snapshots but no current one", domain);
    } else {
        /* ESX keeps the broker's creationTime; VirtualBox ignores the
         * XML's and stamps its own. */
        long long t = REFHV_VBOX ? (long long)time(NULL) : v->creation_time;
        unsigned id = 0;
        if ((rc = add_snap(c, d, v, d->current, snap_state_of_domain(d->state), t, &id)) == 0)
            d->current = id;
    }
    hv_host->log(c->h, SB_LOG_DEBUG, "%s: create '%s' of '%s' flags 0x%x: %d", HV_NAME,
                 v->name, domain, flags, rc);
    hv_host->snapshot_view_free(v);
    return done(&st, c, rc, 1);
}

/* The snapshot a stored definition names. */
static int name_of(sb_conn *c, const char *xml, char **out)
{
    struct sb_snapshot_view *v = NULL;
    int rc = hv_host->snapshot_view(c->h, xml, &v);

    *out = NULL;
    if (rc < 0)
        return rc;
    if (!(*out = hv_strdup(v->name)))
        rc = hv_oom(c);
    hv_host->snapshot_view_free(v);
    return rc;
}

int hv_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags)
{
    struct hv_state st;
    struct hv_dom *d;
    struct hv_snap *s;
    char *name;
    int rc;

    *out_xml = NULL;
    if (flags)
        return hv_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                  "%s plugin: unsupported flags (0x%x) in snapshot_revert",
                                  HV_NAME, flags);
    if ((rc = name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = open_dom(&st, &d, &s, c, domain, name, 1)) < 0) {
        hv_host->free(name);
        return rc;
    }
    if (REFHV_VBOX && domain_active(d->state)) {
        rc = hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                "cannot revert snapshot of running domain '%s'", domain);
    } else {
        d->state = !snap_online(s->state)        ? SB_DOMAIN_SHUTOFF
                   : s->state == SB_STATE_PAUSED ? SB_DOMAIN_PAUSED
                                                 : SB_DOMAIN_RUNNING;
        if (s->dom_xml && hv_set(&d->xml, s->dom_xml) < 0)
            rc = hv_oom(c);
        d->current = s->id;
    }
    hv_host->free(name);
    return done(&st, c, rc, 1);
}

static int in_subtree(struct hv_dom *d, const struct hv_snap *s, unsigned top)
{
    size_t hops = 0;
    for (const struct hv_snap *x = s; x && hops <= d->nsnaps; hops++) {
        if (x->id == top)
            return 1;
        x = hv_snap_by_id(d, x->parent_id);
    }
    return 0;
}

/* Remove the snapshots marked in gone[], keeping creation order. */
static void compact(struct hv_dom *d, const unsigned char *gone)
{
    size_t k = 0;
    for (size_t i = 0; i < d->nsnaps; i++) {
        if (gone[i]) {
            hv_host->free(d->snaps[i].name);
            hv_host->free(d->snaps[i].desc);
            hv_host->free(d->snaps[i].dom_xml);
        } else {
            d->snaps[k++] = d->snaps[i];
        }
    }
    d->nsnaps = k;
}

int hv_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    const unsigned known = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY;
    struct hv_state st;
    struct hv_dom *d;
    struct hv_snap *s;
    unsigned char *gone = NULL;
    char *name;
    int rc, save = 1;

    if (flags & ~known)
        return hv_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                  "%s plugin: unsupported flags (0x%x) in snapshot_delete",
                                  HV_NAME, flags & ~known);
    if ((rc = name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = open_dom(&st, &d, &s, c, domain, name, 1)) < 0) {
        hv_host->free(name);
        return rc;
    }
    size_t nchildren = hv_children(d, s);
    if ((flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) && !REFHV_VBOX) {
        save = 0; /* ESX keeps no metadata of its own: nothing to do */
        goto out;
    }
    if (flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) {
        if (nchildren) {
            rc = hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                                    "cannot delete metadata of a snapshot with children");
            goto out;
        }
    } else if (REFHV_VBOX && domain_active(d->state)) {
        rc = hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                "cannot delete snapshots of running domain '%s'", domain);
        goto out;
    } else if (REFHV_VBOX && !(flags & SB_SNAPSHOT_DELETE_CHILDREN) && nchildren > 1) {
        rc = hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                                "could not delete snapshot '%s': it has %zu children", name,
                                nchildren);
        goto out;
    }
    if (!(gone = hv_host->alloc(d->nsnaps + 1))) {
        rc = hv_oom(c);
        goto out;
    }
    unsigned id = s->id, parent_id = s->parent_id;
    for (size_t i = 0; i < d->nsnaps; i++) {
        struct hv_snap *x = &d->snaps[i];
        if (x == s)
            gone[i] = 1;
        else if (flags & SB_SNAPSHOT_DELETE_CHILDREN)
            gone[i] = (unsigned char)in_subtree(d, x, id);
    }
    /* current inside what goes: the deleted snapshot's parent */
    struct hv_snap *cur = hv_snap_by_id(d, d->current);
    if (!cur || gone[cur - d->snaps])
        d->current = parent_id;
    for (size_t i = 0; i < d->nsnaps; i++)
        if (!gone[i] && d->snaps[i].parent_id == id)
            d->snaps[i].parent_id = parent_id;
    compact(d, gone);
out:
    hv_host->free(gone);
    hv_host->free(name);
    return done(&st, c, rc, save);
}

/* ---- the queries ---- */

struct names {
    char **v;
    size_t n;
    int oom;
};

static void push(struct names *out, const char *name)
{
    char **nv;
    if (out->oom)
        return;
    if (!(nv = hv_host->realloc(out->v, (out->n + 2) * sizeof(*nv))) ||
        !(nv[out->n] = hv_host->strdup(name))) {
        if (nv)
            out->v = nv;
        out->oom = 1;
        return;
    }
    out->v = nv;
    out->n++;
}

/* Depth-first below the snapshot parent_id (0: the roots). */
static void walk(struct hv_dom *d, unsigned parent_id, size_t depth, unsigned flags,
                 int domain_level, struct names *out)
{
    if (depth > d->nsnaps)
        return;
    for (size_t i = 0; i < d->nsnaps; i++) {
        struct hv_snap *s = &d->snaps[i];
        int descend;
        if (s->parent_id != parent_id)
            continue;
        /* ROOTS (domain level) lists depth 0 only; without DESCENDANTS a
         * children listing lists depth 0 (the direct children) only. */
        descend = domain_level ? !(flags & SB_SNAPSHOT_LIST_ROOTS)
                               : !!(flags & SB_SNAPSHOT_LIST_DESCENDANTS);
        if (!(flags & SB_SNAPSHOT_LIST_LEAVES) || hv_children(d, s) == 0)
            push(out, s->name);
        if (descend)
            walk(d, s->id, depth + 1, flags, domain_level, out);
    }
}

int hv_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                     const char *from, unsigned flags)
{
    struct names out = { 0 };
    struct hv_state st;
    struct hv_dom *d;
    struct hv_snap *s = NULL;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    if (REFHV_VBOX && from)
        return hv_host->set_error(c->h, SB_ERR_NO_SUPPORT,
                                  "%s plugin: VirtualBox cannot list the children of a snapshot",
                                  HV_NAME);
    if ((rc = open_dom(&st, &d, from ? &s : NULL, c, domain, from, 0)) < 0)
        return rc;
    /* every snapshot "has no metadata" here: METADATA lists nothing */
    if (!(flags & SB_SNAPSHOT_LIST_METADATA))
        walk(d, s ? s->id : 0, 0, flags, from == NULL, &out);
    if (out.oom || !(out.v || (out.v = hv_host->alloc(sizeof(char *))))) {
        for (size_t i = 0; i < out.n; i++)
            hv_host->free(out.v[i]);
        hv_host->free(out.v);
        return done(&st, c, hv_oom(c), 0);
    }
    *out_names = out.v;
    *out_n = out.n;
    return done(&st, c, 0, 0);
}

/* ---- XML ---- */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void add(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = hv_host->realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void adds(struct buf *b, const char *s)
{
    add(b, s, strlen(s));
}

static void add_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': adds(b, "&lt;"); break;
        case '>': adds(b, "&gt;"); break;
        case '&': adds(b, "&amp;"); break;
        case '\'': adds(b, "&apos;"); break;
        case '"': adds(b, "&quot;"); break;
        default: add(b, s, 1);
        }
    }
}

static void elem(struct buf *b, const char *indent, const char *tag, const char *text)
{
    adds(b, indent);
    adds(b, "<");
    adds(b, tag);
    adds(b, ">");
    add_escaped(b, text);
    adds(b, "</");
    adds(b, tag);
    adds(b, ">\n");
}

static const char *state_name(int state)
{
    switch (state) {
    case SB_STATE_RUNNING: return "running";
    case SB_STATE_PAUSED: return "paused";
    case SB_STATE_DISK_SNAPSHOT: return "disk-snapshot";
    default: return "shutoff";
    }
}

/* The domain's uuid, from its definition (ESX's <domain><uuid/>). */
static char *uuid_of(sb_conn *c, const char *xml)
{
    struct sb_domain_view *v = NULL;
    char *u = NULL;
    if (xml && hv_host->domain_view(c->h, xml, &v) == 0) {
        u = hv_strdup(v->uuid);
        hv_host->domain_view_free(v);
    }
    return u;
}

static int format(char **out, sb_conn *c, struct hv_dom *d, const struct hv_snap *s)
{
    const char *parent = hv_name_of(d, s->parent_id);
    struct buf b = { 0 };
    char num[32];

    adds(&b, "<domainsnapshot>\n");
    elem(&b, "  ", "name", s->name);
    if (s->desc)
        elem(&b, "  ", "description", s->desc);
    elem(&b, "  ", "state", state_name(s->state));
    if (parent) {
        adds(&b, "  <parent>\n");
        elem(&b, "    ", "name", parent);
        adds(&b, "  </parent>\n");
    }
    snprintf(num, sizeof(num), "%lld", s->ctime);
    elem(&b, "  ", "creationTime", num);
    if (REFHV_VBOX && s->dom_xml) {
        /* the VM as it was, like vbox's minimal <domain type='vbox'> */
        const char *x = s->dom_xml;
        if (strncmp(x, "<?xml", 5) == 0 && strchr(x, '>'))
            x = strchr(x, '>') + 1;
        while (*x == '\n' || *x == ' ')
            x++;
        adds(&b, x);
        if (b.len && b.p[b.len - 1] != '\n')
            adds(&b, "\n");
    } else if (!REFHV_VBOX) {
        char *u = uuid_of(c, s->dom_xml);
        adds(&b, "  <domain>\n");
        if (u)
            elem(&b, "    ", "uuid", u);
        adds(&b, "  </domain>\n");
        hv_host->free(u);
    }
    adds(&b, "</domainsnapshot>\n");
    if (b.oom) {
        hv_host->free(b.p);
        return hv_oom(c);
    }
    *out = b.p;
    return 0;
}

int hv_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                        unsigned flags)
{
    struct hv_state st;
    struct hv_dom *d;
    struct hv_snap *s;
    int rc;

    *out_xml = NULL;
    if (flags)
        return hv_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                  "%s plugin: unsupported flags (0x%x) in snapshot_get_xml",
                                  HV_NAME, flags);
    if ((rc = open_dom(&st, &d, &s, c, domain, name, 0)) < 0)
        return rc;
    rc = format(out_xml, c, d, s);
    return done(&st, c, rc, 0);
}

int hv_snapshot_current(char **out_name, sb_conn *c, const char *domain)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    *out_name = NULL;
    if ((rc = open_dom(&st, &d, NULL, c, domain, NULL, 0)) < 0)
        return rc;
    if (!hv_name_of(d, d->current))
        rc = hv_host->set_error(c->h,
                                REFHV_VBOX ? SB_ERR_OPERATION_INVALID : SB_ERR_NO_DOMAIN_SNAPSHOT,
                                "domain '%s' has no current snapshot", domain);
    else if (!(*out_name = hv_strdup(hv_name_of(d, d->current))))
        rc = hv_oom(c);
    return done(&st, c, rc, 0);
}

int hv_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name)
{
    struct hv_state st;
    struct hv_dom *d;
    struct hv_snap *s;
    int rc;

    *out_name = NULL;
    if ((rc = open_dom(&st, &d, &s, c, domain, name, 0)) < 0)
        return rc;
    if (!s->parent_id)
        rc = hv_host->set_error(c->h, SB_ERR_NO_DOMAIN_SNAPSHOT,
                                "snapshot '%s' does not have a parent", name);
    else if (!(*out_name = hv_strdup(hv_name_of(d, s->parent_id))))
        rc = hv_oom(c);
    return done(&st, c, rc, 0);
}

int hv_snapshot_exists(sb_conn *c, const char *domain, const char *xml)
{
    struct hv_state st;
    struct hv_dom *d;
    char *name;
    int rc;

    if ((rc = name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = open_dom(&st, &d, NULL, c, domain, NULL, 0)) == 0) {
        rc = hv_find_snap(d, name) != NULL;
        hv_release(&st);
    }
    hv_host->free(name);
    return rc;
}
