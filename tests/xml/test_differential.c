/* Differential test against libvirt 9.0's test:///default driver.
 *
 * For every redefine-mode golden case whose expected result is success:
 * define the case's domain (its own <domain>, else its --domain file) in a
 * fresh test:///default connection, redefine the snapshot there
 * (virDomainSnapshotCreateXML with REDEFINE; the --domain file is inserted
 * into the snapshot because libvirt 9.0 needs a full <domain> for a new
 * redefine, §9.2), read it back with virDomainSnapshotGetXMLDesc, and
 * compare with our sb_xml_normalize() output for the same input.
 *
 * Normalization before comparing: the <domain> and <inactiveDomain>
 * subtrees are removed from both sides (libvirt re-formats domain XML with
 * its full domain model and defaults; we keep it as given).  Everything
 * else must be identical, except for the cases listed with a reason in
 * differential-exceptions.txt.  An unlisted difference fails, and so does a
 * listed case that no longer differs (stale list).
 *
 * Redefine cases whose expected result is an error are run too: libvirt
 * must refuse the document as it is as well, with the same error class
 * (snapbroker's classes keep libvirt's numbers), VALIDATE passed through.
 * Cases with a plugin alignment policy libvirt has no knob for, and error
 * cases about DISK_ONLY (the test driver takes no DISK_ONLY with REDEFINE),
 * are left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "snapbroker/errors.h"

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int test_no, failures;

static void quiet(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

/* Remove <tag ...>...</tag> blocks (at two-space indent) from text. */
static void strip_block(char *text, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "\n  <%s", tag);
    snprintf(close, sizeof(close), "\n  </%s>", tag);
    char *start;
    while ((start = strstr(text, open))) {
        char *after = start + strlen(open);
        if (*after != ' ' && *after != '>') {
            text = after;
            continue;
        }
        char *end = strstr(after, close);
        char *selfclose = strstr(after, "/>");
        char *line_end = strchr(after, '\n');
        if (selfclose && line_end && selfclose < line_end)
            end = selfclose + 2;
        else if (end)
            end += strlen(close);
        else
            return;
        memmove(start, end, strlen(end) + 1);
    }
}

static char *exceptions;

static const char *exception_reason(const char *name)
{
    size_t n = strlen(name);
    for (const char *p = exceptions; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (*p != '#' && len > n && !strncmp(p, name, n) && (p[n] == ' ' || p[n] == '\t'))
            return p + n + 1;
        p += len + (eol ? 1 : 0);
    }
    return NULL;
}

/* The domain XML libvirt must know: the case's own <domain>, else the
 * --domain file (which is then also inserted into the snapshot). */
static char *domain_of(const corpus_case *c, char **snapshot_xml)
{
    const char *s = strstr(c->input, "<domain type=");
    *snapshot_xml = strdup(c->input);
    if (s) {
        const char *e = strstr(s, "</domain>");
        return e ? strndup(s, (size_t)(e + 9 - s)) : NULL;
    }
    if (!c->domain_xml)
        return NULL;
    /* Drop an old uuid-only <domain> and put the full one in. */
    char *old = strstr(*snapshot_xml, "<domain>");
    if (old) {
        char *end = strstr(old, "</domain>");
        if (end)
            memmove(old, end + 9, strlen(end + 9) + 1);
    }
    char *root_end = strstr(*snapshot_xml, "</domainsnapshot>");
    size_t head = (size_t)(root_end - *snapshot_xml);
    size_t n = strlen(*snapshot_xml) + strlen(c->domain_xml) + 1;
    char *merged = malloc(n);
    memcpy(merged, *snapshot_xml, head);
    strcpy(merged + head, c->domain_xml);
    strcat(merged, root_end);
    free(*snapshot_xml);
    *snapshot_xml = merged;
    return strdup(c->domain_xml);
}

/* libvirt checks that a redefined snapshot's parent exists (a tree rule,
 * not an XML one, §5.4): redefine a stub parent first. */
