/* Internal read operations (snap.h): XML, listings, current, parent, info.
 * Broker-owned metadata is answered from the open store's tree;
 * hypervisor-owned metadata by the plugin. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"

/* Refuse the plugin's document of snapshot name unless the broker's own
 * reader (hardened: no entities, no network, bounded) reads it and, where
 * names are unique, it is that snapshot's: garbage would be printed as the
 * snapshot's XML, and another snapshot's document taken for this one. */
static int plugin_doc_check(const sb_dom *d, const char *name, const char *xml,
                            sb_snapdef **out_def)
{
    char cause[sizeof(sb_error_last()->message)];
    const char *plugin = d->c->plugin->name;
    int rc;

    rc = sb_snapdef_parse(xml, strlen(xml), "plugin snapshot XML", SB_SNAP_PARSE_REDEFINE,
                          out_def);
    if (rc < 0) {
        snprintf(cause, sizeof(cause), "%s", sb_error_last()->message);
        return sb_error_set(SB_ERR_INTERNAL_ERROR,
                            "plugin '%s' returned unreadable XML for snapshot '%s' from "
                            "snapshot_get_xml: %s", plugin, name, cause);
    }
    /* Where names need not be unique the plugin may take a selector for
     * one of several (vbox: uuid:{UUID}), answered with the real name. */
    if (!d->c->caps->names_unique)
        return 0;
    if (!(*out_def)->name || strcmp((*out_def)->name, name) != 0)
        return sb_error_set(SB_ERR_INTERNAL_ERROR,
                            "plugin '%s' returned the XML of snapshot '%s' from "
                            "snapshot_get_xml for snapshot '%s'", plugin,
                            (*out_def)->name ? (*out_def)->name : "(unnamed)", name);
    return 0;
}

/* Hypervisor-owned metadata: the plugin's document of snapshot name and
 * its parse, both checked (out_def may be NULL: parsed, then freed). */
static int plugin_def(const sb_dom *d, const char *name, unsigned flags, char **out_xml,
                      sb_snapdef **out_def)
{
    const sb_loaded_plugin *p = d->c->plugin;
    sb_snapdef *def = NULL;
    int rc;

    SB_DISPATCH(rc, p, snapshot_get_xml, out_xml, d->c->conn, d->name, name, flags);
    if ((rc = sb_dispatch_out_str(p, "snapshot_get_xml", "XML", rc, out_xml)) >= 0)
        rc = plugin_doc_check(d, name, *out_xml, &def);
    if (rc < 0 || !out_def)
        sb_snapdef_free(def);
    else
        *out_def = def;
    if (rc < 0) {
        free(*out_xml);
        *out_xml = NULL;
    }
    return rc < 0 ? rc : 0;
}

int sb_snap__xml(const sb_dom *d, const char *name, unsigned flags, char **out)
{
    const sb_tree_node *n;
    int rc;

    *out = NULL;
    if (!d->s)
        return plugin_def(d, name, flags, out, NULL);
    if ((rc = sb_snap_lookup(d->s, d->name, name, &n)) < 0)
        return rc;
    return sb_snap_node_xml(n, (flags & SB_SNAPSHOT_XML_SECURE) ? SB_SNAP_FORMAT_SECURE : 0, out);
}

int sb_snap__def(const sb_dom *d, const char *name, unsigned flags, char **out_xml,
                 sb_snapdef **out_def)
{
    char *xml = NULL;
    int rc;

    *out_def = NULL;
    if (out_xml)
        *out_xml = NULL;
    if (!d->s)
        rc = plugin_def(d, name, flags, &xml, out_def); /* parsed once, there */
    else if ((rc = sb_snap__xml(d, name, flags, &xml)) == 0)
        rc = sb_snapdef_parse(xml, strlen(xml), "stored snapshot", SB_SNAP_PARSE_REDEFINE,
                              out_def);
    if (rc == 0 && out_xml)
        *out_xml = xml;
    else
        free(xml);
    return rc;
}

int sb_snap__list(const sb_dom *d, const char *from, unsigned flags, char ***out_names,
                  size_t *out_n)
{
    const sb_tree_node **nodes = NULL, *dummy;
    size_t n = 0;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    if (!d->s) {
        SB_DISPATCH(rc, d->c->plugin, snapshot_list, out_names, out_n, d->c->conn, d->name, from,
                    flags);
        rc = sb_dispatch_out_names(d->c->plugin, "snapshot_list", rc, out_names, out_n);
        return rc < 0 ? rc : 0;
    }
    if (from && (rc = sb_snap_lookup(d->s, d->name, from, &dummy)) < 0)
        return rc;
    if ((rc = sb_tree_list(sb_store_tree(d->s), from, flags, &nodes, &n)) == 0)
        rc = sb_names_from_nodes(out_names, out_n, nodes, n);
    free(nodes);
    return rc;
}

