/* Scratch domains: every scenario gets a domain of its own, defined from a
 * generic definition (two qcow2 disks in the kit's scratch directory, a
 * 64 MiB x86 guest), and removed afterwards with everything it left: its
 * snapshots (metadata and data) and its files.  With --domain the kit
 * works on an existing domain without snapshots instead, and deletes only
 * the snapshots it made. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit_internal.h"

extern char **environ;

/* Run argv quietly; 0 when it exited 0. */
static int run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = -1;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void path_of(const struct k *k, char *out, size_t len, const char *dom, const char *disk)
{
    snprintf(out, len, "%s/%s-%s.qcow2", k->dir, dom, disk);
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;

    if (in < 0)
        return -1;
    if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        goto done;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            goto done;
    rc = n == 0 ? 0 : -1;
done:
    if (out >= 0 && close(out) != 0)
        rc = -1;
    close(in);
    return rc;
}

int k_scratch_init(struct k *k)
{
    const char *tmp = getenv("TMPDIR");
    char tpl[300];

    snprintf(k->dir, sizeof(k->dir), "%s/sbconf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(k->dir)) {
        fprintf(stderr, "error: SYSTEM_ERROR: cannot create a scratch directory in %s: %s\n",
                tmp && *tmp ? tmp : "/tmp", strerror(errno));
        k->dir[0] = '\0';
        return -1;
    }
    /* Template images, copied for every scratch domain: real qcow2 when
     * qemu-img is there (plugins that open the images need them), else
     * none (fixtures that never touch disks). */
    path_of(k, tpl, sizeof(tpl), "template", "disk");
    char *argv[] = { (char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
                     (char *)"qcow2", tpl, (char *)"16M", NULL };
    k->images = run_quiet(argv) == 0;
    return 0;
}

/* Remove dir entries whose name starts with prefix ("" = all). */
static void remove_files(const struct k *k, const char *prefix)
{
    DIR *d = opendir(k->dir);
    struct dirent *e;
    size_t len = strlen(prefix);

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, len) != 0)
            continue;
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", k->dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

void k_scratch_fini(struct k *k)
{
    if (!k->dir[0])
        return;
    remove_files(k, "");
    rmdir(k->dir);
    k->dir[0] = '\0';
}

static char *domain_xml(const struct k *k, const char *name)
{
    char vda[400], vdb[400], *xml = NULL;

    path_of(k, vda, sizeof(vda), name, "vda");
    path_of(k, vdb, sizeof(vdb), name, "vdb");
    if (asprintf(&xml,
                 "<domain type='kvm'>\n"
                 "  <name>%s</name>\n"
                 "  <uuid>5bc0f000-0000-4000-8000-%012x</uuid>\n"
                 "  <memory unit='MiB'>64</memory>\n"
                 "  <vcpu>1</vcpu>\n"
                 "  <os>\n"
                 "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                 "  </os>\n"
                 "  <devices>\n"
                 "    <disk type='file' device='disk'>\n"
                 "      <driver name='qemu' type='qcow2'/>\n"
                 "      <source file='%s'/>\n"
                 "      <target dev='vda' bus='virtio'/>\n"
                 "    </disk>\n"
                 "    <disk type='file' device='disk'>\n"
                 "      <driver name='qemu' type='qcow2'/>\n"
                 "      <source file='%s'/>\n"
                 "      <target dev='vdb' bus='virtio'/>\n"
                 "    </disk>\n"
                 "    <memballoon model='none'/>\n"
                 "  </devices>\n"
                 "</domain>\n",
                 name, (unsigned)getpid() * 4096u + k->seq, vda, vdb) < 0)
        return NULL;
    return xml;
}

/* Define a scratch domain called name with its own images. */
static int define(struct k *k, const char *name)
{
    char tpl[400], img[400], *xml, *made = NULL;

    if (k->images) {
        path_of(k, tpl, sizeof(tpl), "template", "disk");
        const char *disks[] = { "vda", "vdb" };
        for (size_t i = 0; i < 2; i++) {
            path_of(k, img, sizeof(img), name, disks[i]);
            if (copy_file(tpl, img) < 0)
                return k_fail(k, "cannot copy the template image to %s: %s", img,
                              strerror(errno));
        }
    }
    if (!(xml = domain_xml(k, name)))
        return k_fail(k, "out of memory");
    int rc = sb_domain_define(&made, k->c, xml);
    free(xml);
    if (rc < 0)
        return k_fail(k, "defining scratch domain '%s' failed: %s (a plugin that cannot define "
                      "the kit's generic domain is tested with --domain)",
                      name, k_errstr());
    free(made);
    return K_PASS;
}

/* The existing domain's first two disk targets (devices of kind disk, in
 * definition order) into k->disk; the scenarios' 'vda' and 'vdb' name
 * them (k_devs). */
static int existing_disks(struct k *k)
{
    char *xml = NULL;
    int n = 0;

    if (sb_domain_get_xml(&xml, k->c, k->dom, 0) < 0)
        return k_fail(k, "the definition of domain '%s': %s", k->dom, k_errstr());
    for (char *d = strstr(xml, "<disk "); d && n < 2; d = strstr(d + 1, "<disk ")) {
        char *gt = strchr(d, '>'), *end = strstr(d, "</disk>"), *t;
        if (!gt || !end)
            break;
        /* device='disk' is the default; cdrom, floppy and lun are not disks */
        char *dev = strstr(d, "device=");
        if (dev && dev < gt && strncmp(dev + 8, "disk", 4) != 0)
            continue;
        if (!(t = strstr(d, "<target ")) || t > end || !(t = strstr(t, "dev=")) || t > end)
            continue;
        size_t len = strcspn(t + 5, "'\"");
        if (len == 0 || len >= sizeof(k->disk[0]))
            continue;
        memcpy(k->disk[n], t + 5, len);
        k->disk[n++][len] = '\0';
    }
    free(xml);
    if (n < 2)
        return k_fail(k, "domain '%s' has %d disk(s); the kit needs two (docs/conformance.md)",
                      k->dom, n);
    return K_PASS;
}

