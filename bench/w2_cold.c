/* w2_cold: W2 of bench/README.md - a new process opens a populated store
 * and lists all snapshots; the parent times the process's start
 * (posix_spawn, bench_spawn) to the first line of output, and to the end
 * of the whole listing (the process exits).
 * Targets, interleaved rep by rep:
 *   snapbroker CLI   `snapbroker snapshot-list bench --name` (default host:
 *                    the qemu plugin)
 *   snapbroker API   w2_api (a program linked with libsnapbroker only):
 *                    sb_broker_new + sb_connect + sb_snapshot_list
 *   libvirt-embed    this program: event loop + qemu:///embed open + list
 *   libvirt-test     this program: test:///NODE.xml preloading N snapshots
 *   floors           /bin/echo (any process at all) and w2_xmlfloor (a C
 *                    program linked with libxml2 alone, which every
 *                    libsnapbroker process loads)
 * The stores are W1's chains (w1_tree --keep DIR).  Children other than
 * the CLI report their own open/list split and peak RSS after the first
 * line.  Everything is pinned to CPU 0 (libvirt's capability cache is
 * keyed on the CPU it was written on).
 *
 *   w2_cold --stores DIR --cli PATH [--sizes 1000,10000,100000] [--reps 11] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "lv.h"
#include "sb.h"

enum { T_API, T_CLI, T_EMBED, T_TEST, T_FLOOR, T_XMLFLOOR, NT };
static const char *const tname[NT] = {"snapbroker API (C program)", "snapbroker CLI",
                                      "libvirt-embed", "libvirt-test (node file)",
                                      "floor: /bin/echo (a process that prints a line)",
                                      "floor: a C program linked with libxml2 alone"};

/* ---- children: print the first name, then "open_us list_us peak_kib" -- */
static void report(const char *first, double t0, double t1, double t2, long n)
{
    printf("%s\n", first ? first : "(none)");
    fflush(stdout);
    printf("%.1f %.1f %ld %ld\n", t1 - t0, t2 - t1, bench_status_kib("VmHWM"), n);
}

static int child_lv(const char *uri, const char *dom)
{
    virDomainSnapshotPtr *v = NULL;
    double t0 = bench_now_us();
    if (strncmp(uri, "qemu", 4) == 0)
        lv_event_loop();
    virConnectPtr c = virConnectOpen(uri);
    virDomainPtr d = c ? virDomainLookupByName(c, dom) : NULL;
    if (!d)
        bench_die("%s: %s", uri, lv_err());
    double t1 = bench_now_us();
    int n = virDomainListAllSnapshots(d, &v, 0);
    if (n < 0)
        bench_die("list: %s", lv_err());
    report(n ? virDomainSnapshotGetName(v[0]) : NULL, t0, t1, bench_now_us(), n);
    return 0;
}

/* ---- the node file for the test driver ---------------------------------- */
/* test:///NODE.xml: the test domain holding N chained snapshots with W1's
 * content (test:domainsnapshot holds the snapshot elements directly;
 * <active>1</active> marks the current one). */
static char *node_file(const char *work, long n)
{
    char *path = NULL;
    if (asprintf(&path, "%s/node-%ld.xml", work, n) < 0)
        bench_die("oom");
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("%s: %s", path, strerror(errno));
    char *x = bench_snap_xml("x", NULL, NULL);
    char *ds = strstr(x, "<domain "), *body = strchr(ds, '>') + 1, *de = strstr(x, "</domain>");
    *de = 0;
    fprintf(f, "<node>\n<domain type='test' "
               "xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>%s", body);
    free(x);
    for (long i = 0; i < n; i++) {
        char name[32], parent[32];
        snprintf(name, sizeof name, "s%ld", i);
        snprintf(parent, sizeof parent, "s%ld", i - 1);
        x = bench_snap_xml(name, i ? parent : NULL, NULL);
        char *b = x + strlen("<domainsnapshot>\n");
        *strstr(b, "</domainsnapshot>") = 0;
        fprintf(f, "<test:domainsnapshot>\n%s  <active>%d</active>\n</test:domainsnapshot>\n", b,
                i == n - 1);
        free(x);
    }
    fprintf(f, "</domain>\n</node>\n");
    if (fclose(f) != 0)
        bench_die("%s: write failed", path);
    return path;
}

/* ---- the parent ----------------------------------------------------------- */
struct sample {
    double first_ms, all_ms, open_ms, list_ms, peak_mib;
    long n; /* snapshots the child listed (-1: not reported) */
};

