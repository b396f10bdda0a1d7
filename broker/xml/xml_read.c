/* The hardened reader.  libxml2 is asked for as little as possible: no
 * network (XML_PARSE_NONET), no entity substitution (no XML_PARSE_NOENT: that
 * flag *enables* expansion), no DTD loading or validation.  On top of that a
 * SAX hook stops the parser at the first <!DOCTYPE, before any entity
 * declaration is even read, so neither "billion laughs" nor external entities
 * (file:///etc/passwd) can do anything.  Errors go to a per-parse structured
 * handler, never to libxml2's default stderr printer. */
#include "xml/xml_util.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlversion.h>

#include "core/error.h"

enum refusal { REFUSE_NONE, REFUSE_DOCTYPE, REFUSE_DEPTH };

struct read_state {
    const sb_xml_sax *user; /* sb_xml_scan: the caller's callbacks; NULL: build a DOM */
    bool user_refused;      /* a callback failed (its error is set) */
    int depth;
    enum refusal refusal;
    long refusal_line;
    bool have_error;
    long error_line;
    bool saw_cdata;  /* a document: CDATA sections to turn into text after the parse */
    xmlNode *shadow; /* a scan: its open elements, as libxml2's layout test sees them */
    char error_msg[512];
};

static long ctxt_line(xmlParserCtxtPtr ctxt)
{
    return ctxt->input ? (long)ctxt->input->line : 0;
}

/* Called when <!DOCTYPE name ...> is seen, before its internal subset. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct read_state *st = ctxt->_private;
    (void)name;
    (void)external_id;
    (void)system_id;
    if (st->refusal == REFUSE_NONE) {
        st->refusal = REFUSE_DOCTYPE;
        st->refusal_line = ctxt_line(ctxt);
    }
    xmlStopParser(ctxt);
}

static void user_stop(xmlParserCtxtPtr ctxt, struct read_state *st)
{
    st->user_refused = true;
    xmlStopParser(ctxt);
}

/* ---- layout whitespace ------------------------------------------------
 * Documents are read with XML_PARSE_NOBLANKS, as libvirt reads them: a run
 * of whitespace is layout, and dropped, when libxml2's heuristic says so
 * (it stands before a tag, a comment, a processing instruction or CDATA,
 * the element has no text child first or last, and no xml:space="preserve"
 * or earlier text starting with a blank made it mixed), and text otherwise.
 * "<description>\n  <!-- c -->\n  text</description>" is "\n  text" to
 * libvirt 9.0, and "<name>\n  <![CDATA[s1]]>\n</name>" is "s1".  Dropping
 * the layout also spares a third of a snapshot document's nodes.
 *
 * The heuristic looks at the tree being built: the children of the open
 * element (ctxt->node).  So that it sees what libvirt's tree has, CDATA
 * sections stay nodes of their own while the document is parsed (libvirt
 * keeps them), and become text once it is done (cdata_to_text).  A scan
 * builds no tree: it keeps a shadow of the open elements instead, one node
 * per level whose first and last child are markers of the kind of child
 * the real tree would have there, and points ctxt->node at it, so that
 * libxml2's own test decides in both, and a scan's text is a document's
 * text (snapshot names read by a scan are compared with names read from a
 * document). */

/* Kinds of child, as the heuristic tells them apart: text, or anything
 * else (element, CDATA, comment, processing instruction).  Never written. */
static xmlNode shadow_text_child = {.type = XML_TEXT_NODE};
static xmlNode shadow_other_child = {.type = XML_ELEMENT_NODE};

static void shadow_add(xmlParserCtxtPtr ctxt, xmlNode *kind)
{
    xmlNode *parent = ctxt->node;
    if (!parent)
        return; /* outside the root element */
    if (!parent->children)
        parent->children = kind;
    parent->last = kind;
}

