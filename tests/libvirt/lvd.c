/* A private libvirtd and a TCP relay for the tests (lvd.h). */
#include "lvd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A port the kernel says is free on 127.0.0.1 (the daemon binds it a
 * moment later; another program taking it in between fails the start). */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_file(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        fprintf(stderr, "# %s", line);
    fclose(f);
}

static void quiet(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

int lvd_start(struct lvd *d, char *why, size_t why_size)
{
    const char *src = getenv("SB_SOURCE_ROOT");
    char script[512], port[16], out[128];

    memset(d, 0, sizeof(*d));
    if (geteuid() != 0) {
        snprintf(why, why_size, "a private libvirtd needs root (mount namespaces)");
        return -1;
    }
    if (!src) {
        snprintf(why, why_size, "SB_SOURCE_ROOT is not set (run through meson test)");
        return -1;
    }
    snprintf(d->dir, sizeof(d->dir), "/tmp/sb-lvd-XXXXXX");
    if (!mkdtemp(d->dir) || (d->port = free_port()) < 0) {
        snprintf(why, why_size, "no scratch dir or free port");
        return -1;
    }
    snprintf(script, sizeof(script), "%s/tests/libvirt/private-libvirtd.sh", src);
    snprintf(port, sizeof(port), "%d", d->port);
    snprintf(out, sizeof(out), "%s/daemon.out", d->dir);
    snprintf(d->unix_uri, sizeof(d->unix_uri), "qemu+unix:///system?socket=%s/sock/libvirt-sock",
             d->dir);
    snprintf(d->tcp_uri, sizeof(d->tcp_uri), "qemu+tcp://127.0.0.1:%d/system", d->port);

    pid_t parent = getpid();
    if ((d->pid = fork()) == 0) {
        /* If the test dies, so does the namespace (unshare's --kill-child
         * passes the signal on to the daemon's init). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("unshare", "unshare", "--mount", "--pid", "--fork", "--mount-proc",
               "--propagation", "private", "--kill-child", "sh", script, d->dir, port,
               (char *)NULL);
        _exit(127);
    }
    if (d->pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        return -1;
    }
    /* Ready when the QEMU driver answers on the unix socket. */
    virSetErrorFunc(NULL, quiet);
    double deadline = now_s() + 180;
    for (;;) {
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            fprintf(stderr, "# the private libvirtd exited (status 0x%x):\n", st);
            print_file(out);
            return -2;
        }
        virConnectPtr c = virConnectOpen(d->unix_uri);
        unsigned long v = 0;
        if (c && virConnectGetVersion(c, &v) == 0 && v > 0) {
            virConnectClose(c);
            return 0;
        }
        if (c)
            virConnectClose(c);
        if (now_s() > deadline) {
            fprintf(stderr, "# the private libvirtd did not answer in 180 s:\n");
            print_file(out);
            lvd_stop(d);
            return -2;
        }
        usleep(100 * 1000);
    }
}

void lvd_stop(struct lvd *d)
{
    char cmd[128];

    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        d->pid = 0;
    }
    if (d->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", d->dir);
        d->dir[0] = '\0';
    }
}

/* ---- the relay ---------------------------------------------------------- */

static void wake(struct lvd_relay *r)
{
    char b = 1;
    if (write(r->ctl[1], &b, 1) < 0 && errno != EAGAIN)
        perror("relay wake");
}

static void close_pair(struct lvd_relay *r, int i)
{
    close(r->pairs[i][0]);
    close(r->pairs[i][1]);
    r->pairs[i][0] = r->pairs[i][1] = -1;
    r->frozen[i] = 0;
}

static void accept_one(struct lvd_relay *r)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->target),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int cfd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC), dfd;

    if (cfd < 0)
        return;
    dfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (dfd < 0 || connect(dfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(cfd);
        if (dfd >= 0)
            close(dfd);
        return;
    }
    for (int i = 0; i < 16; i++) {
        if (r->pairs[i][0] < 0) {
            r->pairs[i][0] = cfd;
            r->pairs[i][1] = dfd;
            r->frozen[i] = 0;
            r->accepted++;
            return;
        }
    }
    close(cfd);
    close(dfd);
}

static void *relay_thread(void *arg)
{
    struct lvd_relay *r = arg;

    for (;;) {
        struct pollfd p[34];
        int who[34], n = 0;

        pthread_mutex_lock(&r->lock);
        if (r->stop) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        p[n] = (struct pollfd){ .fd = r->ctl[0], .events = POLLIN };
        who[n++] = -2;
        if (r->listen_fd >= 0) {
            p[n] = (struct pollfd){ .fd = r->listen_fd, .events = POLLIN };
            who[n++] = -1;
        }
        for (int i = 0; i < 16; i++) {
            if (r->pairs[i][0] < 0 || r->frozen[i])
                continue;
            for (int side = 0; side < 2; side++) {
                p[n] = (struct pollfd){ .fd = r->pairs[i][side], .events = POLLIN };
                who[n++] = i * 2 + side;
            }
        }
        pthread_mutex_unlock(&r->lock);
        if (poll(p, (nfds_t)n, -1) < 0)
            continue;
        pthread_mutex_lock(&r->lock);
        for (int k = 0; k < n; k++) {
            if (!p[k].revents)
                continue;
            if (who[k] == -2) {
                char buf[16];
                if (read(r->ctl[0], buf, sizeof(buf)) < 0)
                    continue;
            } else if (who[k] == -1) {
                if (r->listen_fd == p[k].fd)
                    accept_one(r);
            } else {
                int i = who[k] / 2, side = who[k] % 2;
                /* the pair may have been cut or frozen meanwhile */
                if (r->pairs[i][side] != p[k].fd || r->frozen[i])
                    continue;
                char buf[65536];
                ssize_t got = read(p[k].fd, buf, sizeof(buf));
                if (got <= 0 || write(r->pairs[i][!side], buf, (size_t)got) != got)
                    close_pair(r, i);
            }
        }
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

void lvd_relay_start(struct lvd_relay *r, int target)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);

    memset(r, 0, sizeof(*r));
    r->target = target;
    for (int i = 0; i < 16; i++)
        r->pairs[i][0] = r->pairs[i][1] = -1;
    pthread_mutex_init(&r->lock, NULL);
    if (pipe2(r->ctl, O_CLOEXEC | O_NONBLOCK) < 0 ||
        (r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(r->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(r->listen_fd, 16) < 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&a, &len) < 0 ||
        pthread_create(&r->thread, NULL, relay_thread, r) != 0) {
        perror("relay");
        abort();
    }
    r->port = ntohs(a.sin_port);
}

void lvd_relay_freeze(struct lvd_relay *r)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < 16; i++)
        if (r->pairs[i][0] >= 0)
            r->frozen[i] = 1;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

void lvd_relay_cut(struct lvd_relay *r)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < 16; i++)
        if (r->pairs[i][0] >= 0)
            close_pair(r, i);
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

void lvd_relay_close_listener(struct lvd_relay *r)
{
    pthread_mutex_lock(&r->lock);
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    r->listen_fd = -1;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

int lvd_relay_accepted(struct lvd_relay *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->accepted;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void lvd_relay_stop(struct lvd_relay *r)
{
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_mutex_unlock(&r->lock);
    wake(r);
    pthread_join(r->thread, NULL);
    lvd_relay_cut(r);
    lvd_relay_close_listener(r);
    close(r->ctl[0]);
    close(r->ctl[1]);
    pthread_mutex_destroy(&r->lock);
}
