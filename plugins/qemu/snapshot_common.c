/* qemu plugin - helpers shared by create, revert and delete:
 * output XML, the "images still needed" computation. */
#include "snapshot_common.h"
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

int qp_format(qp_ctx *ctx, const struct sb_snapshot_view *v, char **out)
{
    char *hx = NULL;
    int r = ctx->api->snapshot_format(ctx->h, v, &hx);
    if (r < 0)
        return r;
    *out = qp_strdup(hx);
    ctx->api->free(hx);
    return *out ? 0 : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
}

const struct sb_snapshot_disk_view *qp_view_disk(const struct sb_snapshot_view *v,
                                                 const char *target, int revert)
{
    size_t n = revert ? v->nrevert_disks : v->ndisks;
    const struct sb_snapshot_disk_view *d = revert ? v->revert_disks : v->disks;
    for (size_t i = 0; i < n; i++)
        if (d[i].name && !strcmp(d[i].name, target))
            return &d[i];
    return NULL;
}

int qp_domain_from_view(qp_ctx *ctx, const struct sb_snapshot_view *v, qp_domain **out)
{
    if (!v->domain_xml)
        return qp_error(ctx, SB_ERR_SNAPSHOT_REVERT_RISKY,
                        "snapshot '%s' has no stored domain definition", v->name);
    return qp_domain_parse(ctx, v->domain_xml, out);
}

/* Disk sources of a stored domain XML, through the broker's view (more
 * tolerant than our own strict parser). */
