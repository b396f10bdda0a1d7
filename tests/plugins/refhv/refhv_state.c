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
#include "fixture_file.h"

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
    char *buf;
    size_t len;
    int rc = fx_read_file(hv_host, c->file, &buf, &len);

    if (rc < 0)
        return errno == EIO ? corrupt(c, "short read") : sys_error(c, "cannot read", c->file);
    if (rc == 1)
        return initial(st, c);
    rc = parse(st, c, buf, len);
    hv_host->free(buf);
    return rc;
}

int hv_load(struct hv_state *st, sb_conn *c, int exclusive)
{
    int rc;

    st->doms = NULL;
    st->n = 0;
    if ((st->lock = fx_lock_file(c->lock_file, exclusive)) < 0)
        return sys_error(c, "cannot lock", c->lock_file);
    if ((rc = read_state(st, c)) < 0)
        hv_release(st);
    return rc;
}

/* ---- writing ---- */

static size_t len0(const char *s)
{
    return s ? strlen(s) : 0;
}

static void write_blobs(FILE *f, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", v[i] ? v[i] : "");
}

int hv_save(const struct hv_state *st, sb_conn *c)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    int rc;

    if (!f)
        return hv_oom(c);
    fputs(MAGIC, f);
    for (size_t i = 0; i < st->n; i++) {
        const struct hv_dom *d = &st->doms[i];
        const char *db[] = { d->name, d->xml };
        fprintf(f, "D %d %u %zu %zu\n", d->state, d->current, len0(d->name), len0(d->xml));
        write_blobs(f, db, 2);
        for (size_t k = 0; k < d->nsnaps; k++) {
            const struct hv_snap *s = &d->snaps[k];
            const char *sbv[] = { s->name, s->desc, s->dom_xml };
            fprintf(f, "S %d %lld %u %u %zu %zu %zu\n", s->state, s->ctime, s->id, s->parent_id,
                    len0(s->name), len0(s->desc), len0(s->dom_xml));
            write_blobs(f, sbv, 3);
        }
    }
    if (fclose(f) != 0 || !data) {
        free(data);
        return hv_oom(c);
    }
    rc = fx_write_file(hv_host, c->file, data, len) < 0 ? sys_error(c, "cannot write", c->file)
                                                        : 0;
    free(data);
    return rc;
}
