/* The refhv state file: domains and their snapshot trees.
 *
 *     snapbroker-refhv 1
 *     D STATE CURRENT_ID NAMELEN XMLLEN
 *     NAME\nXML\n
 *     S STATE CTIME ID PARENT_ID NAMELEN DESCLEN DOMLEN
 *     NAME\nDESC\nDOMXML\n
 *     ...
 * Every string is length-prefixed (a length of 0 is "none"), snapshot
 * records belong to the domain record before them, in creation order.
 * Rewritten whole (temp, fsync, rename, directory fsync) under flock. */
#include "refhv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "snapbroker-refhv 1\n"

static const char initial_xml[] =
    "<domain type='%s'>\n"
    "  <name>test</name>\n"
    "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
    "  <memory unit='KiB'>8388608</memory>\n"
    "  <vcpu placement='static'>2</vcpu>\n"
    "  <os>\n"
    "    <type arch='i686'>hvm</type>\n"
    "  </os>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/guest/diskimage1'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
    "  </devices>\n"
    "</domain>\n";

const char *hv_initial_xml(void)
{
    static char buf[sizeof(initial_xml) + 16];
    snprintf(buf, sizeof(buf), initial_xml, REFHV_VBOX ? "vbox" : "vmware");
    return buf;
}

int hv_oom(sb_conn *c)
{
    return hv_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
}

int hv_no_domain(sb_conn *c, const char *name)
{
    return hv_host->set_error(c->h, SB_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                              name ? name : "");
}

static int sys_error(sb_conn *c, const char *what, const char *path)
{
    return hv_host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "%s plugin: %s '%s': %s", HV_NAME, what,
                              path, strerror(errno));
}

static int corrupt(sb_conn *c, const char *why)
{
    return hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR,
                              "%s plugin: state file '%s' is damaged: %s", HV_NAME, c->file, why);
}

char *hv_strdup(const char *s)
{
    return s ? hv_host->strdup(s) : NULL;
}

int hv_set(char **field, const char *value)
{
    char *v = NULL;
    if (value && !(v = hv_host->strdup(value)))
        return -1;
    hv_host->free(*field);
    *field = v;
    return 0;
}

static void snap_clear(struct hv_snap *s)
{
    hv_host->free(s->name);
    hv_host->free(s->desc);
    hv_host->free(s->dom_xml);
}

static void state_clear(struct hv_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        struct hv_dom *d = &st->doms[i];
        for (size_t k = 0; k < d->nsnaps; k++)
            snap_clear(&d->snaps[k]);
        hv_host->free(d->snaps);
        hv_host->free(d->name);
        hv_host->free(d->xml);
    }
    hv_host->free(st->doms);
    st->doms = NULL;
    st->n = 0;
}

void hv_release(struct hv_state *st)
{
    if (st->lock >= 0)
        close(st->lock); /* releases the flock */
    st->lock = -1;
    state_clear(st);
}

struct hv_dom *hv_find_dom(struct hv_state *st, const char *name)
{
    for (size_t i = 0; name && i < st->n; i++)
        if (strcmp(st->doms[i].name, name) == 0)
            return &st->doms[i];
    return NULL;
}

struct hv_snap *hv_snap_by_id(struct hv_dom *d, unsigned id)
{
    for (size_t i = 0; id && i < d->nsnaps; i++)
        if (d->snaps[i].id == id)
            return &d->snaps[i];
    return NULL;
}

const char *hv_name_of(struct hv_dom *d, unsigned id)
{
    struct hv_snap *s = hv_snap_by_id(d, id);
    return s ? s->name : NULL;
}

/* Depth-first below the snapshot parent_id (0: the roots). */
static struct hv_snap *find_under(struct hv_dom *d, unsigned parent_id, const char *name,
                                  size_t depth)
{
    if (depth > d->nsnaps)
        return NULL; /* a cycle in a damaged file */
    for (size_t i = 0; i < d->nsnaps; i++) {
        struct hv_snap *s = &d->snaps[i], *hit;
        if (s->parent_id != parent_id)
            continue;
        if (strcmp(s->name, name) == 0)
            return s;
        if ((hit = find_under(d, s->id, name, depth + 1)) != NULL)
            return hit;
    }
    return NULL;
}

