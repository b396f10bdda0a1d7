/* Small helpers shared by the snapshot calls. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/log.h"
#include "xml/xml_util.h"

sb_tree_snapshot sb_snap_tree_entry(const sb_snapdef *def, const char *xml)
{
    sb_tree_snapshot e = {
        .name = def->name,
        .parent = def->parent,
        .state = def->state,
        .external = sb_snapdef_is_external(def),
        .creation_time = def->creation_time,
        .xml = xml,
    };
    return e;
}

int sb_snap_canonical(const char *xml, char **out, sb_snapdef **out_def)
{
    sb_snapdef *def = NULL;
    int rc;

    *out = NULL;
    if ((rc = sb_snapdef_parse(xml, strlen(xml), "plugin result", SB_SNAP_PARSE_REDEFINE,
                               &def)) < 0)
        return rc;
    rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, out);
    if (rc == 0 && out_def)
        *out_def = def;
    else
        sb_snapdef_free(def);
    return rc;
}

int sb_snap_plugin_answer(const sb_connection *c, const char *op, const char *name,
                          const char *xml, char **out, sb_snapdef **out_def)
{
    if (sb_snap_canonical(xml, out, out_def) == 0)
        return 0;
    sb_log_write(SB_LOG_WARN, "broker",
                 "plugin '%s' answered %s of snapshot '%s' with an unusable definition (%s); "
                 "keeping the one it was given", c->plugin->name, op, name,
                 sb_error_is_set() ? sb_error_last()->message : "unknown cause");
    sb_error_clear();
    return -1;
}

int sb_snap_lookup(const sb_store *s, const char *domain, const char *name,
                   const sb_tree_node **out)
{
    const sb_tree_node *n = sb_tree_lookup(sb_store_tree(s), name);
    if (!n)
        return sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT,
                            "no domain snapshot with matching name '%s' in domain '%s'", name,
                            domain);
    *out = n;
    return 0;
}

int sb_snap_check_domain(sb_connection *c, const char *domain)
{
    /* The plugin knows which domains exist; the store would happily open
     * (read-only: an empty tree) for any name. */
    return sb_conn_domain_exists(c, domain);
}

int sb_snap_check_exclusive(unsigned flags, int family, unsigned a, unsigned b)
{
    if ((flags & a) && (flags & b))
        return sb_error_set(SB_ERR_INVALID_ARG, "flags %s and %s are mutually exclusive",
                            sb_flag_name(family, a), sb_flag_name(family, b));
    return 0;
}

int sb_snap_check_xml_flags(const sb_connection *c, unsigned flags)
{
    int rc;

    if ((flags & SB_SNAPSHOT_XML_SECURE) &&
        (rc = sb_conn_check_writable(c, "asking for secure information")) < 0)
        return rc;
    return sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_XML, flags);
}

int sb_snap_intent_begin(sb_dom *d, const char *op, const char *name, const char *xml,
                         uint64_t *id)
{
    if (d->c->caps->intent_barrier)
        return sb_store_intent_begin_deferred(d->s, op, name, xml, id);
    return sb_store_intent_begin(d->s, op, name, xml, id);
}

void sb_snap_intent_abandon(sb_store *s, uint64_t id)
{
    /* Ending the intent must not replace the error that made us give up. */
    sb_error saved = *sb_error_last();
    sb_store_intent_end(s, id);
    if (saved.code != SB_OK)
        sb_error_set(saved.code, "%s", saved.message);
}

/* What scans of a node's stored canonical XML found, cached in the node
 * (sb_tree_node_hint: the tree clears it when the XML or parent changes).
 * Each scan is made only when a caller needs its answer: a SECURE lend
 * (every walk over the tree a plugin makes) needs only the parent's, and
 * the secrets' five scans of the whole document were most of a walk's
 * cost in a process that had not lent the documents before. */