/* A child still silent after this long is killed (by PID) and the target
 * dropped for the rest of the run: the CLI's listing is quadratic (one
 * store open per name), 10k names would take minutes per sample. */
#define LIMIT_MS 20000

/* Start argv (bench_spawn; env: SNAPBROKER_STATE_DIR=state when set);
 * time until the first line arrives on stdout, then read the child's
 * split. */
static int sample(char *const argv[], const char *state, struct sample *s)
{
    int p[2];
    char buf[4096];
    size_t got = 0;
    posix_spawn_file_actions_t fa;
    if (pipe(p) < 0)
        return -1;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, p[1], 1) != 0 ||
        posix_spawn_file_actions_addclose(&fa, p[0]) != 0 ||
        posix_spawn_file_actions_addclose(&fa, p[1]) != 0)
        bench_die("posix_spawn_file_actions");
    /* the child's environment is this one's; only the CLI reads the
     * state dir from it (w2_api is given its own), as in w3_sb.c */
    if (state)
        setenv("SNAPBROKER_STATE_DIR", state, 1);
    double t0 = bench_now_us();
    pid_t pid;
    int rc = bench_spawn(&pid, argv, &fa);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc < 0) {
        close(p[0]);
        return -1;
    }
    s->first_ms = -1;
    for (;;) {
        if (s->first_ms < 0) {
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            int left = LIMIT_MS - (int)((bench_now_us() - t0) / 1000);
            if (left <= 0 || poll(&pf, 1, left) == 0) {
                kill(pid, SIGKILL);
                close(p[0]);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                    ;
                return -2;
            }
        }
        ssize_t r = read(p[0], buf + got, sizeof buf - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (s->first_ms < 0 && memchr(buf + got, '\n', (size_t)r))
            s->first_ms = (bench_now_us() - t0) / 1000;
        got += (size_t)r;
        if (got == sizeof buf - 1)
            got = 0; /* the CLI prints every name: keep only the tail */
    }
    buf[got] = 0;
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    s->all_ms = (bench_now_us() - t0) / 1000;
    s->open_ms = s->list_ms = s->peak_mib = -1;
    char *nl = strchr(buf, '\n');
    double o, l;
    long k;
    s->n = -1;
    if (nl && sscanf(nl + 1, "%lf %lf %ld %ld", &o, &l, &k, &s->n) == 4) {
        s->open_ms = o / 1000;
        s->list_ms = l / 1000;
        s->peak_mib = (double)k / 1024;
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && s->first_ms >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--child-lv"))
        return child_lv(argv[2], strncmp(argv[2], "test", 4) ? "bench" : "test");

    long sizes[8];
    size_t ns = bench_parse_sizes("1000,10000,100000", sizes, 8);
    int reps = 11;
    const char *stores = NULL, *cli = NULL;
    static const struct option lo[] = {{"sizes", 1, 0, 's'}, {"reps", 1, 0, 'r'},
                                       {"stores", 1, 0, 'd'}, {"cli", 1, 0, 'c'},
                                       {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;)
        switch (c) {
        case 's': ns = bench_parse_sizes(optarg, sizes, 8); break;
        case 'r': reps = atoi(optarg); break;
        case 'd': stores = optarg; break;
        case 'c': cli = optarg; break;
        default: return 2;
        }
    if (!stores || !cli)
        bench_die("usage: w2_cold --stores DIR --cli PATH [--sizes ..] [--reps N]");
    bench_pin(0);
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl < 0)
        bench_die("readlink: %s", strerror(errno));
    self[sl] = 0;
    /* the API target and the libxml2 floor: w2_api and w2_xmlfloor beside
     * this program */
    char api[4200], xmlfloor[4200];
    snprintf(api, sizeof api, "%.*s/w2_api", (int)(strrchr(self, '/') - self), self);
    snprintf(xmlfloor, sizeof xmlfloor, "%.*s/w2_xmlfloor", (int)(strrchr(self, '/') - self),
             self);

    bench_out("\n### W2: cold start - process start (posix_spawn) to the first line of a full listing, and to "
              "the end of it (process exit), ms, median (min–max) of %d\n\n"
              "| N | target | first answer ms | whole listing ms | in-process open ms | list ms | "
              "child peak MiB | snapbroker API ÷ this | snapbroker CLI ÷ this |\n"
              "|---|---|---|---|---|---|---|---|---|\n", reps);
    static const char *const tkey[NT] = {"api", "cli", "embed", "test", "floor", "xmlfloor"};
    for (size_t i = 0; i < ns; i++) {
        char sbdir[4200], root[4200], uri[4300], test_uri[4300];
        snprintf(sbdir, sizeof sbdir, "%s/sb-chain-%ld", stores, sizes[i]);
        snprintf(root, sizeof root, "%s/embed-chain-%ld", stores, sizes[i]);
        snprintf(uri, sizeof uri, "qemu:///embed?root=%s", root);
        char *node = node_file(stores, sizes[i]);
        snprintf(test_uri, sizeof test_uri, "test://%s", node);
        free(node);
        char *args[NT][8] = {
            {api, sbdir, NULL},
            {(char *)cli, (char *)"snapshot-list", (char *)BENCH_SB_DOMAIN, (char *)"--name",
             NULL},
            {self, (char *)"--child-lv", uri, NULL},
            {self, (char *)"--child-lv", test_uri, NULL},
            {(char *)"/bin/echo", (char *)"x", NULL},
            {xmlfloor, NULL},
        };
        int have[NT] = {access(sbdir, F_OK) == 0, access(sbdir, F_OK) == 0,
                        access(root, F_OK) == 0, 1, 1, 1};
        double v[NT][5][64];
        size_t nv[NT] = {0};
        long listed[NT] = {-1, -1, -1, -1, -1, -1};
        char err[NT][64] = {{0}};
        fprintf(stderr, "w2: N=%ld\n", sizes[i]);
        for (int r = 0; r < reps && r < 64; r++)
            for (int t = 0; t < NT; t++) {
                struct sample s;
                if (!have[t] || err[t][0])
                    continue;
                int rc = sample(args[t], t == T_CLI ? sbdir : NULL, &s);
                if (rc == -2) {
                    snprintf(err[t], sizeof err[t], "no first line within %d s (killed)",
                             LIMIT_MS / 1000);
                    continue;
                }
                if (rc < 0) {
                    snprintf(err[t], sizeof err[t], "failed (run it by hand)");
                    continue;
                }
                listed[t] = s.n;
                v[t][0][nv[t]] = s.first_ms;
                v[t][1][nv[t]] = s.open_ms;
                v[t][2][nv[t]] = s.list_ms;
                v[t][3][nv[t]] = s.peak_mib;
                v[t][4][nv[t]++] = s.all_ms;
            }
        double med[NT];
        for (int t = 0; t < NT; t++) {
            double tmp[64];
            memcpy(tmp, v[t][0], sizeof(double) * nv[t]);
            med[t] = nv[t] ? bench_median(tmp, nv[t]) : -1;
            /* a store W1 could not fill (its time budget) is no figure for
             * N; the CLI does not say how many it listed, the API does */
            long in_store = t == T_CLI && listed[T_API] >= 0 ? listed[T_API] : listed[t];
            if (nv[t] && (in_store < 0 || in_store == sizes[i])) {
                char key[64];
                snprintf(key, sizeof key, "w2.%s.%ld.first_ms", tkey[t], sizes[i]);
                bench_kv(key, med[t]);
                memcpy(tmp, v[t][4], sizeof(double) * nv[t]);
                snprintf(key, sizeof key, "w2.%s.%ld.all_ms", tkey[t], sizes[i]);
                bench_kv(key, bench_median(tmp, nv[t]));
            }
        }
        for (int t = 0; t < NT; t++) {
            if (err[t][0] && nv[t])
                bench_out("| %ld | %s | %s after %zu samples | | | | | | |\n", sizes[i],
                          tname[t], err[t], nv[t]);
            if (!nv[t]) {
                bench_out("| %ld | %s | %s | | | | | | |\n", sizes[i], tname[t],
                          err[t][0] ? err[t] : "no store");
                continue;
            }
            char nn[64];
            snprintf(nn, sizeof nn, listed[t] >= 0 && listed[t] != sizes[i] ? "%ld (**%ld in store**)" : "%ld",
                     sizes[i], listed[t]);
            bench_out("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", nn, tname[t],
                      bench_fmt_stat(v[t][0], nv[t]), bench_fmt_stat(v[t][4], nv[t]),
                      v[t][1][0] < 0 ? "–" : bench_fmt_stat(v[t][1], nv[t]),
                      v[t][2][0] < 0 ? "–" : bench_fmt_stat(v[t][2], nv[t]),
                      v[t][3][0] < 0 ? "–" : bench_fmt(bench_median(v[t][3], nv[t])),
                      bench_ratio(med[T_API], med[t]), bench_ratio(med[T_CLI], med[t]));
        }
    }
    bench_out("\nThe CLI sorts its listing by name (as virsh does) before it prints the first "
              "line.  \"whole listing\" runs until the process has printed every name and "
              "exited.\n");
    return 0;
}
