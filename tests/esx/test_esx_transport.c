/* The esx plugin's transport against VMware's vSphere simulator:
 * credentials (esx group, auth file, never the URI), a session that
 * expires, tasks that report progress or fail, the host going away in
 * the middle of a task, and how many round trips the plugin needs.
 * Faults the simulator cannot produce by itself are armed through its
 * control endpoint (tests/esx-sim/middleware.go) and each test says so. */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char VM_QUERY[] = "disks=persistent&power=on";

static int group_setup(void **state)
{
    static const char *const args[] = { "-vm", "0", NULL };
    (void)state;
    return esx_fx_start(args, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    esx_fx_stop();
    return 0;
}

static int vm_setup(void **state)
{
    (void)state;
    free(esxsim_ctl(&fx.sim, "restore"));
    if (esx_fx_connect(NULL, NULL) != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    esx_fx_vm(VM_QUERY);
    return 0;
}

static int vm_teardown(void **state)
{
    (void)state;
    free(esxsim_ctl(&fx.sim, "restore"));
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", fx.moref));
    return 0;
}

static void arm(const char *query)
{
    char *r = esxsim_ctl(&fx.sim, "fault?%s", query);
    if (!r)
        fail_msg("cannot arm %s", query);
    free(r);
}

static int connect_with(const char *uri, const char *group)
{
    sb_error_clear();
    return esx_fx_connect(uri, group);
}

/* ---- credentials ---- */

static void wrong_password(void **state)
{
    (void)state;
    int rc = connect_with(NULL, "user = \"root\"; password = \"hunter2\";");
    expect_error(rc, SB_ERR_CONFIG, "refused the login of user 'root'");
    assert_null(strstr(sb_error_last()->message, "hunter2"));
    char *reqs = requests();
    assert_null(strstr(reqs, "hunter2")); /* the simulator's log redacts passwords */
    free(reqs);
}

static void password_never_in_uri(void **state)
{
    char uri[300];
    (void)state;
    snprintf(uri, sizeof(uri), "esx+http://root:secret@%s/", fx.sim.hostport);
    expect_error(connect_with(uri, "user = \"root\";"), SB_ERR_INVALID_ARG,
                 "must not carry a password");
    expect_error(connect_with(NULL, "user = \"root\";"), SB_ERR_CONFIG, "no password");
    expect_error(connect_with(NULL, "password = \"secret\";"), SB_ERR_CONFIG, "no user");
    snprintf(uri, sizeof(uri), "esx+http://root@%s/", fx.sim.hostport);
    assert_int_equal(connect_with(uri, "password = \"secret\";"), 0);
    snprintf(uri, sizeof(uri), "esx+http://%s/?no_verify=1", fx.sim.hostport);
    expect_error(connect_with(uri, NULL), SB_ERR_INVALID_ARG, "unknown URI parameter 'no_verify=1'");
}

static void bad_settings(void **state)
{
    (void)state;
    expect_error(connect_with(NULL, "user = \"root\"; password = \"secret\"; cache_ms = \"soon\";"),
                 SB_ERR_CONFIG, "cache_ms");
    expect_error(connect_with(NULL, "user = \"root\"; password = \"secret\"; timeout_ms = -5;"),
                 SB_ERR_CONFIG, "'timeout_ms' in the esx group must be 0..604800000 ms, not -5");
    expect_error(connect_with(NULL, "user = \"root\"; password = \"secret\"; tls_verify = 1;"),
                 SB_ERR_CONFIG, "tls_verify");
}

/* libvirt's auth file format: one file can serve virsh and snapbroker. */
static void auth_file(void **state)
{
    char path[600], group[700];
    (void)state;
    snprintf(path, sizeof(path), "%s/auth.conf", fx.sim.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# libvirt's format\n[credentials-sim]\nauthname=root\npassword=secret\n\n"
               "[auth-esx-127.0.0.1]\ncredentials=sim\n");
    fclose(f);
    chmod(path, 0600);
    snprintf(group, sizeof(group), "auth_file = \"%s\";", path);
    if (connect_with(NULL, group) != 0)
        fail_msg("connect with auth file: %s", sb_error_last()->message);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(sb_domain_list(&names, &n, fx.c, 0), 0);
    sb_names_free(names, n);

    f = fopen(path, "w");
    fprintf(f, "[credentials-x]\nauthname=root\npassword=secret\n[auth-esx-elsewhere]\n"
               "credentials=x\n");
    fclose(f);
    expect_error(connect_with(NULL, group), SB_ERR_CONFIG, "no credentials for 127.0.0.1");
    f = fopen(path, "w");
    fprintf(f, "[credentials-x]\nthis line is wrong\n");
    fclose(f);
    expect_error(connect_with(NULL, group), SB_ERR_CONFIG, "auth.conf:2:");
    snprintf(group, sizeof(group), "auth_file = \"%s/missing\";", fx.sim.dir);
    expect_error(connect_with(NULL, group), SB_ERR_CONFIG, "cannot read auth_file");
}

/* vCenter ends idle sessions; the simulator's control endpoint ends
 * them on demand.  The plugin logs in again, once, and carries on (its
 * container view went with the old session: it makes a new one). */
static void session_expires(void **state)
{
    char **names = NULL, other[64];
    size_t n = 0;
    int seen = 0;
    (void)state;
    create_ok("s1", NULL, 0);
    free(requests());
    free(esxsim_ctl(&fx.sim, "sessions/expire"));
    snprintf(other, sizeof(other), "%s", esxsim_unique("other"));
    free(esxsim_ctl(&fx.sim, "vm/create?name=%s", other));
    assert_int_equal(sb_domain_list(&names, &n, fx.c, 0), 0); /* needs the view */
    for (size_t i = 0; i < n; i++)
        seen |= strcmp(names[i], other) == 0;
    sb_names_free(names, n);
    assert_true(seen);
    create_ok("s2", NULL, 0);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "Login"), 1);
    free(reqs);
}

