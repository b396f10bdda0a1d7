/* qemu plugin - the tap devices of bridge and ethernet interfaces.
 *
 * The plugin opens each tap itself and hands QEMU the descriptor
 * (-netdev tap,fd=N), as libvirt does, rather than QEMU's ifname=/script=
 * or its setuid bridge helper: no host script or /etc/qemu/bridge.conf is
 * needed, every failure is reported before QEMU starts and names the
 * interface, and a tap the plugin creates is not persistent, so it goes
 * away with the QEMU holding it (a crash leaves nothing on the bridge).
 *
 * Creating a tap and enslaving it need CAP_NET_ADMIN in the network
 * namespace; without it the error says so.  An ethernet interface with
 * <target dev='T' managed='no'/> attaches to a tap T that exists already
 * (made with `ip tuntap add T mode tap user U` for an unprivileged user),
 * as libvirt's managed='no'. */
#include "qp.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

/* "interface net1 (bridge 'br0')": how every error names the interface */
static void describe(char *buf, size_t len, const qp_nic *n, size_t i)
{
    if (!strcmp(n->type, "bridge"))
        snprintf(buf, len, "interface net%zu (bridge '%s')", i, n->bridge);
    else if (n->ifname)
        snprintf(buf, len, "interface net%zu (ethernet, tap '%s')", i, n->ifname);
    else
        snprintf(buf, len, "interface net%zu (ethernet)", i);
}

static int nic_fail(qp_ctx *ctx, int code, int err, const qp_nic *n, size_t i, const char *fmt,
                    ...) SB_PRINTF(6, 7);
static int nic_fail(qp_ctx *ctx, int code, int err, const qp_nic *n, size_t i, const char *fmt,
                    ...)
{
    char who[128], what[512];
    describe(who, sizeof who, n, i);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (err)
        return qp_error(ctx, code, "%s: %s: %s", who, what, strerror(err));
    return qp_error(ctx, code, "%s: %s", who, what);
}

static const char *const need_cap =
    " (bridge and ethernet interfaces need CAP_NET_ADMIN: run as root, or use type='user', "
    "or a tap made for this user with <target dev=... managed='no'/>)";

/* Asked of the kernel (ioctls on a socket), not of /sys: sysfs shows the
 * network namespace it was mounted in, which need not be ours. */
static int netdev_exists(int sock, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    return ioctl(sock, SIOCGIFINDEX, &ifr) == 0;
}

/* A bridge's driver is "bridge" (ethtool's driver info). */
static int is_bridge(int sock, const char *name)
{
    struct ethtool_drvinfo info;
    struct ifreq ifr;
    memset(&info, 0, sizeof info);
    memset(&ifr, 0, sizeof ifr);
    info.cmd = ETHTOOL_GDRVINFO;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_data = (char *)&info;
    return ioctl(sock, SIOCETHTOOL, &ifr) == 0 && !strcmp(info.driver, "bridge");
}

