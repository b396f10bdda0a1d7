/* tests/qemu - regressions for the review of the qemu plugin
 * (/tmp/review-qemu.md), end to end through the public API with real
 * QEMU and qemu-img; data is proved with qemu-io.
 *
 *  1. a running external snapshot whose definition update fails must never
 *     unlink the overlays QEMU already writes to (full tmpfs over the
 *     plugin's domains dir; a store failure injected after the QMP
 *     transaction);
 *  2. read-only disks get no overlays, and their images are needed;
 *  3. a revert to a full external snapshot with a bad memory file:
 *     refused before the guest goes, or rolled back with QEMU's reason;
 *  4. an offline internal revert across two disks is all or nothing;
 *  5. shutdown does not hold the domain lock while it waits;
 *  6. revert overlays stay tracked after their snapshot is deleted; a
 *     missing overlay still in use is an error; a running merge whose
 *     definition update fails is followed at the next operation; an
 *     in-place internal revert needs the same device model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

static char inject_conf[400]; /* test_fail_store_after_qmp = 1 */
static char short_conf[400];  /* shutdown_timeout_ms = 300 */
static char long_conf[400];   /* shutdown_timeout_ms = an hour */
static char mounted[512];     /* a tmpfs to remove in the teardown */
static char saved[512];

static int setup(void **state)
{
    if (e2e_setup(state) < 0)
        return -1;
    if (e2e_write_conf(inject_conf, sizeof inject_conf, "inject.conf",
                       "test_fail_store_after_qmp = 1;") < 0 ||
        e2e_write_conf(short_conf, sizeof short_conf, "short.conf",
                       "shutdown_timeout_ms = 300;") < 0)
        return -1;
    return e2e_write_conf(long_conf, sizeof long_conf, "long.conf",
                          "shutdown_timeout_ms = 3600000;");
}

/* A message on one TAP comment line (tool output may span lines). */
static void note(const char *what, const char *msg)
{
    char *m = qp_strdup(msg ? msg : "");
    for (char *c = m; c && *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    print_message("# %s: %s\n", what, m ? m : "");
    free(m);
}

static void sh(const char *cmd)
{
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
    char *out = NULL, *err = NULL;
    (void)qp_run(&E.t, argv, &out, &err);
    free(out);
    free(err);
}

/* Undo a tmpfs mount over the domains dir: copy its definitions back. */
static void unmount_domains(void)
{
    if (!mounted[0])
        return;
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/fill; cp -a '%s'/. '%s'/ 2>/dev/null", mounted,
             mounted, saved);
    sh(cmd);
    if (umount(mounted) < 0)
        (void)umount2(mounted, MNT_DETACH);
    snprintf(cmd, sizeof cmd, "cp -a '%s'/. '%s'/ && rm -rf '%s'", saved, mounted, saved);
    sh(cmd);
    mounted[0] = '\0';
}

static int teardown_case(void **state)
{
    (void)state;
    unmount_domains();
    char **names = NULL;
    size_t n = 0;
    if (sb_domain_list(&names, &n, E.c, 0) == 0) {
        for (size_t i = 0; i < n; i++)
            e2e_stop(names[i]);
        sb_names_free(names, n);
    }
    return 0;
}

static char *current(const char *dom)
{
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, E.c, dom), 0);
    return cur;
}

/* QEMU's top image of a disk (canonical). */
static char *qemu_top(const char *dom, const char *target)
{
    qp_qmp *q = NULL;
    assert_int_equal(qp_proc_connect(&E.t, dom, &q), 0);
    qp_strv files = {0}, nodes = {0};
    assert_int_equal(qp_vm_disk_chain(q, target, &files, &nodes), 0);
    qp_qmp_close(q);
    assert_true(files.n > 0);
    char *top = qp_strdup(files.v[0]);
    qp_strv_free(&files);
    qp_strv_free(&nodes);
    return top;
}

static void assert_source(const char *dom, const char *target, const char *want)
{
    char *src = e2e_source(dom, target);
    if (strcmp(src, want))
        print_message("# %s %s: source '%s', want '%s'\n", dom, target, src, want);
    assert_string_equal(src, want);
    free(src);
}

