/* sb_snap__import (hier.h): a <domainsnapshots> document redefined as a
 * whole.  The document is read once as a stream (xml/snapcoll.h) for the
 * names, parents and current mark, the entries are ordered parents first
 * (sb_hier_order), and each entry then goes through the single redefine:
 *   - broker-owned metadata: sb_snap__redefine_entry into ONE store
 *     transaction, committed once (one record, one fdatasync): a failure
 *     or a crash anywhere before the commit leaves the store as it was;
 *   - hypervisor-owned: sb_snap__create(REDEFINE) entry by entry; when one
 *     fails, what was applied is undone in reverse order (an entry that
 *     replaced a snapshot gets its old definition back, a new one is
 *     deleted metadata-only) and the current snapshot is put back. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hier.h"
#include "core/snap.h"
#include "core/strlist.h"
#include "plugin/log.h"
#include "xml/snapcoll.h"
#include "xml/xml_util.h"

/* The document read and ordered. */
struct plan {
    sb_snapcoll coll;
    size_t *order;
    const sb_snapcoll_entry *current; /* the entry marked current='yes', or NULL */
};

static void plan_clear(struct plan *p)
{
    sb_snapcoll_clear(&p->coll);
    free(p->order);
}

/* "SOURCE:LINE: snapshot 'NAME': " before the thread's error. */
static void entry_context(const struct sb_import_request *rq, const sb_snapcoll_entry *e)
{
    if (rq->source)
        sb_error_prefix("%s:%ld: snapshot '%s'", rq->source, e->line, e->name);
    else
        sb_error_prefix("line %ld: snapshot '%s'", e->line, e->name);
}

static int plan_make(struct plan *p, const struct sb_import_request *rq)
{
    const char **names = NULL, **parents = NULL;
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = sb_snapcoll_read(&p->coll, rq->xml, rq->len, rq->source)) < 0)
        return rc;
    size_t n = p->coll.n;
    names = calloc(n + 1, sizeof(*names));
    parents = calloc(n + 1, sizeof(*parents));
    p->order = malloc((n + 1) * sizeof(*p->order));
    if (!names || !parents || !p->order)
        rc = sb_error_oom();
    for (size_t i = 0; i < n && rc == 0; i++) {
        const sb_snapcoll_entry *e = &p->coll.v[i];
        if (!e->name || !*e->name)
            rc = sb_xml_error_line(rq->source, e->line, SB_ERR_XML_ERROR,
                                   "a snapshot without a name");
        else if (e->current && p->current)
            rc = sb_error_set(SB_ERR_INVALID_ARG,
                              "snapshots '%s' and '%s' are both marked current='yes'",
                              p->current->name, e->name);
        else if (e->current)
            p->current = e;
        names[i] = e->name;
        parents[i] = e->parent;
    }
    if (rc == 0)
        rc = sb_hier_order(names, parents, n, p->order, NULL);
    free(names);
    free(parents);
    return rc;
}

/* The entry's bytes as a string of its own (the redefine reads strings),
 * without its current= attribute. */
static int entry_xml(sb_buf *b, const struct sb_import_request *rq, const sb_snapcoll_entry *e)
{
    const char *x = rq->xml + e->offset;
    b->len = 0;
    sb_buf_addn(b, x, e->attr_len ? e->attr_off : e->len);
    if (e->attr_len)
        sb_buf_addn(b, x + e->attr_off + e->attr_len, e->len - e->attr_off - e->attr_len);
    return b->oom ? sb_error_oom() : 0;
}

static unsigned redefine_flags(const struct sb_import_request *rq)
{
    return SB_SNAPSHOT_CREATE_REDEFINE |
           ((rq->flags & SB_SNAPSHOT_IMPORT_VALIDATE) ? SB_SNAPSHOT_CREATE_VALIDATE : 0);
}

/* The entry's own name must be the one ordering used (a document whose
 * entries say otherwise than their first <name> is refused). */
static int same_name(const sb_snapcoll_entry *e, const char *name)
{
    if (strcmp(e->name, name) == 0)
        return 0;
    return sb_error_set(SB_ERR_XML_ERROR, "its definition is named '%s'", name);
}

static int import_store(sb_dom *d, const struct sb_import_request *rq, const struct plan *p)
{
    sb_buf text = { 0 };
    int rc;

    if ((rc = sb_store_begin(d->s)) < 0)
        return rc;
    for (size_t k = 0; k < p->coll.n && rc == 0; k++) {
        const sb_snapcoll_entry *e = &p->coll.v[p->order[k]];
        struct sb_snap_request srq = {
            .flags = redefine_flags(rq),
            .domain_xml = rq->domain_xml,
            .maps = rq->maps,
            .nmaps = rq->nmaps,
        };
        char *name = NULL;
        if ((rc = entry_xml(&text, rq, e)) < 0)
            break;
        srq.xml = text.data;
        if ((rc = sb_snap__redefine_entry(d, &srq, &name)) == 0)
            rc = same_name(e, name);
        if (rc < 0)
            entry_context(rq, e);
        free(name);
    }
    if (rc == 0 && p->current && (rq->flags & SB_SNAPSHOT_IMPORT_CURRENT))
        rc = sb_store_set_current(d->s, p->current->name);
    if (rc == 0)
        rc = sb_store_commit(d->s);
    if (sb_store_in_transaction(d->s))
        sb_store_rollback(d->s);
    sb_buf_clear(&text);
    return rc;
}

