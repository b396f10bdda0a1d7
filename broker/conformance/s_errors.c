/* Error classes for bad input (semantics.md §10): each refusal has the
 * documented class and changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

#define NO_DOMAIN "sbk-no-such-domain"

/* Not found: NO_DOMAIN_SNAPSHOT; OPERATION_INVALID is what libvirt's
 * VirtualBox driver answers (§10.2). */
static const int not_found[] = { SB_ERR_NO_DOMAIN_SNAPSHOT, SB_ERR_OPERATION_INVALID, 0 };

/* A create from bad input: the class, and nothing changed. */
static int bad_create(struct k *k, const struct k_scenario *s)
{
    char *xml = s->arg2 ? strdup(s->sarg) : k_snap_xml(k, "e1", s->sarg), *before;
    int r;

    K_TRY(k_create(k, "e0", 0));
    if (!xml || !(before = k_tree_sig(k))) {
        free(xml);
        return K_FAIL;
    }
    unsigned flags = s->needs.create & SB_SNAPSHOT_CREATE_REDEFINE;
    r = k_err_is(k, k_create_rc(k, xml, flags, NULL), (int)s->arg, s->rule);
    if (r == K_PASS)
        r = k_unchanged(k, before, "a refused create");
    free(xml);
    free(before);
    return r;
}

/* The source path of vda inside a <disks> entry (sarg: its %s; 'vda' and
 * 'vdb' are mapped to the domain's disks by k_snap_xml). */
static int bad_disk_path(struct k *k, const struct k_scenario *s)
{
    char *src = k_disk_source(k, "vda"), *extra = NULL, *xml, *before;
    int r;

    if (!src)
        return k_fail(k, "domain '%s' has no file disk %s", k->dom, k->disk[0]);
    if (asprintf(&extra, s->sarg, src, src) < 0)
        extra = NULL;
    free(src);
    if (!extra || !(before = k_tree_sig(k))) {
        free(extra);
        return K_FAIL;
    }
    xml = k_snap_xml(k, "e1", extra);
    /* a document parsed as a redefine is also checked against the schema
     * after parsing, which may see the fault first (§3.2) */
    const int classes[] = { (int)s->arg,
                            strcmp(k->caps.create_parse, "redefine") == 0
                                ? SB_ERR_XML_INVALID_SCHEMA
                                : 0,
                            0 };
    r = k_err_in(k, k_create_rc(k, xml, 0, NULL), classes, s->rule);
    if (r == K_PASS)
        r = k_unchanged(k, before, "a refused create");
    free(xml);
    free(extra);
    free(before);
    return r;
}

static int no_domain(struct k *k, const struct k_scenario *s)
{
    char *out = NULL, **names = NULL, *xml = k_snap_xml(k, "e1", NULL);
    size_t n = 0;
    int rc;

    switch (s->arg) {
    case 0: rc = sb_snapshot_create_xml(&out, k->c, NO_DOMAIN, xml, 0); break;
    case 1: rc = sb_snapshot_list(&names, &n, k->c, NO_DOMAIN, NULL, 0); break;
    case 2: rc = sb_snapshot_current(&out, k->c, NO_DOMAIN); break;
    case 3: rc = sb_snapshot_revert(k->c, NO_DOMAIN, "e1", 0); break;
    case 4: rc = sb_snapshot_delete(k->c, NO_DOMAIN, "e1", 0); break;
    default: rc = sb_snapshot_get_xml(&out, k->c, NO_DOMAIN, "e1", 0); break;
    }
    free(out);
    free(xml);
    sb_names_free(names, n);
    return k_err_is(k, rc, SB_ERR_NO_DOMAIN, s->rule);
}

static int no_snapshot(struct k *k, const struct k_scenario *s)
{
    char *out = NULL, *before;
    sb_snapshot_info info;
    int rc;

    K_TRY(k_create(k, "e0", 0));
    if (!(before = k_tree_sig(k)))
        return K_FAIL;
    switch (s->arg) {
    case 0: rc = sb_snapshot_get_xml(&out, k->c, k->dom, "nosuch", 0); break;
    case 1: rc = sb_snapshot_revert(k->c, k->dom, "nosuch", 0); break;
    case 2: rc = sb_snapshot_delete(k->c, k->dom, "nosuch", 0); break;
    case 3: rc = sb_snapshot_parent(&out, k->c, k->dom, "nosuch"); break;
    default: rc = sb_snapshot_info_get(&info, k->c, k->dom, "nosuch"); break;
    }
    free(out);
    int r = k_err_in(k, rc, not_found, s->rule);
    if (r == K_PASS)
        r = k_unchanged(k, before, s->rule);
    free(before);
    return r;
}

static int null_xml(struct k *k, const struct k_scenario *s)
{
    return k_err_is(k, sb_snapshot_create_xml(NULL, k->c, k->dom, NULL, 0), SB_ERR_INVALID_ARG,
                    s->rule);
}

/* ---- read-only connections (§2.3) ---- */

