/* libvirt plugin - URIs, the event loop, opening and closing libvirt
 * connections. */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "libvirt+"

/* The scheme of uri ("qemu+ssh" in "qemu+ssh://h/system"): its length, 0
 * when uri has no "://". */
static size_t scheme_len(const char *uri)
{
    const char *sep = strstr(uri, "://");
    return sep ? (size_t)(sep - uri) : 0;
}

char *lvp_uri_for_libvirt(const char *uri)
{
    if (strncmp(uri, PREFIX, strlen(PREFIX)) == 0 && scheme_len(uri) > strlen(PREFIX))
        uri += strlen(PREFIX);
    size_t slen = scheme_len(uri);
    /* The ssh transport runs the ssh program, which would ask for a
     * password or a host key on the terminal; no_tty=1 makes it fail
     * instead (credentials belong in keys, the config or an auth file). */
    int ssh = slen > 4 && strncmp(uri + slen - 4, "+ssh", 4) == 0;
    if (!ssh || strstr(uri, "no_tty="))
        return strdup(uri);
    return lvp_printf("%s%sno_tty=1", uri, strchr(uri, '?') ? "&" : "?");
}

char *lvp_uri_host(const char *uri)
{
    size_t slen = scheme_len(uri);
    const char *p = slen ? uri + slen + 3 : uri;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);

    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n > 0 && p[0] == '[') { /* [v6::addr]:port */
        const char *close = memchr(p, ']', n);
        if (close)
            n = (size_t)(close + 1 - p);
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon)
            n = (size_t)(colon - p);
    }
    return n ? strndup(p, n) : strdup("localhost");
}

/* ---- event loop ------------------------------------------------------------
 *
 * Keepalive and the embedded drivers need libvirt's event loop running.
 * The plugin registers libvirt's default implementation (once: it cannot
 * be unregistered) unless the program registered one of its own, and runs
 * it in a thread while at least one connection needs it.  The thread is
 * stopped and joined when the last such connection closes, so that no
 * thread of ours outlives the connections (a process that exits with a
 * thread in the middle of an iteration confuses leak checkers). */

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static int loop_ours = -1; /* -1: not decided, 0: the program's, 1: ours */
static int loop_users;
static int loop_quit;
static pthread_t loop_thread;

static void *event_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&loop_lock);
        int quit = loop_quit;
        pthread_mutex_unlock(&loop_lock);
        if (quit)
            break;
        if (virEventRunDefaultImpl() < 0)
            virResetLastError();
    }
    return NULL;
}

/* A one-shot timer: its only job is to make the loop run one iteration. */
static void wake_timeout(int timer, void *opaque)
{
    (void)opaque;
    virEventRemoveTimeout(timer);
}

static void decide_ownership(void)
{
    /* Adding a disabled timer succeeds only when an implementation is
     * registered; if one is, it is the program's. */
    int probe = virEventAddTimeout(-1, wake_timeout, NULL, NULL);
    if (probe >= 0) {
        virEventRemoveTimeout(probe);
        loop_ours = 0;
        return;
    }
    virResetLastError();
    loop_ours = virEventRegisterDefaultImpl() == 0;
    virResetLastError();
}

int lvp_event_loop_hold(void)
{
    int held = 0;

    pthread_mutex_lock(&loop_lock);
    if (loop_ours < 0)
        decide_ownership();
    if (loop_ours == 1) {
        if (loop_users == 0) {
            loop_quit = 0;
            held = pthread_create(&loop_thread, NULL, event_thread, NULL) == 0;
        } else {
            held = 1;
        }
        loop_users += held;
    }
    pthread_mutex_unlock(&loop_lock);
    return held;
}

void lvp_event_loop_release(void)
{
    int stop;

    pthread_mutex_lock(&loop_lock);
    stop = --loop_users == 0;
    if (stop)
        loop_quit = 1;
    pthread_mutex_unlock(&loop_lock);
    if (!stop)
        return;
    if (virEventAddTimeout(0, wake_timeout, NULL, NULL) < 0)
        virResetLastError();
    pthread_join(loop_thread, NULL);
}

/* Drivers that run inside the client library and never talk to a daemon
 * (no keepalive, no events): no loop for them. */
static int needs_event_loop(const char *uri)
{
    static const char *const local[] = { "test", "esx", "vpx", "gsx", "hyperv",
                                         "vmwarews", "vmwareplayer", "vmwarefusion" };
    size_t n = strcspn(uri, ":+");

    if (uri[n] == '+')
        return 1; /* a transport: the remote driver */
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strlen(local[i]) == n && strncmp(uri, local[i], n) == 0)
            return 0;
    return 1;
}

/* ---- connections ----------------------------------------------------------- */

/* Open c->vc with our credentials callback and keepalive. */
static int open_vc(sb_conn *c)
{
    virConnectAuth auth;

    if (!c->loop_held && needs_event_loop(c->uri))
        c->loop_held = lvp_event_loop_hold();
    lvp_auth_fill(c, &auth);
    c->auth.missing[0] = '\0';
    c->vc = virConnectOpenAuth(c->uri, &auth, c->readonly ? VIR_CONNECT_RO : 0);
    if (!c->vc) {
        if (c->auth.missing[0]) {
            virResetLastError();
            return lvp_fail(c, SB_ERR_OPERATION_DENIED,
                            "host '%s' (%s): libvirt asks for a %s and none is configured "
                            "(set it in the host's config group or an auth file, "
                            "see docs/libvirt.md)",
                            c->host, c->uri, c->auth.missing);
        }
        int rc = lvp_fail_vir(c, "cannot connect to libvirt on host '%s' (%s)", c->host, c->uri);
        /* No daemon, no route, a transport error: the host is unreachable,
         * whatever system call noticed it first. */
        if (c->err.vir_code == VIR_ERR_SYSTEM_ERROR || lvp_error_is_connection(c->err.vir_code, 0))
            rc = -(c->err.code = SB_ERR_HYPERVISOR);
        return rc;
    }
    /* Only connections to a daemon know keepalive (qemu:///embed answers
     * NO_SUPPORT, which is fine); client-side drivers are not asked. */
    if (c->keepalive_interval > 0 && c->loop_held &&
        virConnectSetKeepAlive(c->vc, c->keepalive_interval,
                               (unsigned)c->keepalive_count) < 0)
        virResetLastError();
    return 0;
}

int lvp_connect(sb_conn *c)
{
    int rc;

    memset(&c->err, 0, sizeof(c->err));
    if ((rc = open_vc(c)) < 0)
        return rc;
    return lvp_probe(c);
}

void lvp_disconnect(sb_conn *c)
{
    lvp_cache_drop(c); /* handles of this connection */
    if (c->vc) {
        virConnectClose(c->vc);
        c->vc = NULL;
        virResetLastError();
    }
}

void lvp_close_all(sb_conn *c)
{
    lvp_disconnect(c);
    if (c->loop_held) {
        lvp_event_loop_release();
        c->loop_held = 0;
    }
}

int lvp_reconnect(sb_conn *c)
{
    lvp_disconnect(c);
    c->reconnected = 1;
    if (lvp_host)
        lvp_host->log(c->h, SB_LOG_WARN, "libvirt: connection to host '%s' lost, reconnecting",
                      c->host);
    return open_vc(c);
}
