/* "misbehave": deliberately broken plugins for the conformance kit.
 *
 * One source, one plugin per broken rule (meson.build): each build
 * defines MB_NAME (the plugin's name, "mb-<rule>") and at most one MB_*
 * macro; the build without one ("mb-good") breaks nothing and must pass
 * the whole catalogue.  The plugin is refhv (hypervisor-owned metadata,
 * libvirt's ESX rules, tests/plugins/refhv/refhv.h) with wrappers around
 * its callbacks; each MB_* macro makes a wrapper break the rule named in
 * the comment, which the conformance scenario of that name must catch
 * (tests/conformance/misbehave.sh).  A few macros break nothing but do
 * what a strict kit could mistake for a broken rule (a quiesce refused
 * for want of a guest agent); the scenario named must pass for them.  A
 * test fixture, never installed. */
#include "refhv.h"
#include "fixture_file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef MB_NAME
#error "MB_NAME must be defined by the build"
#endif

const struct sb_host_api *hv_host;

/* Helpers only some of the builds use. */
#define MB_HELPER __attribute__((unused)) static

/* refhv's ESX capabilities, plus REVERT_RUNNING / REVERT_PAUSED (done by
 * the revert wrapper) so that the revert rules can be broken too. */
static const struct sb_plugin_caps mb_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA | SB_SNAPSHOT_LIST_LEAVES,
    .xml_flags = 0,
    .meta_owner = SB_META_HYPERVISOR,
    .disk_override = SB_DISK_OVERRIDE_NONE,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
};

/* ---- helpers on refhv's state ---- */

/* Run fn on the domain's state under the exclusive lock and save. */
MB_HELPER int edit(sb_conn *c, const char *domain, void (*fn)(struct hv_dom *d, unsigned arg),
                unsigned arg)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc = hv_load(&st, c, 1);

    if (rc < 0)
        return rc;
    if (!(d = hv_find_dom(&st, domain)))
        rc = hv_no_domain(c, domain);
    else {
        fn(d, arg);
        rc = hv_save(&st, c);
    }
    hv_release(&st);
    return rc;
}

MB_HELPER unsigned current_of(sb_conn *c, const char *domain)
{
    struct hv_state st;
    struct hv_dom *d;
    unsigned id = 0;
    if (hv_load(&st, c, 0) < 0)
        return 0;
    if ((d = hv_find_dom(&st, domain)))
        id = d->current;
    hv_release(&st);
    return id;
}

MB_HELPER int domain_state(sb_conn *c, const char *domain)
{
    int st = SB_DOMAIN_NOSTATE;
    hv_domain_get_state(&st, c, domain);
    return st;
}

#if defined(MB_CREATE_NOT_CURRENT) || defined(MB_REVERT_KEEPS_CURRENT) || \
    defined(MB_DELETE_DANGLING_CURRENT)
static void set_current(struct hv_dom *d, unsigned id)
{
    d->current = id;
}
#endif

#ifdef MB_CREATE_ROOT_ALWAYS
static void newest_to_root(struct hv_dom *d, unsigned unused)
{
    (void)unused;
    if (d->nsnaps)
        d->snaps[d->nsnaps - 1].parent_id = 0;
}
#endif

/* The snapshot name of a definition, into buf. */
MB_HELPER void name_of(sb_conn *c, const char *xml, char *buf, size_t len)
{
    struct sb_snapshot_view *v = NULL;
    buf[0] = '\0';
    if (hv_host->snapshot_view(c->h, xml, &v) == 0) {
        snprintf(buf, len, "%s", v->name ? v->name : "");
        hv_host->snapshot_view_free(v);
    }
}

/* ---- the wrappers ---- */

static int mb_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                     unsigned flags)
{
    unsigned before = current_of(c, domain);
    int rc;

#ifdef MB_REFUSE_DECLARED /* FLAG-CREATE-QUIESCE: a declared flag is accepted */
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE)
        return hv_host->set_error(c->h, SB_ERR_INVALID_ARG, "unsupported flags (0x%x)",
                                  SB_SNAPSHOT_CREATE_QUIESCE);