static int readonly(struct k *k, const struct k_scenario *s)
{
    sb_connection *ro = NULL;
    char *out = NULL, *before, *xml = k_snap_xml(k, "e2", NULL);
    char **names = NULL;
    size_t n = 0;
    int rc, r;

    K_TRY(k_create(k, "e0", 0));
    K_TRY(k_create(k, "e1", 0));
    if (!(before = k_tree_sig(k))) {
        free(xml);
        return K_FAIL;
    }
    if (sb_connect(&ro, k->b, k->opts->host, SB_CONNECT_READONLY) < 0) {
        free(xml);
        free(before);
        return k_fail(k, "opening a read-only connection: %s", k_errstr());
    }
    switch (s->arg) {
    case 0: rc = sb_snapshot_create_xml(&out, ro, k->dom, xml, 0); break;
    case 1: rc = sb_snapshot_revert(ro, k->dom, "e0", 0); break;
    case 2: rc = sb_snapshot_delete(ro, k->dom, "e1", 0); break;
    case 3: rc = sb_snapshot_get_xml(&out, ro, k->dom, "e0", SB_SNAPSHOT_XML_SECURE); break;
    default:
        rc = sb_snapshot_list(&names, &n, ro, k->dom, NULL, 0);
        if (rc >= 0 && n != 2)
            rc = -SB_ERR_INTERNAL_ERROR;
        break;
    }
    free(out);
    free(xml);
    sb_names_free(names, n);
    if (s->arg == 4)
        r = k_ok(k, rc, "listing on a read-only connection");
    else
        r = k_err_is(k, rc, SB_ERR_OPERATION_DENIED, s->rule);
    sb_disconnect(ro);
    if (r == K_PASS)
        r = k_unchanged(k, before, s->rule);
    free(before);
    return r;
}

#define REDEF_DOC(inner) \
    "<domainsnapshot><name>e1</name>" inner "</domainsnapshot>"
#define XE(id, sec, rule, extra, cls) \
    { "ERR-" id, sec, rule, { 0 }, bad_create, (cls), 0, extra }
#define XD(id, sec, rule, doc, cls) \
    { "ERR-" id, sec, rule, { 0 }, bad_create, (cls), 1, doc }
#define XR(id, sec, rule, doc, cls) \
    { "ERR-" id, sec, rule, { .create = SB_SNAPSHOT_CREATE_REDEFINE }, bad_create, (cls), 1, \
      doc }
#define ND(id, what, n) \
    { "ERR-NO-DOMAIN-" id, "10.1", what " of a domain that does not exist: NO_DOMAIN", { 0 }, \
      no_domain, (n), 0, NULL }
#define NS(id, what, n) \
    { "ERR-NO-SNAPSHOT-" id, "10.2", what " of a snapshot that does not exist: " \
      "NO_DOMAIN_SNAPSHOT, nothing changes", { 0 }, no_snapshot, (n), 0, NULL }
#define RO(id, rule, n) { "ERR-READONLY-" id, "2.3", rule, { 0 }, readonly, (n), 0, NULL }