/* ---- hypervisor-owned metadata ---- */

/* What an entry replaced: its old definition, NULL when it was new. */
struct undo {
    char **old_xml;
    size_t applied;   /* entries (in order) the plugin took */
    char *old_current;
};

/* Put back entries [0, u->applied) in reverse order, then the current
 * snapshot.  Keeps the error that made the import fail; a step that fails
 * here is logged and the others still run. */
static void undo_applied(sb_dom *d, const struct plan *p, struct undo *u)
{
    sb_error failure = *sb_error_last();

    for (size_t k = u->applied; k > 0; k--) {
        const sb_snapcoll_entry *e = &p->coll.v[p->order[k - 1]];
        char *old = u->old_xml[k - 1];
        int rc;
        if (old) {
            struct sb_snap_request rq = { .xml = old, .flags = SB_SNAPSHOT_CREATE_REDEFINE };
            char *domain_xml = NULL;
            if ((rc = sb_conn_domain_xml(d->c, d->name, &domain_xml)) == 0) {
                rq.domain_xml = domain_xml;
                rc = sb_snap__create(d, &rq, NULL);
            }
            free(domain_xml);
        } else {
            rc = sb_snap__delete(d, e->name, SB_SNAPSHOT_DELETE_METADATA_ONLY);
        }
        if (rc < 0)
            sb_log_write(SB_LOG_ERROR, "broker",
                         "import into domain '%s': could not undo snapshot '%s': %s", d->name,
                         e->name, sb_error_last()->message);
    }
    if (u->old_current && sb_snap__set_current(d, u->old_current) < 0)
        sb_log_write(SB_LOG_ERROR, "broker",
                     "import into domain '%s': could not make '%s' current again: %s", d->name,
                     u->old_current, sb_error_last()->message);
    sb_error_set(failure.code, "%s", failure.message);
}

/* Remember what each entry would replace (the plugin's listing says
 * which exist), and the current snapshot. */
static int undo_prepare(sb_dom *d, const struct plan *p, struct undo *u)
{
    unsigned xml_flags = SB_SNAPSHOT_XML_SECURE & d->c->caps->xml_flags;
    char **names = NULL;
    size_t n = 0;
    int rc;

    if (!(u->old_xml = calloc(p->coll.n + 1, sizeof(char *))))
        return sb_error_oom();
    if ((rc = sb_snap__list(d, NULL, 0, &names, &n)) < 0)
        return rc;
    qsort(names, n, sizeof(*names), sb_str_cmp);
    for (size_t k = 0; k < p->coll.n && rc == 0; k++) {
        const char *name = p->coll.v[p->order[k]].name;
        if (bsearch(&name, names, n, sizeof(*names), sb_str_cmp))
            rc = sb_snap__xml(d, name, xml_flags, &u->old_xml[k]);
    }
    sb_names_free(names, n);
    if (rc == 0 && sb_snap__current(d, &u->old_current) < 0)
        sb_error_clear(); /* none */
    return rc;
}

static int import_plugin(sb_dom *d, const struct sb_import_request *rq, const struct plan *p)
{
    struct undo u = { 0 };
    sb_buf text = { 0 };
    int rc;

    if ((rc = undo_prepare(d, p, &u)) < 0)
        goto out;
    for (size_t k = 0; k < p->coll.n && rc == 0; k++) {
        const sb_snapcoll_entry *e = &p->coll.v[p->order[k]];
        bool cur = e == p->current && (rq->flags & SB_SNAPSHOT_IMPORT_CURRENT);
        struct sb_snap_request srq = {
            .flags = redefine_flags(rq) | (cur ? SB_SNAPSHOT_CREATE_CURRENT : 0),
            .domain_xml = rq->domain_xml,
            .maps = rq->maps,
            .nmaps = rq->nmaps,
        };
        char *name = NULL;
        if ((rc = entry_xml(&text, rq, e)) < 0)
            break;
        srq.xml = text.data;
        if ((rc = sb_snap__create(d, &srq, &name)) == 0) {
            u.applied = k + 1;
            rc = same_name(e, name);
        }
        if (rc < 0)
            entry_context(rq, e);
        free(name);
    }
    if (rc < 0)
        undo_applied(d, p, &u);
out:
    for (size_t k = 0; u.old_xml && k < p->coll.n; k++)
        free(u.old_xml[k]);
    free(u.old_xml);
    free(u.old_current);
    sb_buf_clear(&text);
    return rc;
}

int sb_snap__import(sb_dom *d, const struct sb_import_request *rq, size_t *out_n)
{
    struct plan p;
    int rc;

    *out_n = 0;
    if ((rc = plan_make(&p, rq)) == 0)
        rc = d->s ? import_store(d, rq, &p) : import_plugin(d, rq, &p);
    if (rc == 0)
        *out_n = p.coll.n;
    plan_clear(&p);
    return rc;
}