#endif
#ifdef MB_QUIESCE_UNSUPPORTED /* FLAG-CREATE-QUIESCE: not "cannot", where declared */
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE)
        return hv_host->set_error(c->h, SB_ERR_OPERATION_UNSUPPORTED,
                                  "this plugin cannot quiesce a guest");
#endif
#ifdef MB_DISK_ONLY_NO_SUPPORT /* FLAG-CREATE-DISK_ONLY: not "cannot", where declared */
    if (flags & SB_SNAPSHOT_CREATE_DISK_ONLY)
        return hv_host->set_error(c->h, SB_ERR_NO_SUPPORT, "no disk-only snapshots here");
#endif
#ifdef MB_QUIESCE_NEEDS_AGENT /* breaks nothing: a quiesce the state prevents */
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE)
        return hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                  "cannot quiesce domain '%s': no guest agent answers", domain);
#endif
#ifdef MB_DUPLICATE_IGNORED /* TREE-DUPLICATE-NAME: a taken unique name is refused */
    {
        char name[256];
        struct hv_state st;
        struct hv_dom *d;
        int taken = 0;
        name_of(c, xml, name, sizeof(name));
        if (hv_load(&st, c, 0) == 0) {
            taken = (d = hv_find_dom(&st, domain)) && hv_find_snap(d, name);
            hv_release(&st);
        }
        *out_xml = NULL;
        if (taken)
            return 0;
    }
#endif
    if ((rc = hv_snapshot_create(out_xml, c, domain, xml, flags)) < 0)
        return rc;
    (void)before;
#ifdef MB_CREATE_NOT_CURRENT /* TREE-CHILD-OF-CURRENT: a new snapshot becomes current */
    rc = edit(c, domain, set_current, before);
#endif
#ifdef MB_CREATE_ROOT_ALWAYS /* TREE-CHILD-OF-CURRENT: its parent is the current one */
    rc = edit(c, domain, newest_to_root, 0);
#endif
#ifdef MB_CREATE_PAUSES /* STATE-CREATE-RUNNING: a snapshot leaves a running domain running */
    if (domain_state(c, domain) == SB_DOMAIN_RUNNING)
        rc = hv_domain_suspend(c, domain, 0);
#endif
    return rc;
}

static int mb_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                     unsigned flags)
{
    unsigned before = current_of(c, domain);
    int rc = hv_snapshot_revert(out_xml, c, domain, xml, 0);
    int st;

    (void)before;
    if (rc < 0)
        return rc;
    /* REVERT_RUNNING / REVERT_PAUSED on top of refhv's revert */
    st = domain_state(c, domain);
    if ((flags & SB_SNAPSHOT_REVERT_RUNNING) && st == SB_DOMAIN_SHUTOFF)
        rc = hv_domain_start(c, domain, 0);
    else if ((flags & SB_SNAPSHOT_REVERT_RUNNING) && st == SB_DOMAIN_PAUSED)
        rc = hv_domain_resume(c, domain, 0);
    else if ((flags & SB_SNAPSHOT_REVERT_PAUSED) && st == SB_DOMAIN_SHUTOFF)
        rc = hv_domain_start(c, domain, SB_DOMAIN_START_PAUSED);
    else if ((flags & SB_SNAPSHOT_REVERT_PAUSED) && st == SB_DOMAIN_RUNNING)
        rc = hv_domain_suspend(c, domain, 0);
#ifdef MB_REVERT_KEEPS_CURRENT /* TREE-REVERT-MOVES-CURRENT: the target becomes current */
    if (rc == 0)
        rc = edit(c, domain, set_current, before);
#endif
#ifdef MB_REVERT_STARTS /* REVERT-SHUTOFF: a shut-off snapshot leaves the domain shut off */
    if (rc == 0 && domain_state(c, domain) == SB_DOMAIN_SHUTOFF)
        rc = hv_domain_start(c, domain, 0);
#endif
    return rc;
}

static int mb_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
#ifdef MB_DELETE_TAKES_CHILDREN /* TREE-DELETE-MIDDLE: children are re-parented */
    flags |= SB_SNAPSHOT_DELETE_CHILDREN;
