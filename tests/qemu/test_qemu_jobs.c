/* tests/qemu - a snapshot delete's long commit seen and stopped from other
 * processes (issue 14), with real qemu-img and QEMU.
 *
 * The commit merges 8 MiB the test wrote into the snapshot's overlay; the
 * test-only key test_job_rate throttles it (qemu-img commit -r, QMP
 * block-commit speed) so it is still running while the test looks.  Every
 * command is a CLI process of its own: the delete; `domjobinfo`, run until
 * it shows the commit moving; `domjobabort`, which returns once the commit
 * has stopped.  The delete must then fail naming the abort, and leave the
 * domain reading what it read before, the snapshot still listed (marked
 * as being deleted, refused as a revert target), and running the delete
 * again must finish it.  Offline (qemu-img commit -p) and online (QEMU's
 * active block commit).
 *
 * The progress the delete reports (a qemu-img wrapper steps it): one line
 * redrawn in place on a terminal (the CLI on a pty) and erased before the
 * output; --progress=json lines on a pipe; nothing on a pipe without
 * --progress.  The stall
 * timeout: a qemu-img that stops moving is stopped, under the new key and
 * under the old job_timeout_ms.
 *
 * No sleeps: every step waits for what it needs (a process gone, a line
 * of domjobinfo), with TEST_HANG_MS only catching hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

static char slow_conf[400]; /* 64 KiB/s: aborted long before its end */
static char prog_conf[400]; /* the stepping qemu-img below */

/* A qemu-img whose commit reports 25% and 50% (twice each, as qemu-img
 * repeats itself), each only once the job record of its domain shows it
 * (the plugin has read it), then does the real commit with its own
 * progress thrown away and reports 100% twice: the progress the CLI gets
 * is known, whatever the speed of the machine. */
static int write_stepping_qemu_img(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "#!/bin/sh\n"
               "if [ \"$1\" != commit ]; then exec qemu-img \"$@\"; fi\n"
               "for a in \"$@\"; do top=$a; done\n"
               "dom=$(basename \"$top\"); dom=${dom%%%%-*}\n"
               "rec=%s/jobs/$dom.json\n"
               "step() {\n"
               "  printf '    (%%s/100%%%%)\\r    (%%s/100%%%%)\\r' $1 $1\n"
               "  n=0\n"
               "  until grep -q \"\\\"processed\\\":$2,\" \"$rec\" 2>/dev/null; do\n"
               "    n=$((n + 1)); [ $n -gt 12000 ] && exit 9; sleep 0.01\n"
               "  done\n"
               "}\n"
               "step 25.00 4194304\n"
               "step 50.00 8388608\n"
               "qemu-img \"$@\" >/dev/null || exit $?\n"
               "printf '    (100.00/100%%%%)\\r    (100.00/100%%%%)\\r'\n",
            E.t.state_dir);
    if (fclose(f) != 0 || chmod(path, 0700) < 0)
        return -1;
    return 0;
}

static int setup(void **state)
{
    char wrap[400], group[600];
    if (e2e_setup(state) < 0 || !getenv("SB_CLI"))
        return -1;
    snprintf(wrap, sizeof wrap, "%s", e2e_path("stepping-qemu-img"));
    snprintf(group, sizeof group, "qemu_img = \"%s\";", wrap);
    if (write_stepping_qemu_img(wrap) < 0 ||
        e2e_write_conf(slow_conf, sizeof slow_conf, "slow.conf", "test_job_rate = 65536;") ||
        e2e_write_conf(prog_conf, sizeof prog_conf, "prog.conf", group))
        return -1;
    return 0;
}

/* The CLI with config, stdout and stderr into the file out (or stderr
 * only when err_only), in a child; returns its pid. */
static pid_t spawn(const char *config, const char *out, int err_only, const char *const args[])
{
    const char *exe = getenv("SB_CLI");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (config)
            setenv("SNAPBROKER_CONFIG", config, 1);
        else
            unsetenv("SNAPBROKER_CONFIG");
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || null < 0)
            _exit(126);
        dup2(err_only ? null : fd, 1);
        dup2(fd, 2);
        const char *argv[16] = {exe};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    qp_ctx t;
    memset(&t, 0, sizeof t);
    if (qp_read_file(&t, path, &data, NULL) < 0)
        return qp_strdup("");
    return data;
}

