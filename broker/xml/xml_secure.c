/* What "security-sensitive" means when an embedded domain is printed
 * without SB_SNAP_FORMAT_SECURE (libvirt's VIR_DOMAIN_XML_SECURE).
 *
 * libvirt itself only hides graphics passwd= and a few driver-specific
 * fields; the broker passes domain XML through verbatim and cannot know
 * every driver's secret-bearing field, so it uses a name-based rule that
 * errs on the side of hiding:
 *   - attributes passwd, password, passphrase on any element
 *     (<graphics passwd=...>, vnc/spice, iSCSI/RBD passwords of drivers);
 *   - elements <secret> (the secret usage/uuid references under <auth> and
 *     <encryption>: they tell which host secret unlocks a disk),
 *     <key> and <passphrase> (inline key material of any driver).
 * The stripping applies to <domain> and <inactiveDomain> only; the broker's
 * own metadata files are always written with SECURE. */
#include "xml/xml_util.h"

#include <string.h>

static bool name_in(const xmlChar *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp((const char *)name, *list) == 0)
            return true;
    return false;
}

bool sb_xml_secret_element(const xmlNode *node)
{
    static const char *const names[] = {"secret", "key", "passphrase", NULL};
    return node->type == XML_ELEMENT_NODE && name_in(node->name, names);
}

bool sb_xml_secret_attr(const xmlNode *element, const xmlAttr *attr)
{
    static const char *const names[] = {"passwd", "password", "passphrase", NULL};
    (void)element;
    return name_in(attr->name, names);
}