int qp_domain_xml_sources(qp_ctx *ctx, const char *xml, qp_strv *out)
{
    if (ctx->api && ctx->api->domain_view) {
        struct sb_domain_view *dv = NULL;
        int r = ctx->api->domain_view(ctx->h, xml, &dv);
        if (r < 0)
            return r;
        /* a source left out would make its image look unneeded */
        for (size_t i = 0; i < dv->ndisks && r == 0; i++)
            if (dv->disks[i].source && qp_strv_add(out, dv->disks[i].source) < 0)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        ctx->api->domain_view_free(dv);
        return r;
    }
    qp_domain *d = NULL;
    int r = qp_domain_parse(ctx, xml, &d);
    if (r < 0)
        return r;
    for (size_t i = 0; i < d->ndisks && r == 0; i++)
        if (d->disks[i].source && qp_strv_add(out, d->disks[i].source) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    qp_domain_free(d);
    return r;
}

void qp_needed_free(qp_needed *n)
{
    for (size_t i = 0; i < n->ntops; i++) {
        qp_strv_free(&n->tops[i].chain);
        free(n->tops[i].owner);
    }
    free(n->tops);
    qp_strv_free(&n->all);
    qp_strv_free(&n->refs);
    qp_strv_free(&n->ref_owner);
    qp_strmap_free(&n->by_path);
    qp_strmap_free(&n->by_kind);
    qp_strv_free(&n->hit_path);
    qp_strv_free(&n->hit_name);
    qp_strv_free(&n->watched);
    qp_strmap_free(&n->in_all);
    qp_canon_cache_free(&n->canon);
    memset(n, 0, sizeof *n);
}

static int chain_copy(qp_ctx *ctx, qp_strv *chain, const qp_strv *from)
{
    for (size_t k = 0; k < from->n; k++)
        if (qp_strv_add(chain, from->v[k]) < 0)
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

static int add_top(qp_ctx *ctx, qp_needed *n, const char *path, const char *owner, int internal_owner)
{
    /* Snapshots that name the same image the same way (internal or not)
     * need it the same way: the first one stands for them all (its name is
     * the one an error message gives).  Without this, a tree of N internal
     * snapshots of one disk made N tops, each a copy of the same chain, on
     * every delete. */
    if (owner) {
        size_t len = strlen(path);
        char buf[1024], *key = len + 2 <= sizeof buf ? buf : malloc(len + 2);
        if (!key)
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        key[0] = internal_owner ? 'i' : 'e';
        memcpy(key + 1, path, len + 1);
        int seen = qp_strmap_find(&n->by_kind, key);
        if (seen < 0 && qp_strmap_put(&n->by_kind, key, (int)n->ntops) < 0)
            seen = -2;
        if (key != buf)
            free(key);
        if (seen == -2)
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        if (seen >= 0)
            return 0;
    }
    qp_needed_top *nt = realloc(n->tops, (n->ntops + 1) * sizeof *nt);
    if (!nt)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    n->tops = nt;
    qp_needed_top *t = &n->tops[n->ntops];
    memset(t, 0, sizeof *t);
    if (owner && !(t->owner = qp_strdup(owner)))
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    t->internal_owner = internal_owner;
    n->ntops++;
    /* the same path as an earlier top (every snapshot of a domain names
     * its disks): that top's chain, without resolving or reading it again */
    int seen = qp_strmap_find(&n->by_path, path);
    if (seen >= 0)
        return chain_copy(ctx, &t->chain, &n->tops[seen].chain);
    if (qp_strmap_put(&n->by_path, path, (int)n->ntops - 1) < 0)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    char *canon = qp_realpath_or_copy(path);
    if (!canon)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    /* reuse a chain computed already */
    for (size_t i = 0; i + 1 < n->ntops; i++)
        if (n->tops[i].chain.n && !strcmp(n->tops[i].chain.v[0], canon)) {
            free(canon);
            return chain_copy(ctx, &t->chain, &n->tops[i].chain);
        }
    int r = qp_img_chain_names(ctx, canon, &t->chain);
    free(canon);
    for (size_t i = 0; i < t->chain.n && r == 0; i++)
        if (qp_strmap_find(&n->in_all, t->chain.v[i]) < 0 &&
            (qp_strv_add(&n->all, t->chain.v[i]) < 0 ||
             qp_strmap_put(&n->in_all, t->chain.v[i], (int)n->all.n - 1) < 0))
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return r;
}

/* A path a snapshot names, and which snapshot names it.  An image the
 * lists lose to an out-of-memory would look unneeded: it is an error. */
static int add_ref(qp_ctx *ctx, qp_needed *n, const char *path, const char *owner)
{
    const char *c = qp_canon_cached(&n->canon, path);
    if (!c || qp_strv_add(&n->refs, c) < 0)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (qp_strv_add(&n->ref_owner, owner) < 0) {
        free(n->refs.v[--n->refs.n]); /* keep the two lists in step */
        n->refs.v[n->refs.n] = NULL;
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    return 0;
}

/* One stored snapshot's share of qp_needed_compute. */
static int needed_of(qp_ctx *ctx, const char *name, const qp_refs *refs, void *opaque)
{
    qp_needed *out = opaque;
    int r = 0;
    /* the overlays a snapshot names: external <disks>, <revertDisks> */
    for (size_t k = 0; k < refs->overlays.n && r == 0; k++)
        r = add_ref(ctx, out, refs->overlays.v[k], name);
    for (size_t k = 0; k < refs->reverts.n && r == 0; k++)
        r = add_ref(ctx, out, refs->reverts.v[k], name);
    for (size_t k = 0; k < refs->captured.n && r == 0; k++)
        r = add_top(ctx, out, refs->captured.v[k], name, !refs->external);
    for (size_t w = 0; out->watch && w < out->watch->n && r == 0; w++) {
        const char *path = out->watch->v[w];
        int hit = refs->named_unsure;
        for (size_t k = 0; k < refs->named.n && !hit; k++) {
            const char *c = qp_canon_cached(&out->canon, refs->named.v[k]);
            hit = !c || !strcmp(refs->named.v[k], path) || !strcmp(c, path);
        }
        if (hit && (qp_strv_add(&out->hit_path, path) < 0 || qp_strv_add(&out->hit_name, name) < 0))
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    return r;
}

int qp_needed_ref_by_other(const qp_needed *n, const char *path, const char *snapshot)
{
    for (size_t i = 0; i < n->refs.n; i++)
        if (!strcmp(n->refs.v[i], path) && (!snapshot || strcmp(n->ref_owner.v[i], snapshot)))
            return 1;
    return 0;
}

int qp_needed_compute(qp_ctx *ctx, const char *domain, const char *skip, const qp_domain *current,
                      qp_needed *out)
{
    return qp_needed_compute_watch(ctx, domain, skip, current, NULL, out);
}

int qp_needed_compute_watch(qp_ctx *ctx, const char *domain, const char *skip,
                            const qp_domain *current, const qp_strv *watch, qp_needed *out)
{
    memset(out, 0, sizeof *out);
    out->watch = watch;
    int r = 0;
    if (current) {
        for (size_t i = 0; i < current->ndisks && r == 0; i++)
            if (current->disks[i].source) /* read-only images are needed too */
                r = add_top(ctx, out, current->disks[i].source, NULL, 0);
    }
    if (r < 0)
        goto fail;
    if (!ctx->api || !ctx->api->tree_list || !ctx->api->tree_get_xml) {
        r = qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                     "the broker offers no snapshot tree: cannot tell which images are still "
                     "needed");
        goto fail;
    }
    if ((r = qp_refs_each(ctx, domain, skip, needed_of, out)) < 0)
        goto fail;
    out->watch = NULL;
    return 0;
fail:
    qp_needed_free(out);
    return r;
}

/* The value of the attribute starting at p (name=, then a quoted value),
 * entities decoded, into buf; the end of the value in *end.  0, or -1 when
 * it does not look like one or does not fit (the caller then assumes the
 * worst). */
static int attr_value(const char *p, char *buf, size_t size, const char **end)
{
    char q = *p;
    size_t k = 0;
    if (q != '\'' && q != '"')
        return -1;
    for (p++; *p && *p != q; p++) {
        char c = *p;
        if (c == '\n' || c == '\r' || c == '\t')
            return -1; /* the parser normalises these to spaces */
        if (c == '&') {
            static const struct { const char *ent; char c; } ents[] = {
                { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
                { "&apos;", '\'' } };
            size_t i = 0;
            while (i < 5 && strncmp(p, ents[i].ent, strlen(ents[i].ent)))
                i++;
            if (i == 5)
                return -1; /* numeric references and the like: not worth it here */
            c = ents[i].c;
            p += strlen(ents[i].ent) - 1;
        }
        if (k + 1 >= size)
            return -1;
        buf[k++] = c;
    }
    if (*p != q)
        return -1;
    buf[k] = '\0';
    *end = p + 1;
    return 0;
}

/* Calls each(value, arg) for the file= or dev= value of every <source>
 * element of xml, in document order, until one returns non-zero, which is
 * returned.  1 without a call where the scan cannot tell what the document
 * names: a prefixed <source> (qp_xml_replace_source matches <source> by its
 * local name, so it may name anything) or a value too long to read. */
static int each_source_value(const char *xml, int (*each)(const char *value, void *arg),
                             void *arg)
{
    if (strstr(xml, ":source"))
        return 1;
    for (const char *p = strstr(xml, "<source"); p; p = strstr(p + 1, "<source")) {
        const char *q = p + 7;
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '/' && *q != '>')
            continue; /* <sourceX> */
        while (*q && *q != '>') {
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            const char *name = q;
            while (*q && *q != '=' && *q != '>' && *q != ' ' && *q != '/')
                q++;
            if (*q != '=') {
                if (*q == '/' || *q == ' ')
                    q++;
                continue;
            }
            size_t nlen = (size_t)(q - name);
            char val[4096];
            const char *after;
            if (attr_value(q + 1, val, sizeof val, &after) < 0)
                return 1;
            q = after;
            if (!((nlen == 4 && !strncmp(name, "file", 4)) || (nlen == 3 && !strncmp(name, "dev", 3))))
                continue;
            int r = each(val, arg);
            if (r)
                return r;
        }
    }
    return 0;
}

struct collect_values {
    qp_ctx *ctx;
    qp_strv *out;
};

static int collect_value(const char *val, void *arg)
{
    struct collect_values *cv = arg;
    if (!qp_strv_has(cv->out, val) && qp_strv_add(cv->out, val) < 0)
        return qp_error(cv->ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

int qp_xml_source_values(qp_ctx *ctx, const char *xml, qp_strv *out)
{
    struct collect_values cv = { ctx, out };
    return each_source_value(xml, collect_value, &cv);
}

struct may_name {
    const char *path;
    qp_strmap *memo;
};

static int names_path(const char *val, void *arg)
{
    struct may_name *mn = arg;
    if (!strcmp(val, mn->path))
        return 1;
    /* what the value resolves to, once per value and walk */
    int hit = mn->memo ? qp_strmap_find(mn->memo, val) : -1;
    if (hit < 0) {
        char *canon = qp_realpath_or_copy(val);
        if (!canon)
            return 1; /* unknown: "may" (the caller then reads the document) */
        hit = !strcmp(canon, mn->path);
        free(canon);
        if (mn->memo)
            (void)qp_strmap_put(mn->memo, val, hit); /* not kept: asked again */
    }
    return hit;
}

int qp_xml_may_name(const char *xml, const char *path, qp_strmap *memo)
{
    struct may_name mn = { path, memo };
    return each_source_value(xml, names_path, &mn);
}

/* Replace every <source file|dev=old> in an XML document by new; NULL
 * when that cannot be known for every source (out of memory). */
char *qp_xml_replace_source(const char *xml, const char *old_path, const char *new_path,
                            int *changed)
{
    int lost = 0;
    *changed = 0;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "snap.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    if (!doc)
        return NULL;
    xmlNodePtr n = xmlDocGetRootElement(doc);
    /* iterative pre-order walk */
    while (n) {
        if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, "source")) {
            const char *attrs[] = {"file", "dev"};
            for (int i = 0; i < 2; i++) {
                xmlChar *v = xmlGetProp(n, (const xmlChar *)attrs[i]);
                if (v) {
                    char *canon = qp_realpath_or_copy((const char *)v);
                    if ((canon && !strcmp(canon, old_path)) || !strcmp((const char *)v, old_path)) {
                        if (!xmlSetProp(n, (const xmlChar *)attrs[i], (const xmlChar *)new_path))
                            lost = 1;
                        (*changed)++;
                    } else if (!canon) {
                        lost = 1;
                    }
                    free(canon);
                    xmlFree(v);
                }
            }
        }
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && !n->next)
            n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
        if (n)
            n = n->next;
    }
    xmlChar *mem = NULL;
    int size = 0;
    if (!lost)
        xmlDocDumpMemory(doc, &mem, &size);
    xmlFreeDoc(doc);
    char *out = mem ? qp_strdup((const char *)mem) : NULL;
    xmlFree(mem);
    return out;
}

int qp_job_id(char *buf, size_t len, const char *what)
{
    static unsigned counter;
    return snprintf(buf, len, "sb-%s-%ld-%u", what, (long)getpid(), ++counter);
}

void qp_new_node_name(char *buf, size_t len, const char *target)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, len, "o%s-%lx%x", target,
             (unsigned long)((ts.tv_sec * 1000 + ts.tv_nsec / 1000000) & 0xffffffffUL),
             ++counter & 0xff);
}