#endif
#ifdef MB_DELETE_CHILDREN_IGNORED /* TREE-DELETE-CHILDREN: descendants go too */
    flags &= ~(unsigned)SB_SNAPSHOT_DELETE_CHILDREN;
#endif
    int rc = hv_snapshot_delete(c, domain, xml, flags);
#ifdef MB_DELETE_DANGLING_CURRENT /* TREE-DELETE-CURRENT-LEAF: current moves to the parent */
    if (rc == 0)
        rc = edit(c, domain, set_current, 0);
#endif
    return rc;
}

static int mb_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                   const char *from, unsigned flags)
{
#ifdef MB_LEAVES_IGNORED /* LIST-LEAVES */
    flags &= ~(unsigned)SB_SNAPSHOT_LIST_LEAVES;
#endif
#ifdef MB_ROOTS_IGNORED /* LIST-ROOTS */
    if (!from)
        flags &= ~(unsigned)SB_SNAPSHOT_LIST_ROOTS;
#endif
#ifdef MB_DESCENDANTS_IGNORED /* LIST-DESCENDANTS */
    if (from)
        flags &= ~(unsigned)SB_SNAPSHOT_LIST_DESCENDANTS;
#endif
#ifdef MB_METADATA_IGNORED /* LIST-METADATA: no broker metadata, so nothing listed */
    flags &= ~(unsigned)SB_SNAPSHOT_LIST_METADATA;
#endif
    return hv_snapshot_list(out_names, out_n, c, domain, from, flags);
}

#ifdef MB_UNESCAPED
/* Remove every occurrence of cut from s, putting put in its place. */
static void replace_all(char *s, const char *cut, const char *put)
{
    size_t lc = strlen(cut), lp = strlen(put);
    for (char *p = strstr(s, cut); p; p = strstr(p + lp, cut)) {
        memmove(p + lp, p + lc, strlen(p + lc) + 1);
        memcpy(p, put, lp);
    }
}
#endif

static int mb_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                      unsigned flags)
{
    int rc = hv_snapshot_get_xml(out_xml, c, domain, name, flags);
#ifdef MB_NOT_FOUND_CLASS /* ERR-NO-SNAPSHOT-DUMPXML: NO_DOMAIN_SNAPSHOT */
    if (rc == -SB_ERR_NO_DOMAIN_SNAPSHOT)
        return hv_host->set_error(c->h, SB_ERR_INTERNAL_ERROR, "no such snapshot '%s'", name);
#endif
#ifdef MB_DESCRIPTION_DROPPED /* XML-NAME-DESCRIPTION-KEPT */
    if (rc == 0) {
        char *d = strstr(*out_xml, "  <description>"), *e = d ? strstr(d, "</description>\n") : NULL;
        if (d && e)
            memmove(d, e + 15, strlen(e + 15) + 1);
    }
#endif
#ifdef MB_UNESCAPED /* XML-ESCAPING: quotes escaped in text */
    if (rc == 0) {
        replace_all(*out_xml, "&apos;", "'");
        replace_all(*out_xml, "&quot;", "\"");
    }
#endif
    return rc;
}

static int mb_parent(char **out_name, sb_conn *c, const char *domain, const char *name)
{
    int rc = hv_snapshot_parent(out_name, c, domain, name);
#ifdef MB_ROOT_PARENT_CLASS /* TREE-FIRST-ROOT: a root's parent is NO_DOMAIN_SNAPSHOT */
    if (rc == -SB_ERR_NO_DOMAIN_SNAPSHOT)
        return hv_host->set_error(c->h, SB_ERR_INVALID_ARG, "'%s' has no parent", name);
#endif
    return rc;
}

#ifdef MB_ACTIVE_LIES /* STATE-IS-ACTIVE: a paused domain is active too */
static int mb_is_active(int *out_active, sb_conn *c, const char *domain)
{
    int st = SB_DOMAIN_NOSTATE, rc = hv_domain_get_state(&st, c, domain);
    *out_active = rc == 0 && st == SB_DOMAIN_RUNNING;
    return rc;
}
#endif

