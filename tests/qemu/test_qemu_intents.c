/* tests/qemu - a CLI process killed (SIGKILL) in the middle of a snapshot
 * create or delete on a running domain, then sb_check reconciles the
 * broker's open intent with what QEMU's storage really holds
 * (snapshot_exists) and reports it.
 *
 * The window: the CLI child runs with a configuration whose qemu group
 * sets the test-only key test_delay_ms, so the plugin sleeps after the
 * hypervisor work and before the broker records the result.  The test
 * waits until QEMU's storage shows the change and the child sleeps that
 * very delay (its nanosleep's length, read from /proc), then kills it
 * there.  The delay is an hour: the child is always killed in it, however
 * slow the machine.
 * This process (no configuration, same state dir, same host "local")
 * then calls sb_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "journal.h"
#include "test_wait.h"

static char conf[400];     /* test_delay_ms: pause after the hypervisor work */
static char job_conf[400]; /* test_job_delay_ms: pause with a job at "ready" */

#define DELAY_S 3600
#define PATH_LEN 512

static int write_conf(char *path, size_t len, const char *file, const char *key)
{
    char setting[64];
    snprintf(setting, sizeof setting, "%s = %d;", key, DELAY_S * 1000);
    return e2e_write_conf(path, len, file, setting);
}

static int setup(void **state)
{
    if (e2e_setup(state) < 0 || !getenv("SB_CLI"))
        return -1;
    if (write_conf(conf, sizeof conf, "delay.conf", "test_delay_ms") < 0)
        return -1;
    return write_conf(job_conf, sizeof job_conf, "job.conf", "test_job_delay_ms");
}