int qp_run_state_after(int snapshot_state, unsigned flags)
{
    if (flags & SB_SNAPSHOT_REVERT_RUNNING)
        return SB_DOMAIN_RUNNING;
    if (flags & SB_SNAPSHOT_REVERT_PAUSED)
        return SB_DOMAIN_PAUSED;
    return snapshot_state == SB_STATE_PAUSED ? SB_DOMAIN_PAUSED : SB_DOMAIN_RUNNING;
}

int qp_set_run_state(qp_qmp *q, int want)
{
    char st[64];
    int r = qp_qmp_status(q, st, sizeof st);
    if (r < 0)
        return r;
    int running = !strcmp(st, "running");
    if (want == SB_DOMAIN_RUNNING && !running)
        return qp_qmp_execute(q, "cont", NULL, NULL);
    if (want == SB_DOMAIN_PAUSED && running)
        return qp_qmp_execute(q, "stop", NULL, NULL);
    return 0;
}

/* RAM transferred / total of a running migration (saving memory state) as
 * percent to the broker. */
static void report_migration_progress(qp_ctx *ctx, json_object *status)
{
    json_object *ram, *v;
    if (!ctx->api || !ctx->api->progress || !json_object_object_get_ex(status, "ram", &ram))
        return;
    int64_t total = json_object_object_get_ex(ram, "total", &v) ? json_object_get_int64(v) : 0;
    int64_t done = json_object_object_get_ex(ram, "transferred", &v) ? json_object_get_int64(v) : 0;
    if (total > 0)
        ctx->api->progress(ctx->h, "saving memory state",
                           (unsigned)(done >= total ? 100 : done * 100 / total));
}

