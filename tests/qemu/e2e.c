/* tests/qemu - end-to-end helpers (see e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

struct e2e E;

const char *e2e_path(const char *f)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", E.dir, f);
    return buf[k];
}

int e2e_write_conf(char *path, size_t len, const char *file, const char *setting)
{
    snprintf(path, len, "%s/%s", E.dir, file);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "default_host = \"local\";\n"
               "hosts = ( { name = \"local\"; plugin = \"qemu\"; uri = \"qemu:///session\";\n"
               "            qemu = { %s }; } );\n", setting);
    return fclose(f);
}

/* A boot sector: xor ax,ax; mov ds,ax; sti; hlt; inc dword [0x7e00]; jmp
 * back to hlt - guest RAM that changes on every timer interrupt. */
static int write_mbr(void)
{
    static const unsigned char code[] = {0x31, 0xc0, 0x8e, 0xd8, 0xfb, 0xf4, 0x66,
                                         0xff, 0x06, 0x00, 0x7e, 0xeb, 0xf7};
    unsigned char sector[512] = {0};
    memcpy(sector, code, sizeof code);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    FILE *f = fopen(e2e_path("mbr.bin"), "wb");
    if (!f)
        return -1;
    int ok = fwrite(sector, 1, sizeof sector, f) == sizeof sector;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int e2e_setup(void **state)
{
    (void)state;
    /* QEMU is started by a double fork; as subreaper we reap it at once
     * instead of waiting for PID 1's slow reaping */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    snprintf(E.dir, sizeof E.dir, "/tmp/sbe2e.XXXXXX");
    if (!mkdtemp(E.dir))
        return -1;
    snprintf(E.state, sizeof E.state, "%s/state", E.dir);
    setenv("SNAPBROKER_STATE_DIR", E.state, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    if (write_mbr() < 0)
        return -1;
    if (sb_broker_new(&E.b, NULL) < 0 || sb_connect(&E.c, E.b, NULL, 0) < 0) {
        fprintf(stderr, "broker: %s\n", sb_error_last()->message);
        return -1;
    }
    if (strcmp(sb_connection_plugin(E.c), "qemu") != 0)
        return -1;
    char pd[400];
    snprintf(pd, sizeof pd, "%s/hosts/%s/plugin-qemu", E.state, sb_connection_host(E.c));
    qp_ctx_init(&E.t, NULL, NULL, pd);
    return 0;
}

int e2e_teardown(void **state)
{
    (void)state;
    char **names = NULL;
    size_t n = 0;
    if (sb_domain_list(&names, &n, E.c, 0) == 0) {
        for (size_t i = 0; i < n; i++)
            e2e_stop(names[i]);
        sb_names_free(names, n);
    }
    sb_disconnect(E.c);
    sb_broker_free(E.b);
    if (!getenv("E2E_KEEP")) {
        char *argv[] = {(char *)"rm", (char *)"-rf", E.dir, NULL};
        qp_run(&E.t, argv, NULL, NULL);
    }
    qp_ctx_fini(&E.t);
    return 0;
}

static void io(const char *image, const char *fmt, const char *cmd)
{
    char *out = NULL;
    int st = qp_io(&E.t, image, fmt, cmd, &out);
    if (st != 0 || !out || strstr(out, "failed"))
        print_message("# qemu-io %s '%s': %s\n", image, cmd, out ? out : E.t.err_msg);
    assert_int_equal(st, 0);
    free(out);
}

void e2e_define(const char *dom)
{
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/%s-vda.qcow2", E.dir, dom);
    snprintf(b, sizeof b, "%s/%s-vdb.qcow2", E.dir, dom);
    assert_int_equal(qp_img_create(&E.t, a, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_create(&E.t, b, "qcow2", "16M"), 0);
    io(a, "qcow2", "write -P 0xaa 1M 64k");
    io(b, "qcow2", "write -P 0xaa 1M 64k");
    char *mbr = qp_printf("write -s %s 0 512", e2e_path("mbr.bin"));
    io(a, "qcow2", mbr);
    free(mbr);
    char *xml = qp_printf(
        "<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vdb' bus='virtio'/></disk>"
        "<memballoon model='none'/></devices></domain>",
        dom, a, b);
    char *name = NULL;
    int r = sb_domain_define(&name, E.c, xml);
    if (r < 0)
        print_message("# define: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_string_equal(name, dom);
    free(name);
    free(xml);
}

char *e2e_source(const char *dom, const char *target)
{
    char *xml = NULL;
    qp_domain *d = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, dom, 0), 0);
    assert_int_equal(qp_domain_parse(&E.t, xml, &d), 0);
    free(xml);
    const qp_disk *k = qp_domain_disk(d, target);
    assert_non_null(k);
    char *s = qp_strdup(k->source);
    qp_domain_free(d);
    return s;
}

int e2e_state(const char *dom)
{
    int st = -1;
    assert_int_equal(sb_domain_get_state(&st, E.c, dom), 0);
    return st;
}

void e2e_off_write(const char *dom, const char *target, int pattern)
{
    char *src = e2e_source(dom, target), cmd[64];
    snprintf(cmd, sizeof cmd, "write -P 0x%02x 1M 64k", pattern);
    io(src, NULL, cmd);
    free(src);
}

static void one_line(char *s)
{
    for (; s && *s; s++)
        if (*s == '\n')
            *s = ' ';
}

int e2e_img_check(const char *image, int pattern)
{
    char cmd[64], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "read -P 0x%02x 1M 64k", pattern);
    /* -r -U: read-only and force-share, fine while QEMU has it open */
    char *argv[] = {(char *)"qemu-io", (char *)"-r", (char *)"-U", (char *)"-c", cmd,
                    (char *)image, NULL};
    int st = qp_run(&E.t, argv, &out, &err);
    int ok = st == 0 && out && strstr(out, "read 65536/65536") && !strstr(out, "failed");
    one_line(out); /* one TAP comment line: qemu-io's output has several */
    one_line(err);
    if (!ok)
        print_message("# %s does not hold 0x%02x: %s%s\n", image, pattern, out ? out : "",
                      err ? err : "");
    free(out);
    free(err);
    return ok;
}

int e2e_off_check(const char *dom, const char *target, int pattern)
{
    char *src = e2e_source(dom, target);
    int ok = e2e_img_check(src, pattern);
    free(src);
    return ok;
}

static char *hmp(const char *dom, const char *cmd)
{
    qp_qmp *q = NULL;
    assert_int_equal(qp_proc_connect(&E.t, dom, &q), 0);
    char *out = NULL;
    int r = qp_qmp_hmp(q, cmd, &out);
    qp_qmp_close(q);
    if (r < 0) {
        free(out);
        return qp_printf("ERROR %s", E.t.err_msg);
    }
    return out ? out : qp_strdup(""); /* callers search the text */
}

static void hmp_io(const char *dom, const char *target, const char *iocmd)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "qemu-io -d /machine/peripheral/%s/virtio-backend \"%s\"", target,
             iocmd);
    char *o = hmp(dom, cmd);
    const char *err = strstr(o, "ERROR");
    if (err)
        print_message("# hmp %s: %s\n", cmd, err);
    assert_null(err);
    free(o);
}