/* Run the CLI with a delaying configuration; output to cli.log. */
static pid_t cli_with(const char *config, const char *a1, const char *a2, const char *a3, const char *a4)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("SNAPBROKER_CONFIG", config, 1);
        int fd = open(e2e_path("cli.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        const char *exe = getenv("SB_CLI");
        execl(exe, exe, a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t cli(const char *a1, const char *a2, const char *a3, const char *a4)
{
    return cli_with(conf, a1, a2, a3, a4);
}

struct kill_when {
    pid_t pid;
    int (*cond)(const void *);
    const void *arg;
};

/* cond holds (if any) and the child sleeps in the plugin's test delay, or
 * the child ended (then there is nothing to wait for). */
static int ready_to_kill(void *p)
{
    const struct kill_when *k = p;
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
        return 1;
    return (!k->cond || k->cond(k->arg)) && e2e_proc_sleep_s(k->pid) == DELAY_S;
}

/* Kill the CLI child once cond holds and it sleeps in the test delay;
 * killed in any case, so a failure leaves no process behind. */
static void wait_then_kill(pid_t pid, int (*cond)(const void *), const void *arg)
{
    struct kill_when k = {pid, cond, arg};
    int ok = test_wait_for(ready_to_kill, &k, TEST_HANG_MS);
    int st = 0;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == 0) {
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
    }
    if (w != 0)
        fail_msg("the CLI child ended (status 0x%x) before it was killed: see %s", st,
                 e2e_path("cli.log"));
    if (!ok)
        fail_msg("the CLI child did not reach its test delay with the change made in %d s",
                 TEST_HANG_MS / 1000);
    assert_true(WIFSIGNALED(st));
}

struct tag_arg {
    const char *image, *tag;
    int want;
};

static int tag_is(const void *p)
{
    const struct tag_arg *a = p;
    return e2e_has_tag(a->image, a->tag) == a->want;
}

static int file_gone(const void *p)
{
    return !qp_file_exists(p);
}

/* The stored definition (read directly: the CLI child holds the plugin's
 * domain lock during its delay) has vda on the overlay p. */
static int def_on(const void *p)
{
    qp_domain *d = NULL;
    if (qp_domain_load(&E.t, "kx", &d) < 0)
        return 0;
    const qp_disk *k = qp_domain_disk(d, "vda");
    int on = k && k->source && !strcmp(k->source, p);
    qp_domain_free(d);
    return on;
}

static void assert_source_is(const char *dom, const char *want)
{
    char *src = e2e_source(dom, "vda");
    assert_string_equal(src, want);
    free(src);
}

/* sb_check: returns the problems left; the report must say `expect`. */
/* A multi-line report as TAP diagnostics: every line starts with '#'. */
static void diag_lines(const char *what, const char *text)
{
    for (const char *p = text ? text : ""; *p;) {
        size_t len = strcspn(p, "\n");
        print_message("# %s: %.*s\n", what, (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static void check_reports(const char *dom, const char *expect)
{
    char *report = NULL;
    int r = sb_check(&report, E.c, dom, 0);
    diag_lines("check", report ? report : e2e_err());
    assert_int_equal(r, 0);
    assert_non_null(strstr(report, expect));
    free(report);
    /* reconciled: a second check has nothing left to say about it */
    assert_int_equal(sb_check(&report, E.c, dom, 0), 0);
    assert_null(strstr(report, expect));
    free(report);
}

static void internal_create_and_delete_killed(void **state)
{
    (void)state;
    e2e_define("ki");
    const char *base = e2e_path("ki-vda.qcow2");
    assert_int_equal(sb_domain_start(E.c, "ki", 0), 0);
    e2e_on_write("ki", "vda", 0xd1);

    struct tag_arg made = {base, "k1", 1};
    wait_then_kill(cli("snapshot-create-as", "ki", "k1", NULL), tag_is, &made);
    assert_false(e2e_in_tree("ki", "k1")); /* killed before the broker recorded it */
    check_reports("ki", "adopted");
    assert_true(e2e_in_tree("ki", "k1"));
    assert_int_equal(e2e_state("ki"), SB_DOMAIN_RUNNING);
    e2e_on_write("ki", "vda", 0xd2);
    assert_int_equal(e2e_revert("ki", "k1", 0), 0);
    assert_true(e2e_on_check("ki", "vda", 0xd1));

    struct tag_arg gone = {base, "k1", 0};
    wait_then_kill(cli("snapshot-delete", "ki", "k1", NULL), tag_is, &gone);
    assert_true(e2e_in_tree("ki", "k1"));
    check_reports("ki", "metadata removed");
    assert_false(e2e_in_tree("ki", "k1"));
    assert_true(e2e_on_check("ki", "vda", 0xd1));
    e2e_stop("ki");
}

/* A running domain's disk-only create killed in the test delay once cond
 * holds; then the window is widened: its definition is put back on the
 * base, as if the process had died right after QEMU's transaction, before
 * the plugin stored the new definition. */
static void create_killed_after_transaction(const char *dom, const char *snap, int byte,
                                            int (*cond)(const void *), char base[PATH_LEN],
                                            char ov[PATH_LEN])
{
    /* copies: e2e_path's buffers are reused by the calls below */
    char f[64];
    snprintf(f, sizeof f, "%s-vda.qcow2", dom);
    snprintf(base, PATH_LEN, "%s", e2e_path(f));
    snprintf(f, sizeof f, "%s-vda.%s", dom, snap);
    snprintf(ov, PATH_LEN, "%s", e2e_path(f));
    e2e_define(dom);
    assert_int_equal(sb_domain_start(E.c, dom, 0), 0);
    e2e_on_write(dom, "vda", byte);
    wait_then_kill(cli("snapshot-create-as", dom, snap, "--disk-only"), cond, ov);
    assert_false(e2e_in_tree(dom, snap));
    qp_domain *d = NULL;
    assert_int_equal(qp_domain_load(&E.t, dom, &d), 0);
    char *old = qp_domain_xml_set_disk(d->xml, "vda", base, "qcow2");
    assert_int_equal(qp_domain_store(&E.t, dom, old), 0);
    free(old);
    qp_domain_free(d);
}

static void external_create_and_delete_killed(void **state)
{
    (void)state;
    char base[PATH_LEN], ov[PATH_LEN];
    create_killed_after_transaction("kx", "x1", 0xe1, def_on, base, ov);
    check_reports("kx", "adopted");
    assert_true(e2e_in_tree("kx", "x1"));
    char *src = e2e_source("kx", "vda");
    assert_string_equal(src, ov); /* the definition followed QEMU onto the overlay */
    free(src);
    e2e_on_write("kx", "vda", 0xe2);
    assert_true(e2e_img_check(base, 0xe1));

    /* delete = active block-commit of the overlay into the base, pivot */
    wait_then_kill(cli("snapshot-delete", "kx", "x1", NULL), file_gone, ov);
    check_reports("kx", "metadata removed");
    assert_false(e2e_in_tree("kx", "x1"));
    src = e2e_source("kx", "vda");
    assert_string_equal(src, base);
    free(src);
    assert_true(e2e_on_check("kx", "vda", 0xe2));
    e2e_stop("kx");
}

/* A disk-only create leaves its record uncommitted once QEMU writes to
 * the overlay (snapshot_create.c online_disks: the overlays need no
 * commit record).  Killed right after the transaction, before the new
 * definition is stored: the dead process's record (the overlay it made,
 * not committed) and the old definition are put back as it would have
 * left them.  The recovery must keep the overlay, which only QEMU's chain
 * names, and the snapshot is adopted with the definition following QEMU. */
static void external_create_killed_with_its_record(void **state)
{
    (void)state;
    char base[PATH_LEN], ov[PATH_LEN];
    create_killed_after_transaction("kr", "r1", 0xe7, NULL, base, ov);
    /* and the record the dead process left: the overlay, not committed */
    qp_journal j;
    assert_int_equal(qp_journal_init(&E.t, &j, "kr", "create", "r1", NULL), 0);
    assert_int_equal(qp_strv_add(&j.created, ov), 0);
    assert_int_equal(qp_journal_save(&E.t, &j), 0);
    qp_journal_free(&j);
    assert_true(qp_journal_pending(&E.t, "kr"));

    check_reports("kr", "adopted");
    assert_false(qp_journal_pending(&E.t, "kr"));
    assert_true(qp_file_exists(ov)); /* QEMU writes to it: kept */
    assert_true(e2e_in_tree("kr", "r1"));
    assert_source_is("kr", ov);
    e2e_on_write("kr", "vda", 0xe8);
    assert_true(e2e_img_check(base, 0xe7));
    assert_true(e2e_on_check("kr", "vda", 0xe8));
    e2e_stop("kr");
    assert_true(e2e_off_check("kr", "vda", 0xe8));
}

/* A power loss may lose the close of a running guest's disk-only create:
 * it is not synced (journal.c), the record it reopens having to remove
 * nothing QEMU wrote to.  Here the snapshot is made for real, the guest
 * writes to its overlay, the domain is stopped and its definition put
 * back on the base (as a later revert would), and the record is put back
 * as such a power loss leaves it, with an empty file an interrupted
 * create had made besides.  The next call's recovery keeps the overlay
 * (its data intact) and removes the empty file. */
static void running_create_record_reopened_keeps_overlay(void **state)
{
    (void)state;
    char base[PATH_LEN], left[PATH_LEN];
    snprintf(base, sizeof base, "%s", e2e_path("ke-vda.qcow2"));
    snprintf(left, sizeof left, "%s", e2e_path("ke-vda.left"));
    e2e_define("ke");
    assert_int_equal(sb_domain_start(E.c, "ke", 0), 0);
    e2e_on_write("ke", "vda", 0xe9);
    assert_int_equal(e2e_snap("ke", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *ov = e2e_source("ke", "vda");
    assert_string_not_equal(ov, base);
    e2e_on_write("ke", "vda", 0xea);
    e2e_stop("ke");
    qp_domain *d = NULL;
    assert_int_equal(qp_domain_load(&E.t, "ke", &d), 0);
    char *old = qp_domain_xml_set_disk(d->xml, "vda", base, "qcow2");
    assert_int_equal(qp_domain_store(&E.t, "ke", old), 0);
    free(old);
    qp_domain_free(d);

    qp_journal j;
    assert_int_equal(qp_journal_init(&E.t, &j, "ke", "create", "e1", NULL), 0);
    j.undo_empty_only = 1;
    assert_int_equal(qp_strv_add(&j.created, ov), 0);
    int fd = qp_journal_create_file(&E.t, &j, left);
    assert_true(fd >= 0);
    close(fd);
    qp_journal_free(&j);
    assert_true(qp_journal_pending(&E.t, "ke"));

    char *report = NULL;
    int r = sb_check(&report, E.c, "ke", 0);
    diag_lines("check", report ? report : e2e_err());
    free(report);
    assert_int_equal(r, 0);
    assert_false(qp_journal_pending(&E.t, "ke"));
    assert_true(qp_file_exists(ov));
    assert_true(e2e_img_check(ov, 0xea)); /* what the guest wrote after the snapshot */
    assert_true(e2e_img_check(base, 0xe9));
    assert_false(qp_file_exists(left));
    free(ov);
}

/* Killed while QEMU's active block commit waits at "ready" for the
 * job-complete that never comes: the job stays in QEMU.  check finishes
 * it (the pivot the delete meant), the definition follows QEMU, and the
 * delete, past its point of no return, is finished too. */
static void commit_job_left_in_qemu(void **state)
{
    (void)state;
    e2e_define("kj");
    const char *base = e2e_path("kj-vda.qcow2"), *ov = e2e_path("kj-vda.j1");
    assert_int_equal(sb_domain_start(E.c, "kj", 0), 0);
    assert_int_equal(e2e_snap("kj", "j1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("kj", "vda", 0xe5);
    pid_t child = cli_with(job_conf, "snapshot-delete", "kj", "j1", NULL);
    wait_then_kill(child, NULL, NULL); /* vda's commit waits at "ready" */
    assert_source_is("kj", ov);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, "kj", "j1", 0), 0);
    assert_non_null(strstr(xml, "snapshotDeleteInProgress")); /* persisted before the commit */
    free(xml);
    /* QEMU pivoted onto the base: the snapshot's captured state is gone,
     * so check finishes the delete and says so (it used to report the
     * delete as interrupted "before the hypervisor changed") */
    char *report = NULL;
    assert_true(sb_check(&report, E.c, "kj", 0) >= 0);
    diag_lines("check", report);
    assert_non_null(strstr(report, "metadata removed"));
    assert_null(strstr(report, "before the hypervisor changed"));
    free(report);
    assert_false(e2e_in_tree("kj", "j1"));
    assert_false(qp_file_exists(ov));
    assert_source_is("kj", base);
    assert_true(e2e_on_check("kj", "vda", 0xe5));
    e2e_stop("kj");
    assert_true(e2e_off_check("kj", "vda", 0xe5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(internal_create_and_delete_killed),
        cmocka_unit_test(external_create_and_delete_killed),
        cmocka_unit_test(external_create_killed_with_its_record),
        cmocka_unit_test(running_create_record_reopened_keeps_overlay),
        cmocka_unit_test(commit_job_left_in_qemu),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
