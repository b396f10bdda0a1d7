/* Pieces the snapshot callbacks share. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>

int esx_snap_lookup(esx_conn *c, const esx_vm *vm, const char *domain, const char *name,
                    long *idx)
{
    long i = esx_tree_find(&vm->tree, name);
    if (i == -2)
        return esx_error(c, SB_ERR_INVALID_ARG,
                         "esx: domain '%s' has more than one snapshot named '%s' (vSphere "
                         "allows that; snapbroker cannot tell them apart: rename one in "
                         "vSphere)",
                         domain, name);
    if (i < 0)
        return esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                         "esx: no domain snapshot with matching name '%s' in domain '%s'", name,
                         domain);
    *idx = i;
    return 0;
}

/* Only the name is needed (the tree is vSphere's): a streaming read
 * stops at <name>, instead of building the whole definition and its
 * <domain>, which revert and delete would otherwise do per call. */
int esx_snap_name_of(esx_conn *c, const char *xml, char **out)
{
    xmlTextReaderPtr r;
    int ret;

    *out = NULL;
    /* the text esx_snapshot_xml handed out last: its name is known */
    if (c->last_xml.xml && strcmp(xml, c->last_xml.xml) == 0)
        return (*out = strdup(c->last_xml.name)) ? 0 : esx_oom(c);
    r = xmlReaderForMemory(xml, (int)strlen(xml), "snapshot.xml", NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!r)
        return esx_oom(c);
    for (ret = xmlTextReaderRead(r); ret == 1;) {
        int depth = xmlTextReaderDepth(r);
        const xmlChar *n = xmlTextReaderConstLocalName(r);
        if (xmlTextReaderNodeType(r) == XML_READER_TYPE_ELEMENT && depth <= 1) {
            int named = n && strcmp((const char *)n, depth ? "name" : "domainsnapshot") == 0;
            if (depth == 0 && !named)
                break;
            if (depth == 1 && named) {
                xmlChar *v = xmlTextReaderReadString(r);
                *out = v ? strdup((const char *)v) : NULL;
                xmlFree(v);
                break;
            }
            if (depth == 1) { /* another child: skip its subtree */
                ret = xmlTextReaderNext(r);
                continue;
            }
        }
        ret = xmlTextReaderRead(r);
    }
    xmlFreeTextReader(r);
    if (!*out)
        return esx_error(c, SB_ERR_INTERNAL_ERROR,
                         "esx: the snapshot definition the broker passed has no <name>");
    return 0;
}
