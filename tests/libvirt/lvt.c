/* Helpers shared by the libvirt plugin's tests (lvt.h). */
#include "lvt.h"

#include <libvirt/virterror.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static struct lvt *all;

struct lvt *lvt_new(const char *config_text, const char *host)
{
    struct lvt *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->next = all;
    all = t;
    snprintf(t->dir, sizeof(t->dir), "/tmp/sb-lvt-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    setenv("SNAPBROKER_STATE_DIR", t->dir, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR"); /* the build tree's search path */
    if (config_text) {
        snprintf(t->config, sizeof(t->config), "%s/snapbroker.conf", t->dir);
        FILE *f = fopen(t->config, "w");
        assert_non_null(f);
        fputs(config_text, f);
        assert_int_equal(fclose(f), 0);
    }
    if (sb_broker_new(&t->b, t->config[0] ? t->config : NULL) != 0)
        fail_msg("broker: %s", sb_error_last()->message);
    if (host && sb_connect(&t->c, t->b, host, 0) != 0)
        fail_msg("connect %s: %s", host, sb_error_last()->message);
    return t;
}

/* test:///default's domain "test" (libvirt 9.0), trimmed of addresses. */
static const char node_xml[] =
    "<node>\n"
    "<domain type='test'>\n"
    "  <name>test</name>\n"
    "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
    "  <memory unit='KiB'>8388608</memory>\n"
    "  <currentMemory unit='KiB'>2097152</currentMemory>\n"
    "  <vcpu placement='static'>2</vcpu>\n"
    "  <os><type arch='i686'>hvm</type><boot dev='hd'/></os>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/guest/diskimage1'/><target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
    "  </devices>\n"
    "</domain>\n"
    "</node>\n";

struct lvt *lvt_new_node(void)
{
    struct lvt *t = lvt_new(NULL, NULL);
    char host[192];
    FILE *f;

    snprintf(t->node, sizeof(t->node), "%s/node.xml", t->dir);
    assert_non_null(f = fopen(t->node, "w"));
    fputs(node_xml, f);
    assert_int_equal(fclose(f), 0);
    snprintf(t->uri, sizeof(t->uri), "test://%s", t->node);
    snprintf(host, sizeof(host), "libvirt+%s", t->uri);
    if (sb_connect(&t->c, t->b, host, 0) != 0)
        fail_msg("connect %s: %s", host, sb_error_last()->message);
    return t;
}

void lvt_free(struct lvt *t)
{
    char cmd[128];

    if (!t)
        return;
    for (struct lvt **p = &all; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    sb_disconnect(t->c);
    sb_broker_free(t->b);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
}

void lvt_cleanup_all(void)
{
    while (all) {
        struct lvt *t = all;
        char **names = NULL;
        size_t n = 0;
        if (t->c && sb_domain_list(&names, &n, t->c, SB_DOMAIN_LIST_ACTIVE) == 0)
            for (size_t i = 0; i < n; i++)
                sb_domain_destroy(t->c, names[i]);
        sb_names_free(names, n);
        lvt_free(t);
    }
}

void lvt_expect_error(int rc, int code, const char *fragment)
{
    const sb_error *e = sb_error_last();
    if (rc != -code || e->code != code)
        fail_msg("expected %s, got rc %d (%s: %s)", sb_error_class_name(code), rc,
                 sb_error_class_name(e->code), e->message);
    if (fragment && !strstr(e->message, fragment))
        fail_msg("message '%s' lacks '%s'", e->message, fragment);
}

void lvt_ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: rc %d, %s: %s", what, rc, sb_error_class_name(sb_error_last()->code),
                 sb_error_last()->message);
}

int lvt_create(sb_connection *c, const char *domain, const char *name, unsigned flags)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    return sb_snapshot_create_xml(NULL, c, domain, xml, flags);
}

static int cmp_names(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static char *join(char **names, size_t n, int sorted)
{
    size_t len = 1;
    char *s;

    if (sorted)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    assert_non_null(s = calloc(1, len));
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, names[i]);
    }
    return s;
}

