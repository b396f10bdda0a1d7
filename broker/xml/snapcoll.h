/* A snapshot hierarchy as one document: <domainsnapshots> whose children
 * are <domainsnapshot> elements (docs/format.md, "Snapshot hierarchies").
 *
 * An import must not hold a tree of the whole document (ten thousand
 * snapshots with their domains are tens of megabytes of text and several
 * times that as a libxml2 tree), so the document is read in two cheap
 * passes: a streaming, hardened parse that checks it and collects what
 * ordering needs (each entry's name, parent and current mark), and a
 * split that finds each entry's bytes.  Each entry is then parsed on its
 * own, in the order the import chooses, by the single-snapshot path. */
#ifndef SB_XML_SNAPCOLL_H
#define SB_XML_SNAPCOLL_H

#include <stdbool.h>
#include <stddef.h>

/* The largest hierarchy document read (each entry is still limited to
 * SB_XML_MAX_SIZE by the single-snapshot parse). */
#define SB_SNAPCOLL_MAX_SIZE (1024u * 1024u * 1024u)

typedef struct sb_snapcoll_entry {
    char *name;         /* the entry's <name> text; NULL when it has none */
    char *parent;       /* its <parent><name> text; NULL for a root */
    bool current;       /* current='yes' */
    long line;          /* line where its start tag ends */
    size_t offset, len; /* the <domainsnapshot> element's bytes */
    /* its current= attribute with the blank before it, relative to
     * offset (len 0: none): left out when the entry is redefined, since a
     * single <domainsnapshot> has no such attribute */
    size_t attr_off, attr_len;
} sb_snapcoll_entry;

typedef struct sb_snapcoll {
    sb_snapcoll_entry *v;
    size_t n, cap;
} sb_snapcoll;

/* Read xml[0..len): the root must be <domainsnapshots>, its element
 * children <domainsnapshot> (text, comments and processing instructions
 * between them are ignored), current= 'yes' or 'no'.  Errors name
 * source:line (XML_ERROR, or XML_DETAIL for a document that is not
 * well-formed).  Entries that are not complete documents by themselves
 * (a namespace prefix declared on the root) fail later, when parsed. */
int sb_snapcoll_read(sb_snapcoll *out, const char *xml, size_t len, const char *source);
void sb_snapcoll_clear(sb_snapcoll *c);

#endif
