/* sb_snap__create (snap.h): one of three paths:
 *   - REDEFINE with broker-owned metadata: metadata only, in the store;
 *   - create with broker-owned metadata: intent, plugin, store;
 *   - hypervisor-owned metadata: normalized XML to the plugin, which is
 *     the source of truth.
 * And sb_snap__set_current, which is a redefine for hypervisor-owned
 * metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"
#include "plugin/log.h"
#include "store/names.h"
#include "xml/xml_util.h"

/* Name rules of the plugin and of the store (§4.1). */
static int check_name(const sb_connection *c, const char *name, unsigned flags)
{
    /* Names are at most SB_NAME_MAX bytes everywhere in snapbroker (the
     * public sb_snapshot_info holds one); a plugin may only lower that. */
    uint32_t max = c->caps->name_max && c->caps->name_max < SB_NAME_MAX
                       ? c->caps->name_max
                       : SB_NAME_MAX;
    int rc;

    if (strlen(name) > max)
        return sb_error_set(SB_ERR_XML_DETAIL,
                            "snapshot name '%.40s...' is longer than %u bytes (plugin '%s')",
                            name, max, c->plugin->name);
    if (sb_conn_broker_meta(c) && !(flags & SB_SNAPSHOT_CREATE_NO_METADATA) &&
        (rc = sb_name_check_snapshot(name)) < 0)
        return rc;
    return 0;
}

static int check_limits(const sb_connection *c, const sb_tree *t, const char *parent)
{
    const struct sb_plugin_caps *caps = c->caps;

    if (caps->max_snapshots && sb_tree_count(t) >= caps->max_snapshots)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "domain already has %zu snapshots, the most plugin '%s' allows",
                            sb_tree_count(t), c->plugin->name);
    if (caps->max_depth && parent) {
        size_t depth = 1;
        for (const sb_tree_node *n = sb_tree_lookup(t, parent); n; n = sb_tree_node_parent(n))
            depth++;
        if (depth > caps->max_depth)
            return sb_error_set(SB_ERR_OPERATION_INVALID,
                                "snapshot would be %zu deep, deeper than plugin '%s' allows (%u)",
                                depth, c->plugin->name, caps->max_depth);
    }
    return 0;
}

/* The snapshots of one domain (a series of redefines, an import) mostly
 * carry the same <domain>.  The connection keeps the last one a redefine
 * carried, printed as the stored document prints it, and whether the
 * plugin accepted it: comparing two trees node by node costs a fraction
 * of printing one (the print was about an eighth of a redefine's
 * instructions) or of the plugin's check (for the qemu plugin a second
 * parse of the whole <domain>).  Returns the memo's print when it holds
 * def's <domain>, else NULL (no <domain>, or no memory for the memo: the
 * caller prints it itself). */
static const char *domain_memo(sb_connection *c, const sb_snapdef *def)
{
    if (!def->domain)
        return NULL;
    if (c->memo_domain && sb_xml_same_tree(xmlDocGetRootElement(c->memo_domain),
                                           xmlDocGetRootElement(def->domain), false))
        return c->memo_domain_print;
    xmlFreeDoc(c->memo_domain);
    free(c->memo_domain_print);
    c->memo_domain = NULL;
    c->memo_domain_print = NULL;
    c->memo_domain_accepted = false;
    char *print = NULL;
    xmlDoc *copy = xmlCopyDoc(def->domain, 1);
    if (!copy || sb_snapdef_print_domain(def, &print) < 0) {
        xmlFreeDoc(copy);
        sb_error_clear(); /* only the memo is missing */
        return NULL;
    }
    c->memo_domain = copy;
    c->memo_domain_print = print;
    return print;
}

/* The plugin's own check of a redefined snapshot's <domain> and
 * <inactiveDomain> (domain_validate, when it has one), the one define
 * makes: a definition the plugin can never act on (another virt type,
 * impossible device addresses) is refused now, not by a later revert.
 * Asked once per distinct <domain> on a connection (domain_memo); an
 * <inactiveDomain> (rare: a running guest whose next boot differs) the
 * same as the memo's accepted <domain> is not asked either. */