struct hv_snap *hv_find_snap(struct hv_dom *d, const char *name)
{
    return name ? find_under(d, 0, name, 0) : NULL;
}

size_t hv_children(const struct hv_dom *d, const struct hv_snap *s)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nsnaps; i++)
        if (d->snaps[i].parent_id == s->id)
            n++;
    return n;
}

/* ---- reading ---- */

struct cursor {
    const char *p, *end;
};

static int line(struct cursor *cu, char *out, size_t size)
{
    const char *nl = memchr(cu->p, '\n', (size_t)(cu->end - cu->p));
    if (!nl || (size_t)(nl - cu->p) >= size)
        return -1;
    memcpy(out, cu->p, (size_t)(nl - cu->p));
    out[nl - cu->p] = '\0';
    cu->p = nl + 1;
    return 0;
}

/* A blob of len bytes and its '\n'; len 0 is NULL.  -1 damaged, -2 oom. */
static int blob(struct cursor *cu, unsigned long len, char **out)
{
    *out = NULL;
    if ((size_t)(cu->end - cu->p) < len + 1 || cu->p[len] != '\n')
        return -1;
    if (len) {
        if (!(*out = hv_host->alloc(len + 1)))
            return -2;
        memcpy(*out, cu->p, len);
    }
    cu->p += len + 1;
    return 0;
}

static int parse(struct hv_state *st, sb_conn *c, const char *buf, size_t len)
{
    struct cursor cu = { buf, buf + len };
    struct hv_dom *d = NULL;
    char head[200];
    int rc = 0;

    if (len < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0)
        return corrupt(c, "bad header");
    cu.p += strlen(MAGIC);
    while (cu.p < cu.end && rc == 0) {
        unsigned long l1, l2, l3;
        unsigned id, pid;
        long long ctime;
        int state, used = 0;

        if (line(&cu, head, sizeof(head)) < 0)
            return corrupt(c, "bad record line");
        if (sscanf(head, "D %d %u %lu %lu%n", &state, &id, &l1, &l2, &used) == 4 &&
            !head[used]) {
            struct hv_dom *nd = hv_host->realloc(st->doms, (st->n + 1) * sizeof(*nd));
            if (!nd)
                return hv_oom(c);
            st->doms = nd;
            d = &nd[st->n++];
            memset(d, 0, sizeof(*d));
            d->state = state;
            d->current = id;
            if ((rc = blob(&cu, l1, &d->name)) == 0)
                rc = blob(&cu, l2, &d->xml);
            if (rc == 0 && (!d->name || !d->xml))
                rc = -1;
        } else if (sscanf(head, "S %d %lld %u %u %lu %lu %lu%n", &state, &ctime, &id, &pid,
                          &l1, &l2, &l3, &used) == 7 &&
                   !head[used] && d) {
            struct hv_snap *ns = hv_host->realloc(d->snaps, (d->nsnaps + 1) * sizeof(*ns));
            if (!ns)
                return hv_oom(c);
            d->snaps = ns;
            struct hv_snap *s = &ns[d->nsnaps++];
            memset(s, 0, sizeof(*s));
            s->state = state;
            s->ctime = ctime;
            s->id = id;
            s->parent_id = pid;
            if ((rc = blob(&cu, l1, &s->name)) == 0 && (rc = blob(&cu, l2, &s->desc)) == 0)
                rc = blob(&cu, l3, &s->dom_xml);
            if (rc == 0 && (!s->name || !id))
                rc = -1;
        } else {
            return corrupt(c, "bad record line");
        }
    }
    if (rc == -2)
        return hv_oom(c);
    return rc < 0 ? corrupt(c, "truncated record") : 0;
}

