/* qemu plugin - the devices of a typical server VM beyond its disks:
 * NICs (<interface> user, bridge, ethernet; models virtio, e1000 and
 * rtl8139, libvirt's default), one VNC display (<graphics>, <video>),
 * virtio-scsi controllers and where SCSI disks sit on them.
 *
 * As in domain.c, every element is honoured, accepted as harmless, or
 * refused with CONFIG_UNSUPPORTED naming it; here attributes are checked
 * too where ignoring one would change what the guest or the host gets (a
 * VNC password, a NIC's vhost driver).  Defaults are libvirt 9.0's, so the
 * same XML gives the same machine under libvirt (tests/qemu/test_qemu_devices.c
 * compares the command lines). */
#include "devices.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QP_MAX_SCSI_CTLS 32

static int one_of(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* Attributes outside `allowed` are refused by name (never by value: a
 * VNC passwd must not end up in an error message or a log). */
static int only_attrs(qp_ctx *ctx, xmlNodePtr n, const char *what, const char *const *allowed)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (!one_of((const char *)a->name, allowed))
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "<%s %s=...> is not supported by the qemu plugin", what,
                            (const char *)a->name);
    return 0;
}

/* An unsigned attribute (base 0, as libvirt reads addresses); absent:
 * dflt.  Above max: XML_ERROR naming it. */
static int uint_attr(qp_ctx *ctx, xmlNodePtr n, const char *what, const char *attr,
                     unsigned long max, unsigned long dflt, unsigned long *out)
{
    char *v = qp_xml_prop(n, attr), *end = NULL;
    int r = 0;
    *out = dflt;
    if (v) {
        unsigned long x = strtoul(v, &end, 0);
        if (!*v || *end || v[0] == '-' || x > max)
            r = qp_error(ctx, SB_ERR_XML_ERROR, "<%s %s='%s'>: expected a number up to %lu",
                         what, attr, v, max);
        *out = x;
    }
    free(v);
    return r;
}

/* A Linux network interface name the kernel takes (dev_valid_name) and
 * that cannot be a template ('%d'). */
static int valid_ifname(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

static int valid_mac(const char *m)
{
    if (!m || strlen(m) != 17)
        return 0;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? m[i] != ':' : hexval(m[i]) < 0)
            return 0;
    return 1;
}

static int nic_child(qp_ctx *ctx, xmlNodePtr c, qp_nic *k, size_t i)
{
    const char *cn = (const char *)c->name;
    int r = 0;
    if (!strcmp(cn, "mac")) {
        free(k->mac);
        k->mac = qp_xml_prop(c, "address");
        if (!valid_mac(k->mac))
            r = qp_error(ctx, SB_ERR_XML_ERROR, "interface net%zu: unable to parse mac address '%s'",
                         i, k->mac ? k->mac : "");
        else if (hexval(k->mac[1]) & 1) /* libvirt's rule and message */
            r = qp_error(ctx, SB_ERR_XML_ERROR,
                         "interface net%zu: expected unicast mac address, found multicast '%s'", i,
                         k->mac);
    } else if (!strcmp(cn, "model")) {
        static const char *const models[] = {"virtio", "e1000", "rtl8139", NULL};
        free(k->model);
        k->model = qp_xml_prop(c, "type");
        if (!one_of(k->model, models))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "interface net%zu: <model type='%s'> is not supported (virtio, e1000, "
                         "rtl8139)", i, k->model ? k->model : "");
    } else if (!strcmp(cn, "source") && !strcmp(k->type, "bridge")) {
        static const char *const attrs[] = {"bridge", NULL};
        if ((r = only_attrs(ctx, c, "interface><source", attrs)) == 0) {
            free(k->bridge);
            k->bridge = qp_xml_prop(c, "bridge");
            if (!valid_ifname(k->bridge))
                r = qp_error(ctx, SB_ERR_XML_ERROR,
                             "interface net%zu: <source bridge='%s'> is not an interface name", i,
                             k->bridge ? k->bridge : "");
        }
    } else if (!strcmp(cn, "target") && strcmp(k->type, "user")) {
        static const char *const attrs[] = {"dev", "managed", NULL};
        char *managed = qp_xml_prop(c, "managed");
        if ((r = only_attrs(ctx, c, "interface><target", attrs)) == 0) {
            free(k->ifname);
            k->ifname = qp_xml_prop(c, "dev");
            if (k->ifname && !valid_ifname(k->ifname))
                r = qp_error(ctx, SB_ERR_XML_ERROR,
                             "interface net%zu: <target dev='%s'> is not an interface name", i,
                             k->ifname);
            else if (managed && strcmp(managed, "yes") && strcmp(managed, "no"))
                r = qp_error(ctx, SB_ERR_XML_ERROR,
                             "interface net%zu: <target managed='%s'>: yes or no", i, managed);
            else if (managed && !strcmp(managed, "no") && strcmp(k->type, "ethernet"))
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "interface net%zu: managed='no' is for type='ethernet' only", i);
            k->unmanaged = managed && !strcmp(managed, "no");
        }
        free(managed);
    } else if (!strcmp(cn, "alias") || !strcmp(cn, "address")) {
        /* accepted: ids and PCI slots are chosen by the plugin */
    } else {
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "interface net%zu (type '%s'): child element <%s> is not supported by the "
                     "qemu plugin", i, k->type, cn);
    }
    return r;
}