/* Files in the scratch dir named "<prefix>*" other than the listed ones. */
static int stray_files(const char *prefix, const char *const *known)
{
    DIR *d = opendir(E.dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)))
            continue;
        int k = 0;
        for (const char *const *p = known; *p && !k; p++)
            k = !strcmp(de->d_name, *p);
        if (!k) {
            print_message("# stray file %s\n", de->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void connect_injecting(sb_broker **b, sb_connection **c)
{
    if (sb_broker_new(b, inject_conf) < 0 || sb_connect(c, *b, NULL, 0) < 0)
        note("broker", e2e_err());
    assert_non_null(*c);
}

static void define_xml(const char *dom, const char *devices)
{
    char *xml = qp_printf(
        "<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>%s"
        "<memballoon model='none'/></devices></domain>", dom, devices);
    char *name = NULL;
    int r = sb_domain_define(&name, E.c, xml);
    if (r < 0)
        note("define", e2e_err());
    assert_int_equal(r, 0);
    free(name);
    free(xml);
}

/* ---- 1. data loss ------------------------------------------------------ */

/* The domains dir is full: the create fails before QEMU is switched, so
 * QEMU stays on the image the definition names and nothing is lost. */
static void create_with_full_domains_dir(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("# skip: mounting a tmpfs needs root\n");
        skip();
    }
    e2e_define("fa");
    const char *base = e2e_path("fa-vda.qcow2");
    assert_int_equal(sb_domain_start(E.c, "fa", 0), 0);
    e2e_on_write("fa", "vda", 0x31);

    char dir[480], cmd[1600];
    snprintf(dir, sizeof dir, "%s/hosts/local/plugin-qemu/domains", E.state);
    snprintf(saved, sizeof saved, "%s/domains.saved", E.dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -a '%s'/. '%s'/", saved, dir, saved);
    sh(cmd);
    if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) {
        print_message("# skip: cannot mount a tmpfs here\n");
        e2e_stop("fa");
        skip();
    }
    snprintf(mounted, sizeof mounted, "%s", dir);
    snprintf(cmd, sizeof cmd, "cp -a '%s'/. '%s'/ && dd if=/dev/zero of='%s'/fill bs=4k "
                              "2>/dev/null; true", saved, dir, dir);
    sh(cmd);

    int r = e2e_snap("fa", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY);
    note("full", e2e_err());
    assert_int_equal(r, -SB_ERR_SYSTEM_ERROR);
    assert_false(e2e_in_tree("fa", "e1"));
    /* QEMU was not switched, and no overlay was made */
    char *top = qemu_top("fa", "vda");
    assert_string_equal(top, base);
    free(top);
    assert_false(qp_file_exists(e2e_path("fa-vda.e1")));
    e2e_on_write("fa", "vda", 0x33);
    unmount_domains();

    assert_int_equal(sb_domain_destroy(E.c, "fa"), 0);
    assert_source("fa", "vda", base);
    assert_true(e2e_off_check("fa", "vda", 0x33));
    assert_int_equal(sb_domain_start(E.c, "fa", 0), 0);
    assert_true(e2e_on_check("fa", "vda", 0x33));
    e2e_stop("fa");
}

/* The store fails after the transaction: the overlays QEMU writes to are
 * kept and the definition follows QEMU at the next operation (destroy). */
static void create_store_fails_after_transaction(void **state)
{
    (void)state;
    e2e_define("fb");
    const char *ova = e2e_path("fb-vda.e1"), *ovb = e2e_path("fb-vdb.e1");
    assert_int_equal(sb_domain_start(E.c, "fb", 0), 0);
    e2e_on_write("fb", "vda", 0x41);
    sb_broker *b2 = NULL;
    sb_connection *c2 = NULL;
    connect_injecting(&b2, &c2);
    char *xml = qp_strdup("<domainsnapshot><name>e1</name></domainsnapshot>");
    int r = sb_snapshot_create_xml(NULL, c2, "fb", xml, SB_SNAPSHOT_CREATE_DISK_ONLY);
    note("injected", e2e_err());
    free(xml);
    sb_disconnect(c2);
    sb_broker_free(b2);
    assert_int_equal(r, -SB_ERR_SYSTEM_ERROR);
    /* QEMU writes to the overlays, and they are still there */
    assert_true(qp_file_exists(ova));
    assert_true(qp_file_exists(ovb));
    char *top = qemu_top("fb", "vda");
    assert_string_equal(top, ova);
    free(top);
    e2e_on_write("fb", "vda", 0x44);
    e2e_on_write("fb", "vdb", 0x45);

    /* the same with the memory state saved first (the guest resumes) */
    e2e_define("fm");
    const char *fmem = e2e_path("fm-e1.mem"), *fova = e2e_path("fm-vda.e1");
    assert_int_equal(sb_domain_start(E.c, "fm", 0), 0);
    connect_injecting(&b2, &c2);
    xml = qp_printf("<domainsnapshot><name>e1</name><memory snapshot='external' file='%s'/>"
                    "</domainsnapshot>", fmem);
    r = sb_snapshot_create_xml(NULL, c2, "fm", xml, 0);
    note("injected with memory", e2e_err());
    free(xml);
    sb_disconnect(c2);
    sb_broker_free(b2);
    assert_int_equal(r, -SB_ERR_SYSTEM_ERROR);
    assert_true(qp_file_exists(fova));
    assert_int_equal(e2e_state("fm"), SB_DOMAIN_RUNNING);
    e2e_on_write("fm", "vda", 0x46);
    assert_int_equal(sb_domain_destroy(E.c, "fm"), 0);
    assert_source("fm", "vda", fova);
    assert_true(e2e_off_check("fm", "vda", 0x46));

    /* destroy brings the definition in line with what QEMU used */
    assert_int_equal(sb_domain_destroy(E.c, "fb"), 0);
    assert_source("fb", "vda", ova);
    assert_source("fb", "vdb", ovb);
    assert_true(e2e_off_check("fb", "vda", 0x44));
    assert_true(e2e_off_check("fb", "vdb", 0x45));
    assert_int_equal(sb_domain_start(E.c, "fb", 0), 0);
    assert_true(e2e_on_check("fb", "vda", 0x44));
    e2e_stop("fb");
}

/* ---- 2. read-only disks ------------------------------------------------- */

static void readonly_disks(void **state)
{
    (void)state;
    const char *a = e2e_path("ro-a.qcow2"), *ro = e2e_path("ro-ro.qcow2");
    const char *c = e2e_path("ro-c.qcow2"), *cx = e2e_path("ro-c.x9");
    assert_int_equal(qp_img_create(&E.t, a, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_create(&E.t, ro, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_create(&E.t, c, "qcow2", "16M"), 0);
    const char *fmt =
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vdc' bus='virtio'/>%s</disk>";
    char *dev = qp_printf(fmt, a, ro, c, "");
    define_xml("ro", dev);
    free(dev);

    /* vdb is read-only: 'no', although the broker aligns it explicitly */
    assert_int_equal(e2e_snap("ro", "x9", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_false(qp_file_exists(e2e_path("ro-ro.x9")));
    assert_source("ro", "vdb", ro);
    assert_source("ro", "vda", e2e_path("ro-a.x9"));
    assert_source("ro", "vdc", cx);
    char *sx = NULL;
    assert_int_equal(sb_snapshot_get_xml(&sx, E.c, "ro", "x9", 0), 0);
    assert_non_null(strstr(sx, "<disk name='vdb' snapshot='no'"));
    free(sx);
    e2e_off_write("ro", "vda", 0x51);
    e2e_off_write("ro", "vdc", 0x52);

    /* vdc becomes read-only while it runs on x9's overlay (what the old
     * code left for read-only disks): that image is needed all the same */
    dev = qp_printf(fmt, e2e_path("ro-a.x9"), ro, cx, "<readonly/>");
    define_xml("ro", dev);
    free(dev);
    assert_int_equal(e2e_del("ro", "x9", 0), 0);
    assert_source("ro", "vda", a);
    assert_source("ro", "vdc", c); /* merged and re-pointed, not unlinked */
    assert_true(e2e_img_check(a, 0x51));
    assert_true(e2e_img_check(c, 0x52));
    assert_int_equal(sb_domain_start(E.c, "ro", 0), 0);

    /* running: no overlay for the read-only disks either */
    int r = e2e_snap("ro", "y1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY);
    if (r < 0)
        note("y1", e2e_err());
    assert_int_equal(r, 0);
    assert_false(qp_file_exists(e2e_path("ro-ro.y1")));
    assert_false(qp_file_exists(e2e_path("ro-c.y1")));
    assert_source("ro", "vdb", ro);
    r = e2e_del("ro", "y1", 0);
    if (r < 0)
        note("del y1", e2e_err());
    assert_int_equal(r, 0);
    assert_false(qp_file_exists(e2e_path("ro-a.y1")));
    const char *const known[] = {"ro-a.qcow2", "ro-ro.qcow2", "ro-c.qcow2", NULL};
    assert_int_equal(stray_files("ro-", known), 0);
    e2e_stop("ro");
    assert_int_equal(sb_domain_start(E.c, "ro", 0), 0);
    e2e_stop("ro");
}

/* ---- 3. bad memory file --------------------------------------------------- */

static void write_file(const char *path, const void *hdr, size_t hlen, size_t total)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
    assert_true(fd >= 0);
    unsigned char buf[4096];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    if (hlen)
        memcpy(buf, hdr, hlen);
    assert_true(total <= sizeof buf);
    assert_int_equal(write(fd, buf, total), (ssize_t)total);
    close(fd);
}

static void revert_bad_memory_file(void **state)
{
    (void)state;
    e2e_define("mf");
    const char *mem = e2e_path("mf-f1.mem"), *ov = e2e_path("mf-vda.f1");
    assert_int_equal(sb_domain_start(E.c, "mf", 0), 0);
    char *inner = qp_printf("<memory snapshot='external' file='%s'/>", mem);
    assert_int_equal(e2e_snap("mf", "f1", inner, 0), 0);
    free(inner);
    e2e_on_write("mf", "vda", 0x55);
    pid_t pid = e2e_qemu_pid("mf");
    const char *const known[] = {"mf-vda.qcow2", "mf-vdb.qcow2", "mf-vda.f1", "mf-vdb.f1",
                                 "mf-f1.mem", NULL};

    /* not a migration stream at all: refused before the guest goes */
    write_file(mem, NULL, 0, 4096);
    int r = e2e_revert("mf", "f1", 0);
    note("garbage", e2e_err());
    assert_int_equal(r, -SB_ERR_OPERATION_FAILED);
    assert_non_null(strstr(e2e_err(), mem));
    assert_int_equal(e2e_qemu_pid("mf"), pid);
    assert_int_equal(e2e_state("mf"), SB_DOMAIN_RUNNING);
    assert_source("mf", "vda", ov);
    assert_int_equal(stray_files("mf-", known), 0);

    /* a valid header on a broken stream: QEMU fails to load it; the
     * previous definition comes back, the new overlays go, and the error
     * carries QEMU's reason rather than "not running" */
    write_file(mem, "QEVM\0\0\0\3", 8, 600);
    r = e2e_revert("mf", "f1", 0);
    note("broken", e2e_err());
    assert_int_equal(r, -SB_ERR_HYPERVISOR);
    assert_non_null(strstr(e2e_err(), "QEMU log"));
    assert_non_null(strstr(e2e_err(), "load of migration failed"));
    assert_null(strstr(e2e_err(), "is not running"));
    assert_int_equal(e2e_state("mf"), SB_DOMAIN_SHUTOFF);
    assert_source("mf", "vda", ov);
    assert_int_equal(stray_files("mf-", known), 0);
    char *cur = current("mf");
    assert_string_equal(cur, "f1");
    free(cur);
    assert_true(e2e_off_check("mf", "vda", 0x55));
}

/* ---- 4. offline internal revert, all or nothing ------------------------ */

struct lock_wait {
    const char *image;
    pid_t holder;
    int ended, status;
};

/* The holder has QEMU's image lock (OFD locks on the image's bytes 100 and
 * up), seen with F_OFD_GETLK, which takes no lock itself (a probe through
 * qemu-img would, and race with qemu-io's); or the holder ended. */
static int image_locked(void *p)
{
    struct lock_wait *w = p;
    if (waitpid(w->holder, &w->status, WNOHANG) == w->holder)
        return w->ended = 1;
    int fd = open(w->image, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int locked = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return locked;
}

static void internal_revert_locked_disk(void **state)
{
    (void)state;
    e2e_define("lk");
    const char *a = e2e_path("lk-vda.qcow2"), *b = e2e_path("lk-vdb.qcow2");
    assert_int_equal(e2e_snap("lk", "s1", NULL, 0), 0);
    e2e_off_write("lk", "vda", 0x22);
    e2e_off_write("lk", "vdb", 0x22);
    assert_int_equal(e2e_snap("lk", "s2", NULL, 0), 0);

    /* another process holds vdb's image open for writing */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        dup2(pfd[0], 0);
        close(pfd[0]);
        close(pfd[1]);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        execlp("qemu-io", "qemu-io", b, (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    /* wait until it holds QEMU's lock on the image */
    struct lock_wait lw = {b, holder, 0, 0};
    int held = test_wait_for(image_locked, &lw, TEST_HANG_MS) && !lw.ended;
    if (!held)
        print_message("# holder %ld: %s (status 0x%x)\n", (long)holder,
                      lw.ended ? "ended" : "no lock seen", lw.status);
    int r = held ? e2e_revert("lk", "s1", 0) : 0;
    note("locked", e2e_err());
    close(pfd[1]);
    if (!lw.ended)
        waitpid(holder, NULL, 0);
    assert_true(held);
    assert_true(r < 0);
    /* nothing changed: both disks still hold s2's data, no undo tags */
    assert_true(e2e_img_check(a, 0x22));
    assert_true(e2e_img_check(b, 0x22));
    char *cur = current("lk");
    assert_string_equal(cur, "s2");
    free(cur);
    char *argv[] = {(char *)"qemu-img", (char *)"snapshot", (char *)"-l", (char *)a, NULL};
    char *out = NULL;
    assert_int_equal(qp_run(&E.t, argv, &out, NULL), 0);
    assert_null(strstr(out, "sb-undo"));
    free(out);

    /* unlocked, the same revert works on both disks */
    assert_int_equal(e2e_revert("lk", "s1", 0), 0);
    assert_true(e2e_img_check(a, 0xaa));
    assert_true(e2e_img_check(b, 0xaa));
    argv[3] = (char *)b;
    assert_int_equal(qp_run(&E.t, argv, &out, NULL), 0);
    assert_null(strstr(out, "sb-undo"));
    free(out);
}

/* ---- 5. shutdown does not block destroy ----------------------------------- */

/* The shutdown child, forked: it waits for the guest after pressing the
 * power button, i.e. it sleeps in its first nanosleep (nothing before the
 * press sleeps), or it ended. */
static int shutdown_waits(void *p)
{
    pid_t child = *(pid_t *)p;
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
        return 1;
    return e2e_proc_sleep_s(child) >= 0;
}

struct child_wait {
    pid_t pid;
    int status;
};

static int child_ended(void *p)
{
    struct child_wait *c = p;
    return waitpid(c->pid, &c->status, WNOHANG) == c->pid;
}

static void destroy_during_shutdown(void **state)
{
    (void)state;
    e2e_define("sd");
    assert_int_equal(sb_domain_start(E.c, "sd", 0), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* a second process: the guest (bare SeaBIOS) ignores the button,
         * and the shutdown waits for it for an hour */
        sb_broker *b = NULL;
        sb_connection *c = NULL;
        if (sb_broker_new(&b, long_conf) < 0 || sb_connect(&c, b, NULL, 0) < 0)
            _exit(2);
        int r = sb_domain_shutdown(c, "sd");
        _exit(r == 0 ? 0 : 1);
    }
    int waiting = test_wait_for(shutdown_waits, &child, TEST_HANG_MS);
    /* while it waits, the domain lock is free */
    char *lock = qp_printf("%s/locks/sd.lock", E.t.state_dir);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    int lock_free = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (fd >= 0)
        close(fd);
    free(lock);
    struct child_wait cw = {child, 0};
    if (child_ended(&cw))
        fail_msg("the shutdown returned before the destroy (status 0x%x)", cw.status);
    if (!waiting || !lock_free) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        if (waiting)
            fail_msg("the shutdown holds the domain lock while it waits for the guest");
        fail_msg("the shutdown child never waited for the guest (in %d s)",
                 TEST_HANG_MS / 1000);
    }
    int r = sb_domain_destroy(E.c, "sd");
    if (r < 0)
        note("destroy", e2e_err());
    if (!test_wait_for(child_ended, &cw, TEST_HANG_MS)) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        fail_msg("the shutdown did not return within %d s of the destroy", TEST_HANG_MS / 1000);
    }
    assert_int_equal(r, 0);
    /* the guest is gone: the shutdown reports success */
    assert_true(WIFEXITED(cw.status) && WEXITSTATUS(cw.status) == 0);
    assert_int_equal(e2e_state("sd"), SB_DOMAIN_SHUTOFF);
}

/* The guest ignores the button: after the timeout (lock released while
 * waiting), OPERATION_TIMEOUT and the guest still runs. */
static void shutdown_timeout_keeps_guest(void **state)
{
    (void)state;
    e2e_define("st");
    assert_int_equal(sb_domain_start(E.c, "st", 0), 0);
    pid_t pid = e2e_qemu_pid("st");
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    assert_int_equal(sb_broker_new(&b, short_conf), 0);
    assert_int_equal(sb_connect(&c, b, NULL, 0), 0);
    int r = sb_domain_shutdown(c, "st");
    note("timeout", e2e_err());
    sb_disconnect(c);
    sb_broker_free(b);
    assert_int_equal(r, -SB_ERR_OPERATION_TIMEOUT);
    assert_non_null(strstr(e2e_err(), "use destroy"));
    assert_int_equal(e2e_state("st"), SB_DOMAIN_RUNNING);
    assert_int_equal(e2e_qemu_pid("st"), pid);
    e2e_stop("st");
}

/* ---- 6. smaller findings ------------------------------------------------ */

/* A revert overlay R outlives its snapshot; a later internal revert must
 * still remove it once nothing needs it. */
static void revert_overlay_tracked_after_delete(void **state)
{
    (void)state;
    e2e_define("rt");
    const char *base = e2e_path("rt-vda.qcow2");
    assert_int_equal(e2e_snap("rt", "i1", NULL, 0), 0);
    e2e_off_write("rt", "vda", 0x61);
    assert_int_equal(e2e_snap("rt", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("rt", "vda", 0x62);
    assert_int_equal(e2e_snap("rt", "e2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_revert("rt", "e1", 0), 0); /* e1 has a child: revertDisks */
    char *R = e2e_source("rt", "vda");
    assert_string_not_equal(R, e2e_path("rt-vda.e1"));
    assert_true(e2e_off_check("rt", "vda", 0x61));
    assert_int_equal(e2e_del("rt", "e2", 0), 0);
    assert_int_equal(e2e_del("rt", "e1", 0), 0);
    assert_true(qp_file_exists(R)); /* the domain runs on it */
    assert_true(e2e_off_check("rt", "vda", 0x61));

    assert_int_equal(e2e_revert("rt", "i1", 0), 0);
    assert_source("rt", "vda", base);
    assert_true(e2e_off_check("rt", "vda", 0xaa));
    if (qp_file_exists(R))
        print_message("# left behind: %s\n", R);
    assert_false(qp_file_exists(R));
    free(R);
    const char *const known[] = {"rt-vda.qcow2", "rt-vdb.qcow2", NULL};
    assert_int_equal(stray_files("rt-", known), 0);
}

/* The overlay is gone but the definition still names it. */
static void delete_missing_overlay_in_use(void **state)
{
    (void)state;
    e2e_define("mo");
    const char *ov = e2e_path("mo-vda.e1");
    assert_int_equal(e2e_snap("mo", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(unlink(ov), 0);
    int r = e2e_del("mo", "e1", 0);
    note("missing", e2e_err());
    assert_int_equal(r, -SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(e2e_err(), ov));
    assert_non_null(strstr(e2e_err(), "missing"));
    assert_true(e2e_in_tree("mo", "e1"));
    assert_int_equal(e2e_del("mo", "e1", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
}

/* A running active commit pivoted QEMU onto B, then the definition store
 * failed: the next operation (destroy) follows QEMU. */
static void delete_store_fails_after_pivot(void **state)
{
    (void)state;
    e2e_define("dp");
    const char *base = e2e_path("dp-vda.qcow2");
    assert_int_equal(sb_domain_start(E.c, "dp", 0), 0);
    assert_int_equal(e2e_snap("dp", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("dp", "vda", 0x66);
    sb_broker *b2 = NULL;
    sb_connection *c2 = NULL;
    connect_injecting(&b2, &c2);
    int r = sb_snapshot_delete(c2, "dp", "e1", 0);
    note("injected", e2e_err());
    sb_disconnect(c2);
    sb_broker_free(b2);
    assert_int_equal(r, -SB_ERR_SYSTEM_ERROR);
    char *top = qemu_top("dp", "vda");
    assert_string_equal(top, base); /* QEMU pivoted */
    free(top);
    e2e_on_write("dp", "vda", 0x67);
    assert_int_equal(sb_domain_destroy(E.c, "dp"), 0);
    assert_source("dp", "vda", base);
    assert_true(e2e_off_check("dp", "vda", 0x67));
    assert_int_equal(sb_domain_start(E.c, "dp", 0), 0);
    assert_true(e2e_on_check("dp", "vda", 0x67));
    /* the re-run finishes the delete */
    assert_int_equal(e2e_del("dp", "e1", 0), 0);
    assert_false(qp_file_exists(e2e_path("dp-vda.e1")));
    assert_true(e2e_on_check("dp", "vda", 0x67));
    e2e_stop("dp");
}

/* The snapshot was taken with vdb on virtio; QEMU now runs it on sata:
 * no in-place load into other devices, QEMU is restarted. */
static void inplace_revert_other_device_model(void **state)
{
    (void)state;
    e2e_define("dm");
    const char *a = e2e_path("dm-vda.qcow2"), *b = e2e_path("dm-vdb.qcow2");
    assert_int_equal(sb_domain_start(E.c, "dm", 0), 0);
    assert_int_equal(e2e_snap("dm", "s1", NULL, 0), 0);
    assert_int_equal(sb_domain_destroy(E.c, "dm"), 0);
    char *dev = qp_printf(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vdb' bus='sata'/></disk>", a, b);
    define_xml("dm", dev);
    free(dev);
    assert_int_equal(sb_domain_start(E.c, "dm", 0), 0);
    pid_t before = e2e_qemu_pid("dm");
    int r = e2e_revert("dm", "s1", 0);
    if (r < 0)
        note("revert", e2e_err());
    assert_int_equal(r, 0);
    assert_int_equal(e2e_state("dm"), SB_DOMAIN_RUNNING);
    assert_true(e2e_qemu_pid("dm") != before);
    qp_domain *d = NULL;
    char *xml = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "dm", 0), 0);
    assert_int_equal(qp_domain_parse(&E.t, xml, &d), 0);
    assert_string_equal(qp_domain_disk(d, "vdb")->bus, "virtio");
    qp_domain_free(d);
    free(xml);
    e2e_stop("dm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(create_with_full_domains_dir, teardown_case),
        cmocka_unit_test_teardown(create_store_fails_after_transaction, teardown_case),
        cmocka_unit_test_teardown(readonly_disks, teardown_case),
        cmocka_unit_test_teardown(revert_bad_memory_file, teardown_case),
        cmocka_unit_test_teardown(internal_revert_locked_disk, teardown_case),
        cmocka_unit_test_teardown(destroy_during_shutdown, teardown_case),
        cmocka_unit_test_teardown(shutdown_timeout_keeps_guest, teardown_case),
        cmocka_unit_test_teardown(revert_overlay_tracked_after_delete, teardown_case),
        cmocka_unit_test_teardown(delete_missing_overlay_in_use, teardown_case),
        cmocka_unit_test_teardown(delete_store_fails_after_pivot, teardown_case),
        cmocka_unit_test_teardown(inplace_revert_other_device_model, teardown_case),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
