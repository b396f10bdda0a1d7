/* The helpers scenarios are written with (kit_internal.h).  Each checks
 * one expectation and, when it does not hold, records why in k->msg and
 * returns K_FAIL, so a scenario reads as a list of K_TRY() lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

static int record(struct k *k, int result, const char *fmt, va_list ap)
{
    vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
    return result;
}

int k_fail(struct k *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = record(k, K_FAIL, fmt, ap);
    va_end(ap);
    return r;
}

int k_skip(struct k *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = record(k, K_SKIP, fmt, ap);
    va_end(ap);
    return r;
}

const char *k_flags(int family, unsigned flags)
{
    static char bufs[4][400];
    static unsigned next;
    char *buf = bufs[next++ % 4];
    size_t used = 0;

    snprintf(buf, sizeof(bufs[0]), "0");
    for (unsigned bit = 1; bit; bit <<= 1) {
        if (!(flags & bit))
            continue;
        const char *name = sb_flag_name(family, bit);
        char hex[16];
        snprintf(hex, sizeof(hex), "0x%x", bit);
        int n = snprintf(buf + used, sizeof(bufs[0]) - used, "%s%s", used ? "|" : "",
                         name ? name : hex);
        if (n < 0 || (size_t)n >= sizeof(bufs[0]) - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

int k_simulator_limit(struct k *k, int r, const char *plugin, const char *limit)
{
    size_t n = strlen(plugin);
    char seen[sizeof(k->msg)];

    if (r != K_FAIL || !k->simulator || strncmp(k->simulator, plugin, n) != 0 ||
        k->simulator[n] != ':' || strcmp(sb_connection_plugin(k->c), plugin) != 0)
        return r;
    snprintf(seen, sizeof(seen), "%s", k->msg);
    return k_skip(k, "a limit of the host, %s: %s (seen: %s)", k->simulator + n + 1, limit,
                  seen);
}

const char *k_errstr(void)
{
    static char buf[1100];
    const sb_error *e = sb_error_last();
    snprintf(buf, sizeof(buf), "%s: %s", sb_error_class_name(e->code), e->message);
    return buf;
}

int k_ok(struct k *k, int rc, const char *what)
{
    if (rc >= 0)
        return K_PASS;
    return k_fail(k, "%s failed: %s", what, k_errstr());
}

int k_err_is(struct k *k, int rc, int cls, const char *what)
{
    if (rc == -cls)
        return K_PASS;
    if (rc >= 0)
        return k_fail(k, "%s succeeded; expected %s", what, sb_error_class_name(cls));
    return k_fail(k, "%s: expected %s, got %s", what, sb_error_class_name(cls), k_errstr());
}

int k_err_in(struct k *k, int rc, const int *classes, const char *what)
{
    char want[256] = "";
    size_t used = 0;

    for (const int *c = classes; *c; c++) {
        if (rc == -*c)
            return K_PASS;
        used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s", c == classes ? "" : " or ",
                                 sb_error_class_name(*c));
        if (used >= sizeof(want))
            used = sizeof(want) - 1;
    }
    if (rc >= 0)
        return k_fail(k, "%s succeeded; expected %s", what, want);
    return k_fail(k, "%s: expected %s, got %s", what, want, k_errstr());
}

/* ---- XML ---- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fputs("error: NO_MEMORY: out of memory\n", stderr);
        exit(1);
    }
    return d;
}

static char *xmalloc(size_t n)
{
    char *d = malloc(n);
    if (!d) {
        fputs("error: NO_MEMORY: out of memory\n", stderr);
        exit(1);
    }
    return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fputs("error: NO_MEMORY: out of memory\n", stderr);
        exit(1);
    }
    return s;
}

char *k_devs(const struct k *k, const char *text)
{
    static const char *const generic[2] = { "'vda'", "'vdb'" };
    size_t len = strlen(text), cap = len + 1;
    char *out;

    /* each replacement adds at most sizeof(k->disk[0]) bytes */
    for (const char *p = text; (p = strstr(p, "'vd")) != NULL; p += 3)
        cap += sizeof(k->disk[0]);
    out = xmalloc(cap);
    char *o = out;
    for (const char *p = text; *p;) {
        int hit = -1;
        for (int i = 0; i < 2 && hit < 0; i++)
            if (k->disk[i][0] && strncmp(p, generic[i], 5) == 0)
                hit = i;
        if (hit < 0) {
            *o++ = *p++;
            continue;
        }
        o += sprintf(o, "'%s'", k->disk[hit]);
        p += 5;
    }
    *o = '\0';
    return out;
}