/* Run the CLI to its end; its output (malloc'ed) and exit status. */
static char *cli_out(const char *config, int *status, const char *const args[])
{
    const char *f = e2e_path("out.txt");
    *status = e2e_cli_wait(spawn(config, f, 0, args));
    return slurp(f);
}

struct watch {
    const char *dom;
    const char *operation; /* virsh's name domjobinfo must show */
};

/* domjobinfo, from a process of its own, shows the job with data
 * processed (the commit is moving). */
static int job_moving(void *arg)
{
    const struct watch *w = arg;
    int st;
    char *o = cli_out(NULL, &st, (const char *const[]){"domjobinfo", w->dom, NULL});
    char want[128];
    snprintf(want, sizeof want, "Operation:        %s", w->operation);
    const char *p = strstr(o, "Data processed:");
    int ok = st == 0 && strstr(o, "Job type:         Unbounded") && strstr(o, want) && p &&
             strncmp(p, "Data processed:   0.000 B", 25) != 0 && strstr(o, "Data total:");
    if (ok)
        for (char *save = NULL, *l = strtok_r(o, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        print_message("# domjobinfo: %s\n", l);
    free(o);
    return ok;
}

static void assert_no_job(const char *dom)
{
    int st;
    char *o = cli_out(NULL, &st, (const char *const[]){"domjobinfo", dom, NULL});
    assert_int_equal(st, 0);
    assert_string_equal(o, "Job type:         None        \n\n");
    free(o);
}

/* 8 MiB of pattern in the overlay, over the 64 KiB the checks read. */
static const char *const BIG_WRITE_FMT = "write -P 0x%02x 1M 8M";

static char *big_write_cmd(int pattern)
{
    return qp_printf(BIG_WRITE_FMT, pattern);
}

/* Start the delete of dom's snapshot s1 with config; wait until
 * domjobinfo shows its commit moving; domjobabort it; the delete fails. */
static void abort_running_delete(const char *dom, const char *operation)
{
    char log[400]; /* e2e_path's buffers rotate */
    snprintf(log, sizeof log, "%s", e2e_path("delete.txt"));
    pid_t del = spawn(slow_conf, log, 0,
                      (const char *const[]){"--progress=json", "snapshot-delete", dom, "s1", NULL});
    struct watch w = {dom, operation};
    assert_true(test_wait_for(job_moving, &w, TEST_HANG_MS));
    int st;
    char *o = cli_out(NULL, &st, (const char *const[]){"domjobabort", dom, NULL});
    if (st != 0)
        print_message("# domjobabort: %s\n", o);
    assert_int_equal(st, 0);
    assert_string_equal(o, ""); /* virsh prints nothing either */
    free(o);
    assert_int_equal(e2e_cli_wait(del), 1);
    char *out = slurp(log);
    const char *err = strstr(out, "error: ");
    print_message("# the delete said: %s", err ? err : out);
    assert_non_null(strstr(out, "error: OPERATION_FAILED: "));
    assert_non_null(strstr(out, "was cancelled (domjobabort)"));
    assert_non_null(strstr(out, "run snapshot-delete again to finish"));
    free(out);
    assert_no_job(dom);
}

/* What a stopped delete leaves: the snapshot listed and marked, no revert
 * to it; then the delete again finishes and the data is in the base. */
static void after_abort(const char *dom, const char *base, int pattern)
{
    assert_true(e2e_in_tree(dom, "s1"));
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, dom, "s1", 0), 0);
    assert_non_null(strstr(xml, "snapshotDeleteInProgress"));
    free(xml);
    assert_int_equal(e2e_revert(dom, "s1", SB_SNAPSHOT_REVERT_FORCE), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(e2e_err(), "can no longer be reverted to"));
    assert_int_equal(e2e_del(dom, "s1", 0), 0);
    assert_false(e2e_in_tree(dom, "s1"));
    char *src = e2e_source(dom, "vda");
    assert_string_equal(src, base);
    free(src);
    assert_true(e2e_img_check(base, pattern));
}

/* qemu-img check: exit 0 (clean) or 3 (leaked clusters, what a killed
 * write may leave); never 2 (corruption). */
static void assert_image_sound(const char *image)
{
    char *argv[] = {(char *)"qemu-img", (char *)"check", (char *)"-U", (char *)image, NULL};
    char *out = NULL, *err = NULL;
    int st = qp_run(&E.t, argv, &out, &err);
    if (st != 0 && st != 3)
        print_message("# qemu-img check %s: %d %s %s\n", image, st, out, err);
    assert_true(st == 0 || st == 3);
    free(out);
    free(err);
}

