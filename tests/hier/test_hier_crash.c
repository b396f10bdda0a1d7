/* An import is atomic: a child process imports a hierarchy into a domain
 * that already has snapshots (some entries replace them, most are new, one
 * becomes current) and is SIGKILLed at every step: after each entry is
 * prepared and recorded in the transaction (the test wraps
 * sb_snap__redefine_entry) and at each durable call the store makes
 * (tests/store/crash_points.h: pwrite, pwritev, fsync, fdatasync,
 * ftruncate, rename), torn in the middle for the writes.  Afterwards the
 * domain's hierarchy must be exactly the one before the import or exactly
 * the one after it, never a mix; check finds nothing; and the same import
 * then succeeds.  Where the kill lands never depends on the machine's
 * speed.  The reference plugin "ref" (tests/plugins/reference, a test
 * fixture) stands in for a hypervisor whose metadata the broker keeps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/hier.h"
#include "core/snap.h"
#include "crash_points.h"
#include "snapbroker/snapbroker.h"

#define URI "ref:///default"
#define DOM "test"
#define NEW_ENTRIES 24

/* sb_snap__redefine_entry with a kill point after its n-th call. */
int __real_sb_snap__redefine_entry(sb_dom *d, struct sb_snap_request *rq, char **out_name);
int __wrap_sb_snap__redefine_entry(sb_dom *d, struct sb_snap_request *rq, char **out_name);
static int entries_seen, kill_after_entry;

int __wrap_sb_snap__redefine_entry(sb_dom *d, struct sb_snap_request *rq, char **out_name)
{
    int rc = __real_sb_snap__redefine_entry(d, rq, out_name);
    if (kill_after_entry && ++entries_seen == kill_after_entry)
        raise(SIGKILL);
    return rc;
}

static void run(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("'%s' failed", cmd);
}

static void connect_to(const char *dir, sb_broker **b, sb_connection **c)
{
    setenv("SNAPBROKER_STATE_DIR", dir, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    if (sb_broker_new(b, NULL) < 0 || sb_connect(c, *b, URI, 0) < 0)
        fail_msg("connect: %s", sb_error_last()->message);
}

static char *export_of(const char *dir)
{
    sb_broker *b;
    sb_connection *c;
    char *xml = NULL;
    connect_to(dir, &b, &c);
    if (sb_snapshot_export(&xml, c, DOM, NULL, SB_SNAPSHOT_XML_SECURE) < 0)
        fail_msg("export: %s", sb_error_last()->message);
    sb_disconnect(c);
    sb_broker_free(b);
    return xml;
}

static int import_into(const char *dir, const char *doc)
{
    sb_broker *b;
    sb_connection *c;
    connect_to(dir, &b, &c);
    int rc = sb_snapshot_import(NULL, c, DOM, doc, strlen(doc), "doc", NULL, 0,
                                SB_SNAPSHOT_IMPORT_CURRENT);
    sb_disconnect(c);
    sb_broker_free(b);
    return rc;
}

static struct {
    char pristine[64]; /* the domain before the import */
    char *doc;         /* the hierarchy imported */
    char *before, *after;
} g;

/* a <- b <- c (current), then the document: b again (a description
 * added), n0..n23 in a chain under c, n23 current, in reverse order. */
static int setup(void **state)
{
    sb_broker *b;
    sb_connection *c;
    (void)state;
    snprintf(g.pristine, sizeof(g.pristine), "/tmp/sb-hiercrash-XXXXXX");
    assert_non_null(mkdtemp(g.pristine));
    connect_to(g.pristine, &b, &c);
    const char *names[] = { "a", "b", "c" };
    for (int i = 0; i < 3; i++) {
        char xml[128];
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", names[i]);
        assert_int_equal(sb_snapshot_create_xml(NULL, c, DOM, xml, 0), 0);
    }
    char *bxml = NULL, *cxml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&bxml, c, DOM, "b", SB_SNAPSHOT_XML_SECURE), 0);
    assert_int_equal(sb_snapshot_get_xml(&cxml, c, DOM, "c", SB_SNAPSHOT_XML_SECURE), 0);
    sb_disconnect(c);
    sb_broker_free(b);

    size_t cap = 64 + (strlen(bxml) + strlen(cxml) + 256) * (NEW_ENTRIES + 2);
    char *doc = calloc(1, cap), *p = doc;
    p += sprintf(p, "<domainsnapshots>\n");
    for (int i = NEW_ENTRIES - 1; i >= 0; i--) {
        /* c's definition renamed n<i>, under n<i-1> (c for n0) */
        char name[16], parent[32];
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(parent, sizeof(parent), "n%d", i - 1);
        const char *nm = strstr(cxml, "<name>c</name>");
        const char *pn = strstr(cxml, "<parent>\n    <name>b</name>");
        assert_non_null(nm);
        assert_non_null(pn);
        const char *pn_end = pn + strlen("<parent>\n    <name>b</name>");
        p += sprintf(p, "<domainsnapshot%s>\n  <name>%s</name>%.*s<parent>\n    <name>%s</name>%s",
                     i == NEW_ENTRIES - 1 ? " current='yes'" : "", name,
                     (int)(pn - (nm + strlen("<name>c</name>"))), nm + strlen("<name>c</name>"),
                     i ? parent : "c", pn_end);
    }
    const char *st = strstr(bxml, "  <state>");
    assert_non_null(st);
    p += sprintf(p, "<domainsnapshot>\n  <name>b</name>\n  <description>again</description>\n%s",
                 st);
    sprintf(p, "</domainsnapshots>\n");
    g.doc = doc;
    free(bxml);
    free(cxml);

    g.before = export_of(g.pristine);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cp -a %s %s.after", g.pristine, g.pristine);
    run(cmd);
    snprintf(cmd, sizeof(cmd), "%s.after", g.pristine);
    if (import_into(cmd, g.doc) < 0)
        fail_msg("import: %s", sb_error_last()->message);
    g.after = export_of(cmd);
    assert_string_not_equal(g.before, g.after);
    assert_non_null(strstr(g.after, "<description>again</description>"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s.after", g.pristine);
    run(cmd);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g.pristine);
    run(cmd);
    free(g.doc);
    free(g.before);
    free(g.after);
    return 0;
}