char *k_snap_xml(const struct k *k, const char *name, const char *extra)
{
    const char *fmt = "<domainsnapshot>%s%s%s%s%s</domainsnapshot>";
    /* a plugin that parses every create as a redefine (VirtualBox's
     * libvirt driver) needs state and creationTime, which it replaces */
    const char *redef = strcmp(k->caps.create_parse, "redefine") == 0
                            ? "<state>shutoff</state><creationTime>1</creationTime>"
                            : "";
    char *mapped = extra ? k_devs(k, extra) : NULL;
    char *xml = xasprintf(fmt, name ? "<name>" : "", name ? name : "", name ? "</name>" : "",
                          redef, mapped ? mapped : "");
    free(mapped);
    return xml;
}

/* The part of a snapshot document before its embedded domain, where the
 * snapshot's own top-level elements are. */
static size_t head_len(const char *xml)
{
    const char *d = strstr(xml, "<domain>");
    const char *e = strstr(xml, "<domain ");
    const char *i = strstr(xml, "<inactiveDomain");
    const char *end = xml + strlen(xml);
    if (d && d < end)
        end = d;
    if (e && e < end)
        end = e;
    if (i && i < end)
        end = i;
    return (size_t)(end - xml);
}

char *k_xml_field(const char *xml, const char *elem)
{
    char open[64], close[64];
    size_t len = head_len(xml);
    const char *p = xml;

    if (strcmp(elem, "parent") == 0) {
        const char *par = strstr(xml, "<parent>");
        if (!par || (size_t)(par - xml) >= len)
            return NULL;
        p = par;
        elem = "name";
    }
    snprintf(open, sizeof(open), "<%s>", elem);
    snprintf(close, sizeof(close), "</%s>", elem);
    const char *s = strstr(p, open);
    if (!s || (size_t)(s - xml) >= len)
        return NULL;
    s += strlen(open);
    const char *e = strstr(s, close);
    if (!e)
        return NULL;
    char *out = malloc((size_t)(e - s) + 1);
    if (!out)
        return NULL;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    return out;
}

int k_xml_external(const char *xml)
{
    const char *p = strstr(xml, "snapshot='external'");
    return p && (size_t)(p - xml) < head_len(xml);
}

/* ---- snapshot calls ---- */

void k_remember(struct k *k, const char *name)
{
    char **v;
    if (k->fresh || !name)
        return;
    if (!(v = realloc(k->made, (k->nmade + 1) * sizeof(*v))))
        return;
    k->made = v;
    k->made[k->nmade++] = xstrdup(name);
}

int k_create_rc(struct k *k, const char *xml, unsigned flags, char **out_name)
{
    char *name = NULL;
    int rc = sb_snapshot_create_xml(&name, k->c, k->dom, xml, flags);
    if (rc >= 0)
        k_remember(k, name);
    if (out_name)
        *out_name = name;
    else
        free(name);
    return rc;
}

int k_create_xml(struct k *k, const char *xml, unsigned flags, char **out_name)
{
    int rc = k_create_rc(k, xml, flags, out_name);
    if (rc < 0)
        return k_fail(k, "creating a snapshot of '%s' (flags %s) failed: %s", k->dom,
                      k_flags(SB_FLAGS_CREATE, flags),
                      k_errstr());
    return K_PASS;
}

int k_create(struct k *k, const char *name, unsigned flags)
{
    char *xml = k_snap_xml(k, name, NULL);
    int rc = k_create_rc(k, xml, flags, NULL);
    free(xml);
    if (rc < 0)
        return k_fail(k, "creating snapshot '%s' (flags %s) failed: %s", name,
                      k_flags(SB_FLAGS_CREATE, flags),
                      k_errstr());
    return K_PASS;
}

int k_revert(struct k *k, const char *name, unsigned flags)
{
    if (sb_snapshot_revert(k->c, k->dom, name, flags) < 0)
        return k_fail(k, "reverting to '%s' (flags %s) failed: %s", name,
                      k_flags(SB_FLAGS_REVERT, flags), k_errstr());
    return K_PASS;
}

int k_delete(struct k *k, const char *name, unsigned flags)
{
    if (sb_snapshot_delete(k->c, k->dom, name, flags) < 0)
        return k_fail(k, "deleting '%s' (flags %s) failed: %s", name,
                      k_flags(SB_FLAGS_DELETE, flags), k_errstr());
    return K_PASS;
}