static void offline_commit_aborted(void **state)
{
    (void)state;
    e2e_define("oj");
    char base[400]; /* e2e_path's buffers rotate */
    snprintf(base, sizeof base, "%s", e2e_path("oj-vda.qcow2"));
    assert_int_equal(e2e_snap("oj", "s1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *ov = e2e_source("oj", "vda"), *cmd = big_write_cmd(0x5a);
    char *o = NULL;
    assert_int_equal(qp_io(&E.t, ov, "qcow2", cmd, &o), 0);
    free(o);
    free(cmd);
    assert_no_job("oj");
    abort_running_delete("oj", "Block Commit");
    /* the domain reads its data as before, from the overlay */
    char *src = e2e_source("oj", "vda");
    assert_string_equal(src, ov);
    free(src);
    assert_true(e2e_off_check("oj", "vda", 0x5a));
    assert_image_sound(base);
    after_abort("oj", base, 0x5a);
    free(ov);
}

/* QEMU's active commit (a mirror job) copies one or two of its 16 MiB
 * buffers before its speed limit makes it wait for the bytes it copied:
 * 8 MiB would be merged in one go, and the job would reach its end before
 * domjobinfo could see it.  96 MiB leaves it waiting, with 16 or 32 MiB
 * processed, for minutes at test_job_rate, a wait only a hang could
 * outlast: the abort comes long before, and wakes the job at once.
 * (qemu-img commit, offline, shows its progress at once and then waits
 * about 128 s for its 8 MiB.) */
static const char *const ACTIVE_WRITE = "write -P 0x5b 1M 96M";

static void grow_image(const char *image, const char *size)
{
    char *argv[] = {(char *)"qemu-img", (char *)"resize", (char *)image, (char *)size, NULL};
    char *out = NULL, *err = NULL;
    int st = qp_run(&E.t, argv, &out, &err);
    if (st != 0)
        print_message("# qemu-img resize %s: %d %s %s\n", image, st, out, err);
    assert_int_equal(st, 0);
    free(out);
    free(err);
}

static void online_commit_aborted(void **state)
{
    (void)state;
    e2e_define("nj");
    char base[400];
    snprintf(base, sizeof base, "%s", e2e_path("nj-vda.qcow2"));
    grow_image(base, "128M");
    assert_int_equal(sb_domain_start(E.c, "nj", 0), 0);
    assert_int_equal(e2e_snap("nj", "s1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *ov = e2e_source("nj", "vda");
    e2e_on_io("nj", "vda", ACTIVE_WRITE);
    abort_running_delete("nj", "Active Block Commit");
    /* QEMU still runs on the overlay, which holds the data */
    char *src = e2e_source("nj", "vda");
    assert_string_equal(src, ov);
    free(src);
    assert_int_equal(e2e_state("nj"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("nj", "vda", 0x5b));
    after_abort("nj", base, 0x5b);
    e2e_stop("nj");
    free(ov);
}

/* A snapshot whose overlay holds 8 MiB, for the progress cases. */
static void prepare_offline(const char *dom, int pattern)
{
    e2e_define(dom);
    assert_int_equal(e2e_snap(dom, "s1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *ov = e2e_source(dom, "vda"), *cmd = big_write_cmd(pattern), *o = NULL;
    assert_int_equal(qp_io(&E.t, ov, "qcow2", cmd, &o), 0);
    free(o);
    free(cmd);
    free(ov);
}

/* The CLI on a pty (stdout and stderr), raw: what a terminal receives. */
static char *on_pty(const char *config, const char *const args[], int *status)
{
    struct termios raw;
    memset(&raw, 0, sizeof raw);
    cfmakeraw(&raw);
    int master = -1;
    pid_t pid = forkpty(&master, NULL, &raw, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("SNAPBROKER_CONFIG", config, 1);
        const char *argv[16] = {getenv("SB_CLI")};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) { /* until the child has closed the pty (EIO) */
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t r = read(master, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(master);
    *status = e2e_cli_wait(pid);
    return buf;
}

static void progress_line_on_terminal(void **state)
{
    (void)state;
    prepare_offline("pj", 0x5c);
    int st;
    char *out = on_pty(prog_conf, (const char *const[]){"snapshot-delete", "pj", "s1", NULL}, &st);
    if (st != 0)
        print_message("# on the terminal: %s\n", out);
    assert_int_equal(st, 0);
    /* one line redrawn in place: each draw is \r, the text, erase to the
     * end of the line; each percent once; the line erased before the
     * command's own output.  Two commits: vda's, then vdb's */
    assert_string_equal(out, "\rblock-commit:  25%\033[K"
                             "\rblock-commit:  50%\033[K"
                             "\rblock-commit: 100%\033[K"
                             "\rblock-commit:  25%\033[K"
                             "\rblock-commit:  50%\033[K"
                             "\rblock-commit: 100%\033[K"
                             "\r\033[KDomain snapshot s1 deleted\n\n");
    free(out);
    assert_true(e2e_off_check("pj", "vda", 0x5c));
}

static void progress_json_and_quiet_pipe(void **state)
{
    (void)state;
    prepare_offline("qj", 0x5d);
    prepare_offline("rj", 0x5e);
    char log[400];
    snprintf(log, sizeof log, "%s", e2e_path("json.txt"));
    assert_int_equal(e2e_cli_wait(spawn(prog_conf, log, 1,
                                        (const char *const[]){"--progress=json", "snapshot-delete",
                                                              "qj", "s1", NULL})),
                     0);
    char *out = slurp(log);
    static const int want[] = {25, 50, 100, 25, 50, 100}; /* vda's commit, vdb's */
    size_t lines = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(l), *p, *op, *pc;
        if (!o)
            print_message("# not JSON: %s\n", l);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "progress", &p));
        assert_true(json_object_object_get_ex(p, "operation", &op));
        assert_true(json_object_object_get_ex(p, "percent", &pc));
        assert_string_equal(json_object_get_string(op), "block-commit");
        assert_true(lines < 6);
        assert_int_equal(json_object_get_int(pc), want[lines]); /* each change once */
        lines++;
        json_object_put(o);
    }
    assert_int_equal(lines, 6);
    free(out);
    assert_true(e2e_off_check("qj", "vda", 0x5d));
    /* stderr a file, no --progress: not a byte of progress */
    snprintf(log, sizeof log, "%s", e2e_path("quiet.txt"));
    assert_int_equal(e2e_cli_wait(spawn(prog_conf, log, 1,
                                        (const char *const[]){"snapshot-delete", "rj", "s1", NULL})),
                     0);
    out = slurp(log);
    assert_string_equal(out, "");
    free(out);
}

/* A qemu-img whose commit says 5% and then never moves again. */
static void write_stuck_qemu_img(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n"
               "if [ \"$1\" = commit ]; then printf '    (5.00/100%%)\\r'; exec sleep 600; fi\n"
               "exec qemu-img \"$@\"\n");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0700), 0);
}

static void stalled_commit_cancelled(const char *dom, const char *key)
{
    char conf[400], group[700], file[64];
    char wrap[400];
    snprintf(wrap, sizeof wrap, "%s", e2e_path("stuck-qemu-img"));
    write_stuck_qemu_img(wrap);
    snprintf(group, sizeof group, "qemu_img = \"%s\"; %s = 1000;", wrap, key);
    snprintf(file, sizeof file, "%s.conf", key);
    assert_int_equal(e2e_write_conf(conf, sizeof conf, file, group), 0);
    prepare_offline(dom, 0x5f);
    int st;
    char *out = cli_out(conf, &st, (const char *const[]){"snapshot-delete", dom, "s1", NULL});
    print_message("# %s: %s\n", key, out);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "error: OPERATION_TIMEOUT: "));
    assert_non_null(strstr(out, "made no progress for 1000 ms"));
    free(out);
    assert_no_job(dom); /* the stuck qemu-img was stopped, the lock is free */
    char base[400], img[64];
    snprintf(img, sizeof img, "%s-vda.qcow2", dom);
    snprintf(base, sizeof base, "%s", e2e_path(img));
    after_abort(dom, base, 0x5f);
}

static void stall_timeout(void **state)
{
    (void)state;
    stalled_commit_cancelled("sj", "job_stall_timeout_ms");
    stalled_commit_cancelled("tj", "job_timeout_ms"); /* the old name, same rule */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offline_commit_aborted),
        cmocka_unit_test(online_commit_aborted),
        cmocka_unit_test(progress_line_on_terminal),
        cmocka_unit_test(progress_json_and_quiet_pipe),
        cmocka_unit_test(stall_timeout),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