/* The durable calls of one import, recorded in this process on a copy. */
static size_t dry_run(cp_call *trace, size_t cap)
{
    char dir[96], cmd[400];
    snprintf(dir, sizeof(dir), "%s.dry", g.pristine);
    snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", dir, g.pristine, dir);
    run(cmd);
    cp_record_start(trace, cap);
    int rc = import_into(dir, g.doc);
    size_t n = cp_record_stop();
    assert_int_equal(rc, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd);
    if (n == 0 || n > cap)
        fail_msg("the dry run saw %zu durable calls: are the --wrap link options of "
                 "tests/hier/meson.build still those the store's objects need?", n);
    return n;
}

/* Kill a child importing into a copy of the pristine domain at one step
 * (entry: after that many entries; else the call-th durable call), then
 * check what is left. */
static void kill_at(int entry, int call, bool torn, const char *what)
{
    char dir[96], cmd[400];
    snprintf(dir, sizeof(dir), "%s.kill", g.pristine);
    snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", dir, g.pristine, dir);
    run(cmd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (entry)
            kill_after_entry = entry;
        else
            cp_arm(call, torn, (unsigned)call * 7919u);
        import_into(dir, g.doc);
        _exit(3); /* the kill point was never reached */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        fail_msg("%s: the child was to be killed but exited with %d", what,
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    char *got = export_of(dir);
    if (strcmp(got, g.before) != 0 && strcmp(got, g.after) != 0)
        fail_msg("%s: the hierarchy is neither the one before the import nor the one after",
                 what);
    sb_broker *b;
    sb_connection *c;
    char *report = NULL;
    connect_to(dir, &b, &c);
    if (sb_check(&report, c, DOM, 0) != 0)
        fail_msg("%s: check: %s", what, report ? report : sb_error_last()->message);
    free(report);
    sb_disconnect(c);
    sb_broker_free(b);
    /* and the import, run again, completes it */
    if (import_into(dir, g.doc) < 0)
        fail_msg("%s: import after the kill: %s", what, sb_error_last()->message);
    free(got);
    got = export_of(dir);
    assert_string_equal(got, g.after);
    free(got);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd);
}

static void kill_after_each_entry(void **state)
{
    (void)state;
    for (int e = 1; e <= NEW_ENTRIES + 1; e++) {
        char what[64];
        snprintf(what, sizeof(what), "killed after entry %d", e);
        kill_at(e, 0, false, what);
    }
}

static void kill_at_each_durable_call(void **state)
{
    static cp_call trace[256];
    (void)state;
    size_t n = dry_run(trace, 256);
    fprintf(stderr, "# %zu durable calls\n", n);
    for (size_t i = 0; i < n; i++) {
        for (int torn = 0; torn < 2; torn++) {
            cp_kind k = trace[i].kind;
            if (torn && k != CP_PWRITE && k != CP_PWRITEV)
                continue;
            char what[96];
            snprintf(what, sizeof(what), "killed at durable call %zu (%s%s)", i + 1,
                     torn ? "torn " : "", cp_kind_name(k));
            kill_at(0, (int)i + 1, torn, what);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill_after_each_entry),
        cmocka_unit_test(kill_at_each_durable_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
