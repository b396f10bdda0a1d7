/* docs/schemas/domainsnapshot.rng accepts every document libvirt 9.0's
 * domainsnapshot.rng accepts (libvirt's own schema, installed with
 * libvirt0, is the oracle).  Before, it refused libvirt-valid documents:
 * a <creationTime> that is not a number (libvirt's schema leaves it to the
 * parser), paths with characters outside a short list, Windows paths,
 * "ioemu:hda" targets, index=/slices/seclabel/encryption on a source, and
 * several network protocols' options.
 *
 * Documents: tests/xml/libvirt-schema-cases/ (each must be valid for
 * libvirt, so that it tests something) and every input and expected output
 * of the golden corpus that libvirt's schema accepts.  Ours is checked the
 * way VALIDATE checks (sb_schema_validate). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/relaxng.h>

#include "core/error.h"
#include "corpus.h"
#include "sb_config.h"
#include "xml/schema.h"
#include "xml/xml_util.h"

#define LIBVIRT_SCHEMA "/usr/share/libvirt/schemas/domainsnapshot.rng"

static int test_no, failures;

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static bool libvirt_valid(xmlRelaxNGPtr schema, xmlDoc *doc)
{
    xmlRelaxNGValidCtxtPtr v = xmlRelaxNGNewValidCtxt(schema);
    xmlRelaxNGSetValidErrors(v, quiet, quiet, NULL);
    int rc = xmlRelaxNGValidateDoc(v, doc);
    xmlRelaxNGFreeValidCtxt(v);
    return rc == 0;
}

/* One document: if libvirt's schema accepts it, ours must.  must_be_valid:
 * a case written for this test, which libvirt must accept. */
static void check(xmlRelaxNGPtr theirs, const char *name, const char *xml, bool must_be_valid,
                  int *checked)
{
    xmlDoc *doc = NULL;
    if (sb_xml_read(xml, strlen(xml), name, &doc) < 0) {
        if (must_be_valid) {
            printf("not ok %d - %s: %s\n", ++test_no, name, sb_error_last()->message);
            failures++;
        }
        return;
    }
    bool lv = libvirt_valid(theirs, doc);
    if (!lv) {
        if (must_be_valid) {
            printf("not ok %d - %s: libvirt's schema refuses this case (fix the case)\n",
                   ++test_no, name);
            failures++;
        }
        xmlFreeDoc(doc);
        return;
    }
    (*checked)++;
    if (sb_schema_validate(doc, name) < 0) {
        printf("not ok %d - %s: valid for libvirt, refused by ours: %s\n", ++test_no, name,
               sb_error_last()->message);
        failures++;
    } else if (must_be_valid) {
        printf("ok %d - %s\n", ++test_no, name);
    }
    xmlFreeDoc(doc);
}

static void own_cases(xmlRelaxNGPtr theirs)
{
    char dir[4096];
    int checked = 0;
    snprintf(dir, sizeof(dir), "%s/tests/xml/libvirt-schema-cases", SB_SOURCE_ROOT);
    DIR *d = opendir(dir);
    if (!d) {
        printf("not ok %d - cannot open %s\n", ++test_no, dir);
        failures++;
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".xml") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        char *xml = corpus_read_file(path, NULL);
        if (!xml) {
            printf("not ok %d - cannot read %s\n", ++test_no, path);
            failures++;
            continue;
        }
        check(theirs, e->d_name, xml, true, &checked);
        free(xml);
    }
    closedir(d);
    if (checked == 0) { /* else nothing here was compared at all */
        printf("not ok %d - no case in %s was checked\n", ++test_no, dir);
        failures++;
    }
}

static void corpus_documents(xmlRelaxNGPtr theirs)
{
    size_t n;
    int checked = 0, before = failures;
    char **names = corpus_list(&n);
    for (size_t i = 0; i < n; i++) {
        corpus_case c;
        if (corpus_load(names[i], &c) == 0) {
            char label[512];
            snprintf(label, sizeof(label), "%s.in.xml", names[i]);
            check(theirs, label, c.input, false, &checked);
            if (c.expected_out) {
                snprintf(label, sizeof(label), "%s.out.xml", names[i]);
                check(theirs, label, c.expected_out, false, &checked);
            }
        }
        corpus_case_free(&c);
    }
    corpus_free_names(names, n);
    if (checked == 0) { /* no corpus, or an oracle that accepts nothing */
        printf("not ok %d - libvirt's schema accepted none of the %zu corpus cases\n",
               ++test_no, n);
        failures++;
    } else if (failures == before) {
        printf("ok %d - the %d corpus documents libvirt's schema accepts pass ours\n",
               ++test_no, checked);
    }
}

int main(void)
{
    FILE *f = fopen(LIBVIRT_SCHEMA, "r");
    if (!f) {
        printf("1..0 # SKIP %s not installed (libvirt0)\n", LIBVIRT_SCHEMA);
        return 0;
    }
    fclose(f);
    xmlRelaxNGParserCtxtPtr p = xmlRelaxNGNewParserCtxt(LIBVIRT_SCHEMA);
    xmlRelaxNGPtr theirs = xmlRelaxNGParse(p);
    xmlRelaxNGFreeParserCtxt(p);
    if (!theirs) {
        printf("1..1\nnot ok 1 - cannot compile %s\n", LIBVIRT_SCHEMA);
        return 1;
    }
    own_cases(theirs);
    corpus_documents(theirs);
    printf("1..%d\n", test_no);
    xmlRelaxNGFree(theirs);
    corpus_cleanup();
    return failures ? 1 : 0;
}