int qp_dev_interface(qp_ctx *ctx, xmlNodePtr n, qp_domain *d)
{
    size_t i = d->nnics;
    if (i >= QP_MAX_NICS)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "at most %d <interface> devices",
                        QP_MAX_NICS);
    qp_nic *grown = realloc(d->nics, (i + 1) * sizeof *grown);
    if (!grown)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    d->nics = grown;
    qp_nic *k = &d->nics[d->nnics++];
    memset(k, 0, sizeof *k);
    k->type = qp_xml_prop(n, "type");
    static const char *const types[] = {"user", "bridge", "ethernet", NULL};
    if (!k->type)
        return qp_error(ctx, SB_ERR_XML_ERROR, "interface net%zu: missing type", i);
    if (!strcmp(k->type, "network"))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "interface net%zu: <interface type='network'> needs libvirt's virtual "
                        "networks (libvirtd): use type='bridge' with that network's bridge, or "
                        "type='user'", i);
    if (!one_of(k->type, types))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "interface net%zu: <interface type='%s'> is not supported (user, bridge, "
                        "ethernet)", i, k->type);
    static const char *const attrs[] = {"type", NULL};
    int r = only_attrs(ctx, n, "interface", attrs);
    for (xmlNodePtr c = n->children; c && r == 0; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            r = nic_child(ctx, c, k, i);
    if (r < 0)
        return r;
    if (!strcmp(k->type, "bridge") && !k->bridge)
        return qp_error(ctx, SB_ERR_XML_ERROR,
                        "interface net%zu: type='bridge' needs <source bridge='...'/>", i);
    if (k->unmanaged && !k->ifname)
        return qp_error(ctx, SB_ERR_XML_ERROR,
                        "interface net%zu: managed='no' needs <target dev='...'/>", i);
    for (size_t j = 0; j < i; j++)
        if (k->ifname && d->nics[j].ifname && !strcmp(k->ifname, d->nics[j].ifname))
            return qp_error(ctx, SB_ERR_XML_ERROR,
                            "interfaces net%zu and net%zu use the same tap '%s'", j, i, k->ifname);
    if (!k->model && !(k->model = qp_strdup("rtl8139"))) /* libvirt's default */
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

/* An address QEMU's -vnc takes as is: an IPv4/IPv6 literal or a host
 * name (no ',' or option syntax). */
static int valid_listen(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == ':' || *s == '-'))
            return 0;
    return 1;
}

