/* The reference plugin's domains on disk.
 *
 * One file, STATE/domains:
 *     snapbroker-ref 1
 *     domain NAME STATE XMLBYTES
 *     <XMLBYTES bytes of domain XML>
 *     ...
 * rewritten whole with temp + fsync + rename + directory fsync, so a crash
 * leaves the old or the new file.  A lock file (flock) serializes
 * read-modify-write cycles of concurrent CLI processes.
 */
#include "ref.h"
#include "fixture_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "snapbroker-ref 1\n"

/* libvirt's test:///default domain "test" (virsh dumpxml --inactive). */
static const char test_domain_xml[] =
    "<domain type='test'>\n"
    "  <name>test</name>\n"
    "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
    "  <memory unit='KiB'>8388608</memory>\n"
    "  <currentMemory unit='KiB'>2097152</currentMemory>\n"
    "  <vcpu placement='static'>2</vcpu>\n"
    "  <os>\n"
    "    <type arch='i686'>hvm</type>\n"
    "    <boot dev='hd'/>\n"
    "  </os>\n"
    "  <clock offset='utc'/>\n"
    "  <on_poweroff>destroy</on_poweroff>\n"
    "  <on_reboot>restart</on_reboot>\n"
    "  <on_crash>destroy</on_crash>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/guest/diskimage1'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
    "    </disk>\n"
    "    <interface type='network'>\n"
    "      <mac address='aa:bb:cc:dd:ee:ff'/>\n"
    "      <source network='default'/>\n"
    "      <target dev='testnet0'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n"
    "    </interface>\n"
    "    <memballoon model='virtio'>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
    "    </memballoon>\n"
    "  </devices>\n"
    "</domain>\n";

static int sys_error(sb_conn *c, const char *what, const char *path)
{
    return ref_host->set_error(c->h, SB_ERR_SYSTEM_ERROR, "ref plugin: %s '%s': %s", what, path,
                               strerror(errno));
}

static int oom(sb_conn *c)
{
    return ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
}

static char *dup_n(const char *s, size_t n)
{
    char *d = ref_host->alloc(n + 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ref_state_clear(struct ref_state *st)
{
    size_t i;

    for (i = 0; i < st->n; i++) {
        ref_host->free(st->doms[i].name);
        ref_host->free(st->doms[i].xml);
    }
    ref_host->free(st->doms);
    st->doms = NULL;
    st->n = 0;
}

struct ref_domain *ref_state_find(struct ref_state *st, const char *name)
{
    size_t i;

    for (i = 0; name && i < st->n; i++)
        if (strcmp(st->doms[i].name, name) == 0)
            return &st->doms[i];
    return NULL;
}

int ref_no_domain(sb_conn *c, const char *name)
{
    return ref_host->set_error(c->h, SB_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                               name ? name : "");
}

static int add(struct ref_state *st, const char *name, size_t nlen, int state, const char *xml,
               size_t xlen)
{
    struct ref_domain *d = ref_host->realloc(st->doms, (st->n + 1) * sizeof(*d));

    if (!d)
        return -1;
    st->doms = d;
    d = &st->doms[st->n];
    d->name = dup_n(name, nlen);
    d->xml = dup_n(xml, xlen);
    d->state = state;
    if (!d->name || !d->xml) {
        ref_host->free(d->name);
        ref_host->free(d->xml);
        return -1;
    }
    st->n++;
    return 0;
}

static int corrupt(sb_conn *c, const char *why)
{
    return ref_host->set_error(c->h, SB_ERR_INTERNAL_ERROR, "ref plugin: state file '%s' is "
                                                            "damaged: %s",
                               c->file, why);
}

static int parse(struct ref_state *st, sb_conn *c, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;

    if (len < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0)
        return corrupt(c, "bad header");
    p += strlen(MAGIC);
    while (p < end) {
        char name[256];
        int state, used = 0;
        unsigned long xlen;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char line[400];

        if (!nl || (size_t)(nl - p) >= sizeof(line))
            return corrupt(c, "bad record line");
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        if (sscanf(line, "domain %255s %d %lu%n", name, &state, &xlen, &used) != 3 ||
            line[used] != '\0')
            return corrupt(c, "bad record line");
        p = nl + 1;
        if ((size_t)(end - p) < xlen + 1 || p[xlen] != '\n')
            return corrupt(c, "truncated domain XML");
        if (add(st, name, strlen(name), state, p, xlen) < 0)
            return oom(c);
        p += xlen + 1;
    }
    return 0;
}

static int read_file(struct ref_state *st, sb_conn *c)
{
    char *buf;
    size_t len;
    int rc = fx_read_file(ref_host, c->file, &buf, &len);

    if (rc < 0)
        return errno == EIO ? corrupt(c, "short read") : sys_error(c, "cannot read", c->file);
    if (rc == 1) {
        /* never written: the initial state, as libvirt's test driver */
        if (add(st, "test", 4, SB_DOMAIN_RUNNING, test_domain_xml, strlen(test_domain_xml)) < 0)
            return oom(c);
        return 0;
    }
    rc = parse(st, c, buf, len);
    ref_host->free(buf);
    return rc;
}

int ref_state_load(struct ref_state *st, int *lock_fd, sb_conn *c, int exclusive)
{
    int rc;

    st->doms = NULL;
    st->n = 0;
    if ((*lock_fd = fx_lock_file(c->lock_file, exclusive)) < 0)
        return sys_error(c, "cannot lock", c->lock_file);
    if ((rc = read_file(st, c)) < 0) {
        ref_state_clear(st);
        ref_state_unlock(*lock_fd);
        *lock_fd = -1;
    }
    return rc;
}

void ref_state_unlock(int lock_fd)
{
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
}

int ref_state_save(const struct ref_state *st, sb_conn *c)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    int rc;

    if (!f)
        return oom(c);
    fputs(MAGIC, f);
    for (size_t i = 0; i < st->n; i++)
        fprintf(f, "domain %s %d %zu\n%s\n", st->doms[i].name, st->doms[i].state,
                strlen(st->doms[i].xml), st->doms[i].xml);
    if (fclose(f) != 0 || !data) {
        free(data);
        return oom(c);
    }
    rc = fx_write_file(ref_host, c->file, data, len) < 0 ? sys_error(c, "cannot write", c->file)
                                                         : 0;
    free(data);
    return rc;
}
