/* tests/qemu - a CLI process killed (SIGKILL) while one of the qemu-img
 * runs of a snapshot operation is pending (issue 8, items 1, 3 and 5):
 * the next command must find the domain's images and metadata agreeing,
 * and nothing the plugin created left behind.
 *
 * The window: the CLI runs with a configuration whose qemu_img is a
 * wrapper script (written by this test) that, on its Nth run (counted in
 * a file), announces itself with its pid and waits for a "go" file before
 * it execs the real qemu-img.  The test kills the CLI as soon as the
 * wrapper has announced itself, then lets it go: that qemu-img still runs
 * to its end, as it would when a broker dies in the middle of a write.
 * No timing: every step waits for a file or for a process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

static char wrap_dir[300];
static char wrap_conf[400];
static char slow_conf[400]; /* block jobs throttled (test_job_rate) */

static int setup(void **state)
{
    if (e2e_setup(state) < 0 || !getenv("SB_CLI"))
        return -1;
    snprintf(wrap_dir, sizeof wrap_dir, "%s/wrap", E.dir);
    if (mkdir(wrap_dir, 0700) < 0)
        return -1;
    char script[400];
    snprintf(script, sizeof script, "%s/qemu-img", wrap_dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    /* WRAP_NTH: which run of qemu-img to hold (1 = the first);
     * WRAP_AFTER set: hold it once qemu-img has run, not before */
    fprintf(f, "#!/bin/sh\n"
               "d=%s\n"
               "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 ))\n"
               "echo $n > \"$d/count\"\n"
               "if [ \"$n\" = \"$WRAP_NTH\" ]; then\n"
               "  rc=0\n"
               "  if [ -n \"$WRAP_AFTER\" ]; then qemu-img \"$@\"; rc=$?; fi\n"
               "  echo \"$$ $*\" > \"$d/started.tmp\" && mv \"$d/started.tmp\" \"$d/started\"\n"
               "  while [ ! -e \"$d/go\" ]; do sleep 0.02; done\n"
               "  if [ -n \"$WRAP_AFTER\" ]; then exit $rc; fi\n"
               "fi\n"
               "exec qemu-img \"$@\"\n",
            wrap_dir);
    if (fclose(f) != 0 || chmod(script, 0700) < 0)
        return -1;
    char group[500];
    snprintf(group, sizeof group, "qemu_img = \"%s\";", script);
    /* s2's overlay holds 4 MiB (four_snapshots): at 1 MiB/s a job of
     * some seconds, which QEMU goes on with after the CLI is killed */
    if (e2e_write_conf(slow_conf, sizeof slow_conf, "slow.conf", "test_job_rate = 1048576;") < 0)
        return -1;
    return e2e_write_conf(wrap_conf, sizeof wrap_conf, "wrap.conf", group);
}

static const char *wrap_file(const char *name)
{
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", wrap_dir, name);
    return buf[k];
}

static void wrap_reset(int nth)
{
    unlink(wrap_file("count"));
    unlink(wrap_file("started"));
    unlink(wrap_file("go"));
    char v[16];
    snprintf(v, sizeof v, "%d", nth);
    setenv("WRAP_NTH", v, 1);
}

static int wrap_started(void *arg)
{
    (void)arg;
    return qp_file_exists(wrap_file("started"));
}

/* Wait for the held qemu-img run to announce itself; returns its pid and
 * (in what) its arguments. */
static pid_t wait_started(char *what, size_t len)
{
    char *text = NULL;
    assert_true(test_wait_for(wrap_started, NULL, TEST_HANG_MS));
    assert_int_equal(qp_read_file(&E.t, wrap_file("started"), &text, NULL), 0);
    long pid = strtol(text, NULL, 10);
    const char *sp = strchr(text, ' ');
    snprintf(what, len, "%s", sp ? sp + 1 : "");
    what[strcspn(what, "\n")] = '\0';
    free(text);
    return (pid_t)pid;
}

/* Start the CLI with the wrapper, kill it once run `nth` of qemu-img is
 * held, and return that run's pid (left waiting for "go"). */
static pid_t kill_at(int nth, const char *const args[], char *what, size_t len)
{
    wrap_reset(nth);
    pid_t cli = e2e_cli_start(wrap_conf, args);
    pid_t held = wait_started(what, len);
    print_message("# killed the CLI while qemu-img run %d waits: %s\n", nth, what);
    assert_int_equal(kill(cli, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(cli, &st, 0), cli);
    assert_true(WIFSIGNALED(st));
    unsetenv("WRAP_NTH");
    return held;
}

/* Let the held qemu-img run go and reap it (this process is the child
 * subreaper: the killed CLI's orphans are ours). */
static void release(pid_t held)
{
    FILE *f = fopen(wrap_file("go"), "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    int st;
    assert_int_equal(waitpid(held, &st, 0), held);
}

/* 1 when a process waits for the flock on the domain's plugin lock file
 * (a "->" line of /proc/locks on its inode). */
static int lock_has_waiter(const char *dom)
{
    char path[600], line[256];
    snprintf(path, sizeof path, "%s/locks/%s.lock", E.t.state_dir, dom);
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    char ino[40];
    snprintf(ino, sizeof ino, ":%lu ", (unsigned long)st.st_ino);
    FILE *f = fopen("/proc/locks", "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, "->") && strstr(line, ino);
    if (f)
        fclose(f);
    return found;
}

struct check_run {
    const char *dom;
    pid_t pid;
    int ended, status;
};

/* check waits for the domain lock, or (the bug) has ended already */
static int check_waits_or_ends(void *arg)
{
    struct check_run *c = arg;
    if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        return c->ended = 1;
    return lock_has_waiter(c->dom);
}

/* `check DOM` in a child CLI, started while the killed operation's
 * qemu-img is still held: it must wait for it (the domain lock), so the
 * run is released only once check is seen waiting, or has ended (which
 * is the bug).  Returns check's report (the tail of cli.log). */
static char *check_while_held(const char *dom, pid_t held)
{
    char *before = NULL;
    size_t off = 0;
    if (qp_read_file(&E.t, e2e_path("cli.log"), &before, &off) < 0)
        off = 0;
    free(before);
    const char *const args[] = {"check", dom, NULL};
    struct check_run run = {dom, e2e_cli_start(NULL, args), 0, 0};
    assert_true(test_wait_for(check_waits_or_ends, &run, TEST_HANG_MS));
    if (run.ended)
        print_message("# check ended while qemu-img still ran\n");
    release(held);
    int st = run.status;
    if (!run.ended)
        assert_int_equal(waitpid(run.pid, &st, 0), run.pid);
    char *log = NULL;
    assert_int_equal(qp_read_file(&E.t, e2e_path("cli.log"), &log, NULL), 0);
    char *report = strdup(log + off);
    free(log);
    for (const char *p = report; *p;) {
        size_t n = strcspn(p, "\n");
        print_message("# check: %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return report;
}

/* ---- 1. qemu-img outlives the killed CLI ------------------------------- */

/* The repro: a killed snapshot-delete used to leave qemu-img
 * running without the lock; check saw the tag, said "nothing to do", and
 * qemu-img then removed it: metadata without data. */
static void killed_delete_waits_for_qemu_img(void **state)
{
    (void)state;
    e2e_define("vo");
    const char *img = e2e_path("vo-vda.qcow2");
    assert_int_equal(e2e_snap("vo", "s1", NULL, 0), 0);
    char what[300];
    const char *const del[] = {"snapshot-delete", "vo", "s1", NULL};
    pid_t held = kill_at(1, del, what, sizeof what); /* snapshot -d on vda */
    assert_non_null(strstr(what, "snapshot -d"));
    char *report = check_while_held("vo", held);
    assert_non_null(strstr(report, "metadata removed"));
    free(report);
    assert_false(e2e_in_tree("vo", "s1"));
    assert_int_equal(e2e_has_tag(img, "s1"), 0);
    assert_int_equal(e2e_has_tag(e2e_path("vo-vdb.qcow2"), "s1"), 0);
    /* the name is free again, and a new s1 reverts */
    assert_int_equal(e2e_snap("vo", "s1", NULL, 0), 0);
    assert_int_equal(e2e_revert("vo", "s1", 0), 0);
}

/* The mirror case: a killed create used to leave an orphan tag. */
static void killed_create_waits_for_qemu_img(void **state)
{
    (void)state;
    e2e_define("vc");
    char what[300];
    const char *const mk[] = {"snapshot-create-as", "vc", "c1", NULL};
    pid_t held = kill_at(2, mk, what, sizeof what); /* snapshot -c on vdb */
    assert_non_null(strstr(what, "snapshot -c"));
    char *report = check_while_held("vc", held);
    assert_non_null(strstr(report, "adopted"));
    free(report);
    assert_true(e2e_in_tree("vc", "c1"));
    assert_int_equal(e2e_has_tag(e2e_path("vc-vda.qcow2"), "c1"), 1);
    assert_int_equal(e2e_has_tag(e2e_path("vc-vdb.qcow2"), "c1"), 1);
    e2e_off_write("vc", "vda", 0x31);
    assert_int_equal(e2e_revert("vc", "c1", 0), 0);
    assert_true(e2e_off_check("vc", "vda", 0xaa));
}

/* ---- helpers for the images ---------------------------------------------- */

/* Number of tags in image whose name starts with prefix. */
static int tags_with(const char *image, const char *prefix)
{
    qp_img_info info;
    assert_int_equal(qp_img_query(&E.t, image, 1, &info), 0);
    int n = 0;
    for (size_t i = 0; i < info.nsnaps; i++)
        n += !strncmp(info.snaps[i].name, prefix, strlen(prefix));
    qp_img_info_free(&info);
    return n;
}

/* Files in the scratch dir named "<dom>-<disk>.<all digits>[.N]": the
 * overlays of external reverts. */
static int revert_overlays(const char *dom)
{
    char **names = NULL;
    int n = 0;
    char *argv[] = {(char *)"ls", E.dir, NULL}, *out = NULL;
    assert_int_equal(qp_run(&E.t, argv, &out, NULL), 0);
    (void)names;
    size_t dl = strlen(dom);
    for (char *line = out, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        const char *dot = strchr(line, '.');
        if (strncmp(line, dom, dl) || line[dl] != '-' || !dot)
            continue;
        int digits = dot[1] != '\0';
        for (const char *c = dot + 1; *c; c++)
            digits &= (*c >= '0' && *c <= '9') || *c == '.';
        if (digits) {
            print_message("# left: %s\n", line);
            n++;
        }
    }
    free(out);
    return n;
}

static void check_quietly(const char *dom, unsigned flags)
{
    char *report = NULL;
    int r = sb_check(&report, E.c, dom, flags);
    for (const char *p = report ? report : e2e_err(); *p;) {
        size_t n = strcspn(p, "\n");
        print_message("# check: %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    assert_int_equal(r, 0);
    free(report);
}

/* ---- 3. offline internal revert of two disks, killed at every step ------ */

/* qemu-img runs of the revert: undo tag on vda, on vdb, apply s1 on vda,
 * on vdb, (the definition is stored: the commit point), drop the undo tag
 * on vda, on vdb.  Killed while run k is held (run k still completes),
 * the next command must leave both disks at the same point - before the
 * revert up to the commit point, at s1 after it - and no undo tag. */
static void internal_revert_killed_at_each_step(void **state)
{
    (void)state;
    e2e_define("ir");
    const char *a = e2e_path("ir-vda.qcow2"), *b = e2e_path("ir-vdb.qcow2");
    e2e_off_write("ir", "vda", 0x11);
    e2e_off_write("ir", "vdb", 0x11);
    assert_int_equal(e2e_snap("ir", "s1", NULL, 0), 0);
    e2e_off_write("ir", "vda", 0x22);
    e2e_off_write("ir", "vdb", 0x22);
    assert_int_equal(e2e_snap("ir", "s2", NULL, 0), 0);
    for (int k = 1; k <= 6; k++) {
        e2e_off_write("ir", "vda", 0x33);
        e2e_off_write("ir", "vdb", 0x33);
        char what[300];
        const char *const rv[] = {"snapshot-revert", "ir", "s1", NULL};
        pid_t held = kill_at(k, rv, what, sizeof what);
        release(held);
        check_quietly("ir", 0);
        int want = k <= 4 ? 0x33 : 0x11;
        print_message("# step %d (%s): both disks must hold 0x%02x\n", k, what, want);
        assert_true(e2e_img_check(a, want));
        assert_true(e2e_img_check(b, want));
        assert_int_equal(tags_with(a, "sb-undo-"), 0);
        assert_int_equal(tags_with(b, "sb-undo-"), 0);
        assert_int_equal(e2e_has_tag(a, "s1") + e2e_has_tag(b, "s1"), 2);
        assert_int_equal(e2e_has_tag(a, "s2") + e2e_has_tag(b, "s2"), 2);
    }
    assert_int_equal(e2e_revert("ir", "s2", 0), 0);
    assert_true(e2e_img_check(a, 0x22) && e2e_img_check(b, 0x22));
}

/* ---- 4. offline internal revert of ONE disk: finished, never undone ------ */

/* Define "ir1" with its first disk only and `mib` MiB of memory (the
 * definition the revert must store tells which one it is). */
static void define_one_disk(const char *image, int mib)
{
    char *xml = qp_printf(
        "<domain type='kvm'><name>ir1</name><memory unit='MiB'>%d</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "<memballoon model='none'/></devices></domain>", mib, image);
    char *name = NULL;
    assert_int_equal(sb_domain_define(&name, E.c, xml), 0);
    free(name);
    free(xml);
}

/* 1 when the stored definition of ir1 has `mib` MiB of memory. */
static int one_disk_memory_is(int mib)
{
    char *xml = NULL, mb[64], kb[64];
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "ir1", 0), 0);
    /* as defined (MiB) or as normalized (KiB) */
    snprintf(mb, sizeof mb, "'MiB'>%d</memory>", mib);
    snprintf(kb, sizeof kb, ">%d</memory>", mib * 1024);
    int ok = strstr(xml, mb) || strstr(xml, kb);
    if (!ok)
        print_message("# definition: %s\n", xml);
    free(xml);
    return ok;
}

/* Reverting one image needs no temporary snapshot: its one qemu-img run
 * applies the tag, and a process killed anywhere after the intent record
 * is finished by the next command (the tag applied again gives the same
 * contents; the snapshot's definition is stored).  The CLI is killed at
 * each step: before that run starts (it never runs), while it runs (it
 * runs to its end), after it ended (the definition not stored yet).  Each
 * time the disk holds s1's data and the domain s1's definition once the
 * next command ran, and no temporary tag is left. */
static void one_disk_revert_is_finished(void **state)
{
    (void)state;
    e2e_define("ir1");
    const char *a = e2e_path("ir1-vda.qcow2");
    define_one_disk(a, 64);
    e2e_off_write("ir1", "vda", 0x11);
    assert_int_equal(e2e_snap("ir1", "s1", NULL, 0), 0);
    /* a revert through the wrapper that holds nothing: one qemu-img run */
    define_one_disk(a, 96);
    e2e_off_write("ir1", "vda", 0x22);
    wrap_reset(1000);
    const char *const rv[] = {"snapshot-revert", "ir1", "s1", NULL};
    assert_int_equal(e2e_cli(wrap_conf, rv), 0);
    char *count = NULL;
    assert_int_equal(qp_read_file(&E.t, wrap_file("count"), &count, NULL), 0);
    assert_int_equal(atoi(count), 1);
    free(count);
    unsetenv("WRAP_NTH");
    assert_true(e2e_img_check(a, 0x11));
    assert_true(one_disk_memory_is(64));
    static const char *const steps[] = {"before qemu-img", "during qemu-img", "after qemu-img"};
    for (int step = 0; step < 3; step++) {
        define_one_disk(a, 96);
        e2e_off_write("ir1", "vda", 0x33);
        if (step == 2)
            setenv("WRAP_AFTER", "1", 1);
        char what[300];
        pid_t held = kill_at(1, rv, what, sizeof what);
        unsetenv("WRAP_AFTER");
        print_message("# killed %s: %s\n", steps[step], what);
        assert_non_null(strstr(what, "-a s1"));
        if (step == 0) {
            /* the held run dies with the CLI: qemu-img never ran */
            int st;
            assert_int_equal(kill(held, SIGKILL), 0);
            assert_int_equal(waitpid(held, &st, 0), held);
            assert_true(e2e_img_check(a, 0x33));
            check_quietly("ir1", 0);
        } else {
            /* check waits for the domain lock the held run keeps */
            free(check_while_held("ir1", held));
        }
        assert_true(e2e_img_check(a, 0x11));
        assert_true(one_disk_memory_is(64));
        assert_int_equal(tags_with(a, "sb-undo-"), 0);
        assert_int_equal(e2e_has_tag(a, "s1"), 1);
    }
    /* and the domain takes the next revert normally */
    e2e_off_write("ir1", "vda", 0x44);
    assert_int_equal(e2e_revert("ir1", "s1", 0), 0);
    assert_true(e2e_img_check(a, 0x11));
}

/* ---- 5. external revert and create, killed between their overlays -------- */

static void external_revert_killed(void **state)
{
    (void)state;
    e2e_define("xr");
    const char *ov = e2e_path("xr-vda.x1");
    assert_int_equal(e2e_snap("xr", "x1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("xr", "vda", 0x44);
    for (int k = 1; k <= 2; k++) { /* qemu-img create of vda's, then vdb's overlay */
        char what[300];
        const char *const rv[] = {"snapshot-revert", "xr", "x1", NULL};
        pid_t held = kill_at(k, rv, what, sizeof what);
        assert_non_null(strstr(what, "create"));
        release(held);
        check_quietly("xr", SB_CHECK_REPAIR);
        assert_int_equal(revert_overlays("xr"), 0);
        char *src = e2e_source("xr", "vda");
        assert_string_equal(src, ov); /* the definition it had */
        free(src);
        assert_true(e2e_off_check("xr", "vda", 0x44));
    }
    assert_int_equal(e2e_revert("xr", "x1", 0), 0);
    assert_true(e2e_off_check("xr", "vda", 0xaa));
}

static void external_create_killed(void **state)
{
    (void)state;
    e2e_define("xc");
    char what[300];
    const char *const mk[] = {"snapshot-create-as", "xc", "x2", "--disk-only", NULL};
    pid_t held = kill_at(2, mk, what, sizeof what); /* vdb's overlay; vda's is made */
    release(held);
    check_quietly("xc", SB_CHECK_REPAIR);
    assert_false(e2e_in_tree("xc", "x2"));
    assert_false(qp_file_exists(e2e_path("xc-vda.x2")));
    assert_false(qp_file_exists(e2e_path("xc-vdb.x2")));
    char *src = e2e_source("xc", "vda");
    assert_string_equal(src, e2e_path("xc-vda.qcow2"));
    free(src);
    /* the name works again */
    assert_int_equal(e2e_snap("xc", "x2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
}

/* ---- 6. shut-off external delete, killed at each qemu-img run ---------- */

/* s1 <- s2 <- s3 <- s4, then a revert to s3: the overlay s2 made (O)
 * has two images directly on it, the revert's overlay (the domain's top)
 * and s3's, captured by s4.  Deleting s2 shut off runs, per disk, a
 * qemu-img commit of O into the image below it and a rebase of each of
 * the two. */
static void four_snapshots(const char *dom)
{
    e2e_define(dom);
    static const char *const names[] = {"s1", "s2", "s3", "s4"};
    for (int i = 0; i < 4; i++) {
        e2e_off_write(dom, "vda", 0x11 + i);
        if (i == 2) { /* into s2's overlay: 4 MiB, a merge that takes a while throttled */
            char *top = e2e_source(dom, "vda");
            assert_int_equal(qp_io(&E.t, top, "qcow2", "write -P 0x13 1M 4M", NULL), 0);
            free(top);
        }
        assert_int_equal(e2e_snap(dom, names[i], NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    }
    e2e_off_write(dom, "vda", 0x15);
    assert_int_equal(e2e_revert(dom, "s3", 0), 0);
    e2e_off_write(dom, "vda", 0x16);
}

/* After the delete: s2's overlay gone, nothing left behind, and every
 * remaining state reads as it did. */
static void four_snapshots_after(const char *dom)
{
    assert_false(e2e_in_tree(dom, "s2"));
    char ov[64];
    snprintf(ov, sizeof ov, "%s-vda.s2", dom);
    assert_false(qp_file_exists(e2e_path(ov)));
    assert_int_equal(e2e_orphans(dom), 0);
    assert_true(e2e_off_check(dom, "vda", 0x16));
    static const char *const back[] = {"s4", "s3", "s1"};
    static const int data[] = {0x14, 0x13, 0x11};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e2e_revert(dom, back[i], 0), 0);
        assert_true(e2e_off_check(dom, "vda", data[i]));
    }
}

struct job_watch {
    const char *dom;
    pid_t cli;
    int ended;
};

/* The delete's block-commit job runs (seen from here), or the CLI ended
 * (a machine too slow to look in time: nothing left to kill). */
static int commit_job_runs(void *arg)
{
    struct job_watch *w = arg;
    sb_domain_job j;
    if (sb_domain_job_info(&j, E.c, w->dom) == 0 && j.active &&
        !strcmp(j.operation, "block-commit"))
        return 1;
    return w->ended = waitpid(w->cli, NULL, WNOHANG) == w->cli;
}

/* Killed while run k is held (it still completes), the next command
 * finishes the delete (the snapshot carries <snapshotDeleteInProgress/>):
 * once a rebase had moved an image from O onto B, that image used to look
 * like another user of B ("would change data that the domain still
 * uses"), and the delete was refused for good. */
static void external_delete_killed_at_each_step(void **state)
{
    (void)state;
    four_snapshots("xd0");
    wrap_reset(1000);
    const char *const del0[] = {"snapshot-delete", "xd0", "s2", NULL};
    assert_int_equal(e2e_cli(wrap_conf, del0), 0);
    char *count = NULL;
    assert_int_equal(qp_read_file(&E.t, wrap_file("count"), &count, NULL), 0);
    int runs = atoi(count);
    free(count);
    unsetenv("WRAP_NTH");
    print_message("# the delete ran qemu-img %d times\n", runs);
    assert_int_equal(runs, 6); /* per disk: commit, two rebases */
    four_snapshots_after("xd0");
    for (int k = 1; k <= runs; k++) {
        char dom[16], what[300];
        snprintf(dom, sizeof dom, "xd%d", k);
        four_snapshots(dom);
        const char *const del[] = {"snapshot-delete", dom, "s2", NULL};
        release(kill_at(k, del, what, sizeof what));
        print_message("# killed at run %d: %s\n", k, what);
        check_quietly(dom, 0); /* finishes the delete (snapshot_exists.c) */
        four_snapshots_after(dom);
    }
    /* Running: QEMU merges (a block-commit job) and moves the revert's
     * overlay, which it has open; s3's it has not, and the one qemu-img run
     * per disk is its rebase, after the job. */
    for (int k = 1; k <= 2; k++) {
        char dom[16], what[300];
        snprintf(dom, sizeof dom, "xr%d", k);
        four_snapshots(dom);
        assert_int_equal(sb_domain_start(E.c, dom, 0), 0);
        const char *const del[] = {"snapshot-delete", dom, "s2", NULL};
        release(kill_at(k, del, what, sizeof what));
        print_message("# running, killed at run %d: %s\n", k, what);
        assert_non_null(strstr(what, "rebase"));
        check_quietly(dom, 0);
        e2e_stop(dom);
        four_snapshots_after(dom);
    }
    /* Running, killed during the block-commit job (throttled): QEMU ends
     * the job and moves the revert's overlay by itself, and no note was
     * written yet; the next command must still move s3's overlay, which
     * used to be left on the removed one. */
    four_snapshots("xj");
    assert_int_equal(sb_domain_start(E.c, "xj", 0), 0);
    const char *const del[] = {"snapshot-delete", "xj", "s2", NULL};
    struct job_watch w = {"xj", e2e_cli_start(slow_conf, del), 0};
    assert_true(test_wait_for(commit_job_runs, &w, TEST_HANG_MS));
    if (!w.ended) {
        assert_int_equal(kill(w.cli, SIGKILL), 0);
        assert_int_equal(waitpid(w.cli, NULL, 0), w.cli);
    } else {
        print_message("# the delete ended before its job was seen\n");
    }
    check_quietly("xj", 0);
    e2e_stop("xj");
    four_snapshots_after("xj");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_delete_waits_for_qemu_img),
        cmocka_unit_test(killed_create_waits_for_qemu_img),
        cmocka_unit_test(internal_revert_killed_at_each_step),
        cmocka_unit_test(one_disk_revert_is_finished),
        cmocka_unit_test(external_revert_killed),
        cmocka_unit_test(external_create_killed),
        cmocka_unit_test(external_delete_killed_at_each_step),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