static void start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                          const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                          int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct read_state *st = ctxt->_private;
    if (++st->depth > SB_XML_MAX_DEPTH) {
        if (st->refusal == REFUSE_NONE) {
            st->refusal = REFUSE_DEPTH;
            st->refusal_line = ctxt_line(ctxt);
        }
        xmlStopParser(ctxt);
        return;
    }
    if (st->user) {
        shadow_add(ctxt, &shadow_other_child);
        xmlNode *open = &st->shadow[st->depth];
        *open = (xmlNode){.type = XML_ELEMENT_NODE, .name = localname};
        ctxt->node = open;
        if (st->user->start &&
            st->user->start(st->user->opaque, (const char *)localname, nb_attributes,
                            attributes, ctxt_line(ctxt)) < 0)
            user_stop(ctxt, st);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                          nb_attributes, nb_defaulted, attributes);
}

static void end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                        const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct read_state *st = ctxt->_private;
    st->depth--;
    if (st->user) {
        ctxt->node = st->depth > 0 ? &st->shadow[st->depth] : NULL;
        if (st->user->end && st->user->end(st->user->opaque) < 0)
            user_stop(ctxt, st);
        return;
    }
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* Text for the caller, a child of the given kind for the shadow. */
static void scan_deliver(xmlParserCtxtPtr ctxt, xmlNode *kind, const xmlChar *text, int len)
{
    struct read_state *st = ctxt->_private;
    shadow_add(ctxt, kind);
    if (st->user->text && st->user->text(st->user->opaque, (const char *)text, (size_t)len) < 0)
        user_stop(ctxt, st);
}

static void scan_text(void *ctx, const xmlChar *text, int len)
{
    scan_deliver(ctx, &shadow_text_child, text, len);
}

/* CDATA is text to the caller, but not to the layout test. */
static void scan_cdata(void *ctx, const xmlChar *text, int len)
{
    scan_deliver(ctx, &shadow_other_child, text, len);
}

static void scan_comment(void *ctx, const xmlChar *text)
{
    (void)text;
    shadow_add(ctx, &shadow_other_child);
}

static void scan_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    (void)target;
    (void)data;
    shadow_add(ctx, &shadow_other_child);
}

static void dom_cdata(void *ctx, const xmlChar *text, int len)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct read_state *st = ctxt->_private;
    st->saw_cdata = true;
    xmlSAX2CDataBlock(ctx, text, len);
}

/* The CDATA sections of a parsed document become text, merged with the
 * text beside them: the rest of the engine never sees CDATA nodes. */
static int cdata_to_text(xmlNode *parent)
{
    for (xmlNode *c = parent->children, *next; c; c = next) {
        next = c->next;
        if (c->type == XML_CDATA_SECTION_NODE) {
            xmlNode *text = xmlNewDocText(c->doc, c->content);
            if (!text)
                return -1;
            text->line = c->line;
            xmlReplaceNode(c, text);
            xmlFreeNode(c);
            c = text;
        }
        if (c->type == XML_TEXT_NODE && c->prev && c->prev->type == XML_TEXT_NODE)
            xmlTextMerge(c->prev, c); /* frees c */
        else if (c->type == XML_ELEMENT_NODE && cdata_to_text(c) < 0)
            return -1;
    }
    return 0;
}

/* Keep the first error only: later ones are usually consequences. */
static void collect_error(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct read_state *st = ctxt->_private;
    if (st->have_error || err->level < XML_ERR_ERROR)
        return;
    st->have_error = true;
    st->error_line = err->line;
    snprintf(st->error_msg, sizeof(st->error_msg), "%s",
             err->message ? err->message : "XML parse error");
    /* libxml2 messages end in "\n" and may carry a second "Bytes: ..." line. */
    st->error_msg[strcspn(st->error_msg, "\n")] = '\0';
}

/* ---- attributes per element ------------------------------------------
 * libxml2 2.9 spends time quadratic in the number of attributes of one
 * element (the duplicate check of each attribute against all before it,
 * then the tree's attribute list): 40 000 attributes cost seconds, 300 000
 * did not finish in 30 s.  That work happens inside the parsing of one
 * start tag, before any callback could stop it, so the cap is checked by
 * this linear scan of the raw bytes before libxml2 sees the document.
 * It only needs to find each start tag and count its quoted values; a
 * document it cannot follow is malformed and libxml2 stops at that point
 * anyway.  The delimiters it looks for are ASCII, which is where they are
 * in UTF-8 and in every ASCII-compatible encoding; UTF-16/32 (NUL bytes)
 * and EBCDIC are refused (libvirt's API takes C strings: it cannot be
 * given UTF-16 either). */

