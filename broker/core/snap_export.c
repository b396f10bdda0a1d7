/* sb_snap__export (hier.h): a hierarchy as one <domainsnapshots> document.
 * Each entry is the snapshot's XML as sb_snap__xml gives it (what
 * snapshot-dumpxml prints), in sb_hier_order's order, the current one
 * marked current='yes' on its root element. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hier.h"
#include "core/snap.h"
#include "xml/xml_util.h"

/* The snapshots to export with their parents and XML, in an order whose
 * siblings are oldest first (what sb_hier_order keeps). */
struct set {
    char **names;
    char **parents; /* NULL entries for roots */
    char **xml;
    size_t n;
    char *current;  /* NULL when there is none */
};

static void set_clear(struct set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->parents[i]);
        free(s->xml[i]);
    }
    free(s->names);
    free(s->parents);
    free(s->xml);
    free(s->current);
}

static int set_alloc(struct set *s, size_t n)
{
    s->names = calloc(n + 1, sizeof(char *));
    s->parents = calloc(n + 1, sizeof(char *));
    s->xml = calloc(n + 1, sizeof(char *));
    if (!s->names || !s->parents || !s->xml)
        return sb_error_oom(); /* n stays 0: set_clear frees the arrays alone */
    s->n = n;
    return 0;
}

/* Broker-owned: the tree's depth-first listing (newest child first),
 * reversed, puts every sibling group oldest first. */
static int collect_store(const sb_dom *d, const char *from, unsigned flags, struct set *s)
{
    const sb_tree *t = sb_store_tree(d->s);
    const sb_tree_node **nodes = NULL, *top = NULL;
    size_t n = 0;
    int rc;

    if (from && (rc = sb_snap_lookup(d->s, d->name, from, &top)) < 0)
        return rc;
    rc = sb_tree_list(t, from, from ? SB_SNAPSHOT_LIST_DESCENDANTS | SB_SNAPSHOT_LIST_TOPOLOGICAL
                                    : SB_SNAPSHOT_LIST_TOPOLOGICAL,
                      &nodes, &n);
    if (rc == 0)
        rc = set_alloc(s, n + (top != NULL));
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        /* from itself first: its subtree's root */
        const sb_tree_node *nd = top ? (i == 0 ? top : nodes[n - i]) : nodes[n - 1 - i];
        const sb_tree_node *p = sb_tree_node_parent(nd);
        if (!(s->names[i] = strdup(sb_tree_node_name(nd))) ||
            (p && !(s->parents[i] = strdup(sb_tree_node_name(p)))))
            rc = sb_error_oom();
        else
            rc = sb_snap_node_xml(nd, (flags & SB_SNAPSHOT_XML_SECURE) ? SB_SNAP_FORMAT_SECURE : 0,
                                  &s->xml[i]);
    }
    const sb_tree_node *cur = sb_tree_current(t);
    if (rc == 0 && cur && !(s->current = strdup(sb_tree_node_name(cur))))
        rc = sb_error_oom();
    free(nodes);
    return rc;
}

/* Hypervisor-owned: the plugin's listing and each snapshot's XML; the
 * parent is read from the XML (one call per snapshot, not two). */
static int collect_plugin(const sb_dom *d, unsigned flags, struct set *s)
{
    char **names = NULL;
    size_t n = 0;
    int rc;

    if ((rc = sb_snap__list(d, NULL, 0, &names, &n)) < 0)
        return rc;
    if ((rc = set_alloc(s, n)) < 0) {
        sb_names_free(names, n);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        sb_snapdef *def = NULL;
        s->names[i] = names[i];
        names[i] = NULL;
        if ((rc = sb_snap__def(d, s->names[i], flags, &s->xml[i], &def)) == 0 && def->parent &&
            !(s->parents[i] = strdup(def->parent)))
            rc = sb_error_oom();
        if (rc < 0)
            sb_error_prefix("snapshot '%s'", s->names[i]);
        sb_snapdef_free(def);
    }
    sb_names_free(names, n);
    if (rc == 0 && sb_snap__current(d, &s->current) < 0) {
        sb_error_clear(); /* no current snapshot */
        s->current = NULL;
    }
    return rc;
}

/* Append one entry: the XML with current='yes' on its root element (an
 * XML declaration a plugin put first is left out: it cannot be inside). */
static void add_entry(sb_buf *b, const char *xml, bool current)
{
    if (strncmp(xml, "<?xml", 5) == 0) {
        const char *e = strstr(xml, "?>");
        xml = e ? e + 2 : xml;
        xml += strspn(xml, " \t\r\n");
    }
    size_t tag = strlen("<domainsnapshot");
    if (current && strncmp(xml, "<domainsnapshot", tag) == 0) {
        sb_buf_addn(b, xml, tag);
        sb_buf_add(b, " current='yes'");
        xml += tag;
    }
    sb_buf_add(b, xml);
    if (!*xml || xml[strlen(xml) - 1] != '\n')
        sb_buf_add(b, "\n");
}

int sb_snap__export(const sb_dom *d, const char *from, unsigned flags, char **out)
{
    struct set s = { 0 };
    size_t *order = NULL, *parent = NULL;
    bool *in = NULL;
    sb_buf b = { 0 };
    int rc;

    *out = NULL;
    rc = d->s ? collect_store(d, from, flags, &s) : collect_plugin(d, flags, &s);
    if (rc == 0 && (!(order = malloc((s.n + 1) * sizeof(*order))) ||
                    !(parent = malloc((s.n + 1) * sizeof(*parent)))))
        rc = sb_error_oom();
    if (rc == 0)
        rc = sb_hier_order((const char *const *)s.names, (const char *const *)s.parents, s.n,
                           order, parent);
    if (rc < 0)
        goto out;
    /* A subtree of a hypervisor's tree: from, then whatever has an
     * exported parent (parents come first in the order). */
    if (from && !d->s) {
        bool found = false;
        if (!(in = calloc(s.n + 1, sizeof(*in)))) {
            rc = sb_error_oom();
            goto out;
        }
        for (size_t k = 0; k < s.n; k++) {
            size_t i = order[k];
            in[i] = strcmp(s.names[i], from) == 0 || (parent[i] != SB_HIER_NONE && in[parent[i]]);
            found = found || strcmp(s.names[i], from) == 0;
        }
        if (!found) {
            rc = sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT,
                              "no domain snapshot with matching name '%s' in domain '%s'", from,
                              d->name);
            goto out;
        }
    }
    sb_buf_add(&b, "<domainsnapshots>\n");
    for (size_t k = 0; k < s.n; k++) {
        size_t i = order[k];
        if (!in || in[i])
            add_entry(&b, s.xml[i], s.current && strcmp(s.current, s.names[i]) == 0);
    }
    sb_buf_add(&b, "</domainsnapshots>\n");
    rc = sb_buf_finish(&b, out);
out:
    free(in);
    free(parent);
    free(order);
    set_clear(&s);
    return rc;
}
