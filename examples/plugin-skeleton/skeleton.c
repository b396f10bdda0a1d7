/* skeleton.c - a snapbroker plugin to start yours from (docs/plugin-guide.md).
 *
 * It builds against the installed SDK alone (pkg-config snapbroker-plugin)
 * and passes the conformance kit for every capability it declares.  Its
 * "hypervisor" is a directory: each domain is two files in the plugin's
 * state directory, NAME.xml (the definition) and NAME.state (running,
 * paused or shut off), so the broker's snapshot semantics can be tried
 * without a real one.  The snapshot metadata is the broker's
 * (SB_META_BROKER): the plugin only does the hypervisor's part of each
 * operation, marked "HYPERVISOR:" below - that is where your code goes.
 */
#define _POSIX_C_SOURCE 200809L /* fsync, fileno, readdir under -std=c99 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <snapbroker/plugin.h>

static const struct sb_host_api *host; /* the broker's services, from the entry */

struct sb_conn {
    sb_host *h;      /* for errors; valid until close */
    const char *dir; /* the plugin's state directory (borrowed from the broker) */
};

/* ---- small helpers --------------------------------------------------- */

static int oom(sb_conn *c)
{
    return host->set_error(c->h, SB_ERR_NO_MEMORY, "skeleton: out of memory");
}

/* Domain names become file names: refuse what could escape the directory. */
static int name_ok(const char *name)
{
    return name && *name && name[0] != '.' && !strchr(name, '/') && strlen(name) <= 200;
}

static void path(char *out, size_t len, sb_conn *c, const char *domain, const char *ext)
{
    snprintf(out, len, "%s/%s.%s", c->dir, domain, ext);
}

/* The whole file into host memory; 1 when it does not exist. */
static int read_file(sb_conn *c, const char *p, char **out)
{
    FILE *f = fopen(p, "r");
    long n;

    *out = NULL;
    if (!f)
        return errno == ENOENT ? 1 : host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "%s: %s", p,
                                                     strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(*out = host->alloc((size_t)n + 1)) || fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        host->free(*out);
        *out = NULL;
        return host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "cannot read %s", p);
    }
    fclose(f);
    return 0;
}

/* Replace a file in one step (temp file, fsync, rename): another process
 * sees the old content or the new, never half of it. */
static int write_file(sb_conn *c, const char *p, const char *data)
{
    char tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", p, (long)getpid());
    if (!(f = fopen(tmp, "w")))
        return host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "%s: %s", tmp, strerror(errno));
    int ok = fputs(data, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok || rename(tmp, p) != 0) {
        int e = errno;
        unlink(tmp);
        return host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "cannot write %s: %s", p, strerror(e));
    }
    return 0;
}

/* ---- domains ------------------------------------------------------------ */

static const char *const state_words[] = {
    [SB_DOMAIN_RUNNING] = "running", [SB_DOMAIN_PAUSED] = "paused", [SB_DOMAIN_SHUTOFF] = "shutoff",
};

static int get_state(sb_conn *c, const char *domain, int *out)
{
    char p[4096], *xml = NULL, *word = NULL;
    int rc;

    *out = SB_DOMAIN_NOSTATE;
    path(p, sizeof(p), c, domain, "xml");
    if (!name_ok(domain) || (rc = read_file(c, p, &xml)) == 1)
        return host->set_error(c->h, SB_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                               domain ? domain : "");
    host->free(xml);
    if (rc < 0)
        return rc;
    path(p, sizeof(p), c, domain, "state");
    if ((rc = read_file(c, p, &word)) < 0)
        return rc;
    *out = SB_DOMAIN_SHUTOFF; /* no state file yet: never started */
    for (int s = 0; word && s < (int)(sizeof(state_words) / sizeof(state_words[0])); s++)
        if (state_words[s] && strcmp(word, state_words[s]) == 0)
            *out = s;
    host->free(word);
    return 0;
}

static int set_state(sb_conn *c, const char *domain, int state)
{
    char p[4096];
    path(p, sizeof(p), c, domain, "state");
    /* HYPERVISOR: start, stop, pause or resume the machine here. */
    return write_file(c, p, state_words[state]);
}

static int sk_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    return get_state(c, domain, out_state);
}

/* ABI 1.2, optional: active (1) or shut off (0), where that is cheaper to
 * tell than the state (the broker asks it before every disk-only create
 * and before a process's first call on a domain).  HYPERVISOR: answer from
 * what costs no round trip (a process alive, a pid file); the skeleton's
 * state is one file either way.  Leave it NULL when the state query is
 * just as cheap, or when a stopped domain can be crashed. */
static int sk_domain_is_active(int *out_active, sb_conn *c, const char *domain)
{
    int st, rc = get_state(c, domain, &st);
    *out_active = rc == 0 && st != SB_DOMAIN_SHUTOFF;
    return rc;
}