void e2e_on_io(const char *dom, const char *target, const char *iocmd)
{
    hmp_io(dom, target, iocmd);
}

void e2e_on_write(const char *dom, const char *target, int pattern)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "write -P 0x%02x 1M 64k", pattern);
    hmp_io(dom, target, cmd);
}

int e2e_on_check(const char *dom, const char *target, int pattern)
{
    hmp_io(dom, target, "flush"); /* QEMU's caches onto the image first */
    return e2e_off_check(dom, target, pattern);
}

unsigned e2e_tick(const char *dom)
{
    char *o = hmp(dom, "xp /1wx 0x7e00");
    char *c = strchr(o, ':');
    unsigned v = c ? (unsigned)strtoul(c + 1, NULL, 16) : 0;
    free(o);
    return v;
}

struct tick_arg {
    const char *dom;
    unsigned from;
};

static int tick_moved(void *p)
{
    const struct tick_arg *a = p;
    return e2e_tick(a->dom) != a->from;
}

unsigned e2e_wait_tick_moves(const char *dom, unsigned from)
{
    struct tick_arg a = {dom, from};
    if (!test_wait_for(tick_moved, &a, TEST_HANG_MS))
        fail_msg("domain '%s': the guest's timer tick stayed at %u for %d s", dom, from,
                 TEST_HANG_MS / 1000);
    return e2e_tick(dom);
}

/* the BIOS sets the tick counter shortly after reset: wait for it */
void e2e_wait_ticking(const char *dom)
{
    (void)e2e_wait_tick_moves(dom, e2e_tick(dom));
}

pid_t e2e_qemu_pid(const char *dom)
{
    pid_t p = 0;
    qp_proc_pid(&E.t, dom, &p);
    return p;
}