int qp_dev_graphics(qp_ctx *ctx, xmlNodePtr n, qp_domain *d)
{
    static const char *const attrs[] = {"type", "port", "autoport", "listen", NULL};
    char *type = qp_xml_prop(n, "type"), *port = NULL, *autoport = NULL, *listen = NULL;
    int r = 0;
    if (!type || strcmp(type, "vnc"))
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "<graphics type='%s'>: only VNC is supported by the qemu plugin",
                     type ? type : "");
    else if (d->vnc)
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "only one <graphics> is supported");
    else
        r = only_attrs(ctx, n, "graphics", attrs);
    if (r < 0)
        goto out;
    port = qp_xml_prop(n, "port");
    autoport = qp_xml_prop(n, "autoport");
    listen = qp_xml_prop(n, "listen");
    for (xmlNodePtr c = n->children; c && r == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!qp_xml_is(c, "listen")) {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "<graphics> child element <%s> is not supported by the qemu plugin",
                         (const char *)c->name);
            break;
        }
        char *lt = qp_xml_prop(c, "type"), *la = qp_xml_prop(c, "address");
        if (!lt || strcmp(lt, "address"))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "<graphics><listen type='%s'>: only type='address' is supported",
                         lt ? lt : "");
        else if (listen && la && strcmp(listen, la)) /* libvirt's rule */
            r = qp_error(ctx, SB_ERR_XML_ERROR,
                         "graphics 'listen' attribute '%s' must match 'address' attribute of "
                         "first listen element (found '%s')", listen, la);
        else if (!listen && la)
            listen = qp_strdup(la);
        free(lt);
        free(la);
    }
    if (r < 0)
        goto out;
    if (listen && !valid_listen(listen)) {
        r = qp_error(ctx, SB_ERR_XML_ERROR, "<graphics listen='%s'>: not an address", listen);
        goto out;
    }
    if (autoport && strcmp(autoport, "yes") && strcmp(autoport, "no")) {
        r = qp_error(ctx, SB_ERR_XML_ERROR, "<graphics autoport='%s'>: yes or no", autoport);
        goto out;
    }
    d->vnc_port = -1;
    if (port && strcmp(port, "-1") && !(autoport && !strcmp(autoport, "yes"))) {
        char *end = NULL;
        long p = strtol(port, &end, 10);
        if (!*port || *end || p < 5900 || p > 65535) {
            r = qp_error(ctx, SB_ERR_XML_ERROR,
                         "<graphics port='%s'>: a VNC port is 5900..65535, or -1 (autoport)",
                         port);
            goto out;
        }
        d->vnc_port = (int)p;
    }
    d->vnc = 1;
    d->vnc_listen = listen ? listen : qp_strdup("127.0.0.1"); /* libvirt's vnc_listen */
    listen = NULL;
    if (!d->vnc_listen)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
out:
    free(type);
    free(port);
    free(autoport);
    free(listen);
    return r;
}

int qp_dev_video(qp_ctx *ctx, xmlNodePtr n, qp_domain *d)
{
    static const char *const models[] = {"vga", "cirrus", "virtio", "none", NULL};
    /* sizes and heads: QEMU's defaults for the model are used */
    static const char *const mattrs[] = {"type", "vram", "heads", "primary", "ram", "vgamem",
                                         NULL};
    if (d->video)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "only one <video> is supported");
    char *type = NULL;
    int r = 0;
    for (xmlNodePtr c = n->children; c && r == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || qp_xml_is(c, "address") || qp_xml_is(c, "alias"))
            continue;
        if (!qp_xml_is(c, "model")) {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "<video> child element <%s> is not supported by the qemu plugin",
                         (const char *)c->name);
        } else if ((r = only_attrs(ctx, c, "video><model", mattrs)) == 0) {
            if (c->children && c->children->type == XML_ELEMENT_NODE)
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "<video><model> child element <%s> is not supported",
                             (const char *)c->children->name);
            free(type);
            type = qp_xml_prop(c, "type");
        }
    }
    if (r == 0 && type && !one_of(type, models))
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "<video><model type='%s'> is not supported (vga, cirrus, virtio, none)",
                     type);
    if (r == 0 && !(d->video = type ? type : qp_strdup("cirrus"))) /* libvirt's default */
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r < 0)
        free(type);
    return r;
}

