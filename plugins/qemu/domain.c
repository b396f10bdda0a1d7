/* qemu plugin - domain definitions (libvirt domain XML subset).
 *
 * Definitions live in <state>/domains/<name>.xml, written atomically.
 * Every element is either honoured, accepted as harmless (and documented
 * in docs/qemu.md), or refused with CONFIG_UNSUPPORTED naming it: nothing
 * is silently dropped.
 */
#include "devices.h"
#include "snapshot_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define XML_MAX_SIZE (4 * 1024 * 1024)

/* Every domain XML the plugin reads goes through the broker's hardened
 * reader first (host->domain_view: no DOCTYPE, no entities, depth and size
 * limits), so nothing the broker would refuse is ever stored - a stored
 * DOCTYPE would make every later snapshot of the domain fail.  Only then
 * is it parsed here (the plugin needs the whole tree to check every
 * element and to edit the definition).  Without a host (unit tests) a
 * document with a DOCTYPE is refused after the parse. */
static int hardened_gate(qp_ctx *ctx, const char *xml)
{
    if (!ctx->api || !ctx->api->domain_view)
        return 0;
    struct sb_domain_view *v = NULL;
    int r = ctx->api->domain_view(ctx->h, xml, &v);
    if (r < 0) {
        /* keep the broker's message (it names the line) in our context */
        ctx->err_code = -r;
        snprintf(ctx->err_msg, sizeof ctx->err_msg, "domain XML refused by the hardened reader");
        return r;
    }
    if (v && ctx->api->domain_view_free)
        ctx->api->domain_view_free(v);
    return 0;
}

static xmlDocPtr parse_doc(qp_ctx *ctx, const char *xml)
{
    if (!xml)
        return (void)qp_error(ctx, SB_ERR_INVALID_ARG, "domain XML is missing"), NULL;
    size_t len = strlen(xml);
    if (len > XML_MAX_SIZE)
        return (void)qp_error(ctx, SB_ERR_XML_ERROR, "domain XML is larger than %d bytes",
                              XML_MAX_SIZE), NULL;
    if (hardened_gate(ctx, xml) < 0)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOERROR);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        qp_error(ctx, SB_ERR_XML_DETAIL, "domain XML is not well-formed: line %d: %s",
                 e ? e->line : 0, e && e->message ? e->message : "parse error");
        return NULL;
    }
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        qp_error(ctx, SB_ERR_XML_ERROR, "domain XML: a DOCTYPE is not allowed");
        return NULL;
    }
    return doc;
}

int qp_xml_is(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr qp_xml_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (qp_xml_is(c, name))
            return c;
    return NULL;
}

/* Set when a copy below failed: to the callers a value memory ran out
 * for looks absent, so qp_domain_parse answers NO_MEMORY for the whole
 * parse instead of what it concluded from the gap (a disk "without a
 * format", a "<vcpu> that is not a number"). */
static _Thread_local int copy_failed;

static char *copy_value(xmlChar *v)
{
    char *s = v ? qp_strdup((const char *)v) : NULL;
    if (v && !s)
        copy_failed = 1;
    xmlFree(v);
    return s;
}

char *qp_xml_prop(xmlNodePtr n, const char *name)
{
    return copy_value(n ? xmlGetProp(n, (const xmlChar *)name) : NULL);
}

char *qp_xml_text(xmlNodePtr n)
{
    if (!n)
        return NULL;
    char *s = copy_value(xmlNodeGetContent(n));
    if (s) { /* trim */
        char *b = s;
        while (*b == ' ' || *b == '\n' || *b == '\t' || *b == '\r')
            b++;
        size_t l = strlen(b);
        while (l && (b[l - 1] == ' ' || b[l - 1] == '\n' || b[l - 1] == '\t' || b[l - 1] == '\r'))
            l--;
        memmove(s, b, l);
        s[l] = '\0';
    }
    return s;
}

void qp_domain_free(qp_domain *d)
{
    if (!d)
        return;
    free(d->xml);
    free(d->name);
    free(d->uuid);
    free(d->type);
    free(d->emulator);
    free(d->machine);
    free(d->agent_path);
    for (size_t i = 0; i < d->ndisks; i++) {
        qp_disk *k = &d->disks[i];
        free(k->target);
        free(k->bus);
        free(k->device);
        free(k->type);
        free(k->source);
        free(k->format);
    }
    free(d->disks);
    for (size_t i = 0; i < d->nnics; i++) {
        free(d->nics[i].type);
        free(d->nics[i].model);
        free(d->nics[i].mac);
        free(d->nics[i].bridge);
        free(d->nics[i].ifname);
    }
    free(d->nics);
    free(d->vnc_listen);
    free(d->video);
    free(d);
}

static int parse_location(const char *s)
{
    if (!s)
        return SB_LOCATION_DEFAULT;
    if (!strcmp(s, "no"))
        return SB_LOCATION_NO;
    if (!strcmp(s, "internal"))
        return SB_LOCATION_INTERNAL;
    if (!strcmp(s, "external"))
        return SB_LOCATION_EXTERNAL;
    if (!strcmp(s, "manual"))
        return SB_LOCATION_MANUAL;
    return -1;
}

