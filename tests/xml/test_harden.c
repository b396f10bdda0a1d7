/* Hardened reader: entity bombs, external entities, DOCTYPE, depth and
 * size limits, invalid UTF-8, and silence on stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static int read_str(const char *xml)
{
    xmlDoc *doc = NULL;
    sb_error_clear();
    int rc = sb_xml_read(xml, strlen(xml), "t.xml", &doc);
    if (rc == 0) {
        assert_non_null(doc);
        xmlFreeDoc(doc);
    } else {
        assert_null(doc);
    }
    return rc;
}

static void billion_laughs_refused(void **state)
{
    (void)state;
    const char *xml =
        "<?xml version='1.0'?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol 'lol'>\n"
        " <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
        " <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
        " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
        " <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
        " <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
        " <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
        " <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
        " <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
        " <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
        "]>\n<domainsnapshot><name>&lol9;</name></domainsnapshot>\n";
    assert_int_equal(read_str(xml), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "t.xml:2: DOCTYPE"));
}

/* The content of /etc/passwd must never reach the model: the document is
 * refused before the entity is declared. */
static void external_entity_not_read(void **state)
{
    (void)state;
    const char *xml = "<?xml version='1.0'?>\n"
                      "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
                      "<domainsnapshot><name>&x;</name></domainsnapshot>\n";
    sb_snapdef *def = NULL;
    int rc = sb_snapdef_parse(xml, strlen(xml), NULL, 0, &def);
    assert_int_equal(rc, -SB_ERR_XML_ERROR);
    assert_null(def);
    assert_null(strstr(sb_error_last()->message, "root:"));
}

static void external_dtd_not_loaded(void **state)
{
    (void)state;
    const char *xml = "<!DOCTYPE domainsnapshot SYSTEM 'http://127.0.0.1:1/x.dtd'>\n"
                      "<domainsnapshot/>\n";
    assert_int_equal(read_str(xml), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "DOCTYPE"));
}

static void plain_doctype_refused(void **state)
{
    (void)state;
    assert_int_equal(read_str("<!DOCTYPE domainsnapshot>\n<domainsnapshot/>"),
                     -SB_ERR_XML_ERROR);
}

static void undefined_entity_is_detail(void **state)
{
    (void)state;
    assert_int_equal(read_str("<a>\n&x;</a>"), -SB_ERR_XML_DETAIL);
    assert_non_null(strstr(sb_error_last()->message, "t.xml:2:"));
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 7 + 1), *p = s;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "<a>");
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "</a>");
    return s;
}

static void depth_limit(void **state)
{
    (void)state;
    char *ok = nested(SB_XML_MAX_DEPTH);
    char *deep = nested(SB_XML_MAX_DEPTH + 1);
    assert_int_equal(read_str(ok), 0);
    assert_int_equal(read_str(deep), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "nested deeper than 256"));
    free(ok);
    free(deep);
}

static void size_limit(void **state)
{
    (void)state;
    size_t n = SB_XML_MAX_SIZE + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "<a>", 3);
    memcpy(big + n - 4, "</a>", 4);
    big[n] = '\0';
    xmlDoc *doc = NULL;
    assert_int_equal(sb_xml_read(big, n, NULL, &doc), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "16 MiB"));
    /* One byte less is fine. */
    memcpy(big + n - 5, "</a>", 4);
    big[n - 1] = '\0';
    assert_int_equal(sb_xml_read(big, n - 1, NULL, &doc), 0);
    xmlFreeDoc(doc);
    free(big);
}

static void invalid_utf8(void **state)
{
    (void)state;
    assert_int_equal(read_str("<a>\n\xff\xfe</a>"), -SB_ERR_XML_DETAIL);
    assert_non_null(strstr(sb_error_last()->message, "UTF-8"));
    /* The message itself stays one clean line. */
    assert_null(strchr(sb_error_last()->message, '\n'));
    assert_int_equal(read_str("<a>\xc3\xa9</a>"), 0);
}

/* Every byte of a document reaches the tree, read either way xml_read.c
 * reads memory: without a declaration (the buffer is complete from the
 * start) and with one naming another encoding (converted bit by bit as
 * the parser asks for more), across a text longer than libxml2's chunks. */