/* RAM transferred so far; its moves push the stall deadline back. */
static long long migration_done(json_object *status)
{
    json_object *ram, *v;
    if (!json_object_object_get_ex(status, "ram", &ram) ||
        !json_object_object_get_ex(ram, "transferred", &v))
        return -1;
    return json_object_get_int64(v);
}

/* Wait for a migration (outgoing or incoming) to finish; cancelled when it
 * transfers nothing for timeout_ms (a stall, not a total: a large guest
 * saves as long as it needs). */
int qp_wait_migration(qp_qmp *q, int timeout_ms)
{
    qp_ctx *ctx = qp_qmp_ctx(q);
    double deadline = qp_now_ms() + timeout_ms;
    long long last_done = -1;
    int delay = 1;
    for (;;) {
        json_object *ret = NULL, *v;
        int r = qp_qmp_execute(q, "query-migrate", NULL, &ret);
        if (r < 0)
            return r;
        const char *st = ret && json_object_object_get_ex(ret, "status", &v)
                             ? json_object_get_string(v) : "none";
        if (!strcmp(st, "completed")) {
            json_object_put(ret);
            break;
        }
        if (!strcmp(st, "failed") || !strcmp(st, "cancelled")) {
            char msg[512] = "";
            if (json_object_object_get_ex(ret, "error-desc", &v))
                snprintf(msg, sizeof msg, "%s", json_object_get_string(v));
            json_object_put(ret);
            return qp_error(ctx, SB_ERR_HYPERVISOR, "memory state migration %s: %s", st,
                            msg[0] ? msg : "no details");
        }
        report_migration_progress(ctx, ret);
        long long done = migration_done(ret);
        json_object_put(ret);
        if (done != last_done) {
            last_done = done;
            deadline = qp_now_ms() + timeout_ms;
        }
        if (qp_now_ms() > deadline) {
            (void)qp_qmp_execute(q, "migrate_cancel", NULL, NULL);
            return qp_error(ctx, SB_ERR_OPERATION_TIMEOUT,
                            "memory state migration made no progress for %d ms "
                            "(job_stall_timeout_ms): cancelled", timeout_ms);
        }
        qp_sleep_ms(delay);
        if (delay < 10)
            delay++;
    }
    /* "cont" right after completion can fail while still finish-migrate */
    for (int i = 0; i < 2000; i++) {
        char st[64];
        int r = qp_qmp_status(q, st, sizeof st);
        if (r < 0)
            return r;
        if (strcmp(st, "finish-migrate") && strcmp(st, "inmigrate"))
            return 0;
        qp_sleep_ms(1);
    }
    return qp_error(ctx, SB_ERR_OPERATION_TIMEOUT, "QEMU stays in migration state");
}

