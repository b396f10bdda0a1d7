/* <domainsnapshot> parser: create vs redefine semantics of §3.1/§4.2/§9. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "xml/schema.h"
#include "xml/snap_parse_internal.h"
#include "xml/xml_util.h"

#define ERR(node, code, ...) sb_xml_error_at(ctx->source, (node), (code), __VA_ARGS__)

/* Text of a child element; an empty element counts as absent (§9.7). */
static int child_text(const xmlNode *root, const char *name, char **out)
{
    int rc = sb_xml_text(sb_xml_child(root, name), out);
    if (rc == 0 && *out && !**out) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* A whole-string decimal long long (virStrToLong_ll). */
static bool parse_ll(const char *s, long long *out)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

static int parse_redefine_fields(const struct sb_parse_ctx *ctx, const xmlNode *root,
                                 sb_snapdef *def)
{
    char *text;
    int rc;

    if (!def->name)
        return ERR(root, SB_ERR_XML_ERROR, "a redefined snapshot must have a <name>");

    if ((rc = child_text(root, "state", &text)) < 0)
        return rc;
    if (!text)
        return ERR(root, SB_ERR_XML_ERROR, "missing <state> from existing snapshot");
    def->state = sb_snap_state_from_string(text);
    if (def->state <= SB_STATE_NOSTATE)
        rc = ERR(sb_xml_child(root, "state"), SB_ERR_CONFIG_UNSUPPORTED,
                 "Invalid state '%s' in domain snapshot XML", text);
    free(text);
    if (rc < 0)
        return rc;

    if ((rc = child_text(sb_xml_child(root, "parent"), "name", &def->parent)) < 0)
        return rc;

    if ((rc = child_text(root, "creationTime", &text)) < 0)
        return rc;
    def->has_creation_time = parse_ll(text, &def->creation_time);
    free(text);
    if (!def->has_creation_time)
        return ERR(sb_xml_child(root, "creationTime") ? sb_xml_child(root, "creationTime") : root,
                   SB_ERR_INTERNAL_ERROR,
                   "missing or invalid <creationTime> from existing snapshot");
    return 0;
}

static int parse_memory(const struct sb_parse_ctx *ctx, const xmlNode *root, bool offline,
                        sb_snapdef *def)
{
    xmlNode *mem = sb_xml_child(root, "memory");
    char *snap = NULL;
    int rc;

    def->memory = SB_LOCATION_DEFAULT;
    if (mem) {
        if ((rc = sb_xml_prop(mem, "snapshot", &snap)) < 0 ||
            (rc = sb_xml_prop(mem, "file", &def->memory_file)) < 0)
            goto out;
        if (snap) {
            def->memory = sb_snap_location_from_string(snap);
            if (def->memory <= SB_LOCATION_DEFAULT) {
                rc = ERR(mem, SB_ERR_XML_ERROR,
                         "Invalid value for attribute 'snapshot' in element 'memory': '%s'.",
                         snap);
                goto out;
            }
            if (def->memory == SB_LOCATION_MANUAL) {
                rc = ERR(mem, SB_ERR_XML_ERROR, "'manual' memory snapshot mode not supported");
                goto out;
            }
        }
        if (def->memory_file && def->memory == SB_LOCATION_DEFAULT)
            def->memory = SB_LOCATION_EXTERNAL;
        if (def->memory_file && def->memory != SB_LOCATION_EXTERNAL) {
            rc = ERR(mem, SB_ERR_XML_ERROR, "memory filename '%s' requires external snapshot",
                     def->memory_file);
            goto out;
        }
        if (!def->memory_file && def->memory == SB_LOCATION_EXTERNAL) {
            rc = ERR(mem, SB_ERR_XML_ERROR, "external memory snapshots require a filename");
            goto out;
        }
        if (def->memory_file && def->memory_file[0] != '/') {
            rc = ERR(mem, SB_ERR_XML_ERROR, "memory snapshot file path (%s) must be absolute",
                     def->memory_file);
            goto out;
        }
    }
    if (def->memory == SB_LOCATION_DEFAULT && (ctx->flags & SB_SNAP_PARSE_REDEFINE))
        def->memory = offline ? SB_LOCATION_NO : SB_LOCATION_INTERNAL;
    if (offline && def->memory != SB_LOCATION_DEFAULT && def->memory != SB_LOCATION_NO) {
        rc = ERR(mem ? mem : root, SB_ERR_XML_ERROR,
                 "memory state cannot be saved with offline or disk-only snapshot");
        goto out;
    }
    rc = 0;
out:
    free(snap);
    return rc;
}

/* Whether node (a child of root) can leave its document without a copy:
 * nothing in it may refer to a namespace declared on root, which goes
 * with the rest of the document (the xml: prefix is the document's own
 * and stays). */
static bool movable(const xmlNode *root, const xmlNode *node)
{
    return node->parent == root && !root->nsDef;
}

/* The parsed document becomes the definition's <domain>: the node is
 * made its root and everything else in it is freed.  A deep copy of the
 * <domain> (libxml2's, node by node) was a tenth of a redefine. */
static xmlDoc *take_domain(xmlDoc *doc, xmlNode *node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(xmlDocSetRootElement(doc, node));
    for (xmlNode *c = doc->children, *next; c; c = next) {
        next = c->next;
        if (c != node) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    sb_xml_strip_live_only(node);
    return doc;
}

/* <domain>: full definition (type= present) or the old uuid-only form. */
static int parse_domains(const struct sb_parse_ctx *ctx, const xmlNode *root, sb_snapdef *def)
{
    xmlNode *dom = sb_xml_child(root, "domain");
    xmlNode *inactive = sb_xml_child(root, "inactiveDomain");
    sb_domdef *check;
    int rc;

    if (dom && xmlHasProp(dom, (const xmlChar *)"type")) {
        /* the live-only parts stripped below are none of what the view
         * holds (identity, disks) */
        if ((rc = sb_domdef_from_node(dom, ctx->source, &def->domain_view)) < 0)
            return rc;
        if (ctx->take_domain && movable(root, dom)) {
            *ctx->take_domain = dom; /* moved by take_domain() */
        } else {
            if (!(def->domain = sb_xml_subtree(dom)))
                return sb_error_oom();
            sb_xml_strip_live_only(xmlDocGetRootElement(def->domain));
        }
    } else if (dom) {
        if ((rc = child_text(dom, "uuid", &def->domain_uuid)) < 0)
            return rc;
    }
    if (inactive) {
        if ((rc = sb_domdef_from_node(inactive, ctx->source, &check)) < 0)
            return rc;
        sb_domdef_free(check);
        if (!(def->inactive_domain = sb_xml_subtree(inactive)))
            return sb_error_oom();
        sb_xml_strip_live_only(xmlDocGetRootElement(def->inactive_domain));
    }
    return 0;
}

static int parse_active(const struct sb_parse_ctx *ctx, const xmlNode *root, sb_snapdef *def)
{
    char *text;
    long long v;
    int rc = child_text(root, "active", &text);
    if (rc < 0)
        return rc;
    if (!parse_ll(text, &v))
        rc = ERR(root, SB_ERR_INTERNAL_ERROR, "could not find a valid <active> element");
    else
        def->active = v != 0;
    free(text);
    return rc;
}

static bool has_content(const xmlNode *node)
{
    for (const xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE ||
            (c->type == XML_TEXT_NODE && c->content &&
             ((const char *)c->content)[strspn((const char *)c->content, " \t\r\n")]))
            return true;
    return false;
}

static int parse_root(const struct sb_parse_ctx *ctx, const xmlNode *root, sb_snapdef *def)
{
    bool redefine = ctx->flags & SB_SNAP_PARSE_REDEFINE;
    bool offline = ctx->flags & SB_SNAP_PARSE_OFFLINE;
    xmlNode *node;
    int rc;

    if ((rc = child_text(root, "name", &def->name)) < 0 ||
        (rc = child_text(root, "description", &def->description)) < 0)
        return rc;
    if (redefine) {
        if ((rc = parse_redefine_fields(ctx, root, def)) < 0)
            return rc;
        if (def->state == SB_STATE_SHUTOFF || def->state == SB_STATE_DISK_SNAPSHOT)
            offline = true;
    }
    if ((rc = parse_memory(ctx, root, offline, def)) < 0)
        return rc;
    if ((node = sb_xml_child(root, "disks")) &&
        (rc = sb_snap_parse_disks(ctx, node, &def->disks, &def->ndisks)) < 0)
        return rc;
    if (redefine && (node = sb_xml_child(root, "revertDisks")) &&
        (rc = sb_snap_parse_disks(ctx, node, &def->revert_disks, &def->nrevert_disks)) < 0)
        return rc;
    if (redefine && (rc = parse_domains(ctx, root, def)) < 0)
        return rc;
    if (!offline && (node = sb_xml_child(root, "cookie")) && has_content(node) &&
        !(def->cookie = sb_xml_subtree(node)))
        return sb_error_oom();
    if ((ctx->flags & SB_SNAP_PARSE_INTERNAL) && (rc = parse_active(ctx, root, def)) < 0)
        return rc;
    return 0;
}

static int parse_doc(const struct sb_parse_ctx *ctx, xmlDoc *doc, sb_snapdef **out)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    sb_snapdef *def;
    int rc;

    if (!sb_xml_is(root, "domainsnapshot"))
        return ERR(root, SB_ERR_XML_ERROR,
                   "unexpected root element <%s>, expecting <domainsnapshot>",
                   root ? (const char *)root->name : "");
    if ((ctx->flags & SB_SNAP_PARSE_VALIDATE) && (rc = sb_schema_validate(doc, ctx->source)) < 0)
        return rc;
    if (!(def = sb_snapdef_new()))
        return sb_error_oom();
    if ((rc = parse_root(ctx, root, def)) < 0) {
        sb_snapdef_free(def);
        return rc;
    }
    *out = def;
    return 0;
}

int sb_snapdef_parse_doc(xmlDoc **doc, const char *source_name, unsigned flags,
                         sb_snapdef **out)
{
    xmlNode *domain = NULL;
    struct sb_parse_ctx ctx = {source_name, flags, &domain};
    int rc;

    *out = NULL;
    rc = parse_doc(&ctx, *doc, out);
    if (rc == 0 && domain) {
        (*out)->domain = take_domain(*doc, domain);
        *doc = NULL;
    }
    xmlFreeDoc(*doc);
    *doc = NULL;
    return rc;
}

int sb_snapdef_parse(const char *xml, size_t len, const char *source_name, unsigned flags,
                     sb_snapdef **out)
{
    xmlDoc *doc;
    int rc;

    *out = NULL;
    if ((rc = sb_xml_read(xml, len, source_name, &doc)) < 0)
        return rc;
    return sb_snapdef_parse_doc(&doc, source_name, flags, out);
}
