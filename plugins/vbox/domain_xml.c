/* vbox plugin - a machine's state as libvirt's <domain type='vbox'>:
 * name, uuid, memory, vcpus and one <disk> per storage attachment, named
 * as libvirt's VirtualBox driver names them (IDE: hd + port*2+device;
 * SATA, SCSI, SAS and the other SCSI-like buses: sd + a running count;
 * floppy: fd + device). */
#include "vb.h"
#include "buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libvirt's virIndexToDiskName: 0 -> a, 25 -> z, 26 -> aa. */
static void disk_name(char *out, size_t size, const char *prefix, unsigned idx)
{
    char rev[16];
    size_t n = 0;
    unsigned i = idx;
    do {
        rev[n++] = (char)('a' + i % 26);
        i = i / 26;
    } while (i-- > 0 && n < sizeof rev);
    size_t k = (size_t)snprintf(out, size, "%s", prefix);
    while (n && k + 1 < size)
        out[k++] = rev[--n];
    out[k] = '\0';
}

static int sd_like(int bus)
{
    return bus == VB_BUS_SATA || bus == VB_BUS_SCSI || bus == VB_BUS_SAS ||
           bus == VB_BUS_USB || bus == VB_BUS_NVME || bus == VB_BUS_VIRTIO;
}

int vb_disk_targets(vb_ctx *ctx, const vb_hw *hw, char ***out)
{
    char **v = calloc(hw->natt + 1, sizeof *v);
    unsigned sd = 0;
    *out = NULL;
    if (!v)
        return vb_oom(ctx);
    for (size_t i = 0; i < hw->natt; i++) {
        const vb_attach *a = &hw->att[i];
        char name[32];
        if (a->bus == VB_BUS_IDE)
            disk_name(name, sizeof name, "hd", a->port * 2 + a->device);
        else if (sd_like(a->bus))
            disk_name(name, sizeof name, "sd", sd++);
        else if (a->bus == VB_BUS_FLOPPY)
            disk_name(name, sizeof name, "fd", a->device);
        else
            continue;
        if (!(v[i] = strdup(name))) {
            vb_targets_free(v, hw->natt);
            return vb_oom(ctx);
        }
    }
    *out = v;
    return 0;
}

void vb_targets_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static const char *bus_name(int bus)
{
    switch (bus) {
    case VB_BUS_IDE: return "ide";
    case VB_BUS_SATA: return "sata";
    case VB_BUS_FLOPPY: return "fdc";
    case VB_BUS_USB: return "usb";
    default: return "scsi";
    }
}

const vb_medium *vb_attach_medium(const vb_machine *m, const vb_attach *a)
{
    long i = vb_medium_index(m, a->image);
    return i < 0 ? NULL : &m->media[i];
}

