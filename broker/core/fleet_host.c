/* One host of the fleet view (fleet.h): its own read-only connection,
 * every domain (by name), every snapshot of each with what the tree (or
 * the plugin, for hypervisor-owned metadata) says, and the space it holds
 * where the plugin can tell (ABI 1.1 snapshot_usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fleet.h"
#include "core/snap.h"
#include "core/strlist.h"

static void snap_free(struct sb_fleet_snap *s)
{
    free(s->domain);
    free(s->name);
    free(s->parent);
    free(s->where);
}

void sb_fleet__result_clear(struct sb_fleet_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        snap_free(&r->v[i]);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Keep the first failure of the host; later ones are usually its
 * consequences. */
static void failed(struct sb_fleet_result *r, const char *domain)
{
    const sb_error *e = sb_error_last();
    if (r->status == 0) {
        r->status = e->code != SB_OK ? -e->code : -SB_ERR_INTERNAL_ERROR;
        if (domain)
            sb_error_prefix("domain '%s'", domain);
        snprintf(r->error, sizeof(r->error), "%s", e->message);
    }
    sb_error_clear();
}

static struct sb_fleet_snap *add(struct sb_fleet_result *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct sb_fleet_snap *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    memset(&r->v[r->n], 0, sizeof(r->v[0]));
    return &r->v[r->n++];
}

/* Drop the last snapshot added (filtered out after all). */
static void drop_last(struct sb_fleet_result *r)
{
    snap_free(&r->v[--r->n]);
}

/* The space one snapshot holds, when the plugin can tell; otherwise it
 * stays unknown (a plugin that cannot answer is not a failed host). */
static void ask_usage(sb_dom *d, struct sb_fleet_snap *s, const char *xml)
{
    struct sb_snapshot_usage u;
    int rc;

    if (!sb_dispatch_has(d->c->plugin, SB_OP_SNAPSHOT_USAGE))
        return;
    memset(&u, 0, sizeof(u));
    u.struct_size = sizeof(u);
    SB_DOM_DISPATCH(rc, d, snapshot_usage, &u, d->c->conn, d->name, s->name, xml);
    if (rc < 0) {
        sb_error_clear();
        return;
    }
    u.location[sizeof(u.location) - 1] = '\0';
    s->known_bytes = u.known_bytes != 0;
    s->bytes = s->known_bytes ? u.bytes : 0;
    s->memory_bytes = s->known_bytes ? u.memory_bytes : 0;
    if (u.location[0] && !(s->where = strdup(u.location)))
        sb_error_oom();
}

/* Fill in the rest of s (its name, state, time, parent set), apply the
 * filters; 0 kept, 1 filtered out, negative on out of memory. */
static int finish(sb_dom *d, struct sb_fleet_snap *s, const char *xml,
                  const struct sb_fleet_filter *f)
{
    if (f->created_before > 0 && s->creation_time >= f->created_before)
        return 1;
    if (f->usage) /* set by the size filter too (job_new) */
        ask_usage(d, s, xml);
    if (f->size_filter && (!s->known_bytes || s->bytes <= f->larger_than))
        return 1;
    if (!(s->domain = strdup(d->name)))
        return sb_error_oom();
    return 0;
}

static int list_store(struct sb_fleet_result *r, sb_dom *d, const struct sb_fleet_filter *f)
{
    const sb_tree *t = sb_store_tree(d->s);
    const sb_tree_node **nodes = NULL;
    size_t n = 0;
    int rc;

    if ((rc = sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &nodes, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const sb_tree_node *nd = nodes[i], *p = sb_tree_node_parent(nd);
        struct sb_fleet_snap *s = add(r);
        if (!s || !(s->name = strdup(sb_tree_node_name(nd))) ||
            (p && !(s->parent = strdup(sb_tree_node_name(p))))) {
            rc = sb_error_oom();
            break;
        }
        s->creation_time = sb_tree_node_creation_time(nd);
        s->state = sb_tree_node_state(nd);
        s->external = sb_tree_node_external(nd);
        s->is_current = sb_tree_node_is_current(t, nd);
        if ((rc = finish(d, s, sb_tree_node_xml(nd), f)) != 0)
            drop_last(r);
        rc = rc < 0 ? rc : 0;
    }
    free(nodes);
    return rc;
}

/* Hypervisor-owned: the plugin's listing, its current snapshot, and each
 * snapshot's XML (one call each) for state, time, parent and location. */
static int list_plugin(struct sb_fleet_result *r, sb_dom *d, const struct sb_fleet_filter *f)
{
    char **names = NULL, *cur = NULL;
    size_t n = 0;
    int rc;

    if ((rc = sb_snap__list(d, NULL, 0, &names, &n)) < 0)
        return rc;
    if (sb_snap__current(d, &cur) < 0)
        sb_error_clear(); /* none */
    for (size_t i = 0; i < n && rc == 0; i++) {
        sb_snapdef *def = NULL;
        struct sb_fleet_snap *s;
        if ((rc = sb_snap__def(d, names[i], 0, NULL, &def)) < 0) {
            sb_error_prefix("snapshot '%s'", names[i]);
        } else if (!(s = add(r)) || !(s->name = strdup(names[i])) ||
                   (def->parent && !(s->parent = strdup(def->parent)))) {
            rc = sb_error_oom();
        } else {
            s->creation_time = def->creation_time;
            s->state = def->state;
            s->external = sb_snapdef_is_external(def);
            s->is_current = cur && strcmp(cur, names[i]) == 0;
            if ((rc = finish(d, s, NULL, f)) != 0)
                drop_last(r);
            rc = rc < 0 ? rc : 0;
        }
        sb_snapdef_free(def);
    }
    free(cur);
    sb_names_free(names, n);
    return rc;
}

void sb_fleet__list_host(struct sb_fleet_result *out, sb_broker *b, const char *host,
                         const struct sb_fleet_filter *f)
{
    sb_connection *c = NULL;
    char **doms = NULL;
    size_t ndoms = 0;

    memset(out, 0, sizeof(*out));
    sb_error_clear();
    if (sb_connect(&c, b, host, SB_CONNECT_READONLY) < 0 ||
        sb_conn_domain_names(c, 0, &doms, &ndoms) < 0) {
        failed(out, NULL);
        sb_disconnect(c);
        return;
    }
    qsort(doms, ndoms, sizeof(*doms), sb_str_cmp);
    for (size_t i = 0; i < ndoms; i++) {
        sb_dom d;
        int rc;
        if (f->domain && strcmp(f->domain, doms[i]) != 0)
            continue;
        out->domains++;
        if ((rc = sb_dom_open(&d, c, doms[i], SB_DOM_READ | SB_DOM_EXISTS)) == 0)
            rc = d.s ? list_store(out, &d, f) : list_plugin(out, &d, f);
        sb_dom_close(&d);
        if (rc == -SB_ERR_NO_DOMAIN) /* gone since the listing */
            sb_error_clear();
        else if (rc < 0)
            failed(out, doms[i]);
    }
    sb_names_free(doms, ndoms);
    sb_disconnect(c);
}
