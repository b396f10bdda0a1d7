/* bench - shared helpers (see bench.h). */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double bench_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_min(const double *v, size_t n)
{
    double m = n ? v[0] : 0;
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double bench_max(const double *v, size_t n)
{
    double m = n ? v[0] : 0;
    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

long bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t fl = strlen(field);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Rotating buffers: several formatted values go into one printf. */
static char *slot(void)
{
    static char buf[32][64];
    static int k;
    k = (k + 1) % 32;
    return buf[k];
}

const char *bench_fmt(double x)
{
    char *s = slot();
    if (x < 0)
        snprintf(s, 64, "–");
    else if (x >= 100)
        snprintf(s, 64, "%.0f", x);
    else if (x >= 10)
        snprintf(s, 64, "%.1f", x);
    else if (x >= 1)
        snprintf(s, 64, "%.2f", x);
    else
        snprintf(s, 64, "%.3f", x);
    return s;
}

const char *bench_fmt_stat(double *v, size_t n)
{
    char *s = slot();
    if (!n)
        return "–";
    double lo = bench_min(v, n), hi = bench_max(v, n), med = bench_median(v, n);
    snprintf(s, 64, "%s (%s–%s)", bench_fmt(med), bench_fmt(lo), bench_fmt(hi));
    return s;
}

const char *bench_ratio(double a, double b)
{
    char *s = slot();
    if (a <= 0 || b <= 0)
        return "–";
    double r = a / b;
    snprintf(s, 64, r >= 10 ? "%.0f×" : r >= 1 ? "%.1f×" : "%.2f×", r);
    return s;
}

char *bench_tmpdir(const char *base, const char *prefix)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%sXXXXXX", base ? base : "/var/tmp", prefix) < 0 || !mkdtemp(p))
        bench_die("mkdtemp %s: %s", p ? p : prefix, strerror(errno));
    chmod(p, 0755);
    return p;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

void bench_rm_rf(const char *path)
{
    if (path && *path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* posix_spawn, not fork: glibc starts the child with CLONE_VM and
 * CLONE_VFORK, so this process's memory is neither copied into the
 * child's page tables nor write-protected here until the child execs.
 * A fork costs in proportion to the forking process's size (on a 2-CPU
 * virtual machine, a fork + exec of /bin/true took 2.8 ms from a 1 MB
 * process and 20 ms from a 64 MB one; posix_spawn 1.6 and 1.8 ms), and a
 * benchmark that holds libvirt and the API target's caches would charge
 * that to whatever its child measures: the CLI's rows, raw's qemu-img
 * rows.  A user's shell is small; so is this cost now. */
int bench_spawn(pid_t *pid, char *const argv[], const posix_spawn_file_actions_t *fa)
{
    return posix_spawnp(pid, argv[0], fa, NULL, argv, environ) == 0 ? 0 : -1;
}

int bench_run(char *const argv[], int keep_output)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st, rc;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    rc = keep_output ? 0
                     : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ||
                           posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (rc == 0)
        rc = bench_spawn(&pid, argv, &fa);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int bench_in_child(void (*fn)(void *arg, int fd), void *arg, void *out, size_t len)
{
    int p[2], st;
    size_t got = 0;
    fflush(NULL);
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        fn(arg, p[1]);
        _exit(0);
    }
    close(p[1]);
    while (got < len) {
        ssize_t r = read(p[0], (char *)out + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return got == len ? 0 : -1;
}

void bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < n; i++)
            CPU_SET(i, &set);
    } else {
        CPU_SET(cpu, &set);
    }
    sched_setaffinity(0, sizeof set, &set);
}

/* libvirt 9.0 test:///default, `virsh dumpxml --inactive test`. */
static const char test_domain[] =
    "<domain type='test'>\n"
    "    <name>test</name>\n"
    "    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
    "    <memory unit='KiB'>8388608</memory>\n"
    "    <currentMemory unit='KiB'>2097152</currentMemory>\n"
    "    <vcpu placement='static'>2</vcpu>\n"
    "    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n"
    "    <clock offset='utc'/>\n"
    "    <on_poweroff>destroy</on_poweroff>\n"
    "    <on_reboot>restart</on_reboot>\n"
    "    <on_crash>destroy</on_crash>\n"
    "    <devices>\n"
    "      <disk type='file' device='disk'>\n"
    "        <source file='/guest/diskimage1'/>\n"
    "        <target dev='vda' bus='virtio'/>\n"
    "        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
    "      </disk>\n"
    "      <interface type='network'>\n"
    "        <mac address='aa:bb:cc:dd:ee:ff'/>\n"
    "        <source network='default'/>\n"
    "        <target dev='testnet0'/>\n"
    "        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n"
    "      </interface>\n"
    "      <memballoon model='virtio'>\n"
    "        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
    "      </memballoon>\n"
    "    </devices>\n"
    "  </domain>\n";

char *bench_snap_xml(const char *name, const char *parent, const char *dom_xml)
{
    char *x = NULL;
    int n = asprintf(&x,
        "<domainsnapshot>\n  <name>%s</name>\n  <state>running</state>\n"
        "%s%s%s  <creationTime>1700000000</creationTime>\n"
        "  <memory snapshot='internal'/>\n  <disks>\n"
        "    <disk name='vda' snapshot='internal'/>\n  </disks>\n  %s"
        "</domainsnapshot>\n",
        name, parent ? "  <parent>\n    <name>" : "", parent ? parent : "",
        parent ? "</name>\n  </parent>\n" : "", dom_xml ? dom_xml : test_domain);
    return n < 0 ? NULL : x;
}

char *bench_snap_xml_sized(const char *name, const char *parent, const char *dom_xml,
                           size_t size)
{
    char *x = bench_snap_xml(name, parent, dom_xml);
    const char *desc0 = "  <description>", *desc1 = "</description>\n";
    size_t len = x ? strlen(x) : 0, frame = strlen(desc0) + strlen(desc1);
    if (!x || len + frame >= size)
        return x;
    size_t pad = size - len - frame;
    char *at = strstr(x, "  <state>");
    char *y = malloc(size + 1);
    if (!at || !y) {
        free(y);
        return x;
    }
    size_t head = (size_t)(at - x), k = 0;
    memcpy(y, x, head);
    k = head;
    memcpy(y + k, desc0, strlen(desc0));
    k += strlen(desc0);
    memset(y + k, 'x', pad);
    k += pad;
    memcpy(y + k, desc1, strlen(desc1));
    k += strlen(desc1);
    memcpy(y + k, at, len - head + 1);
    free(x);
    return y;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

void bench_out(const char *fmt, ...)
{
    va_list ap;
    const char *path = getenv("BENCH_OUT");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (path && *path) {
        FILE *f = fopen(path, "a");
        if (f) {
            va_start(ap, fmt);
            vfprintf(f, fmt, ap);
            va_end(ap);
            fclose(f);
        }
    }
}

void bench_kv(const char *key, double value)
{
    const char *path = getenv("BENCH_KV");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%s %.6g\n", key, value);
    fclose(f);
}

size_t bench_parse_sizes(const char *s, long *v, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s)
            break;
        v[n++] = x;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}