int k_forget(struct k *k, const char *name, unsigned flags)
{
    char *xml = NULL;

    if (strcmp(k->caps.metadata_owner, "hypervisor") == 0 &&
        (k->caps.delete_flags & (flags | SB_SNAPSHOT_DELETE_METADATA_ONLY)) ==
            (flags | SB_SNAPSHOT_DELETE_METADATA_ONLY)) {
        /* refused (libvirt's VirtualBox driver keeps a snapshot with
         * children) or kept as it was (semantics.md §8.4): a plain delete */
        if (sb_snapshot_delete(k->c, k->dom, name, flags | SB_SNAPSHOT_DELETE_METADATA_ONLY) == 0 &&
            sb_snapshot_get_xml(&xml, k->c, k->dom, name, 0) < 0)
            return K_PASS;
        free(xml);
    }
    return k_delete(k, name, flags);
}

char *k_get_xml(struct k *k, const char *name)
{
    char *xml = NULL;
    if (sb_snapshot_get_xml(&xml, k->c, k->dom, name, 0) < 0) {
        k_fail(k, "the XML of snapshot '%s': %s", name, k_errstr());
        return NULL;
    }
    return xml;
}

/* No current snapshot: NO_DOMAIN_SNAPSHOT, or OPERATION_INVALID where the
 * plugin follows libvirt's VirtualBox driver (semantics.md §11). */
static int no_current(int rc)
{
    return rc == -SB_ERR_NO_DOMAIN_SNAPSHOT || rc == -SB_ERR_OPERATION_INVALID;
}

int k_current_is(struct k *k, const char *want)
{
    char *cur = NULL;
    int rc = sb_snapshot_current(&cur, k->c, k->dom);
    int r = K_PASS;

    if (rc < 0 && !(no_current(rc) && !want))
        r = no_current(rc) ? k_fail(k, "no current snapshot; expected '%s'", want)
                           : k_fail(k, "the current snapshot: %s", k_errstr());
    else if (rc >= 0 && !want)
        r = k_fail(k, "current snapshot is '%s'; expected none", cur);
    else if (rc >= 0 && strcmp(cur, want) != 0)
        r = k_fail(k, "current snapshot is '%s'; expected '%s'", cur, want);
    free(cur);
    return r;
}

int k_parent_is(struct k *k, const char *name, const char *want)
{
    char *par = NULL;
    int rc = sb_snapshot_parent(&par, k->c, k->dom, name);
    int r = K_PASS;

    if (rc == -SB_ERR_NO_DOMAIN_SNAPSHOT && !want)
        r = K_PASS;
    else if (rc < 0)
        r = want ? k_fail(k, "the parent of '%s' (expected '%s'): %s", name, want, k_errstr())
                 : k_fail(k, "the parent of root '%s': expected NO_DOMAIN_SNAPSHOT, got %s",
                          name, k_errstr());
    else if (!want)
        r = k_fail(k, "'%s' has parent '%s'; expected a root", name, par);
    else if (strcmp(par, want) != 0)
        r = k_fail(k, "'%s' has parent '%s'; expected '%s'", name, par, want);
    free(par);
    return r;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(char **names, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? " " : "", names[i]);
    return s;
}

char *k_list_str(struct k *k, const char *from, unsigned flags, int sorted)
{
    char **names = NULL;
    size_t n = 0;

    if (sb_snapshot_list(&names, &n, k->c, k->dom, from, flags) < 0) {
        k_fail(k, "listing %s%s (flags %s): %s", from ? "from " : "snapshots",
               from ? from : "", k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, flags),
               k_errstr());
        return NULL;
    }
    if (sorted)
        qsort(names, n, sizeof(*names), cmp_name);
    char *s = join(names, n);
    sb_names_free(names, n);
    if (!s)
        k_fail(k, "out of memory");
    return s;
}

int k_list_is(struct k *k, const char *from, unsigned flags, const char *want)
{
    char *got = k_list_str(k, from, flags, 1);
    int r = K_PASS;
    if (!got)
        return K_FAIL;
    if (strcmp(got, want) != 0)
        r = k_fail(k, "listing %s%s with flags %s gave [%s]; expected [%s]",
                   from ? "from " : "the domain", from ? from : "",
                   k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, flags), got, want);
    free(got);
    return r;
}

/* ---- tree signature ---- */