/* Controllers declared in the XML (bit per index), for qp_dev_complete. */
static int scsi_index(qp_ctx *ctx, xmlNodePtr n, unsigned *out)
{
    unsigned long idx;
    int r = uint_attr(ctx, n, "controller type='scsi'", "index", 0xffffffffUL, 0, &idx);
    if (r == 0 && idx >= QP_MAX_SCSI_CTLS)
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "<controller type='scsi' index='%lu'>: at most %d SCSI controllers (index "
                     "0..%d)", idx, QP_MAX_SCSI_CTLS, QP_MAX_SCSI_CTLS - 1);
    *out = (unsigned)idx;
    return r;
}

int qp_dev_scsi_controller(qp_ctx *ctx, xmlNodePtr n, qp_domain *d)
{
    static const char *const attrs[] = {"type", "index", "model", NULL};
    unsigned idx = 0;
    int r = only_attrs(ctx, n, "controller type='scsi'", attrs);
    if (r == 0)
        r = scsi_index(ctx, n, &idx);
    if (r < 0)
        return r;
    char *model = qp_xml_prop(n, "model");
    if (model && strcmp(model, "virtio-scsi"))
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "<controller type='scsi' model='%s'>: only virtio-scsi is supported", model);
    else if (d->scsi_ctls & (1u << idx))
        r = qp_error(ctx, SB_ERR_XML_ERROR, "<controller type='scsi' index='%u'> appears twice",
                     idx);
    free(model);
    for (xmlNodePtr c = n->children; c && r == 0; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !qp_xml_is(c, "address") && !qp_xml_is(c, "alias"))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "<controller type='scsi'> child element <%s> is not supported by the "
                         "qemu plugin", (const char *)c->name);
    if (r == 0)
        d->scsi_ctls |= 1u << idx;
    return r;
}

/* libvirt's virDiskNameToIndex: the letters after the prefix, base 26
 * ("a" 0, "z" 25, "aa" 26).  -1 when the name has no such letters. */
static long disk_index(const char *target)
{
    static const char *const pfx[] = {"xvd", "ubd", "fd", "hd", "vd", "sd", NULL};
    const char *p = NULL;
    for (size_t i = 0; pfx[i] && !p; i++)
        if (!strncmp(target, pfx[i], strlen(pfx[i])))
            p = target + strlen(pfx[i]);
    if (!p || !*p)
        return -1;
    long idx = 0;
    for (int i = 0; *p; i++, p++) {
        if (*p < 'a' || *p > 'z' || idx > 1000000)
            return -1;
        idx = (idx + (i < 1 ? 0 : 1)) * 26 + (*p - 'a');
    }
    return idx;
}

int qp_dev_scsi_address(qp_ctx *ctx, xmlNodePtr disk, qp_disk *k)
{
    xmlNodePtr a = qp_xml_child(disk, "address");
    if (!a) { /* libvirt assigns 7 units per controller, whatever its model */
        long idx = disk_index(k->target);
        if (idx < 0)
            return qp_error(ctx, SB_ERR_XML_ERROR,
                            "disk '%s': cannot place a SCSI disk of that name; use sda, sdb, ... "
                            "or an <address type='drive'>", k->target);
        if (idx / 7 >= QP_MAX_SCSI_CTLS)
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "disk '%s': it would be on SCSI controller %ld (at most %d)",
                            k->target, idx / 7, QP_MAX_SCSI_CTLS);
        k->scsi_ctl = (unsigned)(idx / 7);
        k->scsi_target = 0;
        k->scsi_unit = (unsigned)(idx % 7);
        return 0;
    }
    char *type = qp_xml_prop(a, "type");
    int r = 0;
    unsigned long ctl = 0, bus = 0, tgt = 0, unit = 0;
    if (!type || strcmp(type, "drive"))
        r = qp_error(ctx, SB_ERR_XML_ERROR, "disk '%s': a SCSI disk's <address> is type='drive'",
                     k->target);
    else if (!(r = uint_attr(ctx, a, "address", "controller", QP_MAX_SCSI_CTLS - 1, 0, &ctl)) &&
             !(r = uint_attr(ctx, a, "address", "bus", 0, 0, &bus)) &&
             !(r = uint_attr(ctx, a, "address", "target", 255, 0, &tgt)))
        r = uint_attr(ctx, a, "address", "unit", 16383, 0, &unit);
    free(type);
    k->scsi_ctl = (unsigned)ctl;
    k->scsi_target = (unsigned)tgt;
    k->scsi_unit = (unsigned)unit;
    return r;
}