/* Skip to just after the terminator term (a comment, CDATA, PI or end
 * tag); returns end when it is missing. */
static const char *skip_past(const char *p, const char *end, const char *term)
{
    size_t n = strlen(term);
    const char *at = memmem(p, (size_t)(end - p), term, n);
    return at ? at + n : end;
}

/* The line of p, counted only for an error message. */
static long line_of(const char *xml, const char *p)
{
    long line = 1;
    for (const char *q = xml; (q = memchr(q, '\n', (size_t)(p - q))); q++)
        line++;
    return line;
}

static int check_attribute_counts(const char *xml, size_t len, const char *source)
{
    const char *p = xml, *end = xml + len;

    if (memchr(xml, '\0', len))
        return sb_xml_error_line(source, 0, SB_ERR_XML_ERROR,
                                 "XML document contains NUL bytes (UTF-16 and UTF-32 are not "
                                 "accepted: use UTF-8)");
    if (len >= 4 && memcmp(xml, "\x4c\x6f\xa7\x94", 4) == 0)
        return sb_xml_error_line(source, 0, SB_ERR_XML_ERROR,
                                 "EBCDIC XML documents are not accepted (use UTF-8)");
    while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
        const char *tag = ++p;
        if (end - p >= 3 && memcmp(p, "!--", 3) == 0) {
            p = skip_past(p + 3, end, "-->");
        } else if (end - p >= 8 && memcmp(p, "![CDATA[", 8) == 0) {
            p = skip_past(p + 8, end, "]]>");
        } else if (p < end && *p == '?') {
            p = skip_past(p + 1, end, "?>");
        } else if (p < end && (*p == '/' || *p == '!')) {
            /* an end tag; or <!DOCTYPE, refused by the parser before any
             * element: nothing after it is ever parsed */
            if (*p == '!')
                return 0;
            p = skip_past(p, end, ">");
        } else {
            size_t attrs = 0;
            char quote = 0;
            for (; p < end && (quote || *p != '>'); p++) {
                if (quote && *p == quote)
                    quote = 0;
                else if (!quote && (*p == '"' || *p == '\'')) {
                    quote = *p;
                    attrs++;
                }
            }
            if (attrs > SB_XML_MAX_ATTRIBUTES) {
                size_t name = strcspn(tag, " \t\r\n/>");
                return sb_xml_error_line(source, line_of(xml, tag), SB_ERR_XML_ERROR,
                                         "element <%.*s> has more than %d attributes",
                                         (int)(name < 64 ? name : 64), tag,
                                         SB_XML_MAX_ATTRIBUTES);
            }
        }
    }
    return 0;
}

/* Feed a push parser xml in chunks; the document it built, if any. */
static xmlDoc *push_parse(xmlParserCtxtPtr ctxt, const char *xml, size_t len, int options)
{
    const size_t chunk = 64 * 1024;
    xmlDoc *doc;

    xmlCtxtUseOptions(ctxt, options);
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        /* A chunk ends just after a '>' when there is one: text cut at a
         * chunk's end would be judged by the layout test without the
         * bytes after it (whitespace before "</" of the next chunk read as
         * layout, a long blank run as text), unlike in a document.  (A
         * '>' inside text still cuts it there: legal, and rare.) */
        const char *gt = off + n < len ? memrchr(xml + off, '>', n) : NULL;
        if (gt)
            n = (size_t)(gt - (xml + off)) + 1;
        if (xmlParseChunk(ctxt, xml + off, (int)n, 0) != 0)
            break;
        off += n;
    }
    xmlParseChunk(ctxt, NULL, 0, 1);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    return doc;
}

/* Build a document from xml.  libxml2 2.9 reads memory as a stream whose
 * read callback returns nothing: within the last 250 bytes of the text,
 * every look ahead calls it again and grows the buffer first (86 calls,
 * 8 % of a redefine's instructions, for a document of 1.3 KB).  Without
 * an XML declaration the text is UTF-8 (no other encoding can start
 * without NUL bytes, refused above), so nothing will ever be converted
 * into the buffer and it already holds all there is: the callback is
 * dropped, which libxml2 reads as "memory: do not grow".  A declaration
 * may name an encoding, whose converter fills the buffer through that
 * callback: such a document is read the usual way, as is one over
 * libxml2's look-ahead limit (which exempts only that very callback), and
 * every document by later libxml2 versions, which read memory in place. */