static int sk_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    DIR *d = opendir(c->dir);
    struct dirent *e;
    size_t n = 0;

    *out_names = NULL;
    *out_n = 0;
    if (!d)
        return host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "%s: %s", c->dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int st;
        if (len < 5 || strcmp(e->d_name + len - 4, ".xml") != 0)
            continue;
        e->d_name[len - 4] = '\0';
        if (get_state(c, e->d_name, &st) < 0)
            continue;
        int active = st != SB_DOMAIN_SHUTOFF;
        if (flags && !((active && (flags & SB_DOMAIN_LIST_ACTIVE)) ||
                       (!active && (flags & SB_DOMAIN_LIST_INACTIVE))))
            continue;
        char **v = host->realloc(*out_names, (n + 1) * sizeof(*v));
        if (!v || !(v[n] = host->strdup(e->d_name))) {
            if (v)
                *out_names = v;
            closedir(d);
            *out_n = n;
            return oom(c); /* the broker frees what was handed over */
        }
        *out_names = v;
        n++;
    }
    closedir(d);
    *out_n = n;
    return 0;
}

static int sk_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    char p[4096];
    int st, rc;

    (void)flags; /* no secrets or live-only data in these definitions */
    *out_xml = NULL;
    if ((rc = get_state(c, domain, &st)) < 0)
        return rc;
    path(p, sizeof(p), c, domain, "xml");
    return read_file(c, p, out_xml) == 0 ? 0 : host->set_error(c->h, SB_ERR_NO_DOMAIN,
                                                               "domain '%s' vanished", domain);
}

static int sk_domain_define(char **out_name, sb_conn *c, const char *xml, unsigned flags)
{
    struct sb_domain_view *v = NULL;
    char p[4096];
    int rc;

    (void)flags;
    *out_name = NULL;
    if ((rc = host->domain_view(c->h, xml, &v)) < 0)
        return rc;
    if (!name_ok(v->name))
        rc = host->set_error(c->h, SB_ERR_XML_ERROR, "domain name '%s' is not usable",
                             v->name ? v->name : "");
    if (rc == 0) {
        path(p, sizeof(p), c, v->name, "xml");
        /* HYPERVISOR: register the machine here. */
        rc = write_file(c, p, xml);
    }
    if (rc == 0 && !(*out_name = host->strdup(v->name)))
        rc = oom(c);
    host->domain_view_free(v);
    return rc;
}

static int sk_domain_undefine(sb_conn *c, const char *domain, unsigned flags)
{
    char p[4096];
    int st, rc;

    (void)flags;
    if ((rc = get_state(c, domain, &st)) < 0)
        return rc;
    if (st != SB_DOMAIN_SHUTOFF)
        return host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                               "domain '%s' is active; destroy it first", domain);
    /* HYPERVISOR: unregister the machine here. */
    path(p, sizeof(p), c, domain, "state");
    unlink(p);
    path(p, sizeof(p), c, domain, "xml");
    if (unlink(p) != 0)
        return host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "%s: %s", p, strerror(errno));
    return 0;
}

/* A lifecycle verb: allowed from `from` (bit per state), leads to `to`. */
static int transition(sb_conn *c, const char *domain, unsigned from, int to, const char *why)
{
    int st, rc = get_state(c, domain, &st);
    if (rc < 0)
        return rc;
    if (!(from & (1u << st)))
        return host->set_error(c->h, SB_ERR_OPERATION_INVALID, "domain '%s' %s", domain, why);
    return set_state(c, domain, to);
}

#define BIT(s) (1u << (s))
static int sk_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    if (flags & ~(unsigned)SB_DOMAIN_START_PAUSED)
        return host->set_error(c->h, SB_ERR_INVALID_ARG, "unsupported start flags 0x%x", flags);
    return transition(c, domain, BIT(SB_DOMAIN_SHUTOFF),
                      (flags & SB_DOMAIN_START_PAUSED) ? SB_DOMAIN_PAUSED : SB_DOMAIN_RUNNING,
                      "is already active");
}

static int sk_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    return transition(c, domain, BIT(SB_DOMAIN_RUNNING) | BIT(SB_DOMAIN_PAUSED),
                      SB_DOMAIN_SHUTOFF, "is not running");
}

static int sk_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    return transition(c, domain, BIT(SB_DOMAIN_RUNNING), SB_DOMAIN_PAUSED, "is not running");
}

static int sk_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    return transition(c, domain, BIT(SB_DOMAIN_PAUSED), SB_DOMAIN_RUNNING, "is not paused");
}

/* ---- snapshots: the broker keeps the tree, we do the hypervisor's part -- */