#ifdef MB_LOOP_THREAD
/* Not a broken rule: a plugin that runs a thread of its own, as the
 * libvirt plugin runs libvirt's event loop.  The loop holds its lock for
 * good, and a process joins it (takes the lock once) at its first open.
 * A process forked from one where the loop runs inherits the lock held,
 * with no thread to release it, and hangs at its first open: the kit must
 * never fork after it loaded a plugin (broker/conformance/spawner.c). */
#include <pthread.h>

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t loop_start = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loop_ready = PTHREAD_COND_INITIALIZER;
static pid_t loop_pid; /* the process the loop runs in */
static int loop_running;

static void *loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&loop_lock);
    pthread_mutex_lock(&loop_start);
    loop_running = 1;
    pthread_cond_signal(&loop_ready);
    pthread_mutex_unlock(&loop_start);
    for (;;)
        pause();
    return NULL;
}

static int loop_join(sb_host *h)
{
    pthread_t t;
    if (loop_pid == getpid())
        return 0;
    pthread_mutex_lock(&loop_lock); /* hangs in a child forked while the loop ran */
    pthread_mutex_unlock(&loop_lock);
    loop_running = 0;
    if (pthread_create(&t, NULL, loop, NULL) != 0)
        return hv_host->set_error(h, SB_ERR_SYSTEM_ERROR, "%s: cannot start its thread", MB_NAME);
    pthread_detach(t);
    pthread_mutex_lock(&loop_start);
    while (!loop_running)
        pthread_cond_wait(&loop_ready, &loop_start);
    pthread_mutex_unlock(&loop_start);
    loop_pid = getpid();
    return 0;
}
#endif

/* ---- table ---- */

static void mb_close(sb_conn *c)
{
    if (!c)
        return;
    hv_host->free(c->file);
    hv_host->free(c->lock_file);
    hv_host->free(c);
}

static int mb_open(sb_conn **out, sb_host *h, const char *uri)
{
    char want[64], base[64];
    sb_conn *c;

    *out = NULL;
    snprintf(want, sizeof(want), "%s:///default", MB_NAME);
    if (!uri || strcmp(uri, want) != 0)
        return hv_host->set_error(h, SB_ERR_INVALID_ARG, "%s: unsupported URI '%s' (only %s)",
                                  MB_NAME, uri ? uri : "", want);
#ifdef MB_LOOP_THREAD
    int joined = loop_join(h);
    if (joined < 0)
        return joined;
#endif
    if (!(c = hv_host->alloc(sizeof(*c))))
        return hv_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    snprintf(base, sizeof(base), "refhv");
#ifdef MB_STATE_PER_PROCESS /* CONC-TWO-CREATORS: state shared by every process */
    snprintf(base, sizeof(base), "refhv-%ld", (long)getpid());
#endif
    int rc = fx_state_files(hv_host, h, base, &c->file, &c->lock_file);
    if (rc < 0) {
        mb_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

static const struct sb_plugin mb_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = MB_NAME,
    .version = "1.0",
    .description = "test fixture: a plugin that breaks one conformance rule",
    .caps = &mb_caps,
    .open = mb_open,
    .close = mb_close,
    .domain_list = hv_domain_list,
    .domain_get_xml = hv_domain_get_xml,
    .domain_get_state = hv_domain_get_state,
    .snapshot_create = mb_create,
    .snapshot_revert = mb_revert,
    .snapshot_delete = mb_delete,
    .domain_define = hv_domain_define,
    .domain_undefine = hv_domain_undefine,
    .domain_start = hv_domain_start,
    .domain_destroy = hv_domain_destroy,
    .domain_shutdown = hv_domain_shutdown,
    .domain_suspend = hv_domain_suspend,
    .domain_resume = hv_domain_resume,
    .snapshot_list = mb_list,
    .snapshot_get_xml = mb_get_xml,
    .snapshot_current = hv_snapshot_current,
    .snapshot_parent = mb_parent,
    .snapshot_exists = hv_snapshot_exists,
#ifdef MB_ACTIVE_LIES
    .domain_is_active = mb_is_active,
#endif
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor);
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_minor;
    if (host_major != SB_PLUGIN_ABI_MAJOR)
        return -SB_ERR_PLUGIN_ABI;
    hv_host = host;
    *out = &mb_plugin;
    return 0;
}