static xmlDoc *read_memory(xmlParserCtxtPtr ctxt, const char *xml, size_t len,
                           const char *source_name, int options)
{
#if LIBXML_VERSION < 21100
    if ((len < 5 || memcmp(xml, "<?xml", 5) != 0) && len <= XML_MAX_LOOKUP_LIMIT) {
        xmlParserInputBufferPtr buf =
            xmlParserInputBufferCreateMem(xml, (int)len, XML_CHAR_ENCODING_NONE);
        xmlParserInputPtr in =
            buf ? xmlNewIOInputStream(ctxt, buf, XML_CHAR_ENCODING_NONE) : NULL;
        xmlDoc *doc;

        if (!in) {
            xmlFreeParserInputBuffer(buf);
            return NULL;
        }
        buf->readcallback = NULL;
        if (source_name)
            in->filename = (char *)xmlStrdup((const xmlChar *)source_name);
        inputPush(ctxt, in);
        xmlCtxtUseOptions(ctxt, options);
        xmlParseDocument(ctxt);
        doc = ctxt->myDoc;
        ctxt->myDoc = NULL;
        return doc;
    }
#endif
    return xmlCtxtReadMemory(ctxt, xml, (int)len, source_name, NULL, options);
}

/* One parser context per thread for the documents the reader builds:
 * making and freeing one per parse (the context, its dictionary, its SAX
 * table) was 5 % of a redefine.  xmlCtxtReset() makes it as new except for
 * the dictionary of names, which the documents built share (by reference
 * count); it is dropped with the context once it holds many names, so a
 * stream of documents with ever new names cannot grow it without bound.
 * The thread's context is freed when the thread ends. */
enum { KEPT_DICT_MAX = 4096 };
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void free_kept(void *ctxt)
{
    xmlFreeParserCtxt(ctxt);
}

static void make_kept_key(void)
{
    if (pthread_key_create(&kept_key, free_kept) != 0)
        kept_key = (pthread_key_t)-1;
}

static xmlParserCtxtPtr kept_ctxt(void)
{
    pthread_once(&kept_once, make_kept_key);
    xmlParserCtxtPtr ctxt =
        kept_key != (pthread_key_t)-1 ? pthread_getspecific(kept_key) : NULL;
    if (!ctxt)
        return xmlNewParserCtxt();
    pthread_setspecific(kept_key, NULL);
    xmlCtxtReset(ctxt);
    return ctxt;
}

static void keep_ctxt(xmlParserCtxtPtr ctxt)
{
    if (kept_key == (pthread_key_t)-1 || (ctxt->dict && xmlDictSize(ctxt->dict) > KEPT_DICT_MAX) ||
        pthread_setspecific(kept_key, ctxt) != 0)
        xmlFreeParserCtxt(ctxt);
}

/* The hardened parse of both entry points: user NULL builds a document
 * into *out, otherwise only user's callbacks run (and *out stays NULL). */
