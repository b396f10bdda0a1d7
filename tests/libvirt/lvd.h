/* A private libvirtd for the tests (private-libvirtd.sh in its own mount
 * and pid namespaces), and a TCP relay in front of its TCP port that a test
 * can cut, freeze or close to see what the plugin does when the connection
 * or the daemon goes away. */
#ifndef LVD_H
#define LVD_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct lvd {
    char dir[64];       /* scratch: the daemon's config, state, sockets, logs */
    int port;           /* its TCP port on 127.0.0.1 */
    pid_t pid;          /* `unshare`, our child; killing it ends the namespace */
    char unix_uri[160]; /* qemu+unix:///system?socket=DIR/sock/libvirt-sock */
    char tcp_uri[64];   /* qemu+tcp://127.0.0.1:PORT/system */
};

/* Start the daemon and wait until its QEMU driver answers (a generous
 * deadline that only catches a hang).  Returns 0; or -1 with the reason in
 * why when this machine cannot run it (not root), in which case the
 * caller skips; a daemon that fails to start fails the test. */
int lvd_start(struct lvd *d, char *why, size_t why_size);
/* Kill the namespace (every process in it), reap `unshare`, remove the
 * scratch dir.  Safe to call twice. */
void lvd_stop(struct lvd *d);

/* The relay: 127.0.0.1:port -> 127.0.0.1:target. */
struct lvd_relay {
    int port;
    int target;
    int listen_fd;
    int ctl[2];          /* wakes the thread after a change */
    pthread_t thread;
    pthread_mutex_t lock;
    int pairs[16][2];    /* client fd, daemon fd; -1 when unused */
    int frozen[16];      /* bytes of this pair are no longer forwarded */
    int accepted;        /* connections accepted so far */
    int stop;
};

void lvd_relay_start(struct lvd_relay *r, int target);
/* Stop forwarding on every open connection (the peers see silence, as
 * with a host that hangs or a cable pulled); new connections still work. */
void lvd_relay_freeze(struct lvd_relay *r);
/* Close every open connection (the peers see EOF). */
void lvd_relay_cut(struct lvd_relay *r);
/* Stop accepting: new connections are refused (the daemon is gone). */
void lvd_relay_close_listener(struct lvd_relay *r);
int lvd_relay_accepted(struct lvd_relay *r);
void lvd_relay_stop(struct lvd_relay *r);

#endif