int sb_snap__count(const sb_dom *d, const char *from, unsigned flags, size_t *out_n)
{
    const sb_tree_node *dummy;
    int rc;

    *out_n = 0;
    if (!d->s) {
        char **names = NULL;
        if ((rc = sb_snap__list(d, from, flags, &names, out_n)) == 0)
            sb_names_free(names, *out_n);
        return rc;
    }
    if (from && (rc = sb_snap_lookup(d->s, d->name, from, &dummy)) < 0)
        return rc;
    /* The tree counts without walking for domain, roots, children and
     * leaves; filtered counts walk, but build nothing. */
    return sb_tree_list(sb_store_tree(d->s), from, flags, NULL, out_n);
}

int sb_snap__current(const sb_dom *d, char **out_name)
{
    int rc;

    *out_name = NULL;
    if (!d->s) {
        /* "no current snapshot" is an error class (NO_DOMAIN_SNAPSHOT), not NULL */
        SB_DISPATCH(rc, d->c->plugin, snapshot_current, out_name, d->c->conn, d->name);
        rc = sb_dispatch_out_str(d->c->plugin, "snapshot_current", "snapshot name", rc, out_name);
        return rc < 0 ? rc : 0;
    }
    const sb_tree_node *cur = sb_tree_current(sb_store_tree(d->s));
    if (!cur)
        return sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT,
                            "the domain '%s' does not have a current snapshot", d->name);
    return sb_strdup_out(out_name, sb_tree_node_name(cur));
}

int sb_snap__parent(const sb_dom *d, const char *name, char **out_name)
{
    const sb_tree_node *n, *p;
    int rc;

    *out_name = NULL;
    if (!d->s) {
        /* "no parent" is an error class (NO_DOMAIN_SNAPSHOT), not NULL */
        SB_DISPATCH(rc, d->c->plugin, snapshot_parent, out_name, d->c->conn, d->name, name);
        rc = sb_dispatch_out_str(d->c->plugin, "snapshot_parent", "snapshot name", rc, out_name);
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_snap_lookup(d->s, d->name, name, &n)) < 0)
        return rc;
    if (!(p = sb_tree_node_parent(n)))
        return sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT, "snapshot '%s' does not have a parent",
                            name);
    return sb_strdup_out(out_name, sb_tree_node_name(p));
}

/* Children and descendants from the plugin's own listings when it has
 * them (a listing from the snapshot, the DESCENDANTS filter); else from
 * the whole domain's family, loaded once into *fam for a listing's worth
 * of snapshots.  Unknown counts stay 0. */
static void hv_counts(const sb_dom *d, const char *name, sb_snapshot_info *out,
                      struct sb_snap_family **fam)
{
    size_t n = 0;
    int rc = sb_snap__count(d, name, 0, &n);

    if (rc == 0 &&
        sb_dispatch_check_flags(d->c->plugin, d->c->caps, SB_VERB_LIST_CHILDREN,
                                SB_SNAPSHOT_LIST_DESCENDANTS) == 0 &&
        sb_snap__count(d, name, SB_SNAPSHOT_LIST_DESCENDANTS, &out->descendants) == 0) {
        out->children = n;
        return;
    }
    if (rc < 0 && rc != -SB_ERR_NO_SUPPORT)
        return;
    if (!*fam) {
        if (!(*fam = calloc(1, sizeof(**fam))))
            return;
        if (sb_snap_family_load(d, *fam) < 0) /* unknown: an empty family */
            sb_snap_family_free(*fam);
    }
    sb_snap_family_counts(*fam, name, &out->children, &out->descendants);
}

/* Info for hypervisor-owned metadata, from the plugin's answers. */
static int info_from_plugin(const sb_dom *d, const char *name, sb_snapshot_info *out,
                            struct sb_snap_family **fam)
{
    char *cur = NULL, *parent = NULL;
    sb_snapdef *def = NULL;
    int rc;