static int hardened_parse(const char *xml, size_t len, size_t max_size, const char *source_name,
                          const sb_xml_sax *user, xmlDoc **out)
{
    struct read_state st = {.user = user};
    xmlParserCtxtPtr ctxt;
    xmlDoc *doc;
    int rc = 0;

    *out = NULL;
    if (!xml || len == 0)
        return sb_xml_error_line(source_name, 0, SB_ERR_XML_ERROR, "empty XML document");
    if (len > max_size || len > INT_MAX)
        return sb_xml_error_line(source_name, 0, SB_ERR_XML_ERROR,
                                 "XML document larger than the %zu MiB limit",
                                 (max_size < INT_MAX ? max_size : (size_t)INT_MAX) >> 20);
    if ((rc = check_attribute_counts(xml, len, source_name)) < 0)
        return rc;

    xmlInitParser();
    /* a scan is pushed in chunks: libxml2 keeps only a window of the text
     * (reading from memory, it would first copy all of it) */
    if (!(ctxt = user ? xmlCreatePushParserCtxt(NULL, NULL, NULL, 0, source_name)
                      : kept_ctxt()))
        return sb_error_oom();
    ctxt->_private = &st;
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->sax->startElementNs = start_element;
    ctxt->sax->endElementNs = end_element;
    ctxt->sax->serror = collect_error;
    if (user) {
        /* a scan builds nothing: text and CDATA go to the caller; every
         * kind of child goes into the shadow (see "layout whitespace") */
        if (!(st.shadow = malloc((SB_XML_MAX_DEPTH + 1) * sizeof(*st.shadow)))) {
            xmlFreeParserCtxt(ctxt);
            return sb_error_oom();
        }
        ctxt->sax->characters = scan_text;
        ctxt->sax->cdataBlock = scan_cdata;
        ctxt->sax->comment = scan_comment;
        ctxt->sax->processingInstruction = scan_pi;
    } else {
        ctxt->sax->cdataBlock = dom_cdata;
    }
    /* xmlCtxtReadMemory() ignores sax->serror unless the handler is marked
     * as a SAX2 one (it is; set it again to be explicit). */
    ctxt->sax->initialized = XML_SAX2_MAGIC;

    /* Errors raised without the parser context (the encoding converters:
     * "input conversion failed ...") go to the thread's global handler,
     * which prints to stderr by default: collect them too, for this parse. */
    xmlStructuredErrorFunc saved_handler = xmlStructuredError;
    void *saved_handler_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(ctxt, collect_error);
    /* XML_PARSE_NOBLANKS: see "layout whitespace" above.
     * XML_PARSE_COMPACT: a short text node (most values) keeps its text
     * inside the node instead of in a block of its own: a malloc and a
     * free fewer per node (7 % of a redefine). */
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_NOBLANKS | XML_PARSE_BIG_LINES | XML_PARSE_COMPACT;
    if (user)
        doc = push_parse(ctxt, xml, len, options);
    else
        doc = read_memory(ctxt, xml, len, source_name, options);
    xmlSetStructuredErrorFunc(saved_handler_ctx, saved_handler);

    if (st.refusal == REFUSE_DOCTYPE) {
        rc = sb_xml_error_line(source_name, st.refusal_line, SB_ERR_XML_ERROR,
                               "DOCTYPE declarations are not allowed (no DTDs or entities)");
    } else if (st.refusal == REFUSE_DEPTH) {
        rc = sb_xml_error_line(source_name, st.refusal_line, SB_ERR_XML_ERROR,
                               "elements nested deeper than %d levels", SB_XML_MAX_DEPTH);
    } else if (st.user_refused) {
        rc = -sb_error_last()->code; /* a callback refused the document */
    } else if (st.have_error || !doc || !ctxt->wellFormed) {
        rc = sb_xml_error_line(source_name, st.error_line, SB_ERR_XML_DETAIL, "%s",
                               st.have_error ? st.error_msg : "XML document is not well-formed");
    } else if (!user && !xmlDocGetRootElement(doc)) {
        rc = sb_xml_error_line(source_name, 0, SB_ERR_XML_ERROR,
                               "XML document has no root element");
    } else if (st.saw_cdata && cdata_to_text(xmlDocGetRootElement(doc)) < 0) {
        rc = sb_error_oom();
    }
    if (rc < 0 || user) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    ctxt->_private = NULL;
    if (user) {
        ctxt->node = NULL; /* the shadow's */
        xmlFreeParserCtxt(ctxt);
        free(st.shadow);
    } else {
        keep_ctxt(ctxt);
    }
    *out = doc;
    return rc;
}

int sb_xml_read(const char *xml, size_t len, const char *source_name, xmlDoc **out)
{
    return hardened_parse(xml, len, SB_XML_MAX_SIZE, source_name, NULL, out);
}

int sb_xml_scan(const char *xml, size_t len, size_t max_size, const char *source_name,
                const sb_xml_sax *sax)
{
    xmlDoc *none;
    return hardened_parse(xml, len, max_size, source_name, sax, &none);
}