/* top and, when it is a qcow2 image, its backing chain (canonical).  An
 * unreadable chain only makes the list shorter (the list bounds what may
 * change); running out of memory is an error. */
static int add_with_chain(qp_ctx *ctx, const char *top, qp_strv *out)
{
    char *c = qp_realpath_or_copy(top);
    if (!c)
        return -SB_ERR_NO_MEMORY;
    int r = qp_strv_has(out, c) ? 0 : qp_strv_add(out, c);
    qp_qcow2 q;
    if (r == 0 && qp_qcow2_read(c, QP_QCOW2_NO_SNAPSHOTS, &q, NULL, 0) == 0) {
        qp_qcow2_free(&q);
        qp_img_info *chain = NULL;
        size_t n = 0;
        if (qp_img_chain(ctx, c, 1, &chain, &n) == 0) {
            for (size_t i = 1; i < n && r == 0; i++)
                r = qp_strv_add_canon(out, chain[i].filename);
            qp_img_chain_free(chain, n);
        }
    }
    free(c);
    return r;
}

int qp_domain_images(qp_ctx *ctx, const char *domain, const qp_domain *cur, int with_owned,
                     qp_strv *out)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL; /* an unreadable chain only makes the list shorter */
    int r = 0;
    for (size_t i = 0; cur && i < cur->ndisks && r == 0; i++)
        if (cur->disks[i].source)
            r = add_with_chain(&quiet, cur->disks[i].source, out);
    qp_strv ours = {0}; /* and the images its definitions stopped naming */
    if (with_owned && r == 0 && (qp_ours_load(ctx, domain, &ours) == -SB_ERR_NO_MEMORY ||
                                 qp_used_load(ctx, domain, &ours) == -SB_ERR_NO_MEMORY))
        r = -SB_ERR_NO_MEMORY;
    for (size_t i = 0; i < ours.n && r == 0; i++)
        if (qp_file_exists(ours.v[i]))
            r = add_with_chain(&quiet, ours.v[i], out);
    qp_strv_free(&ours);
    return r < 0 ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory listing the images of "
                            "domain '%s'", domain) : 0;
}