int k_domain_begin(struct k *k, int fresh)
{
    k->fresh = fresh && !k->opts->domain;
    k->seq++;
    snprintf(k->disk[0], sizeof(k->disk[0]), "vda");
    snprintf(k->disk[1], sizeof(k->disk[1]), "vdb");
    if (!k->fresh) {
        size_t n = 0;
        snprintf(k->dom, sizeof(k->dom), "%s", k->opts->domain);
        K_TRY(existing_disks(k));
        if (sb_snapshot_count(&n, k->c, k->dom, NULL, 0) < 0)
            return k_fail(k, "domain '%s': %s", k->dom, k_errstr());
        if (n)
            return k_fail(k, "domain '%s' has %zu snapshots; the kit works on a domain without "
                          "snapshots and deletes only what it made",
                          k->dom, n);
        return K_PASS;
    }
    snprintf(k->dom, sizeof(k->dom), "sbk%u-%u", (unsigned)getpid(), k->seq);
    return define(k, k->dom);
}

/* Delete every snapshot of the domain (hypervisor-owned metadata: the
 * undefine need not take them along). */
static void delete_all(struct k *k, const char *dom)
{
    for (int round = 0; round < 64; round++) {
        char **names = NULL;
        size_t n = 0;
        if (sb_snapshot_list(&names, &n, k->c, dom, NULL, SB_SNAPSHOT_LIST_LEAVES) < 0 &&
            sb_snapshot_list(&names, &n, k->c, dom, NULL, 0) < 0)
            return;
        for (size_t i = 0; i < n; i++)
            sb_snapshot_delete(k->c, dom, names[i], 0);
        sb_names_free(names, n);
        if (!n)
            return;
    }
}

static void remove_domain(struct k *k, const char *name)
{
    int st = SB_DOMAIN_SHUTOFF;
    char prefix[160];

    if (sb_domain_get_state(&st, k->c, name) == 0 && st != SB_DOMAIN_SHUTOFF)
        sb_domain_destroy(k->c, name);
    if (strcmp(k->caps.metadata_owner, "hypervisor") == 0)
        delete_all(k, name);
    if (sb_domain_undefine(k->c, name, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0) {
        size_t used = strlen(k->msg);
        snprintf(k->msg + used, sizeof(k->msg) - used, "%scleanup: undefining '%s': %s",
                 used ? "; " : "", name, k_errstr());
    }
    snprintf(prefix, sizeof(prefix), "%s-", name);
    remove_files(k, prefix);
}

static int made_here(const struct k *k, const char *name)
{
    for (size_t i = 0; i < k->nmade; i++)
        if (strcmp(k->made[i], name) == 0)
            return 1;
    return 0;
}

int k_domain_end(struct k *k)
{
    size_t left = 0, made = k->nmade;

    if (k->fresh) {
        remove_domain(k, k->dom);
        return K_PASS;
    }
    /* The roots the kit made first, each with its descendants in one call
     * where the plugin declares DELETE_CHILDREN and LIST_ROOTS: snapshots
     * that share a name (a plugin without unique names) cannot be deleted
     * one name at a time, but their root can take them along. */
    if ((k->caps.delete_flags & SB_SNAPSHOT_DELETE_CHILDREN) &&
        (k->caps.list_flags & SB_SNAPSHOT_LIST_ROOTS) && k->nmade) {
        char **roots = NULL;
        size_t n = 0;
        if (sb_snapshot_list(&roots, &n, k->c, k->dom, NULL, SB_SNAPSHOT_LIST_ROOTS) == 0) {
            for (size_t i = 0; i < n; i++)
                if (made_here(k, roots[i]))
                    sb_snapshot_delete(k->c, k->dom, roots[i], SB_SNAPSHOT_DELETE_CHILDREN);
            sb_names_free(roots, n);
        }
    }
    /* what is left, newest first: children before their parents (a name
     * already gone is refused, harmlessly) */
    for (size_t i = k->nmade; i-- > 0;) {
        sb_snapshot_delete(k->c, k->dom, k->made[i], 0);
        free(k->made[i]);
    }
    free(k->made);
    k->made = NULL;
    k->nmade = 0;
    /* The domain had none before the scenario: what remains is the kit's,
     * and the next scenario would fail for it. */
    if (made && sb_snapshot_count(&left, k->c, k->dom, NULL, 0) == 0 && left) {
        size_t used = strlen(k->msg);
        snprintf(k->msg + used, sizeof(k->msg) - used,
                 "%scleanup: %zu snapshots the kit made remain on '%s'", used ? "; " : "", left,
                 k->dom);
    }
    return K_PASS;
}

int k_domain_extra(struct k *k, const char *suffix, char *out, size_t len)
{
    snprintf(out, len, "%s-%s", k->dom, suffix);
    return define(k, out);
}

int k_domain_extra_end(struct k *k, const char *name)
{
    remove_domain(k, name);
    return K_PASS;
}
