/* Kill points (crash_points.h): the --wrap'ed durable calls.  The store is
 * built with 64-bit file offsets, so its objects call pwrite64, pwritev64
 * and ftruncate64; the wrappers for those names are what the linker routes
 * the store's calls to (__real_X is libc's X). */
#include "crash_points.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

ssize_t __real_pwrite64(int fd, const void *buf, size_t len, off64_t off);
ssize_t __real_pwritev64(int fd, const struct iovec *iov, int n, off64_t off);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_ftruncate64(int fd, off64_t len);
int __real_rename(const char *from, const char *to);

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off64_t off);
ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off64_t off);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_ftruncate64(int fd, off64_t len);
int __wrap_rename(const char *from, const char *to);

static struct {
    int calls;        /* calls seen since cp_record_start / cp_arm */
    int kill_at;      /* 0: never */
    bool torn;
    unsigned torn_seed;
    cp_call *rec;     /* dry run */
    size_t cap;
    int acked;
    bool record_written;
} cp;

const char *cp_kind_name(cp_kind k)
{
    static const char *const names[] = { "pwrite", "pwritev", "fsync", "fdatasync",
                                         "ftruncate", "rename" };
    return names[k];
}

void cp_record_start(cp_call *v, size_t cap)
{
    memset(&cp, 0, sizeof(cp));
    cp.rec = v;
    cp.cap = cap;
}

size_t cp_record_stop(void)
{
    size_t n = (size_t)cp.calls;
    memset(&cp, 0, sizeof(cp));
    return n;
}

void cp_acked(void)
{
    cp.acked++;
    cp.record_written = false;
}

void cp_arm(int n, bool torn, unsigned torn_seed)
{
    memset(&cp, 0, sizeof(cp));
    cp.kill_at = n;
    cp.torn = torn;
    cp.torn_seed = torn_seed;
}

/* Count the call; true when the process must die at it. */
static bool at_kill_point(cp_kind k)
{
    if (!cp.rec && !cp.kill_at)
        return false;
    size_t i = (size_t)cp.calls++;
    if (cp.rec && i < cp.cap)
        cp.rec[i] = (cp_call){ .kind = k, .acked = cp.acked,
                               .record_written = cp.record_written };
    return cp.kill_at && cp.calls == cp.kill_at;
}

static void die(void)
{
    raise(SIGKILL);
    _exit(99); /* not reached */
}

/* How many of len bytes a torn write leaves: 1..len-1 (len >= 2). */
static size_t torn_len(size_t len)
{
    return 1 + cp.torn_seed % (len - 1);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    if (at_kill_point(CP_PWRITE)) {
        if (cp.torn && len >= 2)
            (void)!__real_pwrite64(fd, buf, torn_len(len), off);
        die();
    }
    return __real_pwrite64(fd, buf, len, off);
}

ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
    if (at_kill_point(CP_PWRITEV)) {
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += iov[i].iov_len;
        if (cp.torn && len >= 2) {
            /* the first `keep` bytes of the gathered data */
            size_t keep = torn_len(len);
            for (int i = 0; i < n && keep > 0; i++) {
                size_t part = iov[i].iov_len < keep ? iov[i].iov_len : keep;
                (void)!__real_pwrite64(fd, iov[i].iov_base, part, off);
                off += (off64_t)part;
                keep -= part;
            }
        }
        die();
    }
    ssize_t r = __real_pwritev64(fd, iov, n, off);
    if (r > 0)
        cp.record_written = true;
    return r;
}

int __wrap_fsync(int fd)
{
    if (at_kill_point(CP_FSYNC))
        die();
    return __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
    if (at_kill_point(CP_FDATASYNC))
        die();
    return __real_fdatasync(fd);
}

int __wrap_ftruncate64(int fd, off64_t len)
{
    if (at_kill_point(CP_FTRUNCATE))
        die();
    return __real_ftruncate64(fd, len);
}

int __wrap_rename(const char *from, const char *to)
{
    if (at_kill_point(CP_RENAME))
        die();
    return __real_rename(from, to);
}