int qp_check_domain_image(qp_ctx *ctx, const char *domain, const qp_strv *images,
                          const char *image, const char *snapshot, const char *what,
                          int deleting)
{
    char *c = qp_realpath_or_copy(image);
    int ok = c && qp_strv_has(images, c);
    free(c);
    if (ok)
        return 0;
    return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                    "disk image '%s' of snapshot '%s' is not an image domain '%s' uses (it is "
                    "in no backing chain of its disks, nor made by the plugin for it), so %s "
                    "would change an image the domain does not use; nothing was changed%s",
                    image, snapshot, domain, what,
                    deleting ? " (delete with METADATA_ONLY to drop the metadata)" : "");
}

struct memory_scan {
    qp_ctx *ctx;
    const char *path, *base, *skip;
    char *owner;
    int r;
};

/* One snapshot's document: only one whose text holds the file's name
 * (its last component) is read as a view. */
static int memory_scan_one(void *arg, const char *name, const char *xml, size_t len)
{
    struct memory_scan *m = arg;
    struct sb_snapshot_view *v = NULL;
    if ((m->skip && !strcmp(name, m->skip)) || !memmem(xml, len, m->base, strlen(m->base)))
        return 0;
    if ((m->r = qp_view(m->ctx, xml, &v)) < 0)
        return 1;
    int found = 0;
    if (v->memory == SB_LOCATION_EXTERNAL && v->memory_file) {
        char *c = qp_realpath_or_copy(v->memory_file);
        if (!c)
            m->r = qp_error(m->ctx, SB_ERR_NO_MEMORY, "out of memory");
        else if ((found = !strcmp(c, m->path)) && !(m->owner = qp_strdup(name)))
            m->r = qp_error(m->ctx, SB_ERR_NO_MEMORY, "out of memory");
        free(c);
    }
    qp_view_free(m->ctx, v);
    return found || m->r < 0;
}

int qp_memory_file_named(qp_ctx *ctx, const char *domain, const char *path, const char *skip,
                         char **owner)
{
    const char *slash = strrchr(path, '/');
    struct memory_scan m = {ctx, path, slash ? slash + 1 : path, skip, NULL, 0};
    const struct sb_host_api *api = ctx->api;
    if (owner)
        *owner = NULL;
    if (api && api->tree_each) {
        int r = api->tree_each(ctx->h, domain, memory_scan_one, &m);
        if (r < 0 && m.r == 0)
            m.r = r; /* the walk itself failed */
    } else if (api && api->tree_list && api->tree_get_xml) { /* an older broker */
        char **names = NULL;
        size_t n = 0;
        if ((m.r = api->tree_list(ctx->h, domain, &names, &n)) < 0)
            return m.r;
        for (size_t i = 0; i < n; i++) {
            char *xml = NULL;
            if (m.r == 0 && !m.owner && (m.r = api->tree_get_xml(ctx->h, domain, names[i],
                                                                  &xml)) == 0)
                memory_scan_one(&m, names[i], xml, strlen(xml));
            if (xml)
                api->free(xml);
            api->free(names[i]);
        }
        api->free(names);
    }
    if (m.r < 0) {
        free(m.owner);
        return m.r;
    }
    if (owner)
        *owner = m.owner;
    else
        free(m.owner);
    return m.owner != NULL;
}