    if ((rc = sb_snap__def(d, name, 0, NULL, &def)) < 0)
        return rc;
    out->state = def->state;
    out->external = sb_snapdef_is_external(def);
    out->creation_time = def->creation_time;
    /* the broker keeps none; the hypervisor may keep libvirt's kind */
    out->has_metadata = d->c->caps->hv_has_metadata != 0;
    /* The rest is optional: a plugin may legitimately fail to answer. */
    if (sb_snap__current(d, &cur) == 0)
        out->is_current = strcmp(cur, name) == 0;
    if (sb_snap__parent(d, name, &parent) == 0)
        snprintf(out->parent, sizeof(out->parent), "%s", parent);
    hv_counts(d, name, out, fam);
    sb_error_clear();
    sb_snapdef_free(def);
    free(cur);
    free(parent);
    return rc;
}

static void family_drop(struct sb_snap_family *fam)
{
    if (fam)
        sb_snap_family_free(fam);
    free(fam);
}

/* Info of one node of a loaded tree, descendants left at 0. */
static void node_info_base(sb_snapshot_info *out, const sb_tree *t, const sb_tree_node *n)
{
    const sb_tree_node *p = sb_tree_node_parent(n);

    memset(out, 0, sizeof(*out));
    out->state = sb_tree_node_state(n);
    out->external = sb_tree_node_external(n);
    out->is_current = sb_tree_node_is_current(t, n);
    out->has_metadata = 1;
    out->children = sb_tree_node_num_children(n);
    out->creation_time = sb_tree_node_creation_time(n);
    if (p) { /* names are at most SB_NAME_MAX bytes: this is a copy */
        const char *name = sb_tree_node_name(p);
        size_t len = strnlen(name, sizeof(out->parent) - 1);
        memcpy(out->parent, name, len);
        out->parent[len] = '\0';
    }
}

int sb_snap__info(const sb_dom *d, const char *name, sb_snapshot_info *out)
{
    const sb_tree_node *n;
    size_t count = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!d->s) {
        struct sb_snap_family *fam = NULL;
        rc = info_from_plugin(d, name, out, &fam);
        family_drop(fam);
        return rc;
    }
    if ((rc = sb_snap_lookup(d->s, d->name, name, &n)) < 0)
        return rc;
    const sb_tree *t = sb_store_tree(d->s);
    node_info_base(out, t, n);
    rc = sb_tree_list(t, name, SB_SNAPSHOT_LIST_DESCENDANTS, NULL, &count);
    out->descendants = count;
    return rc;
}

/* A listing with every node's info from the tree: descendant counts of
 * the whole tree in one walk (sb_tree_count_descendants) instead of one
 * walk per snapshot (O(N^2) for a long chain). */
static int infos_from_tree(const sb_dom *d, const char *from, unsigned flags, char ***out_names,
                           sb_snapshot_info **out_info, size_t *out_n)
{
    const sb_tree *t = sb_store_tree(d->s);
    const sb_tree_node **nodes = NULL, *dummy;
    sb_snapshot_info *info = NULL;
    size_t *desc = NULL, n = 0;
    int rc;

    if (from && (rc = sb_snap_lookup(d->s, d->name, from, &dummy)) < 0)
        return rc;
    if ((rc = sb_tree_list(t, from, flags, &nodes, &n)) < 0)
        return rc;
    info = calloc(n + 1, sizeof(*info));
    desc = calloc(n + 1, sizeof(*desc));
    if (!info || !desc)
        rc = sb_error_oom();
    if (rc == 0)
        rc = sb_tree_count_descendants(t, nodes, n, desc);
    for (size_t i = 0; i < n && rc == 0; i++) {
        node_info_base(&info[i], t, nodes[i]);
        info[i].descendants = desc[i];
    }
    if (rc == 0)
        rc = sb_names_from_nodes(out_names, out_n, nodes, n);
    free(nodes);
    free(desc);
    if (rc < 0) {
        free(info);
        return rc;
    }
    *out_info = info;
    return 0;
}

int sb_snap__list_info(const sb_dom *d, const char *from, unsigned flags, char ***out_names,
                       sb_snapshot_info **out_info, size_t *out_n)
{
    sb_snapshot_info *info = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc;

    *out_names = NULL;
    *out_info = NULL;
    *out_n = 0;
    if (!d->s) {
        if ((rc = sb_snap__list(d, from, flags, &names, &n)) < 0)
            return rc;
        struct sb_snap_family *fam = NULL;
        if (!(info = calloc(n + 1, sizeof(*info))))
            rc = sb_error_oom();
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = info_from_plugin(d, names[i], &info[i], &fam);
        family_drop(fam);
    } else {
        rc = infos_from_tree(d, from, flags, &names, &info, &n);
    }
    if (rc < 0) {
        free(info);
        sb_names_free(names, n);
        return rc;
    }
    *out_names = names;
    *out_info = info;
    *out_n = n;
    return 0;
}