enum {
    HINT_PARENT_KNOWN = 1u << 0,
    /* its <parent> is the tree's parent (or none for a root) */
    HINT_PARENT_OK = 1u << 1,
    HINT_SECRETS_KNOWN = 1u << 2,
    /* nothing the formatter strips without SECURE (xml_secure.c: secret,
     * key and passphrase elements; passwd, password and passphrase
     * attributes) */
    HINT_NO_SECRETS = 1u << 3,
};

static bool parent_matches(const char *xml, const sb_tree_node *parent)
{
    if (!parent)
        return !strstr(xml, "\n  <parent>\n");
    sb_buf want = { 0 };
    sb_buf_add(&want, "\n  <parent>\n    <name>");
    sb_buf_escape(&want, sb_tree_node_name(parent), false);
    sb_buf_add(&want, "</name>\n  </parent>\n");
    bool same = !want.oom && want.data && strstr(xml, want.data);
    sb_buf_clear(&want);
    return same;
}

static unsigned node_hint(const sb_tree_node *n, const char *xml, bool need_secrets)
{
    unsigned h = sb_tree_node_hint(n), was = h;
    if (!(h & HINT_PARENT_KNOWN)) {
        h |= HINT_PARENT_KNOWN;
        if (parent_matches(xml, sb_tree_node_parent(n)))
            h |= HINT_PARENT_OK;
    }
    if (need_secrets && !(h & HINT_SECRETS_KNOWN)) {
        h |= HINT_SECRETS_KNOWN;
        if (!strstr(xml, "secret") && !strstr(xml, "<key") && !strstr(xml, "passphrase") &&
            !strstr(xml, "passwd") && !strstr(xml, "password"))
            h |= HINT_NO_SECRETS;
    }
    if (h != was)
        sb_tree_node_set_hint(n, h);
    return h;
}

/* True when the stored canonical XML is already what the caller would get
 * (any doubt takes the slow path): saves a parse and a format on every
 * dumpxml, and after the first call on a node also the scans. */
static bool stored_is_final(const sb_tree_node *n, const char *xml, unsigned format_flags)
{
    if (format_flags & ~(unsigned)SB_SNAP_FORMAT_SECURE)
        return false;
    bool secure = format_flags & SB_SNAP_FORMAT_SECURE;
    unsigned h = node_hint(n, xml, !secure);
    return (h & HINT_PARENT_OK) && (secure || (h & HINT_NO_SECRETS));
}

int sb_snap_node_xml_lend(const sb_tree_node *n, unsigned format_flags, const char **xml,
                          char **owned)
{
    const char *stored = sb_tree_node_xml(n);
    int rc = 0;

    *owned = NULL;
    if (stored && stored_is_final(n, stored, format_flags))
        *xml = stored;
    else if ((rc = sb_snap_node_xml(n, format_flags, owned)) == 0)
        *xml = *owned;
    else
        *xml = NULL;
    return rc;
}

int sb_snap_node_xml(const sb_tree_node *n, unsigned format_flags, char **out)
{
    const char *xml = sb_tree_node_xml(n);
    const sb_tree_node *parent = sb_tree_node_parent(n);
    sb_snapdef *def = NULL;
    int rc;

    *out = NULL;
    if (!xml)
        return sb_error_set(SB_ERR_STORE, "snapshot '%s' has no stored XML",
                            sb_tree_node_name(n));
    if (stored_is_final(n, xml, format_flags))
        return sb_strdup_out(out, xml);
    if ((rc = sb_snapdef_parse(xml, strlen(xml), "stored snapshot", SB_SNAP_PARSE_REDEFINE,
                               &def)) < 0)
        return rc;
    /* The tree's parent link is the truth: a deleted parent re-parents its
     * children without rewriting their stored XML. */
    free(def->parent);
    def->parent = NULL;
    if (parent && !(def->parent = strdup(sb_tree_node_name(parent))))
        rc = sb_error_oom();
    if (rc == 0)
        rc = sb_snapdef_format(def, format_flags, out);
    sb_snapdef_free(def);
    return rc;
}