static int scale_kib(qp_ctx *ctx, xmlNodePtr n, const char *what, unsigned long long *out)
{
    char *t = qp_xml_text(n), *unit = qp_xml_prop(n, "unit"), *end = NULL;
    int r = 0;
    unsigned long long v = t && *t ? strtoull(t, &end, 10) : 0;
    if (!t || !*t || (end && *end)) {
        r = qp_error(ctx, SB_ERR_XML_ERROR, "<%s> is not a number: '%s'", what, t ? t : "");
        goto out;
    }
    unsigned long long mul_b = 1024; /* default KiB */
    if (unit) {
        if (!strcmp(unit, "b") || !strcmp(unit, "bytes")) mul_b = 1;
        else if (!strcmp(unit, "KB")) mul_b = 1000;
        else if (!strcmp(unit, "k") || !strcmp(unit, "KiB")) mul_b = 1024;
        else if (!strcmp(unit, "MB")) mul_b = 1000000ULL;
        else if (!strcmp(unit, "M") || !strcmp(unit, "MiB")) mul_b = 1ULL << 20;
        else if (!strcmp(unit, "GB")) mul_b = 1000000000ULL;
        else if (!strcmp(unit, "G") || !strcmp(unit, "GiB")) mul_b = 1ULL << 30;
        else if (!strcmp(unit, "T") || !strcmp(unit, "TiB")) mul_b = 1ULL << 40;
        else {
            r = qp_error(ctx, SB_ERR_XML_ERROR, "<%s unit='%s'>: unknown unit", what, unit);
            goto out;
        }
    }
    *out = v * mul_b / 1024;
out:
    free(t);
    free(unit);
    return r;
}

static const char *const harmless_top[] = {"title", "description", "metadata", "currentMemory",
                                           "pm", "features", "clock", "on_crash", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static int parse_disk(qp_ctx *ctx, xmlNodePtr n, qp_disk *k)
{
    k->type = qp_xml_prop(n, "type");
    k->device = qp_xml_prop(n, "device");
    if (!k->type)
        k->type = qp_strdup("file");
    if (!k->device)
        k->device = qp_strdup("disk");
    if (strcmp(k->type, "file") && strcmp(k->type, "block"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "<disk type='%s'>: only file and block disks are supported", k->type);
    if (strcmp(k->device, "disk") && strcmp(k->device, "cdrom"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "<disk device='%s'>: only disk and cdrom are supported", k->device);
    char *snap = qp_xml_prop(n, "snapshot");
    k->snapshot = parse_location(snap);
    if (k->snapshot < 0) {
        int r = qp_error(ctx, SB_ERR_XML_ERROR,
                         "Invalid value for attribute 'snapshot' in element 'disk': '%s'", snap);
        free(snap);
        return r;
    }
    free(snap);
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *cn = (const char *)c->name;
        if (!strcmp(cn, "source")) {
            k->source = qp_xml_prop(c, !strcmp(k->type, "file") ? "file" : "dev");
        } else if (!strcmp(cn, "driver")) {
            char *name = qp_xml_prop(c, "name");
            if (name && strcmp(name, "qemu")) {
                int r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                 "<disk><driver name='%s'>: only 'qemu' is supported", name);
                free(name);
                return r;
            }
            free(name);
            k->format = qp_xml_prop(c, "type");
        } else if (!strcmp(cn, "target")) {
            k->target = qp_xml_prop(c, "dev");
            k->bus = qp_xml_prop(c, "bus");
        } else if (!strcmp(cn, "readonly")) {
            k->readonly = 1;
        } else if (!strcmp(cn, "shareable")) {
            k->shareable = 1;
        } else if (!strcmp(cn, "address") || !strcmp(cn, "alias") || !strcmp(cn, "backingStore") ||
                   !strcmp(cn, "serial") || !strcmp(cn, "boot")) {
            /* accepted: placement/ids are chosen by us, backingStore is read
             * from the image itself, serial/boot are cosmetic for SeaBIOS */
        } else {
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "<disk> child element <%s> is not supported by the qemu plugin", cn);
        }
    }
    if (!k->target || !*k->target)
        return qp_error(ctx, SB_ERR_XML_ERROR, "<disk> without <target dev=...>");
    for (const char *p = k->target; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) || p - k->target > 16)
            return qp_error(ctx, SB_ERR_XML_ERROR, "disk target '%s': use [a-z0-9]{1,16}",
                            k->target);
    if (!k->format)
        k->format = qp_strdup("raw");
    if (strcmp(k->format, "qcow2") && strcmp(k->format, "raw"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "disk '%s': driver type '%s' is not supported (qcow2 or raw)", k->target,
                        k->format);
    if (!k->bus) {
        if (!strncmp(k->target, "vd", 2))
            k->bus = qp_strdup("virtio");
        else if (!strncmp(k->target, "sd", 2))
            k->bus = qp_strdup("sata");
        else
            k->bus = qp_strdup("ide");
    }
    if (strcmp(k->bus, "virtio") && strcmp(k->bus, "sata") && strcmp(k->bus, "ide") &&
        strcmp(k->bus, "scsi"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "disk '%s': bus '%s' is not supported (virtio, scsi, sata, ide)",
                        k->target, k->bus);
    int r = !strcmp(k->bus, "scsi") ? qp_dev_scsi_address(ctx, n, k) : 0;
    if (r < 0)
        return r;
    if (!strcmp(k->device, "cdrom")) {
        if (!strcmp(k->bus, "virtio"))
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "disk '%s': a cdrom cannot be on the virtio bus", k->target);
        k->readonly = 1;
    } else if (!k->source) {
        return qp_error(ctx, SB_ERR_XML_ERROR, "disk '%s' has no <source>", k->target);
    }
    if (k->source && k->source[0] != '/')
        return qp_error(ctx, SB_ERR_XML_ERROR, "disk '%s': source '%s' is not an absolute path",
                        k->target, k->source);
    if (k->shareable && !k->readonly && !strcmp(k->format, "qcow2"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "disk '%s': a shareable writable disk must be raw, not qcow2", k->target);
    return 0;
}

/* One numeric attribute of an <address> (libvirt reads them base 0:
 * 0x1f, 31); absent = 0.  -1 (error recorded) when not a number or above
 * max. */
static int addr_attr(qp_ctx *ctx, xmlNodePtr a, const char *dev, const char *attr,
                     unsigned long max, unsigned long *out)
{
    char *v = qp_xml_prop(a, attr), *end = NULL;
    int r = 0;
    *out = 0;
    if (v) {
        errno = 0;
        unsigned long n = strtoul(v, &end, 0);
        if (!*v || *end || errno || v[0] == '-')
            r = qp_error(ctx, SB_ERR_XML_ERROR, "<%s><address %s='%s'>: not a number", dev,
                         attr, v);
        else if (n > max)
            r = qp_error(ctx, SB_ERR_XML_ERROR,
                         "<%s><address %s='%s'>: impossible address (at most 0x%lx)", dev, attr,
                         v, max);
        *out = n;
    }
    free(v);
    return r;
}

/* The <address> of a device: the plugin places devices itself, so an
 * address is only checked to be one QEMU on x86 could have (libvirt's
 * parser rules: PCI domain <= 0xffff, bus <= 0xff, slot <= 0x1f, function
 * <= 7), so a definition no host could run is refused at define (and at
 * redefine, domain_validate) rather than at a later revert. */
static int check_address(qp_ctx *ctx, xmlNodePtr dev)
{
    xmlNodePtr a = qp_xml_child(dev, "address");
    if (!a)
        return 0;
    const char *dn = (const char *)dev->name;
    char *type = qp_xml_prop(a, "type");
    unsigned long v;
    int r = 0;
    if (!type) {
        r = qp_error(ctx, SB_ERR_XML_ERROR, "<%s><address> has no type", dn);
    } else if (!strcmp(type, "pci")) {
        if (!(r = addr_attr(ctx, a, dn, "domain", 0xffff, &v)) && v)
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "<%s><address domain='0x%lx'>: x86 pc/q35 machines have PCI domain 0 "
                         "only", dn, v);
        if (!r)
            r = addr_attr(ctx, a, dn, "bus", 0xff, &v);
        if (!r)
            r = addr_attr(ctx, a, dn, "slot", 0x1f, &v);
        if (!r)
            r = addr_attr(ctx, a, dn, "function", 7, &v);
    } else if (!strcmp(type, "drive")) {
        if (!(r = addr_attr(ctx, a, dn, "controller", UINT_MAX, &v)) &&
            !(r = addr_attr(ctx, a, dn, "bus", UINT_MAX, &v)) &&
            !(r = addr_attr(ctx, a, dn, "target", UINT_MAX, &v)))
            r = addr_attr(ctx, a, dn, "unit", UINT_MAX, &v);
    } else if (!strcmp(type, "ccw") || !strcmp(type, "spapr-vio") ||
               !strcmp(type, "virtio-s390") || !strcmp(type, "virtio-mmio")) {
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "<%s><address type='%s'>: not an address of an x86 pc/q35 machine", dn,
                     type);
    }
    free(type);
    return r;
}

