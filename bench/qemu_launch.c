/* qemu_launch: an internal micro-benchmark of how the qemu plugin starts
 * QEMU as a daemon (plugins/qemu/launch.c), against the classic double
 * fork it replaced, from a caller whose heap is each of the given sizes
 * (written once, so its pages are really there).  The program launched is
 * `true`, so the figure is the launch alone: from the call until the
 * daemon has exec'd.  Both are measured in the same sitting, in turns.
 *
 *   qemu_launch [--heap-mb 8,64,512] [--reps 31]
 *
 * Prints a table: a row per heap size, each route's median and minimum in
 * ms, and their ratio. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "qp.h"

/* The double fork, as the plugin made its daemon before: an intermediate
 * that calls setsid(), forks the daemon-to-be (which writes its pid file
 * and execs) and exits.  Returns the daemon's pid, or -1. */
static pid_t double_fork(char *const argv[], const char *dir)
{
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0)
        return -1;
    pid_t mid = fork();
    if (mid == 0) {
        close(sp[0]);
        setsid();
        pid_t g = fork();
        if (g != 0) {
            int v = (int)g;
            _exit(write(sp[1], &v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
        }
        int nul = open("/dev/null", O_RDWR);
        if (chdir(dir) < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
            _exit(127);
        int pf = open("launch.pid", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
        if (pf >= 0) {
            char b[32];
            int n = snprintf(b, sizeof b, "%ld\n", (long)getpid());
            if (write(pf, b, (size_t)n) != n)
                _exit(127);
            close(pf);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(sp[1]);
    int v = -1;
    while (mid > 0 && waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (mid < 0 || read(sp[0], &v, sizeof v) != (ssize_t)sizeof v)
        v = -1;
    char c;
    while (read(sp[0], &c, 1) > 0) /* until the daemon's exec closed it */
        ;
    close(sp[0]);
    return v;
}

static pid_t clone_launcher(char *const argv[], const char *dir)
{
    qp_launch_args a = {.argv = argv, .dir = dir, .log_name = "launch.log",
                        .pid_name = "launch.pid"};
    pid_t pid = 0;
    int child_errno = 0;
    return qp_launch_daemon(&a, &pid, &child_errno) == 0 && !child_errno ? pid : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *sizes = "8,64,512";
    int reps = 31;
    static const struct option lo[] = {{"heap-mb", 1, 0, 'h'}, {"reps", 1, 0, 'r'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        if (c == 'h')
            sizes = optarg;
        else if (c == 'r' && (reps = atoi(optarg)) > 0)
            ;
        else {
            fprintf(stderr, "usage: qemu_launch [--heap-mb 8,64,512] [--reps 31]\n");
            return 2;
        }
    }
    /* the daemons are reparented to this process, which reaps them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    char dir[] = "/tmp/sb-qemu-launch-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *prog[] = {(char *)"true", NULL};
    static const struct {
        const char *name;
        pid_t (*launch)(char *const argv[], const char *dir);
    } routes[] = {{"double fork", double_fork}, {"clone launcher (plugin)", clone_launcher}};
    double *t[2] = {calloc((size_t)reps, sizeof(double)), calloc((size_t)reps, sizeof(double))};
    char *list = strdup(sizes);
    int rc = 0;
    printf("| caller's heap | %s, ms: median (min) | %s, ms: median (min) | launcher ÷ double "
           "fork |\n|---|---|---|---|\n",
           routes[0].name, routes[1].name);
    for (char *save = NULL, *mb = strtok_r(list, ",", &save); mb && t[0] && t[1];
         mb = strtok_r(NULL, ",", &save)) {
        size_t bytes = (size_t)atol(mb) << 20;
        char *heap = malloc(bytes ? bytes : 1);
        if (!heap)
            return 1;
        memset(heap, 1, bytes);
        for (int i = 0; i < reps; i++)
            for (int k = 0; k < 2; k++) {
                int r = (i + k) % 2; /* turns, in a rotating order */
                double t0 = bench_now_us();
                pid_t pid = routes[r].launch(prog, dir);
                t[r][i] = (bench_now_us() - t0) / 1000.0;
                if (pid <= 0)
                    rc = 1;
                while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                    ;
            }
        for (int r = 0; r < 2; r++)
            qsort(t[r], (size_t)reps, sizeof(double), cmp_double);
        printf("| %s MiB | %.2f (%.2f) | %.2f (%.2f) | %.2f× |\n", mb, t[0][reps / 2], t[0][0],
               t[1][reps / 2], t[1][0], t[1][reps / 2] / t[0][reps / 2]);
        free(heap);
    }
    free(list);
    free(t[0]);
    free(t[1]);
    bench_rm_rf(dir);
    return rc;
}