char *k_tree_sig(struct k *k)
{
    char **names = NULL, *cur = NULL;
    size_t n = 0, len = 64;

    if (sb_snapshot_list(&names, &n, k->c, k->dom, NULL, 0) < 0) {
        k_fail(k, "listing the snapshots of '%s': %s", k->dom, k_errstr());
        return NULL;
    }
    char **rows = calloc(n + 1, sizeof(*rows));
    for (size_t i = 0; rows && i < n; i++) {
        char *par = NULL;
        int rc = sb_snapshot_parent(&par, k->c, k->dom, names[i]);
        rows[i] = xasprintf("%s<%s", names[i], rc >= 0 ? par : (rc == -SB_ERR_NO_DOMAIN_SNAPSHOT ? "" : "?"));
        len += strlen(rows[i]) + 1;
        free(par);
    }
    if (!rows) {
        sb_names_free(names, n);
        k_fail(k, "out of memory");
        return NULL;
    }
    qsort(rows, n, sizeof(*rows), cmp_name);
    int rc = sb_snapshot_current(&cur, k->c, k->dom);
    char *body = join(rows, n);
    char *sig = body ? xasprintf("%s|current=%s", body, rc >= 0 ? cur : "") : NULL;
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
    free(body);
    free(cur);
    sb_names_free(names, n);
    if (!sig)
        k_fail(k, "out of memory");
    return sig;
}

int k_unchanged(struct k *k, const char *before, const char *what)
{
    char *after = k_tree_sig(k);
    int r = K_PASS;
    if (!after)
        return K_FAIL;
    if (strcmp(after, before) != 0)
        r = k_fail(k, "%s changed the snapshot tree: [%s] became [%s]", what, before, after);
    free(after);
    return r;
}

int k_create_refused(struct k *k, const char *xml, unsigned flags, int cls, const char *what)
{
    char *before = k_tree_sig(k);
    if (!before)
        return K_FAIL;
    int r = k_err_is(k, k_create_rc(k, xml, flags, NULL), cls, what);
    if (r == K_PASS)
        r = k_unchanged(k, before, what);
    free(before);
    return r;
}

/* ---- the domain ---- */

int k_state(struct k *k, int *out)
{
    if (sb_domain_get_state(out, k->c, k->dom) < 0)
        return k_fail(k, "the state of domain '%s': %s", k->dom, k_errstr());
    return K_PASS;
}

int k_state_is(struct k *k, int want)
{
    int st;
    K_TRY(k_state(k, &st));
    if (st != want)
        return k_fail(k, "domain '%s' is %s; expected %s", k->dom, sb_domain_state_name(st),
                      sb_domain_state_name(want));
    return K_PASS;
}

static int step(struct k *k, int rc, const char *what)
{
    if (rc < 0)
        return k_fail(k, "%s domain '%s': %s", what, k->dom, k_errstr());
    return K_PASS;
}

int k_set_state(struct k *k, int want)
{
    int st;
    K_TRY(k_state(k, &st));
    if (st == want)
        return K_PASS;
    if (want == SB_DOMAIN_SHUTOFF)
        return step(k, sb_domain_destroy(k->c, k->dom), "destroying");
    if (st != SB_DOMAIN_SHUTOFF && st != SB_DOMAIN_RUNNING && st != SB_DOMAIN_PAUSED) {
        K_TRY(step(k, sb_domain_destroy(k->c, k->dom), "destroying"));
        st = SB_DOMAIN_SHUTOFF;
    }
    /* start, then suspend for paused: every plugin with the two verbs can,
     * while a start flag for paused is optional (libvirt's test driver) */
    if (st == SB_DOMAIN_SHUTOFF) {
        K_TRY(step(k, sb_domain_start(k->c, k->dom, 0), "starting"));
        st = SB_DOMAIN_RUNNING;
    }
    if (st == want)
        return K_PASS;
    if (want == SB_DOMAIN_PAUSED)
        return step(k, sb_domain_suspend(k->c, k->dom), "suspending");
    return step(k, sb_domain_resume(k->c, k->dom), "resuming");
}

/* The value of attr in the first element tag named tag in [from, end),
 * whichever quote the document uses; malloc'ed, NULL if absent. */
static char *attr_in(const char *from, const char *end, const char *tag, const char *attr)
{
    char open[64], key[64];
    snprintf(open, sizeof(open), "<%s ", tag);
    snprintf(key, sizeof(key), " %s=", attr);
    const char *t = strstr(from, open);
    if (!t || t >= end)
        return NULL;
    const char *close = strchr(t, '>'), *a = strstr(t, key);
    if (!close || !a || a > close)
        return NULL;
    a += strlen(key);
    char q = *a++;
    const char *e = (q == '\'' || q == '"') ? strchr(a, q) : NULL;
    if (!e || e > close)
        return NULL;
    return strndup(a, (size_t)(e - a));
}