static void whole_text_read_both_ways(void **state)
{
    (void)state;
    enum { N = 3000 };
    static const char *const heads[] = {"", "<?xml version='1.0' encoding='ISO-8859-1'?>"};
    for (size_t h = 0; h < 2; h++) {
        char xml[N + 128];
        int k = snprintf(xml, sizeof xml, "%s<a><b x='1'/>", heads[h]);
        for (int i = 0; i < N; i++)
            xml[k++] = h ? '\xe9' : 'e'; /* é in ISO-8859-1 */
        k += snprintf(xml + k, sizeof xml - (size_t)k, "<c/><d>end</d></a>");
        xmlDoc *doc = NULL;
        assert_int_equal(sb_xml_read(xml, (size_t)k, "t.xml", &doc), 0);
        xmlNode *a = xmlDocGetRootElement(doc);
        xmlChar *text = xmlNodeGetContent(a);
        assert_int_equal(strlen((const char *)text), (h ? 2 : 1) * N + 3);
        assert_string_equal((const char *)text + strlen((const char *)text) - 3, "end");
        xmlFree(text);
        assert_non_null(sb_xml_child(a, "c"));
        xmlFreeDoc(doc);
    }
}

/* The reader keeps one parser context per thread (xml_read.c): whatever
 * the last document did to it (refused, stopped, malformed, wrong
 * encoding), the next one is read as if by a new context; and documents
 * with ever new names keep being read when its dictionary is dropped. */
static void kept_context_starts_clean(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", "<a><b></a>", "<a>\xff</a>",
        "<?xml version='1.0' encoding='EUC-JP'?><a>\x8f\xff</a>", "not xml", "<a x='1' x='2'/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(read_str(bad[i]) < 0);
        xmlDoc *doc = NULL;
        const char *good = "<r a='v'>\n <c>t</c></r>";
        assert_int_equal(sb_xml_read(good, strlen(good), "t.xml", &doc), 0);
        xmlNode *r = xmlDocGetRootElement(doc);
        assert_string_equal((const char *)r->name, "r");
        xmlChar *a = xmlGetProp(r, (const xmlChar *)"a"), *t = xmlNodeGetContent(r);
        assert_string_equal((const char *)a, "v");
        assert_string_equal((const char *)t, "t"); /* the layout is not a node */
        xmlFree(a);
        xmlFree(t);
        xmlFreeDoc(doc);
    }
    for (int i = 0; i < 3000; i++) {
        char xml[96];
        snprintf(xml, sizeof xml, "<r%d a%d='%d'><e%d/></r%d>", i, i, i, i, i);
        xmlDoc *doc = NULL;
        assert_int_equal(sb_xml_read(xml, strlen(xml), "t.xml", &doc), 0);
        char want[16];
        snprintf(want, sizeof want, "e%d", i);
        assert_string_equal((const char *)xmlDocGetRootElement(doc)->children->name, want);
        xmlFreeDoc(doc);
    }
}

/* All the text a scan reports, concatenated. */
static int collect_text(void *opaque, const char *text, size_t len)
{
    char *buf = opaque;
    size_t have = strlen(buf);
    assert_true(have + len < 256);
    memcpy(buf + have, text, len);
    buf[have + len] = '\0';
    return 0;
}

/* Layout whitespace is dropped as libvirt 9.0 drops it (its parse uses
 * libxml2's XML_PARSE_NOBLANKS heuristic with CDATA kept as nodes), and a
 * scan reports exactly the text a document holds.  The expected values
 * are what libvirt's snapshot-dumpxml printed for each as a snapshot's
 * <description> (tests/data/xml/redefine-layout-*.in.xml check the same
 * against libvirt itself, in the differential test). */