/* ---- tasks ---- */

struct progress_seen {
    unsigned v[16];
    int n;
    char what[256];
};

static void on_progress(void *opaque, const char *what, unsigned percent)
{
    struct progress_seen *p = opaque;
    if (p->n < 16)
        p->v[p->n++] = percent;
    snprintf(p->what, sizeof(p->what), "%s", what);
}

/* The simulator finishes every task before it answers; the control
 * endpoint makes three polls report it running first. */
static void task_progress(void **state)
{
    struct progress_seen seen = { 0 };
    (void)state;
    sb_broker_set_progress(fx.b, on_progress, &seen);
    arm("method=CreateSnapshot_Task&action=running&polls=3");
    create_ok("p1", NULL, 0);
    sb_broker_set_progress(fx.b, NULL, NULL);
    assert_int_equal(seen.n, 4);
    assert_int_equal(seen.v[0], 25);
    assert_int_equal(seen.v[1], 50);
    assert_int_equal(seen.v[2], 75);
    assert_int_equal(seen.v[3], 100);
    assert_non_null(strstr(seen.what, "creating snapshot 'p1'"));
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 1);
    /* four polls; only the first reads the VM too */
    assert_int_equal(requests_with(reqs, "RetrievePropertiesEx", "<type>Task</type>", NULL), 4);
    assert_int_equal(requests_with(reqs, "RetrievePropertiesEx", "<type>Task</type>",
                                   "<pathSet>snapshot</pathSet>"), 1);
    free(reqs);
}

/* A task the host accepted and then failed (the control endpoint fails
 * it with a given fault and message, without running it). */
static void task_fails(void **state)
{
    (void)state;
    arm("method=CreateSnapshot_Task&action=taskerror&kind=SystemError"
        "&message=No%20space%20left%20on%20datastore%20LocalDS_0");
    expect_error(try_create("f1", NULL, 0), SB_ERR_HYPERVISOR,
                 "No space left on datastore LocalDS_0 (SystemError)");
    assert_non_null(strstr(sb_error_last()->message, "creating snapshot 'f1'"));
    arm("method=RemoveSnapshot_Task&action=taskerror&kind=InvalidPowerState"
        "&message=The%20attempted%20operation%20cannot%20be%20performed");
    create_ok("f2", NULL, 0);
    expect_error(sb_snapshot_delete(fx.c, fx.vm, "f2", 0), SB_ERR_OPERATION_INVALID,
                 "cannot be performed (InvalidPowerState)");
    char *l = list_str(NULL, 0);
    assert_string_equal(l, "f2");
    free(l);
}