static int sk_snapshot_create(char **out_xml, sb_conn *c, const char *domain,
                              const char *snapshot_xml, unsigned flags)
{
    int st, rc;

    (void)snapshot_xml; /* normalized by the broker: name, state, disks... */
    *out_xml = NULL;    /* keep the broker's definition as it is */
    if ((rc = get_state(c, domain, &st)) < 0)
        return rc;
    /* HYPERVISOR: take the snapshot here (memory too when the domain is
     * active), then honour HALT. */
    if ((flags & SB_SNAPSHOT_CREATE_HALT) && st != SB_DOMAIN_SHUTOFF)
        rc = set_state(c, domain, SB_DOMAIN_SHUTOFF);
    return rc;
}

/* The state a revert leaves the domain in (docs/semantics.md, 7.1). */
static int revert_state(int snapshot_state, unsigned flags)
{
    if (flags & SB_SNAPSHOT_REVERT_RUNNING)
        return SB_DOMAIN_RUNNING;
    if (flags & SB_SNAPSHOT_REVERT_PAUSED)
        return SB_DOMAIN_PAUSED;
    if (snapshot_state == SB_STATE_RUNNING)
        return SB_DOMAIN_RUNNING;
    return snapshot_state == SB_STATE_PAUSED ? SB_DOMAIN_PAUSED : SB_DOMAIN_SHUTOFF;
}

static int sk_snapshot_revert(char **out_xml, sb_conn *c, const char *domain,
                              const char *snapshot_xml, unsigned flags)
{
    struct sb_snapshot_view *v = NULL;
    char p[4096];
    int st, rc;

    *out_xml = NULL;
    if ((rc = get_state(c, domain, &st)) < 0 ||
        (rc = host->snapshot_view(c->h, snapshot_xml, &v)) < 0)
        return rc;
    /* HYPERVISOR: bring the disks (and memory) back here.  The domain gets
     * the definition it had when the snapshot was taken. */
    path(p, sizeof(p), c, domain, "xml");
    if (v->domain_xml)
        rc = write_file(c, p, v->domain_xml);
    if (rc == 0)
        rc = set_state(c, domain, revert_state(v->state, flags));
    host->snapshot_view_free(v);
    return rc;
}

static int sk_snapshot_delete(sb_conn *c, const char *domain, const char *snapshot_xml,
                              unsigned flags)
{
    int st;
    (void)snapshot_xml;
    (void)flags; /* CHILDREN...: the broker calls once per snapshot */
    /* HYPERVISOR: free what the snapshot holds here. */
    return get_state(c, domain, &st);
}

/* ---- the connection and the table --------------------------------------- */

static int sk_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;

    *out = NULL;
    if (!uri || strcmp(uri, "skeleton:///default") != 0)
        return host->set_error(h, SB_ERR_INVALID_ARG,
                               "skeleton: unsupported URI '%s' (only skeleton:///default)",
                               uri ? uri : "");
    if (!(c = host->alloc(sizeof(*c))))
        return host->set_error(h, SB_ERR_NO_MEMORY, "skeleton: out of memory");
    c->h = h;
    if (!(c->dir = host->state_dir(h))) { /* the error is set */
        host->free(c);
        return -SB_ERR_SYSTEM_ERROR;
    }
    *out = c;
    return 0;
}

static void sk_close(sb_conn *c)
{
    host->free(c); /* accepts NULL */
}

/* What this plugin accepts: the kit checks every declared flag is
 * honoured and every other one refused (by the broker, before we run). */
static const struct sb_plugin_caps sk_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_HALT |
                    SB_SNAPSHOT_CREATE_ATOMIC | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
};

static const struct sb_plugin sk_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "skeleton", /* the file must be skeleton.so */
    .version = "0.1",
    .description = "plugin skeleton: domains are files in the state directory",
    .caps = &sk_caps,
    .open = sk_open,
    .close = sk_close,
    .domain_list = sk_domain_list,
    .domain_get_xml = sk_domain_get_xml,
    .domain_get_state = sk_domain_get_state,
    .snapshot_create = sk_snapshot_create,
    .snapshot_revert = sk_snapshot_revert,
    .snapshot_delete = sk_snapshot_delete,
    .domain_define = sk_domain_define,
    .domain_undefine = sk_domain_undefine,
    .domain_start = sk_domain_start,
    .domain_destroy = sk_domain_destroy,
    .domain_shutdown = sk_domain_destroy,
    .domain_suspend = sk_domain_suspend,
    .domain_resume = sk_domain_resume,
    .domain_is_active = sk_domain_is_active, /* since 1.2 */
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *h, uint32_t host_major,
                                        uint32_t host_minor);

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *h, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_minor; /* nothing newer than 1.0 is used */
    if (host_major != SB_PLUGIN_ABI_MAJOR)
        return -SB_ERR_PLUGIN_ABI;
    host = h;
    *out = &sk_plugin;
    return 0;
}