char *k_disk_source(struct k *k, const char *target)
{
    char *xml = NULL, *out = NULL;

    if (strcmp(target, "vda") == 0 && k->disk[0][0])
        target = k->disk[0];
    else if (strcmp(target, "vdb") == 0 && k->disk[1][0])
        target = k->disk[1];
    if (sb_domain_get_xml(&xml, k->c, k->dom, 0) < 0)
        return NULL;
    /* the source file of the <disk> element whose target is target */
    for (char *d = strstr(xml, "<disk "); d && !out; d = strstr(d + 1, "<disk ")) {
        const char *end = strstr(d, "</disk>");
        char *dev = end ? attr_in(d, end, "target", "dev") : NULL;
        if (dev && strcmp(dev, target) == 0)
            out = attr_in(d, end, "source", "file");
        free(dev);
    }
    free(xml);
    return out;
}

/* ---- needs ---- */

static const struct {
    unsigned op;
    const char *name;
} op_names[] = {
    { K_OP_START, "domain_start" },     { K_OP_DESTROY, "domain_destroy" },
    { K_OP_SUSPEND, "domain_suspend" }, { K_OP_RESUME, "domain_resume" },
    { K_OP_DEFINE, "domain_define" },   { K_OP_IS_ACTIVE, "domain_is_active" },
};

static const char *missing_flag(unsigned need, unsigned have, int family)
{
    static char buf[160];
    for (unsigned bit = 1; bit; bit <<= 1)
        if ((need & bit) && !(have & bit)) {
            snprintf(buf, sizeof(buf), "plugin does not declare %s", sb_flag_name(family, bit));
            return buf;
        }
    return NULL;
}

const char *k_unmet(const struct k *k, const struct k_needs *n)
{
    static char buf[256];
    const sb_connection_caps *c = &k->caps;
    const char *why;
    int broker = strcmp(c->metadata_owner, "broker") == 0;

    if ((why = missing_flag(n->create, c->create_flags, SB_FLAGS_CREATE)) ||
        (why = missing_flag(n->revert, c->revert_flags, SB_FLAGS_REVERT)) ||
        (why = missing_flag(n->del, c->delete_flags, SB_FLAGS_DELETE)) ||
        (why = missing_flag(n->list, c->list_flags, SB_FLAGS_LIST)) ||
        (why = missing_flag(n->xml, c->xml_flags, SB_FLAGS_XML)))
        return why;
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (!(n->ops & op_names[i].op))
            continue;
        if (op_names[i].op == K_OP_DEFINE && k->opts->domain)
            return "needs a scratch domain of its own (not with --domain)";
        if (!sb_connection_supports(k->c, op_names[i].name)) {
            snprintf(buf, sizeof(buf), "plugin has no %s", op_names[i].name);
            return buf;
        }
    }
    const struct {
        unsigned trait;
        int met;
        const char *why;
    } traits[] = {
        { K_T_BROKER_META, broker, "metadata is hypervisor-owned, the rule is for broker-owned" },
        { K_T_HV_META, !broker, "metadata is broker-owned, the rule is for hypervisor-owned" },
        { K_T_UNIQUE, c->names_unique, "plugin declares names not unique" },
        { K_T_NOT_UNIQUE, !c->names_unique, "plugin declares names unique" },
        { K_T_PARSE_CREATE, strcmp(c->create_parse, "create") == 0,
          "plugin parses a create as a redefine" },
        { K_T_OVERRIDE_NONE, strcmp(c->disk_override, "none") == 0,
          "plugin's disk override policy is not 'none'" },
        { K_T_OVERRIDE_MATCH, strcmp(c->disk_override, "match") == 0,
          "plugin's disk override policy is not 'match'" },
        { K_T_OVERRIDE_ALLOWED, strcmp(c->disk_override, "allowed") == 0,
          "plugin's disk override policy is not 'allowed'" },
        { K_T_MAX_DEPTH, c->max_depth > 0, "plugin declares no depth limit" },
        { K_T_MAX_SNAPSHOTS, c->max_snapshots > 0, "plugin declares no snapshot count limit" },
        { K_T_NAME_MAX, c->name_max < 255, "plugin declares no name limit below 255" },
        { K_T_GUEST_DATA, k->opts->guest_data != NULL,
          "guest data access not configured (--guest-data qemu-io)" },
        { K_T_DISKS, broker, "hypervisor-owned snapshots need not report <disks>" },
    };
    for (size_t i = 0; i < sizeof(traits) / sizeof(traits[0]); i++)
        if ((n->traits & traits[i].trait) && !traits[i].met)
            return traits[i].why;
    return NULL;
}