static int define_parent(virDomainPtr dom, const corpus_case *c, const char *dom_xml)
{
    const char *p = strstr(c->input, "<parent>");
    const char *n = p ? strstr(p, "<name>") : NULL;
    const char *e = n ? strstr(n, "</name>") : NULL;
    if (!e)
        return 0;
    size_t len = strlen(dom_xml) + (size_t)(e - n) + 200;
    char *xml = malloc(len);
    snprintf(xml, len, "<domainsnapshot><name>%.*s</name><state>shutoff</state>"
             "<creationTime>1</creationTime>%s</domainsnapshot>", (int)(e - n - 6), n + 6,
             dom_xml);
    virDomainSnapshotPtr snap =
        virDomainSnapshotCreateXML(dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
    free(xml);
    if (!snap)
        return -1;
    virDomainSnapshotFree(snap);
    return 0;
}

/* An error case keeps its document as it is: the domain redefined for is
 * its --domain file, else a stub (domains/one.xml) with the uuid of the
 * snapshot's own <domain>, so only what the case is about can fail. */
static char *domain_as_is(const corpus_case *c, char **snapshot_xml)
{
    *snapshot_xml = strdup(c->input);
    if (c->domain_xml)
        return strdup(c->domain_xml);
    char path[4096];
    snprintf(path, sizeof(path), "%s/domains/one.xml", corpus_dir());
    char *raw = corpus_read_file(path, NULL);
    char *dom = raw ? corpus_subst(raw) : NULL;
    free(raw);
    const char *own = strstr(c->input, "<uuid>"), *stub = dom ? strstr(dom, "<uuid>") : NULL;
    if (own && stub && strlen(own) > 42 && own[42] == '<')
        memcpy((char *)stub + 6, own + 6, 36);
    return dom;
}

static char *libvirt_output(const corpus_case *c, bool as_is, char *err, size_t errlen,
                            int *code)
{
    char *snap_xml = NULL, *out = NULL;
    char *dom_xml = as_is ? domain_as_is(c, &snap_xml) : domain_of(c, &snap_xml);
    virConnectPtr conn = virConnectOpen("test:///default");
    virDomainPtr dom = NULL;
    virDomainSnapshotPtr snap = NULL;

    if (!conn || !dom_xml) {
        snprintf(err, errlen, "%s", !conn ? "cannot open test:///default" : "no domain");
        goto out;
    }
    /* (the test driver takes no DISK_ONLY with REDEFINE) */
    unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE |
                     (c->opts.validate ? VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE : 0);
    *code = 0;
    if (!(dom = virDomainDefineXML(conn, dom_xml)) || define_parent(dom, c, dom_xml) < 0 ||
        !(snap = virDomainSnapshotCreateXML(dom, snap_xml, flags)) ||
        !(out = virDomainSnapshotGetXMLDesc(snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE))) {
        virErrorPtr e = virGetLastError();
        snprintf(err, errlen, "libvirt: %s", e && e->message ? e->message : "failed");
        *code = dom && e ? e->code : -1; /* -1: the domain itself was refused */
    }
out:
    if (snap)
        virDomainSnapshotFree(snap);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    free(dom_xml);
    free(snap_xml);
    return out;
}

static void diag(const char *label, const char *text)
{
    printf("# %s:\n", label);
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, "\n");
        printf("#   %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* A class name ("CONFIG_UNSUPPORTED") back to its number. */
static int class_number(const char *name)
{
    for (int code = 1; code < 1100; code++)
        if (strcmp(sb_error_class_name(code), name) == 0)
            return code;
    return -1;
}

static bool policy_options(const sb_normalize_opts *o)
{
    return o->mixed_locations || o->force_default || o->no_override || o->no_disk_entries ||
           o->default_location || o->plugin_name;
}

/* An error case: libvirt must refuse it with the same class. */
static void run_error_case(const char *name, corpus_case *c)
{
    char err[512] = "";
    int code;
    char *theirs = libvirt_output(c, true, err, sizeof(err), &code);
    int want = class_number(c->err_class);
    const char *reason = exception_reason(name);
    /* an unknown class name is -1, which is also the code of a domain
     * libvirt refused: never "the same" */
    bool same = !theirs && want > 0 && code == want;

    test_no++;
    if (want < 0) {
        failures++;
        printf("not ok %d - %s: no error class named '%s' (its .err file)\n", test_no, name,
               c->err_class);
    } else if (same && !reason) {
        printf("ok %d - %s (both refuse: %s)\n", test_no, name, c->err_class);
    } else if (!same && reason) {
        printf("ok %d - %s (differs on purpose: %.*s)\n", test_no, name,
               (int)strcspn(reason, "\n"), reason);
    } else if (same) {
        failures++;
        printf("not ok %d - %s: listed in differential-exceptions.txt but libvirt agrees\n",
               test_no, name);
    } else {
        failures++;
        printf("not ok %d - %s: snapbroker refuses with %s, libvirt %s %s (code %d)\n", test_no,
               name, c->err_class, theirs ? "accepts it" : "refuses with", err, code);
    }
    free(theirs);
}

static void run_case(const char *name)
{
    corpus_case c;
    char err[512] = "";
    int code;
    if (corpus_load(name, &c) < 0 || !c.opts.redefine || policy_options(&c.opts) ||
        (!c.expected_out && !c.err_class)) {
        corpus_case_free(&c);
        return;
    }
    if (!c.expected_out) {
        if (!c.opts.disk_only) /* its error is about the flag */
            run_error_case(name, &c);
        corpus_case_free(&c);
        return;
    }
    char *theirs = libvirt_output(&c, false, err, sizeof(err), &code);
    char *ours = strdup(c.expected_out);
    const char *reason = exception_reason(name);
    bool same = false;

    if (theirs) {
        strip_block(theirs, "domain");
        strip_block(theirs, "inactiveDomain");
        strip_block(ours, "domain");
        strip_block(ours, "inactiveDomain");
        same = strcmp(theirs, ours) == 0;
    }
    test_no++;
    if (same && !reason) {
        printf("ok %d - %s\n", test_no, name);
    } else if (!same && reason) {
        printf("ok %d - %s (differs on purpose: %.*s)\n", test_no, name,
               (int)strcspn(reason, "\n"), reason);
    } else if (same && reason) {
        failures++;
        printf("not ok %d - %s: listed in differential-exceptions.txt but identical\n",
               test_no, name);
    } else {
        failures++;
        printf("not ok %d - %s: unlisted difference %s\n", test_no, name, err);
        diag("snapbroker", ours);
        if (theirs)
            diag("libvirt", theirs);
    }
    free(theirs);
    free(ours);
    corpus_case_free(&c);
}

int main(void)
{
    char path[4096];
    size_t n;
    /* libvirt logs its errors and "older snapshot" warnings to stderr */
    setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", 1);
    virSetErrorFunc(NULL, quiet);
    snprintf(path, sizeof(path), "%s/../../xml/differential-exceptions.txt", corpus_dir());
    exceptions = corpus_read_file(path, NULL);
    if (!exceptions) {
        printf("1..0 # SKIP cannot read %s\n", path);
        return 0;
    }
    char **names = corpus_list(&n);
    for (size_t i = 0; i < n; i++)
        run_case(names[i]);
    printf("1..%d\n", test_no);
    corpus_free_names(names, n);
    corpus_cleanup();
    free(exceptions);
    return failures ? 1 : 0;
}
#else
int main(void)
{
    printf("1..0 # SKIP libvirt development files not found at build time\n");
    return 0;
}
#endif
