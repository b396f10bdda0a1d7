/* Hardened libxml2 reading, a growable string buffer, escaping and the one
 * canonical node printer used for every subtree snapbroker prints verbatim
 * (embedded <domain>, <inactiveDomain>, <cookie>, disk <source>). */
#ifndef SB_XML_UTIL_H
#define SB_XML_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <libxml/tree.h>

/* Limits of the hardened reader (docs/format.md, "Hardening"). */
#define SB_XML_MAX_SIZE (16u * 1024u * 1024u)
#define SB_XML_MAX_DEPTH 256
/* Attributes (namespace declarations included) on one element: libxml2's
 * work per start tag is quadratic in their number.  libvirt's elements
 * have at most about 20. */
#define SB_XML_MAX_ATTRIBUTES 256

/* Parse a document from memory with the hardened settings: no network, no
 * entity substitution, no DTD loading, any DOCTYPE refused, at most
 * SB_XML_MAX_SIZE bytes, SB_XML_MAX_DEPTH element levels and
 * SB_XML_MAX_ATTRIBUTES attributes per element, UTF-8 or another
 * ASCII-compatible encoding.  Layout whitespace is dropped as libvirt's
 * parse drops it, CDATA sections become text (xml_read.c, "layout
 * whitespace").  Nothing is printed.  Errors: XML_DETAIL (not well-formed, invalid UTF-8; the message
 * has "source:line"), XML_ERROR (empty, too large, too deep, DOCTYPE).
 * source_name names the input in messages and may be NULL. */
int sb_xml_read(const char *xml, size_t len, const char *source_name, xmlDoc **out);

/* A streaming read of a document too large for a tree (a whole snapshot
 * hierarchy): the same hardened parse, but no document is built; the
 * callbacks see each element's start (local name, libxml2's attribute
 * quintuples: localname, prefix, URI, value, value end), each end and the
 * text (character references decoded, CDATA as text, the layout
 * sb_xml_read drops left out: a scan's text is a document's).  A callback
 * returns 0, or a negative class after setting the error, which stops the
 * parse and is returned.  Up to max_size bytes (and INT_MAX). */
typedef struct sb_xml_sax {
    int (*start)(void *opaque, const char *name, int nattrs, const xmlChar **attrs, long line);
    int (*end)(void *opaque);
    int (*text)(void *opaque, const char *text, size_t len);
    void *opaque;
} sb_xml_sax;

int sb_xml_scan(const char *xml, size_t len, size_t max_size, const char *source_name,
                const sb_xml_sax *sax);

/* Set an error whose message starts with "source:line: " ("line N: " when
 * source is NULL, "source: " or nothing when the line is unknown, <= 0).
 * Returns -code.  The one place that formats a location: sb_xml_error_at
 * takes the line from a node. */
int sb_xml_error_line(const char *source, long line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int sb_xml_error_at(const char *source, const xmlNode *node, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Tree helpers.  Strings returned are malloc'd (free()), NULL if absent. */
xmlNode *sb_xml_child(const xmlNode *parent, const char *name);
xmlNode *sb_xml_next_element(xmlNode *node);
size_t sb_xml_count_children(const xmlNode *parent, const char *name);
int sb_xml_prop(const xmlNode *node, const char *name, char **out);
int sb_xml_text(const xmlNode *node, char **out);
bool sb_xml_is(const xmlNode *node, const char *name);
/* The content of n's only child when that child is a text node (an
 * element's or attribute's value as the reader builds nearly all of them:
 * read in place, no copy); NULL otherwise. */
const xmlChar *sb_xml_lone_text(const xmlNode *n);
/* Deep copy of node as the root of a new document; NULL on OOM. */
xmlDoc *sb_xml_subtree(const xmlNode *node);
/* True when the trees under elements a and b are the same node for node
 * (names, namespaces, attributes, text, comments), so that they print the
 * same; with ignore_root_names the two roots' own names may differ. */
bool sb_xml_same_tree(const xmlNode *a, const xmlNode *b, bool ignore_root_names);

/* Growable string.  On allocation failure it remembers the failure and
 * ignores further appends, so callers check once at the end. */
typedef struct sb_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} sb_buf;

void sb_buf_add(sb_buf *b, const char *s);
void sb_buf_addn(sb_buf *b, const char *s, size_t n);
void sb_buf_addf(sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_buf_indent(sb_buf *b, int level);
/* Escape & < > " ' (§9.8).  For attributes, tab/newline/CR also become
 * character references so that the value survives a re-parse. */
void sb_buf_escape(sb_buf *b, const char *s, bool attribute);
/* Hand out the string (0) or free it and report OOM (-SB_ERR_NO_MEMORY). */
int sb_buf_finish(sb_buf *b, char **out);
void sb_buf_clear(sb_buf *b);

/* Printer flags. */
enum {
    /* Leave out security-sensitive data (xml_secure.c lists what). */
    SB_XML_PRINT_STRIP_SECRETS = 1u << 0,
};

/* Print node and its subtree at indent level: attributes single-quoted in
 * document order, two spaces per level, elements with only text on one
 * line, formatting whitespace between elements dropped, comments and
 * processing instructions dropped. */
void sb_xml_print_node(sb_buf *b, const xmlNode *node, int level, unsigned flags);

/* Replace the malloc'd document *xml by its canonical form (libvirt's
 * formatting: the printer above on the root element; comments, processing
 * instructions and the XML declaration dropped).  A document that does not
 * parse keeps the reader's error, prefixed with what ("domain XML from
 * plugin 'x'"), and *xml is left as it was.  NULL *xml: nothing to do. */
int sb_xml_reformat(char **xml, const char *what);

/* Remove from a <domain> (or <inactiveDomain>) element what libvirt's
 * inactive definition leaves out: id=, generated aliases and interface
 * names, pty paths, dynamic security labels (domain_inactive.c). */
void sb_xml_strip_live_only(xmlNode *domain);

/* Secret filter used by the printer (xml_secure.c). */
bool sb_xml_secret_element(const xmlNode *node);
bool sb_xml_secret_attr(const xmlNode *element, const xmlAttr *attr);

#endif