static int validate_domains(sb_connection *c, const sb_snapdef *def, bool memo_holds_domain)
{
    const xmlDoc *docs[2] = { def->domain, def->inactive_domain };
    int rc = 0;

    if (!sb_dispatch_has(c->plugin, SB_OP_DOMAIN_VALIDATE))
        return 0;
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        char *xml = NULL;
        if (!docs[i])
            continue;
        /* an <inactiveDomain> goes to the plugin as a <domain> */
        bool memo = i == 0 ? memo_holds_domain
                           : c->memo_domain && sb_xml_same_tree(
                                                   xmlDocGetRootElement(c->memo_domain),
                                                   xmlDocGetRootElement(docs[i]), true);
        if (memo && c->memo_domain_accepted)
            continue;
        if ((rc = sb_snap_print_domain(docs[i], i ? "domain" : NULL, &xml)) < 0)
            break;
        SB_DISPATCH(rc, c->plugin, domain_validate, c->conn, xml, 0);
        free(xml);
        if (rc < 0) {
            sb_error_prefix("snapshot '%s': %s", def->name,
                            i ? "its <inactiveDomain>" : "its <domain>");
            break;
        }
        if (i == 0 && memo)
            c->memo_domain_accepted = true;
    }
    return rc;
}

/* Redefine, broker-owned: the relation checks of §5.4 on the parse, before
 * any alignment (libvirt's order); a snapshot redefined without <domain>
 * keeps its stored one (§9.2).  The caller holds the operation lock, so
 * the tree cannot change under the checks. */
static int redefine_after_parse(struct sb_snap_request *rq, const sb_snapdef *def)
{
    const sb_dom *d = rq->opaque;
    const sb_tree *t = sb_store_tree(d->s);
    sb_tree_snapshot peek = sb_snap_tree_entry(def, NULL);
    sb_snapdef *old = NULL;
    int rc;

    if ((rc = sb_tree_redefine_check(t, &peek)) < 0 || def->domain)
        return rc;
    const sb_tree_node *existing = sb_tree_lookup(t, def->name);
    const char *oxml = existing ? sb_tree_node_xml(existing) : NULL;
    if (!oxml)
        return 0;
    if ((rc = sb_snapdef_parse(oxml, strlen(oxml), "stored snapshot", SB_SNAP_PARSE_REDEFINE,
                               &old)) < 0)
        return rc;
    rq->stored_domain = old->domain;
    old->domain = NULL;
    sb_snapdef_free(old);
    return 0;
}

/* Parse, check and format a redefine (broker-owned): the definition and
 * its canonical XML as the store keeps it. */
static int redefine_prepare(sb_dom *d, struct sb_snap_request *rq, sb_snapdef **out_def,
                            char **out_xml)
{
    int rc;

    *out_xml = NULL;
    rq->after_parse = redefine_after_parse;
    rq->opaque = d;
    if ((rc = sb_snap_prepare(out_def, d->c, d->name, rq)) < 0)
        return rc;
    if ((rc = check_name(d->c, (*out_def)->name, rq->flags)) == 0) {
        const char *domain_print = domain_memo(d->c, *out_def);
        if ((rc = validate_domains(d->c, *out_def, domain_print != NULL)) == 0)
            rc = sb_snapdef_format_with(*out_def, SB_SNAP_FORMAT_SECURE, domain_print, out_xml);
    }
    if (rc < 0) {
        sb_snapdef_free(*out_def);
        *out_def = NULL;
    }
    return rc;
}

int sb_snap__redefine_entry(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    sb_snapdef *def = NULL;
    char *xml = NULL;
    int rc;

    if ((rc = redefine_prepare(d, rq, &def, &xml)) < 0)
        return rc;
    sb_tree_snapshot e = sb_snap_tree_entry(def, xml);
    if ((rc = sb_store_redefine(d->s, &e)) == 0 && out_name)
        rc = sb_strdup_out(out_name, def->name);
    free(xml);
    sb_snapdef_free(def);
    return rc;
}

static int redefine_broker(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    sb_store *s = d->s;
    sb_snapdef *def = NULL;
    char *xml = NULL;
    int rc;

    if ((rc = redefine_prepare(d, rq, &def, &xml)) < 0)
        goto out;
    /* Only the commit holds the store's exclusive lock; the store checks
     * the relation again under it. */
    sb_tree_snapshot e = sb_snap_tree_entry(def, xml);
    if ((rc = sb_store_begin(s)) < 0 || (rc = sb_store_redefine(s, &e)) < 0 ||
        ((rq->flags & SB_SNAPSHOT_CREATE_CURRENT) && (rc = sb_store_set_current(s, def->name)) < 0) ||
        (rc = sb_store_commit(s)) < 0)
        goto out;
    if (out_name)
        rc = sb_strdup_out(out_name, def->name);
out:
    if (sb_store_in_transaction(s))
        sb_store_rollback(s);
    free(xml);
    sb_snapdef_free(def);
    return rc;
}