char *lvt_list(sb_connection *c, const char *domain, const char *from, unsigned flags)
{
    char **names = NULL, *s;
    size_t n = 0;

    lvt_ok(sb_snapshot_list(&names, &n, c, domain, from, flags), "snapshot list");
    s = join(names, n, !(flags & SB_SNAPSHOT_LIST_TOPOLOGICAL));
    sb_names_free(names, n);
    return s;
}

char *lvt_vir_list(virConnectPtr vc, const char *domain, const char *from, unsigned flags)
{
    virDomainPtr d = virDomainLookupByName(vc, domain);
    virDomainSnapshotPtr *snaps = NULL, s = NULL;
    int n;

    assert_non_null(d);
    if (from) {
        assert_non_null(s = virDomainSnapshotLookupByName(d, from, 0));
        n = virDomainSnapshotListAllChildren(s, &snaps, flags);
    } else {
        n = virDomainListAllSnapshots(d, &snaps, flags);
    }
    if (n < 0)
        fail_msg("libvirt listing: %s", lvt_vir_err());
    char **names = calloc((size_t)n + 1, sizeof(*names));
    for (int i = 0; i < n; i++) {
        names[i] = strdup(virDomainSnapshotGetName(snaps[i]));
        virDomainSnapshotFree(snaps[i]);
    }
    char *out = join(names, (size_t)n, !(flags & VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL));
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(snaps);
    if (s)
        virDomainSnapshotFree(s);
    virDomainFree(d);
    return out;
}

#if defined(__SANITIZE_ADDRESS__)
/* Append the path of each library this process has loaded that the CLI
 * needs preloaded (see asan_preload) to data (a 512-byte string). */
static int find_preloads(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    char *list = data;
    if (strstr(info->dlpi_name, "/libtirpc.so") || strstr(info->dlpi_name, "/libvirt.so.0")) {
        size_t used = strlen(list);
        snprintf(list + used, 512 - used, "%s%s", used ? " " : "", info->dlpi_name);
    }
    return 0;
}
#endif

/* Under AddressSanitizer, a program that gets libvirt only through
 * dlopen (the CLI loading the plugin) fails in two ways: it crashes in
 * libvirt's RPC code (ASan intercepts the XDR functions and resolves the
 * real ones only among the libraries loaded at startup, which then lack
 * libtirpc: a NULL call), and LeakSanitizer's scan at exit misreads the
 * dynamic thread-local storage of the dlopen'ed libvirt and aborts
 * ("Tracer caught signal 11") in about half of the runs of some commands.
 * Such runs get libtirpc and libvirt preloaded (this test links libvirt,
 * so it knows where they are); other builds run the CLI as it is. */
static const char *asan_preload(void)
{
#if defined(__SANITIZE_ADDRESS__)
    static char env[1024];
    char libs[512] = "";
    const char *opts = getenv("ASAN_OPTIONS");
    dl_iterate_phdr(find_preloads, libs);
    if (libs[0])
        snprintf(env, sizeof(env), "LD_PRELOAD='%s' ASAN_OPTIONS='%s%sverify_asan_link_order=0'",
                 libs, opts ? opts : "", opts && *opts ? ":" : "");
    return env;
#else
    return "";
#endif
}

char *lvt_sh(const char *cmd, int *status)
{
    char *out = NULL;
    size_t len = 0;
    FILE *p, *mem;
    int ch;

    assert_non_null(p = popen(cmd, "r"));
    assert_non_null(mem = open_memstream(&out, &len));
    while ((ch = fgetc(p)) != EOF)
        fputc(ch, mem);
    fclose(mem);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

char *lvt_cli(const char *env, const char *args, int *status)
{
    const char *root = getenv("SB_BUILD_ROOT");
    char *cmd = NULL, *out;

    assert_non_null(root);
    assert_true(asprintf(&cmd,
                         "export TZ=UTC LC_ALL=C; %s %s '%s/broker/cli/snapbroker' %s 2>&1",
                         env ? env : "", asan_preload(), root, args) > 0);
    out = lvt_sh(cmd, status);
    free(cmd);
    return out;
}

const char *lvt_vir_err(void)
{
    const char *m = virGetLastErrorMessage();
    return m ? m : "";
}