static void layout_dropped_as_libvirt_drops_it(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        /* between elements: layout */
        {"<r>\n  <e/>\n  <f/>\n</r>", ""},
        /* an element's whole content, and mixed content: text */
        {"<e>  </e>", "  "},
        {"<m>x <b/> y</m>", "x  y"},
        /* before a lone child element: layout */
        {"<k> <b/></k>", ""},
        /* before and after a comment, a PI, CDATA: layout too, unless
         * text came first (then the element is mixed) */
        {"<n>\n  <![CDATA[s1]]>\n</n>", "s1"},
        {"<d>  <!-- c -->  </d>", ""},
        {"<p> <?pi x?>s1</p>", "s1"},
        {"<d>\n  <!-- c -->\n  text</d>", "\n  text"},
        {"<d>a\n  <!-- c -->\n  text</d>", "a\n  \n  text"},
        {"<e>\n  <!-- c -->\n  <b/>\n</e>", ""},
        /* a blank run that ends at a carriage return is layout */
        {"<w>  \r\nfoo</w>", "\nfoo"},
        /* CDATA beside text is merged into it */
        {"<c>a<![CDATA[<b>]]>c<![CDATA[]]></c>", "a<b>c"},
        /* xml:space='preserve' keeps everything */
        {"<s xml:space='preserve'>\n  <b/>\n</s>", "\n  \n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *xml = cases[i][0], *want = cases[i][1];
        xmlDoc *doc = NULL;
        assert_int_equal(sb_xml_read(xml, strlen(xml), "t.xml", &doc), 0);
        xmlNode *root = xmlDocGetRootElement(doc);
        xmlChar *t = xmlNodeGetContent(root);
        if (strcmp((const char *)t, want) != 0)
            fail_msg("document %zu %s: text \"%s\", want \"%s\"", i, xml, t, want);
        xmlFree(t);
        /* no CDATA node is left, nor two text nodes side by side */
        for (xmlNode *c = root->children; c; c = c->next) {
            assert_int_not_equal(c->type, XML_CDATA_SECTION_NODE);
            if (c->type == XML_TEXT_NODE && c->next)
                assert_int_not_equal(c->next->type, XML_TEXT_NODE);
        }
        xmlFreeDoc(doc);

        char scanned[256] = "";
        const sb_xml_sax sax = {NULL, NULL, collect_text, scanned};
        assert_int_equal(sb_xml_scan(xml, strlen(xml), SB_XML_MAX_SIZE, "t.xml", &sax), 0);
        if (strcmp(scanned, want) != 0)
            fail_msg("scan %zu %s: text \"%s\", want \"%s\"", i, xml, scanned, want);
    }
}

static void empty_and_garbage(void **state)
{
    (void)state;
    xmlDoc *doc;
    assert_int_equal(sb_xml_read("", 0, NULL, &doc), -SB_ERR_XML_ERROR);
    assert_int_equal(read_str("not xml"), -SB_ERR_XML_DETAIL);
    assert_non_null(strstr(sb_error_last()->message, "t.xml:1:"));
    assert_int_equal(read_str("<a>\n<b>\n</a>"), -SB_ERR_XML_DETAIL);
    assert_non_null(strstr(sb_error_last()->message, "t.xml:3:"));
}

/* libxml2 must not print anything: run a bad parse with stderr redirected
 * into a pipe and check that nothing arrived. */
static void nothing_on_stderr(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fds[1], 2);
    read_str("<a><b></a>");
    read_str("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>");
    read_str("<a>\xff</a>");
    /* fuzz: the encoding converters report without a parser context (to
     * the global handler, i.e. stderr); tests/fuzz/regress/domdef too */
    assert_int_equal(read_str("<?xml version='1.0' encoding='EUC-JP'?><a>\x8f\xff</a>"),
                     -SB_ERR_XML_DETAIL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    char buf[64];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    close(fds[0]);
    assert_int_equal(n, 0);
    /* and the converter's complaint is the message */
    read_str("<?xml version='1.0' encoding='EUC-JP'?><a>\x8f\xff</a>");
    assert_non_null(strstr(sb_error_last()->message, "input conversion failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(billion_laughs_refused),
        cmocka_unit_test(external_entity_not_read),
        cmocka_unit_test(external_dtd_not_loaded),
        cmocka_unit_test(plain_doctype_refused),
        cmocka_unit_test(undefined_entity_is_detail),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(whole_text_read_both_ways),
        cmocka_unit_test(kept_context_starts_clean),
        cmocka_unit_test(layout_dropped_as_libvirt_drops_it),
        cmocka_unit_test(empty_and_garbage),
        cmocka_unit_test(nothing_on_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