/* "VDI" -> "vdi" (libvirt's driver types are lower case). */
static void lower(char *out, size_t size, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static void add_disk(vb_buf *b, const vb_machine *m, const vb_attach *a, const char *target)
{
    const char *device = a->dev == VB_DEV_DVD      ? "cdrom"
                         : a->dev == VB_DEV_FLOPPY ? "floppy"
                                                   : "disk";
    const vb_medium *md = vb_attach_medium(m, a);
    vb_buf_addf(b, "    <disk type='%s' device='%s'>\n", a->host_drive ? "block" : "file",
                device);
    if (md && md->format) {
        char fmt[32];
        lower(fmt, sizeof fmt, md->format);
        vb_buf_add(b, "      <driver type='");
        vb_buf_esc(b, fmt);
        vb_buf_add(b, "'/>\n");
    }
    if (md || a->host_drive) {
        vb_buf_addf(b, "      <source %s='", a->host_drive ? "dev" : "file");
        vb_buf_esc(b, a->host_drive ? a->host_drive : md->path);
        vb_buf_add(b, "'/>\n");
    }
    vb_buf_addf(b, "      <target dev='%s' bus='%s'/>\n", target, bus_name(a->bus));
    if (a->dev == VB_DEV_DVD || (md && vb_medium_type_is(m, md, "Readonly")))
        vb_buf_add(b, "      <readonly/>\n");
    vb_buf_add(b, "    </disk>\n");
}

/* Which VirtualBox snapshot this definition is (so a definition handed
 * back names it exactly even when names repeat), its saved state, and the
 * differencing image that took each disk's writes after it: what libvirt's
 * snapshot XML cannot carry (its schema has no braces in file names, and
 * no "vdi" driver type). */
static void add_metadata(vb_buf *b, const vb_machine *m, size_t snap, char **targets)
{
    const vb_snap *s = &m->snaps[snap];
    vb_buf_addf(b, "  <metadata>\n    <vbox:snapshot xmlns:vbox='%s' uuid='{%s}'", VB_XML_NS,
                s->uuid);
    if (s->state_file) {
        vb_buf_add(b, " stateFile='");
        vb_buf_esc(b, s->state_file);
        vb_buf_add(b, "'");
    }
    int any = 0;
    for (size_t k = 0; k < s->hw.natt; k++) {
        long ov = targets[k] ? vb_overlay_of(m, snap, &s->hw.att[k]) : -1;
        if (ov < 0)
            continue;
        if (!any++)
            vb_buf_add(b, ">\n");
        vb_buf_addf(b, "      <vbox:overlay target='%s' file='", targets[k]);
        vb_buf_esc(b, m->media[ov].path);
        vb_buf_add(b, "'/>\n");
    }
    vb_buf_add(b, any ? "    </vbox:snapshot>\n  </metadata>\n" : "/>\n  </metadata>\n");
}

int vb_domain_xml(vb_ctx *ctx, const vb_machine *m, const vb_hw *hw, long snap, char **out)
{
    vb_buf b = { 0 };
    char **targets = NULL;
    int rc;

    *out = NULL;
    if ((rc = vb_disk_targets(ctx, hw, &targets)) < 0)
        return rc;
    vb_buf_add(&b, "<domain type='vbox'>\n");
    vb_buf_elem(&b, "  ", "name", m->name);
    vb_buf_elem(&b, "  ", "uuid", m->uuid);
    if (snap >= 0)
        add_metadata(&b, m, (size_t)snap, targets);
    vb_buf_addf(&b, "  <memory unit='KiB'>%llu</memory>\n", (unsigned long long)hw->ram_mib * 1024);
    vb_buf_addf(&b, "  <vcpu>%u</vcpu>\n", hw->cpus ? hw->cpus : 1);
    vb_buf_add(&b, "  <os>\n    <type>hvm</type>\n  </os>\n");
    vb_buf_add(&b, "  <devices>\n");
    for (size_t i = 0; i < hw->natt; i++)
        if (targets[i])
            add_disk(&b, m, &hw->att[i], targets[i]);
    vb_buf_add(&b, "  </devices>\n</domain>\n");
    vb_targets_free(targets, hw->natt);
    if (!(*out = vb_buf_take(&b)))
        return vb_oom(ctx);
    return 0;
}

const char *vb_medium_type(const vb_machine *m, const vb_medium *md)
{
    long base = vb_medium_base(m, (long)(md - m->media));
    const char *type = base >= 0 ? m->media[base].type : NULL;
    return type ? type : "Normal";
}

int vb_medium_type_is(const vb_machine *m, const vb_medium *md, const char *type)
{
    return strcmp(vb_medium_type(m, md), type) == 0;
}

int vb_medium_snapshotted(const vb_machine *m, const vb_medium *md)
{
    /* Writethrough, Shareable, Readonly, Immutable and MultiAttach base
     * images keep their attachment as it is: only normal hard disks get a
     * differencing image per snapshot.  A differencing image is always a
     * normal one, whatever its base (VirtualBox's IMedium: "the type of all
     * differencing media is normal"): the image an Immutable or MultiAttach
     * base gets per attachment takes writes like any other, so a snapshot
     * freezes it and grows a new one on it, as VirtualBox's snapshot does.
     * Judged by the base's type, it was shared by the snapshot and the
     * current state: later writes changed the snapshot, and a revert put
     * the machine straight onto the snapshot's image. */
    (void)m;
    if (md->kind != VB_MEDIUM_HDD)
        return 0;
    return md->parent >= 0 || !md->type || strcmp(md->type, "Normal") == 0;
}