/* The host takes the request and goes away before answering: the plugin
 * says the outcome is unknown.  After the host is back, a new connection
 * sees what really happened (the simulator ran the task). */
static void host_vanishes_mid_task(void **state)
{
    (void)state;
    arm("method=CreateSnapshot_Task&action=vanish");
    expect_error(try_create("v1", NULL, 0), SB_ERR_HYPERVISOR, "no answer from");
    char *l = NULL;
    free(esxsim_ctl(&fx.sim, "restore"));
    if (connect_with(NULL, NULL) != 0)
        fail_msg("reconnect: %s", sb_error_last()->message);
    l = list_str(NULL, 0);
    assert_string_equal(l, "v1");
    free(l);
}

/* The task was created and the host goes away while the plugin polls. */
static void host_vanishes_while_polling(void **state)
{
    (void)state;
    arm("method=RetrievePropertiesEx&match=%3Ctype%3ETask%3C/type%3E&action=vanish-before");
    expect_error(try_create("v2", NULL, 0), SB_ERR_HYPERVISOR, "may still complete on the host");
    assert_non_null(strstr(sb_error_last()->message, "lost track of task"));
}

/* An empty reply, as when the simulator's handler panics.  libcurl
 * sends a request again, once, when a kept-alive connection closes
 * before any answer (a server may close idle connections): so two. */
static void empty_reply(void **state)
{
    (void)state;
    arm("method=CreateSnapshot_Task&action=empty");
    arm("method=CreateSnapshot_Task&action=empty");
    expect_error(try_create("e1", NULL, 0), SB_ERR_HYPERVISOR, "Empty reply");
    create_ok("e2", NULL, 0); /* the connection recovers */
}

/* ---- round trips ---- */

/* A create, revert and delete through the broker cost one read of the
 * VM when reads are kept (cache_ms), plus one call and one poll per
 * task: the poll that sees a task end also reads the VM. */
static void round_trips(void **state)
{
    (void)state;
    create_ok("old", NULL, 0); /* made by another connection */
    if (connect_with(NULL, "user = \"root\"; password = \"secret\"; cache_ms = 600000;") != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    create_ok("warm", NULL, 0); /* lists the VMs once */
    free(requests());
    create_ok("r1", NULL, 0);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "r1", 0), 0);
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "r1", 0), 0);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 1);
    assert_int_equal(esxsim_count(reqs, "RevertToSnapshot_Task"), 1);
    assert_int_equal(esxsim_count(reqs, "RemoveSnapshot_Task"), 1);
    /* 3 polls, nothing else: the new snapshot's configuration is what the
     * create's last poll read */
    assert_int_equal(esxsim_count(reqs, "RetrievePropertiesEx"), 3);
    /* and none asked for the device list: the simulator's snapshot tasks
     * leave config.changeVersion where the plugin's list was read */
    assert_int_equal(requests_with(reqs, "RetrievePropertiesEx", "config.hardware.device", NULL),
                     0);
    free(reqs);

    /* listing, current, parent and XML: no round trip on a kept read */
    char *cur = NULL, *xml = NULL;
    assert_int_equal(sb_snapshot_current(&cur, fx.c, fx.vm), 0);
    free(cur);
    char *l = list_str(NULL, 0);
    free(l);
    assert_int_equal(sb_snapshot_get_xml(&xml, fx.c, fx.vm, "warm", 0), 0);
    free(xml);
    reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RetrievePropertiesEx"), 0);
    free(reqs);
    /* a snapshot this connection did not take: its configuration once */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sb_snapshot_get_xml(&xml, fx.c, fx.vm, "old", 0), 0);
        free(xml);
    }
    reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RetrievePropertiesEx"), 1);
    free(reqs);
}