long e2e_proc_sleep_s(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    long nr = -1;
    unsigned long a[3] = {0};
    if (sscanf(buf, "%ld %lx %lx %lx", &nr, &a[0], &a[1], &a[2]) != 4)
        return -1; /* "running", or not readable */
    unsigned long req = nr == SYS_nanosleep ? a[0] : nr == SYS_clock_nanosleep ? a[2] : 0;
    if (!req)
        return -1;
    struct timespec ts;
    snprintf(path, sizeof path, "/proc/%ld/mem", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = pread(fd, &ts, sizeof ts, (off_t)req);
    close(fd);
    return got == (ssize_t)sizeof ts ? (long)ts.tv_sec : -1;
}

int e2e_has_tag(const char *image, const char *tag)
{
    return qp_img_has_snapshot(&E.t, image, tag, 1);
}

int e2e_chain_len(const char *image)
{
    qp_img_info *chain = NULL;
    size_t n = 0;
    assert_int_equal(qp_img_chain(&E.t, image, 1, &chain, &n), 0);
    qp_img_chain_free(chain, n);
    return (int)n;
}

static int timed(int r, double t0)
{
    E.last_ms = qp_now_ms() - t0;
    return r;
}

int e2e_snap(const char *dom, const char *name, const char *inner_xml, unsigned flags)
{
    char *xml = qp_printf("<domainsnapshot><name>%s</name>%s</domainsnapshot>", name,
                          inner_xml ? inner_xml : "");
    double t0 = qp_now_ms();
    int r = timed(sb_snapshot_create_xml(NULL, E.c, dom, xml, flags), t0);
    free(xml);
    return r;
}

int e2e_revert(const char *dom, const char *name, unsigned flags)
{
    double t0 = qp_now_ms();
    return timed(sb_snapshot_revert(E.c, dom, name, flags), t0);
}

int e2e_del(const char *dom, const char *name, unsigned flags)
{
    double t0 = qp_now_ms();
    return timed(sb_snapshot_delete(E.c, dom, name, flags), t0);
}

int e2e_in_tree(const char *dom, const char *name)
{
    sb_snapshot_info info;
    return sb_snapshot_info_get(&info, E.c, dom, name) == 0;
}

const char *e2e_err(void)
{
    return sb_error_last()->message;
}

void e2e_stop(const char *dom)
{
    int st = -1;
    if (sb_domain_get_state(&st, E.c, dom) == 0 && st != SB_DOMAIN_SHUTOFF)
        sb_domain_destroy(E.c, dom);
}

pid_t e2e_cli_start(const char *config, const char *const args[])
{
    const char *exe = getenv("SB_CLI");
    assert_non_null(exe);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (config)
            setenv("SNAPBROKER_CONFIG", config, 1);
        else
            unsetenv("SNAPBROKER_CONFIG");
        int fd = open(e2e_path("cli.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        const char *argv[32] = {exe};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

struct child {
    pid_t pid;
    int status;
};

static int child_ended(void *arg)
{
    struct child *c = arg;
    return waitpid(c->pid, &c->status, WNOHANG) == c->pid;
}

int e2e_cli_wait(pid_t pid)
{
    struct child c = {pid, 0};
    if (!test_wait_for(child_ended, &c, TEST_HANG_MS)) {
        print_message("# CLI %d hangs: killed\n", (int)pid);
        kill(pid, SIGKILL);
        waitpid(pid, &c.status, 0);
        return -1;
    }
    return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : 128 + WTERMSIG(c.status);
}

int e2e_cli(const char *config, const char *const args[])
{
    return e2e_cli_wait(e2e_cli_start(config, args));
}

/* 1 when some snapshot of dom, or the chain of one of its disks, names path */
static int named(const char *dom, const char *path, char **xmls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(xmls[i], path))
            return 1;
    char *xml = NULL;
    qp_domain *d = NULL;
    int found = 0;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, dom, 0), 0);
    assert_int_equal(qp_domain_parse(&E.t, xml, &d), 0);
    free(xml);
    for (size_t k = 0; k < d->ndisks && !found; k++) {
        qp_img_info *chain = NULL;
        size_t len = 0;
        if (!d->disks[k].source || qp_img_chain(&E.t, d->disks[k].source, 1, &chain, &len) < 0)
            continue;
        for (size_t c = 0; c < len && !found; c++)
            found = !strcmp(chain[c].filename, path);
        qp_img_chain_free(chain, len);
    }
    qp_domain_free(d);
    return found;
}

static int orphans(const char *dom, int remove)
{
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(sb_snapshot_list(&names, &n, E.c, dom, NULL, 0), 0);
    char **xmls = calloc(n ? n : 1, sizeof *xmls);
    assert_non_null(xmls);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sb_snapshot_get_xml(&xmls[i], E.c, dom, names[i], 0), 0);
    int count = 0;
    size_t dl = strlen(dom);
    DIR *dir = opendir(E.dir);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, dom, dl) || e->d_name[dl] != '-')
            continue;
        const char *path = e2e_path(e->d_name);
        if (!named(dom, path, xmls, n)) {
            print_message("# nothing names %s%s\n", path, remove ? ": removed" : "");
            if (remove)
                assert_int_equal(unlink(path), 0);
            count++;
        }
    }
    closedir(dir);
    for (size_t i = 0; i < n; i++)
        free(xmls[i]);
    free(xmls);
    sb_names_free(names, n);
    return count;
}

int e2e_orphans(const char *dom)
{
    return orphans(dom, 0);
}

int e2e_orphans_remove(const char *dom)
{
    return orphans(dom, 1);
}