int qp_dev_finish(qp_ctx *ctx, qp_domain *d)
{
    for (size_t i = 0; i < d->ndisks; i++) {
        const qp_disk *k = &d->disks[i];
        if (strcmp(k->bus, "scsi"))
            continue;
        for (size_t j = 0; j < i; j++) {
            const qp_disk *o = &d->disks[j];
            if (!strcmp(o->bus, "scsi") && o->scsi_ctl == k->scsi_ctl &&
                o->scsi_target == k->scsi_target && o->scsi_unit == k->scsi_unit)
                return qp_error(ctx, SB_ERR_XML_ERROR,
                                "disks '%s' and '%s' have the same SCSI address (controller %u, "
                                "target %u, unit %u)", o->target, k->target, k->scsi_ctl,
                                k->scsi_target, k->scsi_unit);
        }
        d->scsi_ctls |= 1u << k->scsi_ctl; /* implied, as in libvirt */
    }
    if (d->vnc && !d->video && !(d->video = qp_strdup("cirrus"))) /* libvirt adds one */
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

/* 52:54:00 (QEMU's prefix, as libvirt) + 3 random bytes, none of the
 * domain's other MACs. */
static int gen_mac(const qp_domain *d, char out[18])
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned char b[3];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
        if (fd >= 0)
            close(fd);
        if (n != (ssize_t)sizeof b)
            return -1;
        snprintf(out, 18, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
        int dup = 0;
        for (size_t i = 0; i < d->nnics; i++)
            dup |= d->nics[i].mac && !strcasecmp(d->nics[i].mac, out);
        if (!dup)
            return 0;
    }
    return -1;
}

int qp_dev_complete(qp_ctx *ctx, xmlNodePtr root, const qp_domain *d)
{
    xmlNodePtr devs = qp_xml_child(root, "devices"), last_ctl_or_disk = NULL;
    unsigned declared = 0;
    for (xmlNodePtr c = devs ? devs->children : NULL; c; c = c->next) {
        if (qp_xml_is(c, "disk") || qp_xml_is(c, "controller"))
            last_ctl_or_disk = c;
        if (qp_xml_is(c, "interface") && !qp_xml_child(c, "mac")) {
            char mac[18];
            if (gen_mac(d, mac) < 0)
                return qp_error(ctx, SB_ERR_SYSTEM_ERROR,
                                "cannot read /dev/urandom for a MAC address");
            xmlNodePtr m = xmlNewNode(NULL, (const xmlChar *)"mac");
            xmlSetProp(m, (const xmlChar *)"address", (const xmlChar *)mac);
            if (c->children)
                xmlAddPrevSibling(c->children, m);
            else
                xmlAddChild(c, m);
        }
        char *type = qp_xml_is(c, "controller") ? qp_xml_prop(c, "type") : NULL;
        if (type && !strcmp(type, "scsi")) {
            unsigned idx = 0;
            (void)scsi_index(ctx, c, &idx); /* checked by the parse */
            declared |= 1u << idx;
            if (!xmlHasProp(c, (const xmlChar *)"model"))
                xmlSetProp(c, (const xmlChar *)"model", (const xmlChar *)"virtio-scsi");
        }
        free(type);
    }
    for (unsigned i = QP_MAX_SCSI_CTLS; i-- > 0;) {
        if (!(d->scsi_ctls & ~declared & (1u << i)))
            continue;
        char ix[16];
        snprintf(ix, sizeof ix, "%u", i);
        xmlNodePtr n = xmlNewNode(NULL, (const xmlChar *)"controller");
        xmlSetProp(n, (const xmlChar *)"type", (const xmlChar *)"scsi");
        xmlSetProp(n, (const xmlChar *)"index", (const xmlChar *)ix);
        xmlSetProp(n, (const xmlChar *)"model", (const xmlChar *)"virtio-scsi");
        /* after the disks, lowest index first (the loop runs downwards) */
        if (last_ctl_or_disk)
            xmlAddNextSibling(last_ctl_or_disk, n);
        else
            xmlAddChild(devs, n);
    }
    return 0;
}