static int initial(struct hv_state *st, sb_conn *c)
{
    if (!(st->doms = hv_host->alloc(sizeof(*st->doms))))
        return hv_oom(c);
    st->n = 1;
    st->doms[0].state = SB_DOMAIN_RUNNING;
    st->doms[0].name = hv_host->strdup("test");
    st->doms[0].xml = hv_host->strdup(hv_initial_xml());
    return st->doms[0].name && st->doms[0].xml ? 0 : hv_oom(c);
}

static int read_state(struct hv_state *st, sb_conn *c)
{
    int fd = open(c->file, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    size_t got = 0;
    char *buf;
    int rc;

    if (fd < 0)
        return errno == ENOENT ? initial(st, c) : sys_error(c, "cannot open", c->file);
    if (fstat(fd, &sb) < 0) {
        rc = sys_error(c, "cannot stat", c->file);
        close(fd);
        return rc;
    }
    if (!(buf = hv_host->alloc((size_t)sb.st_size + 1))) {
        close(fd);
        return hv_oom(c);
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? sys_error(c, "cannot read", c->file) : corrupt(c, "short read");
            close(fd);
            hv_host->free(buf);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    rc = parse(st, c, buf, got);
    hv_host->free(buf);
    return rc;
}

int hv_load(struct hv_state *st, sb_conn *c, int exclusive)
{
    int rc;

    st->doms = NULL;
    st->n = 0;
    st->lock = open(c->lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock < 0)
        return sys_error(c, "cannot open lock file", c->lock_file);
    while (flock(st->lock, exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR) {
            rc = sys_error(c, "cannot lock", c->lock_file);
            hv_release(st);
            return rc;
        }
    }
    if ((rc = read_state(st, c)) < 0)
        hv_release(st);
    return rc;
}

/* ---- writing ---- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t len0(const char *s)
{
    return s ? strlen(s) : 0;
}

static int write_blobs(int fd, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((v[i] && write_all(fd, v[i], strlen(v[i])) < 0) || write_all(fd, "\n", 1) < 0)
            return -1;
    return 0;
}

static int fsync_dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char dir[4096];
    int fd, rc;

    if (!slash || (size_t)(slash - file) >= sizeof(dir))
        return 0;
    memcpy(dir, file, (size_t)(slash - file));
    dir[slash - file] = '\0';
    if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int hv_save(const struct hv_state *st, sb_conn *c)
{
    size_t tlen = strlen(c->file) + 32;
    char *tmp = hv_host->alloc(tlen);
    char head[200];
    int fd, rc;

    if (!tmp)
        return hv_oom(c);
    snprintf(tmp, tlen, "%s.tmp.%ld", c->file, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = sys_error(c, "cannot create", tmp);
        hv_host->free(tmp);
        return rc;
    }
    rc = write_all(fd, MAGIC, strlen(MAGIC));
    for (size_t i = 0; rc == 0 && i < st->n; i++) {
        const struct hv_dom *d = &st->doms[i];
        const char *db[] = { d->name, d->xml };
        int n = snprintf(head, sizeof(head), "D %d %u %zu %zu\n", d->state, d->current,
                         len0(d->name), len0(d->xml));
        rc = write_all(fd, head, (size_t)n);
        if (rc == 0)
            rc = write_blobs(fd, db, 2);
        for (size_t k = 0; rc == 0 && k < d->nsnaps; k++) {
            const struct hv_snap *s = &d->snaps[k];
            const char *sbv[] = { s->name, s->desc, s->dom_xml };
            n = snprintf(head, sizeof(head), "S %d %lld %u %u %zu %zu %zu\n", s->state, s->ctime,
                         s->id, s->parent_id, len0(s->name), len0(s->desc), len0(s->dom_xml));
            rc = write_all(fd, head, (size_t)n);
            if (rc == 0)
                rc = write_blobs(fd, sbv, 3);
        }
    }
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) < 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, c->file);
    if (rc == 0)
        rc = fsync_dir_of(c->file);
    if (rc < 0) {
        rc = sys_error(c, "cannot write", c->file);
        unlink(tmp);
    }
    hv_host->free(tmp);
    return rc;
}