static int parse_devices(qp_ctx *ctx, xmlNodePtr devs, qp_domain *d)
{
    size_t n = 0;
    for (xmlNodePtr c = devs->children; c; c = c->next)
        if (qp_xml_is(c, "disk"))
            n++;
    d->disks = calloc(n ? n : 1, sizeof *d->disks);
    if (!d->disks)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int r = 0, ide = 0, nserial = 0;
    for (xmlNodePtr c = devs->children; c && r == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *cn = (const char *)c->name;
        if ((r = check_address(ctx, c)) < 0)
            break;
        if (!strcmp(cn, "disk")) {
            qp_disk *k = &d->disks[d->ndisks++];
            r = parse_disk(ctx, c, k);
            if (r == 0) {
                for (size_t i = 0; i + 1 < d->ndisks; i++)
                    if (!strcmp(d->disks[i].target, k->target))
                        r = qp_error(ctx, SB_ERR_XML_ERROR, "disk target '%s' is used twice",
                                     k->target);
                if (strcmp(k->bus, "virtio") && strcmp(k->bus, "scsi") && ++ide > 4)
                    r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                 "disk '%s': at most 4 ide/sata devices are supported", k->target);
            }
        } else if (!strcmp(cn, "emulator")) {
            free(d->emulator);
            d->emulator = qp_xml_text(c);
        } else if (!strcmp(cn, "controller")) {
            /* accepted: the controllers the other buses need are implied */
            char *type = qp_xml_prop(c, "type");
            if (type && !strcmp(type, "scsi"))
                r = qp_dev_scsi_controller(ctx, c, d);
            free(type);
        } else if (!strcmp(cn, "interface")) {
            r = qp_dev_interface(ctx, c, d);
        } else if (!strcmp(cn, "graphics")) {
            r = qp_dev_graphics(ctx, c, d);
        } else if (!strcmp(cn, "video")) {
            r = qp_dev_video(ctx, c, d);
        } else if (!strcmp(cn, "memballoon")) {
            char *model = qp_xml_prop(c, "model");
            if (model && !strcmp(model, "virtio"))
                d->balloon = 1;
            else if (!model || strcmp(model, "none"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<memballoon model='%s'>: only 'none' and 'virtio' are supported",
                             model ? model : "");
            free(model);
        } else if (!strcmp(cn, "serial") || !strcmp(cn, "console")) {
            /* one isa-serial on a pty; a <console> is that same port */
            char *type = qp_xml_prop(c, "type");
            xmlNodePtr t = qp_xml_child(c, "target");
            char *ttype = qp_xml_prop(t, "type"), *port = qp_xml_prop(t, "port");
            int serial = !strcmp(cn, "serial");
            if (!type || strcmp(type, "pty"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<%s type='%s'>: only pty serial consoles are supported", cn,
                             type ? type : "");
            else if (ttype && strcmp(ttype, serial ? "isa-serial" : "serial"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<%s><target type='%s'>: only the serial port (%s) is supported", cn,
                             ttype, serial ? "isa-serial" : "serial");
            else if ((port && strcmp(port, "0")) || (serial && nserial++))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<%s>: only one serial port (port 0) is supported", cn);
            d->serial_pty = 1;
            free(ttype);
            free(port);
            free(type);
        } else if (!strcmp(cn, "channel")) {
            char *type = qp_xml_prop(c, "type");
            xmlNodePtr t = qp_xml_child(c, "target"), s = qp_xml_child(c, "source");
            char *tname = qp_xml_prop(t, "name"), *ttype = qp_xml_prop(t, "type"), *path = qp_xml_prop(s, "path");
            if (!type || strcmp(type, "unix") || !ttype || strcmp(ttype, "virtio") || !tname ||
                strcmp(tname, "org.qemu.guest_agent.0"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<channel>: only the unix virtio guest agent channel "
                             "(org.qemu.guest_agent.0) is supported");
            else if (d->agent_path)
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "<channel>: only one guest agent");
            else if (path && path[0] != '/')
                r = qp_error(ctx, SB_ERR_XML_ERROR, "<channel><source path='%s'>: not absolute",
                             path);
            else
                d->agent_path = path ? qp_strdup(path) : qp_strdup("");
            free(type);
            free(tname);
            free(ttype);
            free(path);
        } else if (!strcmp(cn, "input")) {
            char *bus = qp_xml_prop(c, "bus");
            if (bus && strcmp(bus, "ps2"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<input bus='%s'>: only the built-in ps2 devices are supported", bus);
            free(bus);
        } else {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "device <%s> is not supported by the qemu plugin", cn);
        }
    }
    return r < 0 ? r : qp_dev_finish(ctx, d);
}

static int valid_uuid(const char *u)
{
    if (strlen(u) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-')
                return 0;
        } else if (!((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f') ||
                     (u[i] >= 'A' && u[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int parse_root(qp_ctx *ctx, xmlNodePtr root, qp_domain *d)
{
    if (!qp_xml_is(root, "domain"))
        return qp_error(ctx, SB_ERR_XML_ERROR, "root element must be <domain>, not <%s>",
                        root ? (const char *)root->name : "");
    d->type = qp_xml_prop(root, "type");
    if (!d->type || (strcmp(d->type, "qemu") && strcmp(d->type, "kvm")))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "<domain type='%s'>: the qemu plugin runs 'qemu' and 'kvm' domains",
                        d->type ? d->type : "");
    int have_mem = 0, have_os = 0;
    xmlNodePtr devs = NULL;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *cn = (const char *)c->name;
        int r = 0;
        if (c->ns && c->ns->href && strstr((const char *)c->ns->href, "qemu"))
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "<%s:%s> (QEMU pass-through) is not supported",
                            c->ns->prefix ? (const char *)c->ns->prefix : "", cn);
        if (!strcmp(cn, "name")) {
            d->name = qp_xml_text(c);
        } else if (!strcmp(cn, "uuid")) {
            d->uuid = qp_xml_text(c);
        } else if (!strcmp(cn, "memory")) {
            r = scale_kib(ctx, c, "memory", &d->memory_kib);
            have_mem = 1;
        } else if (!strcmp(cn, "vcpu")) {
            char *t = qp_xml_text(c), *end = NULL;
            long v = t ? strtol(t, &end, 10) : 0;
            if (!t || !*t || *end || v < 1 || v > 255)
                r = qp_error(ctx, SB_ERR_XML_ERROR, "<vcpu> must be 1..255, not '%s'",
                             t ? t : "");
            d->vcpus = (unsigned)v;
            free(t);
        } else if (!strcmp(cn, "os")) {
            xmlNodePtr t = qp_xml_child(c, "type");
            char *tt = qp_xml_text(t), *arch = qp_xml_prop(t, "arch");
            have_os = 1;
            d->machine = qp_xml_prop(t, "machine");
            if (!tt || strcmp(tt, "hvm"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "<os><type>%s</type>: only 'hvm'",
                             tt ? tt : "");
            else if (arch && strcmp(arch, "x86_64") && strcmp(arch, "i686"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "<os><type arch='%s'>: only x86",
                             arch);
            else if (d->machine && strncmp(d->machine, "pc", 2) && strncmp(d->machine, "q35", 3))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<os><type machine='%s'>: only pc and q35 machines", d->machine);
            for (xmlNodePtr o = c->children; o && !r; o = o->next)
                if (o->type == XML_ELEMENT_NODE && !qp_xml_is(o, "type") && !qp_xml_is(o, "boot") &&
                    !qp_xml_is(o, "bootmenu") && !qp_xml_is(o, "smbios"))
                    r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                 "<os><%s> is not supported (SeaBIOS boots the first disk)",
                                 (const char *)o->name);
            free(tt);
            free(arch);
        } else if (!strcmp(cn, "cpu")) {
            char *mode = qp_xml_prop(c, "mode");
            if (mode && strcmp(mode, "host-passthrough") && strcmp(mode, "host-model"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<cpu mode='%s'>: only host-passthrough and host-model", mode);
            else if (!mode && c->children)
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<cpu> with a custom model is not supported");
            free(mode);
        } else if (!strcmp(cn, "on_poweroff") || !strcmp(cn, "on_reboot")) {
            char *t = qp_xml_text(c);
            const char *want = !strcmp(cn, "on_poweroff") ? "destroy" : "restart";
            if (!t || strcmp(t, want))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "<%s>%s</%s>: only '%s'", cn,
                             t ? t : "", cn, want);
            free(t);
        } else if (!strcmp(cn, "devices")) {
            devs = c;
        } else if (!in_list(cn, harmless_top)) {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "domain element <%s> is not supported by the qemu plugin", cn);
        }
        if (r < 0)
            return r;
    }
    if (!d->name || !*d->name)
        return qp_error(ctx, SB_ERR_XML_ERROR, "domain has no <name>");
    if (!qp_valid_name(d->name) || strlen(d->name) > 64)
        return qp_error(ctx, SB_ERR_XML_ERROR,
                        "domain name '%s' is not usable (no '/', no leading '.', <= 64 bytes)",
                        d->name);
    if (!have_mem || d->memory_kib < 1024)
        return qp_error(ctx, SB_ERR_XML_ERROR, "domain needs <memory> of at least 1 MiB");
    if (!have_os)
        return qp_error(ctx, SB_ERR_XML_ERROR, "domain has no <os>");
    if (d->uuid && !valid_uuid(d->uuid))
        return qp_error(ctx, SB_ERR_XML_ERROR, "<uuid>%s</uuid> is not a UUID", d->uuid);
    if (!d->vcpus)
        d->vcpus = 1;
    if (devs)
        return parse_devices(ctx, devs, d);
    return 0;
}

static int dump_doc(qp_ctx *ctx, xmlDocPtr doc, char **out)
{
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    if (!mem)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    /* drop the XML declaration: the stored form is a bare <domain> */
    const char *s = (const char *)mem;
    if (!strncmp(s, "<?xml", 5)) {
        const char *e = strstr(s, "?>");
        if (e) {
            s = e + 2;
            while (*s == '\n')
                s++;
        }
    }
    *out = qp_strdup(s);
    xmlFree(mem);
    return *out ? 0 : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
}

/* What a parse made of a document, remembered per process by the
 * document's bytes.  An operation parses the live definition and the
 * <domain> of each snapshot it touches, each parse two of them (the
 * broker's hardened reader, then here): about 400 000 instructions for
 * the test guest's definition, a fifth of a snapshot delete's, for
 * documents that seldom change between two calls.  The result depends on
 * the bytes alone (and on which reader of the broker's is asked first:
 * its limits are compile-time constants), so a document seen before is
 * answered with a copy of what its parse made; refusals are not kept, a
 * refused document is parsed again for its message.  A few documents are
 * kept (the least recently used one goes), none larger than
 * PARSED_MAX_BYTES. */
#define PARSED_SLOTS 16
#define PARSED_MAX_BYTES (256 * 1024)

typedef int (*domain_view_fn)(sb_host *h, const char *xml, struct sb_domain_view **out);

typedef struct parsed_doc {
    uint64_t hash;
    size_t len;
    char *xml;     /* NULL: free slot */
    domain_view_fn gate; /* the broker's reader asked first, or NULL */
    qp_domain *d;
    uint64_t used;
} parsed_doc;

static struct {
    pthread_mutex_t lock;
    parsed_doc v[PARSED_SLOTS];
    uint64_t clock;
} parsed = {.lock = PTHREAD_MUTEX_INITIALIZER};

static qp_domain *domain_copy(const qp_domain *d);

static void parsed_free(parsed_doc *p)
{
    free(p->xml);
    qp_domain_free(p->d);
    memset(p, 0, sizeof *p);
}

/* A copy of what the parse of these bytes made, or NULL. */
static qp_domain *parsed_find(const char *xml, size_t len, uint64_t hash, domain_view_fn gate)
{
    qp_domain *d = NULL;
    pthread_mutex_lock(&parsed.lock);
    for (size_t i = 0; i < PARSED_SLOTS; i++) {
        parsed_doc *p = &parsed.v[i];
        if (p->xml && p->hash == hash && p->len == len && p->gate == gate &&
            !memcmp(p->xml, xml, len)) {
            d = domain_copy(p->d);
            p->used = ++parsed.clock;
            break;
        }
    }
    pthread_mutex_unlock(&parsed.lock);
    return d;
}

static void parsed_keep(const char *xml, size_t len, uint64_t hash, domain_view_fn gate,
                        const qp_domain *d)
{
    parsed_doc n = {.hash = hash, .len = len, .gate = gate};
    if (!(n.xml = malloc(len + 1)) || !(n.d = domain_copy(d))) {
        parsed_free(&n);
        return; /* best effort */
    }
    memcpy(n.xml, xml, len + 1);
    pthread_mutex_lock(&parsed.lock);
    parsed_doc *slot = &parsed.v[0];
    for (size_t i = 1; i < PARSED_SLOTS && slot->xml; i++)
        if (!parsed.v[i].xml || parsed.v[i].used < slot->used)
            slot = &parsed.v[i];
    parsed_free(slot);
    n.used = ++parsed.clock;
    *slot = n;
    pthread_mutex_unlock(&parsed.lock);
}

int qp_domain_parse(qp_ctx *ctx, const char *xml, qp_domain **out)
{
    size_t len = xml ? strlen(xml) : 0;
    domain_view_fn gate = ctx->api ? ctx->api->domain_view : NULL;
    bool keep = xml && len <= PARSED_MAX_BYTES;
    uint64_t hash = keep ? qp_hash64(xml, len) : 0;
    if (keep && (*out = parsed_find(xml, len, hash, gate)))
        return 0;
    xmlDocPtr doc = parse_doc(ctx, xml);
    if (!doc)
        return -ctx->err_code;
    qp_domain *d = calloc(1, sizeof *d);
    if (!d) {
        xmlFreeDoc(doc);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    copy_failed = 0;
    int r = parse_root(ctx, xmlDocGetRootElement(doc), d);
    if (copy_failed)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory reading the domain definition");
    if (r == 0)
        r = dump_doc(ctx, doc, &d->xml);
    xmlFreeDoc(doc);
    if (r < 0) {
        qp_domain_free(d);
        return r;
    }
    if (keep)
        parsed_keep(xml, len, hash, gate, d);
    *out = d;
    return 0;
}

const qp_disk *qp_domain_disk(const qp_domain *d, const char *target)
{
    for (size_t i = 0; i < d->ndisks; i++)
        if (!strcmp(d->disks[i].target, target))
            return &d->disks[i];
    return NULL;
}

char *qp_domain_path(qp_ctx *ctx, const char *name)
{
    return qp_printf("%s/domains/%s.xml", ctx->state_dir, name);
}

int qp_domain_read(qp_ctx *ctx, const char *name, char **out_xml)
{
    *out_xml = NULL;
    if (!qp_valid_name(name))
        return qp_error(ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", name ? name : "");
    char *path = qp_domain_path(ctx, name);
    if (!path)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (!qp_file_exists(path)) {
        free(path);
        return qp_error(ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", name);
    }
    int r = qp_read_file(ctx, path, out_xml, NULL);
    free(path);
    return r;
}

/* The definition of the domain whose lock this thread holds, parsed once
 * per locked call.  An active commit loaded and parsed it seven times
 * (a quarter of the plugin's instructions in the delete).  Kept only for
 * the locked domain: every writer of a definition (define, undefine, the
 * snapshot operations, the journal's recovery) holds that lock, so within
 * the call it changes only through this process, and qp_domain_store,
 * qp_domain_store_commit and qp_domain_undefine forget what was kept.
 * It is kept only while qp_holds_lock_of() the domain and every unlock
 * forgets it, so a kept one is always the locked domain's.  Callers get
 * a copy of their own (they may change it). */
static __thread qp_domain *memo;

void qp_domain_memo_forget(void)
{
    qp_domain_free(memo);
    memo = NULL;
}

/* Replace each non-NULL string by a copy of its own; 0 when one failed
 * (the others are copied all the same, so the struct can be freed). */
static int dup_strings(char **const *s, size_t n)
{
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        if (*s[i] && !(*s[i] = qp_strdup(*s[i])))
            ok = 0;
    return ok;
}

/* Every pointer qp_domain_free frees, duplicated. */
static qp_domain *domain_copy(const qp_domain *d)
{
    qp_domain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = *d;
    c->disks = NULL;
    c->nics = NULL;
    c->ndisks = c->nnics = 0;
    char **str[] = {&c->xml,     &c->name,       &c->uuid,       &c->type, &c->emulator,
                    &c->machine, &c->agent_path, &c->vnc_listen, &c->video};
    int ok = dup_strings(str, sizeof str / sizeof str[0]);
    if (ok && d->ndisks && !(c->disks = calloc(d->ndisks, sizeof *c->disks)))
        ok = 0;
    for (size_t i = 0; ok && i < d->ndisks; i++, c->ndisks++) {
        qp_disk *k = &c->disks[i];
        *k = d->disks[i];
        char **ks[] = {&k->target, &k->bus, &k->device, &k->type, &k->source, &k->format};
        ok = dup_strings(ks, sizeof ks / sizeof ks[0]);
    }
    if (ok && d->nnics && !(c->nics = calloc(d->nnics, sizeof *c->nics)))
        ok = 0;
    for (size_t i = 0; ok && i < d->nnics; i++, c->nnics++) {
        qp_nic *n = &c->nics[i];
        *n = d->nics[i];
        char **ns[] = {&n->type, &n->model, &n->mac, &n->bridge, &n->ifname};
        ok = dup_strings(ns, sizeof ns / sizeof ns[0]);
    }
    if (!ok) {
        qp_domain_free(c);
        return NULL;
    }
    return c;
}

int qp_domain_load(qp_ctx *ctx, const char *name, qp_domain **out)
{
    *out = NULL;
    int locked = qp_valid_name(name) && qp_holds_lock_of(ctx, name);
    if (locked && memo) {
        *out = domain_copy(memo);
        return *out ? 0 : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    char *xml = NULL;
    int r = qp_domain_read(ctx, name, &xml);
    if (r == 0)
        r = qp_domain_parse(ctx, xml, out);
    free(xml);
    if (r == 0 && locked) {
        qp_domain_memo_forget();
        memo = domain_copy(*out); /* NULL (no memory): read again next time */
    }
    return r;
}

static int gen_uuid(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return 0;
}

/* TEST ONLY: the injected store failure (qp.h, test_fail_store). */
static int injected_store_failure(qp_ctx *ctx, const char *name)
{
    if (!ctx->test_fail_store || !ctx->store_fail_armed)
        return 0;
    ctx->store_fail_armed = 0;
    return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOSPC,
                          "cannot write the definition of domain '%s' (test_fail_store_after_qmp)",
                          name);
}

int qp_domain_store_prepare(qp_ctx *ctx, const char *name, const char *xml, qp_pending_def *p)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    char *dir = qp_printf("%s/domains", ctx->state_dir);
    char *path = qp_domain_path(ctx, name);
    p->tmp = path ? qp_printf("%s.pending.%ld", path, (long)getpid()) : NULL;
    p->name = qp_strdup(name);
    p->xml = qp_strdup(xml);
    int r = 0, e;
    if (!dir || !p->tmp || !p->name || !p->xml)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    else if ((r = qp_mkdir_p(dir, 0700)) < 0)
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot create '%s'", dir);
    else if ((p->fd = qp_create_excl(p->tmp, 0600)) < 0)
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -p->fd, "cannot create '%s'", p->tmp);
    else if ((e = qp_write_all(p->fd, xml, strlen(xml))) < 0)
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -e, "cannot write '%s'", path);
    free(dir);
    free(path);
    if (r < 0)
        qp_domain_store_drop(p);
    return r;
}

void qp_domain_store_sync(void *pending_def)
{
    qp_pending_def *p = pending_def;
    if (p->fd < 0)
        return;
    if (fsync(p->fd) < 0)
        p->sync_errno = errno;
    if (close(p->fd) < 0 && !p->sync_errno)
        p->sync_errno = errno;
    p->fd = -1;
}

void qp_domain_store_drop(qp_pending_def *p)
{
    if (p->fd >= 0)
        close(p->fd);
    if (p->tmp)
        unlink(p->tmp);
    free(p->tmp);
    free(p->name);
    free(p->xml);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

int qp_domain_store_commit(qp_ctx *ctx, qp_pending_def *p)
{
    qp_domain_memo_forget();
    char *path = qp_domain_path(ctx, p->name);
    int r = injected_store_failure(ctx, p->name);
    qp_domain_store_sync(p); /* nothing when it ran while QEMU worked */
    if (r == 0 && !path)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r == 0 && p->sync_errno)
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, p->sync_errno, "cannot sync '%s'", path);
    if (r == 0 && rename(p->tmp, path) < 0)
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot rename to '%s'", path);
    if (r == 0) {
        (void)qp_fsync_dir_of(path);
        free(p->tmp);
        p->tmp = NULL; /* renamed: nothing for drop to remove */
    }
    qp_domain_store_drop(p);
    free(path);
    return r;
}

int qp_domain_store(qp_ctx *ctx, const char *name, const char *xml)
{
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    qp_pending_def *p = ctx->pending_def;
    if (p && p->tmp) {
        if (!strcmp(p->name, name) && !strcmp(p->xml, xml))
            return qp_domain_store_commit(ctx, p);
        qp_domain_store_drop(p); /* written ahead for another outcome */
    }
    if (qp_holds_lock_of(ctx, name)) /* the log's writers hold the lock */
        qp_used_note_dropped(ctx, name, xml);
    qp_domain_memo_forget();
    int inj = injected_store_failure(ctx, name);
    if (inj < 0)
        return inj;
    char *dir = qp_printf("%s/domains", ctx->state_dir);
    char *path = qp_domain_path(ctx, name);
    int r;
    if (!dir || !path) {
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    } else if ((r = qp_mkdir_p(dir, 0700)) < 0) {
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot create '%s'", dir);
    } else {
        r = qp_write_file_atomic(ctx, path, xml, strlen(xml));
    }
    free(dir);
    free(path);
    return r;
}

int qp_domain_define(qp_ctx *ctx, const char *xml, char **out_name)
{
    qp_domain *d = NULL;
    int r = qp_domain_parse(ctx, xml, &d);
    if (r < 0)
        return r;
    qp_domain *old = NULL;
    char *path = qp_domain_path(ctx, d->name);
    if (path && qp_file_exists(path)) {
        r = qp_domain_load(ctx, d->name, &old);
        if (r < 0)
            goto out;
    }
    if (old && d->uuid && old->uuid && strcasecmp(old->uuid, d->uuid)) {
        r = qp_error(ctx, SB_ERR_OPERATION_FAILED,
                     "domain '%s' already exists with uuid %s", d->name, old->uuid);
        goto out;
    }
    if (old) {
        pid_t pid = 0;
        r = qp_proc_pid(ctx, d->name, &pid);
        if (r < 0)
            goto out;
        if (pid > 0) {
            r = qp_error(ctx, SB_ERR_OPERATION_INVALID,
                         "domain '%s' is running; redefine it after destroy or shutdown",
                         d->name);
            goto out;
        }
    }
    /* what libvirt adds at define: a uuid (kept from the old definition),
     * MACs, the SCSI controllers the disks need (devices.c) */
    char *final_xml = NULL, u[37] = "";
    if (!d->uuid && old && old->uuid)
        snprintf(u, sizeof u, "%s", old->uuid);
    else if (!d->uuid && gen_uuid(u) < 0) {
        r = qp_error(ctx, SB_ERR_SYSTEM_ERROR, "cannot read /dev/urandom for a uuid");
        goto out;
    }
    xmlDocPtr doc = parse_doc(ctx, d->xml);
    if (!doc) {
        r = -ctx->err_code;
        goto out;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (u[0]) {
        xmlNodePtr un = xmlNewNode(NULL, (const xmlChar *)"uuid");
        xmlNodeSetContent(un, (const xmlChar *)u);
        xmlAddNextSibling(qp_xml_child(root, "name"), un);
    }
    r = qp_dev_complete(ctx, root, d);
    if (r == 0)
        r = dump_doc(ctx, doc, &final_xml);
    xmlFreeDoc(doc);
    if (r < 0)
        goto out;
    r = qp_domain_store(ctx, d->name, final_xml);
    free(final_xml);
    if (r == 0 && out_name)
        *out_name = qp_strdup(d->name);
out:
    free(path);
    qp_domain_free(old);
    qp_domain_free(d);
    return r;
}

int qp_domain_undefine(qp_ctx *ctx, const char *name)
{
    qp_domain *d = NULL;
    int r = qp_domain_load(ctx, name, &d);
    if (r < 0)
        return r;
    qp_domain_free(d);
    pid_t pid = 0;
    r = qp_proc_pid(ctx, name, &pid);
    if (r < 0)
        return r;
    if (pid > 0)
        return qp_error(ctx, SB_ERR_OPERATION_INVALID,
                        "domain '%s' is running; destroy it before undefining it", name);
    qp_domain_memo_forget();
    char *path = qp_domain_path(ctx, name);
    if (unlink(path) < 0) {
        int e = errno;
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot remove '%s'", path);
    }
    free(path);
    if (r == 0) {
        qp_ours_drop(ctx, name);
        qp_refs_file_remove(ctx, name);
    }
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int qp_domain_list(qp_ctx *ctx, qp_strv *out)
{
    char *dir = qp_printf("%s/domains", ctx->state_dir);
    DIR *dp = dir ? opendir(dir) : NULL;
    free(dir);
    if (!dp)
        return 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".xml"))
            continue;
        if (qp_strv_addf(out, "%.*s", (int)(l - 4), de->d_name) < 0) {
            closedir(dp);
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
    }
    closedir(dp);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return 0;
}

char *qp_domain_xml_set_disk(const char *xml, const char *target, const char *source,
                             const char *format)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOERROR);
    if (!doc)
        return NULL;
    xmlNodePtr devs = qp_xml_child(xmlDocGetRootElement(doc), "devices");
    int found = 0;
    for (xmlNodePtr c = devs ? devs->children : NULL; c; c = c->next) {
        if (!qp_xml_is(c, "disk"))
            continue;
        char *dev = qp_xml_prop(qp_xml_child(c, "target"), "dev");
        int match = dev && !strcmp(dev, target);
        free(dev);
        if (!match)
            continue;
        found = 1;
        char *type = qp_xml_prop(c, "type");
        const char *attr = type && !strcmp(type, "block") ? "dev" : "file";
        free(type);
        if (source) {
            xmlNodePtr s = qp_xml_child(c, "source");
            if (!s)
                s = xmlNewChild(c, NULL, (const xmlChar *)"source", NULL);
            xmlSetProp(s, (const xmlChar *)attr, (const xmlChar *)source);
            xmlNodePtr bs = qp_xml_child(c, "backingStore");
            if (bs) { /* stale: the image header is the truth */
                xmlUnlinkNode(bs);
                xmlFreeNode(bs);
            }
        }
        if (format) {
            xmlNodePtr dr = qp_xml_child(c, "driver");
            if (!dr) {
                dr = xmlNewNode(NULL, (const xmlChar *)"driver");
                if (c->children)
                    xmlAddPrevSibling(c->children, dr);
                else
                    xmlAddChild(c, dr);
                xmlSetProp(dr, (const xmlChar *)"name", (const xmlChar *)"qemu");
            }
            xmlSetProp(dr, (const xmlChar *)"type", (const xmlChar *)format);
        }
    }
    char *out = NULL;
    if (found) {
        qp_ctx tmp;
        memset(&tmp, 0, sizeof tmp);
        if (dump_doc(&tmp, doc, &out) < 0)
            out = NULL;
    }
    xmlFreeDoc(doc);
    return out;
}

char *qp_domain_xml_set_name(const char *xml, const char *name)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOERROR);
    if (!doc)
        return NULL;
    xmlNodePtr nm = qp_xml_child(xmlDocGetRootElement(doc), "name");
    if (nm)
        xmlNodeSetContent(nm, (const xmlChar *)name);
    char *out = NULL;
    qp_ctx tmp;
    memset(&tmp, 0, sizeof tmp);
    if (dump_doc(&tmp, doc, &out) < 0)
        out = NULL;
    xmlFreeDoc(doc);
    return out;
}
