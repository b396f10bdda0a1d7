/* The cap on attributes per element (SB_XML_MAX_ATTRIBUTES, docs/format.md
 * "Hardening").  libxml2 2.9's work on one start tag is quadratic in its
 * attributes (40 000 attributes on <name>: 3.6 s in `xml-normalize`;
 * 300 000 did not finish in 30 s) and happens before any callback can stop
 * it, so the reader counts attributes in a linear scan first.
 *
 * No timing here.  What shows that the cap bounds the work:
 *   - an element over the cap is refused naming the element and its line;
 *   - libxml2 is never called for such a document: libxml2's allocator
 *     (xmlMemSetup, installed before anything else) counts zero
 *     allocations while it is refused, even with 100 000 attributes;
 *   - for accepted documents, libxml2's allocations grow linearly: a
 *     document with twice as many capped elements costs twice as many
 *     allocations (per-element work is bounded by the cap). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xmlmemory.h>

#include "core/error.h"
#include "xml/xml_util.h"

static size_t allocations;

static void *count_malloc(size_t n)
{
    allocations++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    allocations++;
    return realloc(p, n);
}

static char *count_strdup(const char *s)
{
    allocations++;
    return strdup(s);
}

/* <domainsnapshot><cookie> + elements x attrs + closing; malloc'd. */
static char *doc_with(size_t elements, size_t attrs, const char *extra)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    assert_non_null(f);
    fprintf(f, "<domainsnapshot><cookie>%s", extra);
    for (size_t e = 0; e < elements; e++) {
        fprintf(f, "\n<e");
        for (size_t a = 0; a < attrs; a++)
            fprintf(f, " a%zx='%zu'", a, a % 10);
        fprintf(f, "/>");
    }
    fprintf(f, "</cookie></domainsnapshot>\n");
    fclose(f);
    return s;
}

static int read_doc(const char *xml)
{
    xmlDoc *doc = NULL;
    sb_error_clear();
    int rc = sb_xml_read(xml, strlen(xml), "t.xml", &doc);
    xmlFreeDoc(doc);
    return rc;
}

static void cap_refuses_naming_the_element(void **state)
{
    (void)state;
    char *ok = doc_with(1, SB_XML_MAX_ATTRIBUTES, "");
    assert_int_equal(read_doc(ok), 0);
    free(ok);

    char *over = doc_with(3, SB_XML_MAX_ATTRIBUTES + 1, "");
    assert_int_equal(read_doc(over), -SB_ERR_XML_ERROR);
    char want[128];
    snprintf(want, sizeof(want), "t.xml:2: element <e> has more than %d attributes",
             SB_XML_MAX_ATTRIBUTES);
    assert_string_equal(sb_error_last()->message, want);
    free(over);

    /* namespace declarations are attributes too; quotes inside values,
     * '>' in a value, comments, CDATA and PIs do not confuse the count */
    char *ns = NULL;
    size_t nslen = 0;
    FILE *f = open_memstream(&ns, &nslen);
    assert_non_null(f);
    fprintf(f, "<domainsnapshot xmlns='urn:x'>\n<!-- <e a='1' b='2' -->"
               "<![CDATA[<e '''''''''''>]]><?pi '''''' ?>\n<f");
    for (int i = 0; i <= SB_XML_MAX_ATTRIBUTES; i++)
        fprintf(f, " xmlns:n%d=\"urn:%d'>\"", i, i);
    fprintf(f, "/></domainsnapshot>");
    fclose(f);
    assert_int_equal(read_doc(ns), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "t.xml:3: element <f> has more than"));
    free(ns);
}

static void refused_before_libxml2_runs(void **state)
{
    (void)state;
    char *huge = doc_with(1, 100000, "");
    allocations = 0;
    assert_int_equal(read_doc(huge), -SB_ERR_XML_ERROR);
    assert_int_equal(allocations, 0);
    free(huge);

    /* after a libxml2 error that would have stopped it later, too: the
     * count runs first, over the whole document */
    char *late = doc_with(1, SB_XML_MAX_ATTRIBUTES + 1, "<unclosed>");
    allocations = 0;
    assert_int_equal(read_doc(late), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "attributes"));
    assert_int_equal(allocations, 0);
    free(late);

    /* UTF-16 (NUL bytes) and EBCDIC would hide the delimiters from the
     * count: refused, also before libxml2 */
    const char utf16[] = "\xff\xfe<\0d\0/\0>\0";
    xmlDoc *doc = NULL;
    allocations = 0;
    assert_int_equal(sb_xml_read(utf16, sizeof(utf16) - 1, "t.xml", &doc), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "NUL bytes"));
    const char ebcdic[] = "\x4c\x6f\xa7\x94\x93\x40";
    assert_int_equal(sb_xml_read(ebcdic, sizeof(ebcdic) - 1, "t.xml", &doc), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "EBCDIC"));
    assert_int_equal(allocations, 0);
}

static size_t allocations_for(size_t elements)
{
    char *xml = doc_with(elements, SB_XML_MAX_ATTRIBUTES, "");
    allocations = 0;
    assert_int_equal(read_doc(xml), 0);
    free(xml);
    return allocations;
}

static void accepted_work_is_linear(void **state)
{
    (void)state;
    size_t a1 = allocations_for(50), a2 = allocations_for(100), a4 = allocations_for(200);
    /* the document's fixed part costs the same in each: the differences
     * are per element, and doubling the elements doubles them */
    size_t d1 = a2 - a1, d2 = a4 - a2;
    print_message("# libxml2 allocations: 50 elements %zu, 100 %zu, 200 %zu\n", a1, a2, a4);
    assert_true(d1 > 0);
    assert_in_range(d2, 2 * d1 - d1 / 50, 2 * d1 + d1 / 50);
}

int main(void)
{
    /* before libxml2 allocates anything */
    xmlMemSetup(free, count_malloc, count_realloc, count_strdup);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cap_refuses_naming_the_element),
        cmocka_unit_test(refused_before_libxml2_runs),
        cmocka_unit_test(accepted_work_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
