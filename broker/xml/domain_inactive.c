/* The live-only parts of a domain definition (xml_util.h).
 *
 * libvirt keeps a snapshot's <domain> (and <inactiveDomain>) as an
 * inactive definition: it parses and formats it with its INACTIVE flags,
 * which drop what only describes one run of the guest.  snapbroker keeps
 * the domain XML as given, so it removes the same parts itself; checked
 * against libvirt 9.0 by tests/xml/test_inactive.c:
 *   - <domain id='N'>;
 *   - a device <alias name='...'> unless it is a user alias ("ua-...");
 *   - an interface's <target dev='...'> with a name libvirt generates
 *     (vnet, macvtap, macvlan, vif prefixes);
 *   - for a pty character device (serial, console, parallel, channel):
 *     its tty='...' and <source path='...'>;
 *   - in a dynamic <seclabel>: <label> and <imagelabel>. */
#include "xml/xml_util.h"

#include <string.h>

static bool attr_is(const xmlNode *n, const char *name, const char *value)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    bool same = v && strcmp((const char *)v, value) == 0;
    xmlFree(v);
    return same;
}

static bool attr_has_prefix(const xmlNode *n, const char *name, const char *const *prefixes)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    bool match = false;
    for (; v && *prefixes && !match; prefixes++)
        match = strncmp((const char *)v, *prefixes, strlen(*prefixes)) == 0;
    xmlFree(v);
    return match;
}

static void drop(xmlNode *n)
{
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

static bool is_chardev(const xmlNode *n)
{
    static const char *const names[] = {"serial", "console", "parallel", "channel", NULL};
    for (const char *const *p = names; *p; p++)
        if (sb_xml_is(n, *p))
            return true;
    return false;
}

/* One device element (a child of <devices>). */
static void strip_device(xmlNode *dev)
{
    static const char *const generated[] = {"vnet", "macvtap", "macvlan", "vif", NULL};
    bool pty = is_chardev(dev) && attr_is(dev, "type", "pty");

    if (pty)
        xmlUnsetProp(dev, (const xmlChar *)"tty");
    for (xmlNode *c = dev->children, *next; c; c = next) {
        next = c->next;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (sb_xml_is(c, "alias") &&
            !attr_has_prefix(c, "name", (const char *const[]){"ua-", NULL}))
            drop(c);
        else if (sb_xml_is(dev, "interface") && sb_xml_is(c, "target") &&
                 attr_has_prefix(c, "dev", generated)) {
            xmlUnsetProp(c, (const xmlChar *)"dev");
            if (!c->properties && !sb_xml_next_element(c->children))
                drop(c);
        } else if (pty && sb_xml_is(c, "source")) {
            xmlUnsetProp(c, (const xmlChar *)"path");
            if (!c->properties && !sb_xml_next_element(c->children))
                drop(c);
        }
    }
}

static void strip_seclabel(xmlNode *sec)
{
    if (!attr_is(sec, "type", "dynamic"))
        return;
    for (xmlNode *c = sec->children, *next; c; c = next) {
        next = c->next;
        if (sb_xml_is(c, "label") || sb_xml_is(c, "imagelabel"))
            drop(c);
    }
}

void sb_xml_strip_live_only(xmlNode *domain)
{
    if (!domain)
        return;
    xmlUnsetProp(domain, (const xmlChar *)"id");
    for (xmlNode *c = domain->children; c; c = c->next) {
        if (sb_xml_is(c, "seclabel"))
            strip_seclabel(c);
        else if (sb_xml_is(c, "devices"))
            for (xmlNode *d = c->children; d; d = d->next)
                if (d->type == XML_ELEMENT_NODE)
                    strip_device(d);
    }
}