static const struct k_scenario scenarios[] = {
    ND("CREATE", "creating a snapshot", 0),
    ND("LIST", "listing the snapshots", 1),
    ND("CURRENT", "asking for the current snapshot", 2),
    ND("REVERT", "reverting", 3),
    ND("DELETE", "deleting a snapshot", 4),
    ND("DUMPXML", "the XML of a snapshot", 5),
    NS("DUMPXML", "the XML", 0),
    NS("REVERT", "reverting to one", 1),
    NS("DELETE", "deleting one", 2),
    NS("PARENT", "the parent", 3),
    NS("INFO", "snapshot-info", 4),
    { "ERR-NULL-XML", "10.1", "a create without a document is refused with INVALID_ARG",
      { 0 }, null_xml },
    XD("NOT-WELL-FORMED", "3.1", "a document that is not well-formed: XML_DETAIL",
       "<domainsnapshot><name>e1</name>", SB_ERR_XML_DETAIL),
    XD("WRONG-ROOT", "3.1", "a root element other than <domainsnapshot>: XML_ERROR",
       "<domain><name>e1</name></domain>", SB_ERR_XML_ERROR),
    XR("REDEFINE-NO-NAME", "3.2", "a redefine without <name>: XML_ERROR",
       "<domainsnapshot><state>shutoff</state><creationTime>5</creationTime>"
       "</domainsnapshot>", SB_ERR_XML_ERROR),
    XR("REDEFINE-NO-STATE", "3.2", "a redefine without <state>: XML_ERROR",
       REDEF_DOC("<creationTime>5</creationTime>"), SB_ERR_XML_ERROR),
    XR("REDEFINE-BAD-STATE", "3.2", "a redefine with an unknown <state>: CONFIG_UNSUPPORTED",
       REDEF_DOC("<state>sleepy</state><creationTime>5</creationTime>"),
       SB_ERR_CONFIG_UNSUPPORTED),
    XR("REDEFINE-NO-TIME", "3.2", "a redefine without <creationTime>: INTERNAL_ERROR",
       REDEF_DOC("<state>shutoff</state>"), SB_ERR_INTERNAL_ERROR),
    XE("MEMORY-MANUAL", "4.2", "<memory snapshot='manual'/>: XML_ERROR",
       "<memory snapshot='manual'/>", SB_ERR_XML_ERROR),
    XE("MEMORY-BAD-VALUE", "4.2", "<memory snapshot='sometimes'/>: XML_ERROR",
       "<memory snapshot='sometimes'/>", SB_ERR_XML_ERROR),
    XE("MEMORY-RELATIVE-FILE", "4.2", "an external memory file with a relative path: XML_ERROR",
       "<memory snapshot='external' file='relative/mem'/>", SB_ERR_XML_ERROR),
    XE("MEMORY-EXTERNAL-NO-FILE", "4.2", "external memory without a file: XML_ERROR",
       "<memory snapshot='external'/>", SB_ERR_XML_ERROR),
    XE("MEMORY-FILE-NOT-EXTERNAL", "4.2", "a memory file with snapshot='internal': XML_ERROR",
       "<memory snapshot='internal' file='/tmp/mem'/>", SB_ERR_XML_ERROR),
    XE("DISK-TYPE-DIR", "3.3", "a disk of type 'dir': XML_ERROR",
       "<disks><disk name='vda' snapshot='external' type='dir'/></disks>", SB_ERR_XML_ERROR),
    XE("DISK-SNAPSHOT-DEFAULT", "3.3", "a disk with snapshot='default': XML_ERROR",
       "<disks><disk name='vda' snapshot='default'/></disks>", SB_ERR_XML_ERROR),
    XE("DISK-RELATIVE-SOURCE", "3.3", "a disk source with a relative path: XML_ERROR",
       "<disks><disk name='vda' snapshot='external'><source file='rel/x.qcow2'/></disk>"
       "</disks>", SB_ERR_XML_ERROR),
    XE("DISK-UNKNOWN", "4.3", "a disk the domain does not have: CONFIG_UNSUPPORTED",
       "<disks><disk name='sdz' snapshot='internal'/></disks>", SB_ERR_CONFIG_UNSUPPORTED),
    XE("DISK-TWICE", "4.3", "the same disk named twice: CONFIG_UNSUPPORTED",
       "<disks><disk name='vda' snapshot='internal'/><disk name='vda' snapshot='internal'/>"
       "</disks>", SB_ERR_CONFIG_UNSUPPORTED),
    XE("DISK-TOO-MANY", "4.3", "more disks than the domain has: CONFIG_UNSUPPORTED",
       "<disks><disk name='vda'/><disk name='vdb'/><disk name='vdc'/></disks>",
       SB_ERR_CONFIG_UNSUPPORTED),
    { "ERR-DISK-TWICE-BY-PATH", "4.3",
      "a disk named by target and by source path: CONFIG_UNSUPPORTED",
      { .traits = K_T_OVERRIDE_ALLOWED }, bad_disk_path, SB_ERR_CONFIG_UNSUPPORTED, 0,
      "<disks><disk name='vda' snapshot='external'/><disk name='%s' snapshot='external'/>"
      "<disk name='vdb' snapshot='no'/></disks>" },
    { "ERR-DISK-SOURCE-NOT-EXTERNAL", "4.3",
      "a disk source with a mode other than external: CONFIG_UNSUPPORTED",
      { .traits = K_T_OVERRIDE_ALLOWED }, bad_disk_path, SB_ERR_CONFIG_UNSUPPORTED, 0,
      "<disks><disk name='vda' snapshot='internal'><source file='%s.new'/></disk></disks>" },
    { "ERR-NAME-SLASH", "9.1", "a broker-owned snapshot name with '/': XML_DETAIL",
      { .traits = K_T_BROKER_META }, bad_create, SB_ERR_XML_DETAIL, 1,
      "<domainsnapshot><name>a/b</name></domainsnapshot>" },
    { "ERR-NAME-DOT", "9.1", "a broker-owned snapshot name starting with '.': XML_DETAIL",
      { .traits = K_T_BROKER_META }, bad_create, SB_ERR_XML_DETAIL, 1,
      "<domainsnapshot><name>.hidden</name></domainsnapshot>" },
    RO("CREATE", "a create on a read-only connection: OPERATION_DENIED", 0),
    RO("REVERT", "a revert on a read-only connection: OPERATION_DENIED", 1),
    RO("DELETE", "a delete on a read-only connection: OPERATION_DENIED", 2),
    { "ERR-READONLY-SECURE", "2.3",
      "XML_SECURE on a read-only connection: OPERATION_DENIED",
      { .xml = SB_SNAPSHOT_XML_SECURE }, readonly, 3, 0, NULL },
    RO("LIST", "listing works on a read-only connection", 4),
};

const struct k_family k_family_errors = { "errors", scenarios,
                                          sizeof(scenarios) / sizeof(scenarios[0]) };