static int set_flags_up(int sock, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    if (ifr.ifr_flags & IFF_UP)
        return 0;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* The tap's own MAC: the guest's with 0xfe first, as libvirt sets it, so
 * a bridge (which takes the lowest port MAC) never takes the guest's. */
static void set_tap_mac(int sock, const char *name, const char *mac)
{
    unsigned b[6];
    if (!mac || sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
    ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
    for (int k = 1; k < 6; k++)
        ifr.ifr_hwaddr.sa_data[k] = (char)b[k];
    (void)ioctl(sock, SIOCSIFHWADDR, &ifr); /* cosmetic: a failure changes nothing */
}

static int open_one(qp_ctx *ctx, const qp_nic *n, size_t i, int sock)
{
    if (!strcmp(n->type, "bridge")) {
        if (!netdev_exists(sock, n->bridge))
            return nic_fail(ctx, SB_ERR_OPERATION_FAILED, 0, n, i,
                            "no network device named '%s' on this host", n->bridge);
        if (!is_bridge(sock, n->bridge))
            return nic_fail(ctx, SB_ERR_OPERATION_FAILED, 0, n, i, "'%s' is not a bridge",
                            n->bridge);
    }
    if (n->unmanaged && !netdev_exists(sock, n->ifname))
        return nic_fail(ctx, SB_ERR_OPERATION_FAILED, 0, n, i,
                        "tap '%s' does not exist (managed='no': it is made beforehand, e.g. "
                        "`ip tuntap add %s mode tap`)", n->ifname, n->ifname);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return nic_fail(ctx, e == EACCES || e == EPERM ? SB_ERR_OPERATION_DENIED
                                                       : SB_ERR_SYSTEM_ERROR,
                        e, n, i, "cannot open /dev/net/tun%s",
                        e == EACCES || e == EPERM ? need_cap : "");
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (!strcmp(n->model, "virtio"))
        ifr.ifr_flags |= IFF_VNET_HDR; /* offloads, as libvirt asks for virtio */
    if (n->ifname && !n->unmanaged)
        ifr.ifr_flags |= IFF_TUN_EXCL; /* ours to create: never share someone's tap */
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", n->ifname ? n->ifname : "vnet%d");
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        char which[40] = "a tap";
        if (n->ifname)
            snprintf(which, sizeof which, "tap '%s'", n->ifname);
        if (e == EPERM || e == EACCES)
            return nic_fail(ctx, SB_ERR_OPERATION_DENIED, e, n, i, "cannot %s %s%s",
                            n->unmanaged ? "attach to" : "create", which, need_cap);
        if (e == EBUSY)
            return nic_fail(ctx, SB_ERR_OPERATION_FAILED, e, n, i,
                            "%s already exists or is in use", which);
        return nic_fail(ctx, SB_ERR_OPERATION_FAILED, e, n, i, "cannot %s %s",
                        n->unmanaged ? "attach to" : "create", which);
    }
    char name[IFNAMSIZ];
    snprintf(name, sizeof name, "%s", ifr.ifr_name);
    if (!n->unmanaged)
        set_tap_mac(sock, name, n->mac);
    int e = -set_flags_up(sock, name);
    if (e) {
        close(fd);
        return nic_fail(ctx, e == EPERM ? SB_ERR_OPERATION_DENIED : SB_ERR_OPERATION_FAILED, e,
                        n, i, "cannot bring tap '%s' up%s", name, e == EPERM ? need_cap : "");
    }
    if (!strcmp(n->type, "bridge")) {
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", n->bridge);
        ifr.ifr_ifindex = (int)if_nametoindex(name);
        if (ifr.ifr_ifindex == 0 || ioctl(sock, SIOCBRADDIF, &ifr) < 0) {
            e = errno;
            close(fd);
            return nic_fail(ctx, e == EPERM ? SB_ERR_OPERATION_DENIED : SB_ERR_OPERATION_FAILED,
                            e, n, i, "cannot add tap '%s' to bridge '%s'%s", name, n->bridge,
                            e == EPERM ? need_cap : "");
        }
    }
    qp_log(ctx, SB_LOG_DEBUG, "interface net%zu: tap '%s'", i, name);
    return fd;
}

int qp_taps_open(qp_ctx *ctx, const qp_domain *d, int *fds)
{
    int sock = -1, r = 0;
    for (size_t i = 0; i < d->nnics; i++)
        fds[i] = -1;
    for (size_t i = 0; i < d->nnics && r == 0; i++) {
        const qp_nic *n = &d->nics[i];
        if (!strcmp(n->type, "user"))
            continue;
        if (sock < 0 && (sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
            r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "socket");
            break;
        }
        int fd = open_one(ctx, n, i, sock);
        if (fd < 0)
            r = fd;
        else
            fds[i] = fd;
    }
    if (sock >= 0)
        close(sock);
    if (r < 0)
        qp_taps_close(fds, d->nnics);
    return r;
}

void qp_taps_close(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

int qp_taps_install(const int *fds, size_t n, int *keep)
{
    int lo = QP_TAP_FD0, hi = QP_TAP_FD0 + (int)n, tmp[QP_MAX_NICS];
    if (n > sizeof tmp / sizeof tmp[0])
        return -1;
    /* first everything above the range, so no dup2 below closes a
     * descriptor still to be moved */
    if (*keep >= lo && *keep < hi && (*keep = fcntl(*keep, F_DUPFD_CLOEXEC, hi)) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((tmp[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, hi)) < 0 && fds[i] >= 0)
            return -1;
    for (size_t i = 0; i < n; i++) {
        if (tmp[i] < 0)
            continue;
        if (dup2(tmp[i], lo + (int)i) < 0) /* the copy is not close-on-exec */
            return -1;
        close(tmp[i]);
    }
    return 0;
}