/* A read kept for cache_ms does not hide what another process of this
 * machine changed meanwhile (semantics.md §11: several CLI commands at
 * once): every task counts a change in the plugin's state directory for
 * the host, and a kept read serves only while that count is unchanged.
 * The other process is another broker here (its own connection and kept
 * read, the same state directory); without the count the first
 * connection would list its 10-minute-old read. */
static void kept_read_sees_other_process(void **state)
{
    (void)state;
    const char *group = "user = \"root\"; password = \"secret\"; cache_ms = 600000;";
    sb_broker *b2 = NULL;
    sb_connection *c2 = NULL;

    if (connect_with(NULL, group) != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    create_ok("k1", NULL, 0);
    char *l = list_str(NULL, 0);
    assert_string_equal(l, "k1");
    free(l);
    /* unchanged count: the kept read answers, no round trip */
    free(requests());
    l = list_str(NULL, 0);
    free(l);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RetrievePropertiesEx"), 0);
    free(reqs);

    assert_int_equal(sb_broker_new(&b2, NULL), 0);
    assert_int_equal(sb_connect(&c2, b2, "sim", 0), 0);
    l = NULL;
    assert_int_equal(sb_snapshot_create_xml(&l, c2, fx.vm,
                                            "<domainsnapshot><name>k2</name></domainsnapshot>", 0),
                     0);
    free(l);
    sb_disconnect(c2);
    sb_broker_free(b2);

    l = list_str(NULL, 0);
    assert_string_equal(l, "k1,k2");
    free(l);
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, fx.c, fx.vm), 0);
    assert_string_equal(cur, "k2");
    free(cur);
}

static int domain_has_disk(const char *target)
{
    char *xml = NULL, needle[64];
    if (sb_domain_get_xml(&xml, fx.c, fx.vm, 0) != 0)
        fail_msg("domain xml: %s", sb_error_last()->message);
    snprintf(needle, sizeof(needle), "<target dev='%s'", target);
    int has = strstr(xml, needle) != NULL;
    free(xml);
    return has;
}

/* Task polls leave the device list out while the VM's
 * config.changeVersion stays where the plugin's list was read (vm.c,
 * task.c).  A disk another client adds between two operations, and a
 * revert that restores other hardware, move the version, and the domain
 * XML after the next task shows the VM as it is (a plugin that kept its
 * list regardless would show the old disks).  The simulator keeps no
 * version and restores no hardware on a revert: esxsim does both, as
 * vSphere does (tests/esx-sim/config_version.go). */
static void devices_follow_config_version(void **state)
{
    (void)state;
    if (connect_with(NULL, "user = \"root\"; password = \"secret\"; cache_ms = 600000;") != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    create_ok("one", NULL, 0);
    assert_true(domain_has_disk("sda"));
    assert_false(domain_has_disk("sdb"));

    char *r = esxsim_ctl(&fx.sim, "vm/adddisk?vm=%s", fx.moref);
    assert_non_null(r);
    free(r);
    create_ok("two", NULL, 0);
    assert_true(domain_has_disk("sdb")); /* another client's disk */

    /* the same hardware: the version stays, the next polls are light */
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "two", 0), 0);
    assert_true(domain_has_disk("sdb"));
    free(requests());
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "one", 0), 0);
    char *reqs = requests();
    assert_int_equal(requests_with(reqs, "RetrievePropertiesEx", "config.hardware.device", NULL),
                     0);
    free(reqs);
    assert_false(domain_has_disk("sdb")); /* the revert restored one disk */
    assert_true(domain_has_disk("sda"));
    reqs = requests(); /* read again once: the version moved */
    assert_int_equal(requests_with(reqs, "RetrievePropertiesEx", "config.hardware.device", NULL),
                     1);
    free(reqs);

    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "two", 0), 0);
    assert_true(domain_has_disk("sdb"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, vm_setup, vm_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(wrong_password),
        T(password_never_in_uri),
        T(bad_settings),
        T(auth_file),
        T(session_expires),
        T(task_progress),
        T(task_fails),
        T(host_vanishes_mid_task),
        T(host_vanishes_while_polling),
        T(empty_reply),
        T(round_trips),
        T(kept_read_sees_other_process),
        T(devices_follow_config_version),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