static int create_broker(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    sb_connection *c = d->c;
    sb_store *s = d->s;
    sb_snapdef *def = NULL, *final_def = NULL;
    char *xml = NULL, *plugin_xml = NULL, *final_xml = NULL;
    uint64_t intent = 0;
    bool have_intent = false, touched = false;
    int rc;

    if ((rc = sb_snap_prepare(&def, c, d->name, rq)) < 0)
        goto out;
    if ((rc = check_name(c, def->name, rq->flags)) < 0)
        goto out;
    /* The caller holds the domain's operation lock, so the duplicate check
     * and the parent stay true until the snapshot is recorded. */
    const sb_tree *t = sb_store_tree(s);
    const sb_tree_node *cur = sb_tree_current(t);
    bool no_meta = rq->flags & SB_SNAPSHOT_CREATE_NO_METADATA;
    if (!no_meta) {
        if (sb_tree_lookup(t, def->name)) {
            rc = sb_error_set(SB_ERR_OPERATION_FAILED, "snapshot '%s' already exists in domain '%s'",
                              def->name, d->name);
            goto out;
        }
        if ((rc = check_limits(c, t, cur ? sb_tree_node_name(cur) : NULL)) < 0)
            goto out;
    }
    free(def->parent);
    def->parent = NULL;
    if (cur && !(def->parent = strdup(sb_tree_node_name(cur)))) {
        rc = sb_error_oom();
        goto out;
    }
    if ((rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        goto out;
    /* The intent carries the full definition (parent included), so a
     * reconciler can adopt the snapshot.  NO_METADATA snapshots get none:
     * the metadata is never to know them, crash or not. */
    if (!no_meta) {
        if ((rc = sb_snap_intent_begin(d, "create", def->name, xml, &intent)) < 0)
            goto out;
        have_intent = true;
    }

    SB_DOM_DISPATCH(rc, d, snapshot_create, &plugin_xml, c->conn, d->name, xml, rq->flags);
    if (rc < 0)
        goto out;
    /* The hypervisor has the snapshot now.  If recording it fails below,
     * the intent stays so that `check` can adopt it. */
    touched = true;

    const sb_snapdef *stored = def;
    /* The snapshot exists now: a result we cannot read must not make us
     * forget it, so fall back to what we asked for. */
    if (plugin_xml && sb_snap_plugin_answer(c, "snapshot_create", def->name, plugin_xml,
                                            &final_xml, &final_def) == 0) {
        if (strcmp(final_def->name, def->name) == 0) {
            stored = final_def;
        } else {
            sb_log_write(SB_LOG_WARN, "broker",
                         "plugin '%s' answered snapshot_create of snapshot '%s' with the "
                         "definition of '%s'; keeping the one it was given",
                         c->plugin->name, def->name, final_def->name);
            free(final_xml);
            final_xml = NULL;
        }
    }
    if (!(rq->flags & SB_SNAPSHOT_CREATE_NO_METADATA)) {
        sb_tree_snapshot e = sb_snap_tree_entry(stored, final_xml ? final_xml : xml);
        e.parent = def->parent;
        if ((rc = sb_store_begin(s)) < 0 || (rc = sb_store_add(s, &e)) < 0 ||
            (rc = sb_store_set_current(s, def->name)) < 0 ||
            (rc = sb_store_intent_end(s, intent)) < 0 || (rc = sb_store_commit(s)) < 0)
            goto out;
        have_intent = false;
    }
    if (out_name)
        rc = sb_strdup_out(out_name, def->name);
out:
    if (sb_store_in_transaction(s))
        sb_store_rollback(s);
    /* Failed before the hypervisor changed: nothing to reconcile. */
    if (have_intent && !touched)
        sb_snap_intent_abandon(s, intent);
    free(xml);
    free(plugin_xml);
    free(final_xml);
    sb_snapdef_free(def);
    sb_snapdef_free(final_def);
    return rc;
}

/* The plugin's limits when the hypervisor keeps the tree: asked through
 * the plugin's own listing and parent calls. */
static int check_limits_hypervisor(const sb_dom *d)
{
    const struct sb_plugin_caps *caps = d->c->caps;
    char *name = NULL, *parent = NULL;
    size_t n = 0, depth = 1;
    int rc;

    if (caps->max_snapshots) {
        if ((rc = sb_snap__count(d, NULL, 0, &n)) < 0)
            return rc;
        if (n >= caps->max_snapshots)
            return sb_error_set(SB_ERR_OPERATION_INVALID,
                                "domain already has %zu snapshots, the most plugin '%s' allows",
                                n, d->c->plugin->name);
    }
    if (!caps->max_depth || sb_snap__current(d, &name) < 0) {
        sb_error_clear(); /* no current snapshot: the new one is a root */
        return 0;
    }
    while (name && depth <= caps->max_depth) {
        depth++;
        if (sb_snap__parent(d, name, &parent) < 0)
            parent = NULL;
        free(name);
        name = parent;
    }
    free(name);
    sb_error_clear();
    if (depth > caps->max_depth)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "snapshot would be deeper than plugin '%s' allows (%u)",
                            d->c->plugin->name, caps->max_depth);
    return 0;
}

/* The name of the snapshot the hypervisor took: the one in the definition
 * the plugin returned, as a hypervisor may name a create without <name> by
 * its own clock (which can have ticked since the broker chose the name);
 * else the requested one. */
static int taken_name(const sb_connection *c, char **out_name, const char *plugin_xml,
                      const char *requested)
{
    sb_snapdef *taken = NULL;
    char *canonical = NULL;
    int rc;

    /* the snapshot exists: without a readable answer, named as requested */
    if (plugin_xml && sb_snap_plugin_answer(c, "snapshot_create", requested, plugin_xml,
                                            &canonical, &taken) == 0)
        rc = sb_strdup_out(out_name, taken->name);
    else
        rc = sb_strdup_out(out_name, requested);
    free(canonical);
    sb_snapdef_free(taken);
    return rc;
}

/* Hypervisor-owned metadata: the plugin gets the normalized XML. */
static int create_hypervisor(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    sb_connection *c = d->c;
    sb_snapdef *def = NULL;
    char *xml = NULL, *plugin_xml = NULL;
    int rc;

    if ((rc = sb_snap_prepare(&def, c, d->name, rq)) < 0)
        return rc;
    if (!(rq->flags & SB_SNAPSHOT_CREATE_REDEFINE) && (rc = check_limits_hypervisor(d)) < 0)
        goto out;
    if ((rc = check_name(c, def->name, rq->flags)) < 0 ||
        (rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        goto out;
    c->create_name_defaulted = def->name_defaulted;
    SB_DISPATCH(rc, c->plugin, snapshot_create, &plugin_xml, c->conn, d->name, xml, rq->flags);
    c->create_name_defaulted = false;
    if (rc >= 0 && out_name)
        rc = taken_name(c, out_name, plugin_xml, def->name);
out:
    free(xml);
    free(plugin_xml);
    sb_snapdef_free(def);
    return rc < 0 ? rc : 0;
}

int sb_snap__create(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    if (!d->s)
        return create_hypervisor(d, rq, out_name);
    if (rq->flags & SB_SNAPSHOT_CREATE_REDEFINE)
        return redefine_broker(d, rq, out_name);
    return create_broker(d, rq, out_name);
}

int sb_snap__set_current(sb_dom *d, const char *name)
{
    const sb_tree_node *n;
    char *xml = NULL, *domain_xml = NULL;
    int rc;

    if (d->s) {
        if ((rc = sb_store_begin(d->s)) == 0 && (rc = sb_snap_lookup(d->s, d->name, name, &n)) == 0 &&
            (rc = sb_store_set_current(d->s, name)) == 0)
            rc = sb_store_commit(d->s);
        if (sb_store_in_transaction(d->s))
            sb_store_rollback(d->s);
        return rc;
    }
    /* virsh's way: redefine the snapshot as it is, with CURRENT. */
    struct sb_snap_request rq = {
        .flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT,
    };
    /* With its secrets (where the plugin has them): the redefine replaces
     * the stored definition, and one without them would lose them. */
    unsigned xml_flags = SB_SNAPSHOT_XML_SECURE & d->c->caps->xml_flags;
    if ((rc = sb_snap__xml(d, name, xml_flags, &xml)) == 0 &&
        (rc = sb_dispatch_check_flags(d->c->plugin, d->c->caps, SB_VERB_CREATE, rq.flags)) == 0 &&
        (rc = sb_conn_domain_xml(d->c, d->name, &domain_xml)) == 0) {
        rq.xml = xml;
        rq.domain_xml = domain_xml;
        rc = create_hypervisor(d, &rq, NULL);
    }
    free(xml);
    free(domain_xml);
    return rc;
}
