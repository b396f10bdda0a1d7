/* The RelaxNG schema is compiled once per process: compiling it costs far
 * more than validating one snapshot, and a broker validates many. */
#include "xml/schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/relaxng.h>

#include "core/error.h"
#include "sb_config.h"

#define SCHEMA_FILE "domainsnapshot.rng"

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlRelaxNGPtr schema;
static char schema_error[600];

struct first_error {
    bool set;
    long line;
    char element[64];
    char msg[512];
};

/* Structured error sink: prints nothing.  libxml2's RelaxNG reports the
 * precise complaint first ("Extra element state in interleave") without a
 * location, then a vaguer one that carries the node; keep the text of the
 * first and the line and element of the first that has a location. */
static void keep_first(void *data, xmlErrorPtr err)
{
    struct first_error *fe = data;
    if (err->level < XML_ERR_ERROR)
        return;
    if (!fe->set) {
        fe->set = true;
        snprintf(fe->msg, sizeof(fe->msg), "%s", err->message ? err->message : "schema error");
        fe->msg[strcspn(fe->msg, "\n")] = '\0';
    }
    if (fe->line <= 0) {
        const xmlNode *node = err->node;
        fe->line = err->line > 0 ? err->line : node ? xmlGetLineNo(node) : 0;
        if (node && node->type == XML_ELEMENT_NODE)
            snprintf(fe->element, sizeof(fe->element), "%s", (const char *)node->name);
    }
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + 1 + strlen(file) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

char *sb_schema_path(void)
{
    const char *env = getenv("SB_SCHEMA_DIR");
    if (env && *env)
        return join(env, SCHEMA_FILE);
    char *installed = join(SB_INSTALL_DATADIR "/schemas", SCHEMA_FILE);
    if (!installed || is_file(installed))
        return installed;
    free(installed);
    return join(SB_SOURCE_ROOT "/docs/schemas", SCHEMA_FILE);
}

static void compile_schema(void)
{
    struct first_error fe = {0};
    char *path = sb_schema_path();
    xmlRelaxNGParserCtxtPtr pctxt;

    if (!path) {
        snprintf(schema_error, sizeof(schema_error), "out of memory");
        return;
    }
    xmlInitParser();
    if (!(pctxt = xmlRelaxNGNewParserCtxt(path))) {
        snprintf(schema_error, sizeof(schema_error), "cannot load schema '%s'", path);
        free(path);
        return;
    }
    xmlRelaxNGSetParserStructuredErrors(pctxt, keep_first, &fe);
    schema = xmlRelaxNGParse(pctxt);
    xmlRelaxNGFreeParserCtxt(pctxt);
    if (!schema)
        snprintf(schema_error, sizeof(schema_error), "cannot load schema '%s': %s", path,
                 fe.set ? fe.msg : "not found or not a RelaxNG grammar");
    free(path);
}

/* The schema accepts any content inside <domain type=...> and
 * <inactiveDomain type=...> (domainContent in domainsnapshot.rng: any
 * attribute but a second type, text, any element with any content), so
 * their children can never make a document invalid.  They are hidden
 * from the validator while it runs (restored afterwards): matching every
 * node of an embedded domain against the "any" patterns was most of the
 * time a redefine spends validating.  At most 2 elements are hidden. */
struct hidden {
    xmlNode *el, *children, *last;
};

static size_t hide_domain_content(xmlDoc *doc, struct hidden h[2])
{
    xmlNode *root = xmlDocGetRootElement(doc);
    size_t n = 0;

    for (xmlNode *c = root ? root->children : NULL; c && n < 2; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->ns ||
            (strcmp((const char *)c->name, "domain") != 0 &&
             strcmp((const char *)c->name, "inactiveDomain") != 0) ||
            !xmlHasNsProp(c, (const xmlChar *)"type", NULL))
            continue;
        h[n++] = (struct hidden){ c, c->children, c->last };
        c->children = c->last = NULL;
    }
    return n;
}

static void restore_domain_content(struct hidden h[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h[i].el->children = h[i].children;
        h[i].el->last = h[i].last;
    }
}

int sb_schema_validate(xmlDoc *doc, const char *source_name)
{
    struct first_error fe = {0};
    xmlRelaxNGValidCtxtPtr vctxt;
    struct hidden hidden[2];
    int ret;

    pthread_once(&schema_once, compile_schema);
    if (!schema)
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "%s", schema_error);
    if (!(vctxt = xmlRelaxNGNewValidCtxt(schema)))
        return sb_error_oom();
    xmlRelaxNGSetValidStructuredErrors(vctxt, keep_first, &fe);
    size_t nhidden = hide_domain_content(doc, hidden);
    ret = xmlRelaxNGValidateDoc(vctxt, doc);
    restore_domain_content(hidden, nhidden);
    xmlRelaxNGFreeValidCtxt(vctxt);
    if (ret == 0)
        return 0;
    const char *src = source_name ? source_name : "input";
    if (fe.set && fe.line > 0 && fe.element[0])
        return sb_error_set(SB_ERR_XML_INVALID_SCHEMA,
                            "%s:%ld: element <%s> does not match schema domainsnapshot.rng: %s",
                            src, fe.line, fe.element, fe.msg);
    if (fe.set && fe.line > 0)
        return sb_error_set(SB_ERR_XML_INVALID_SCHEMA,
                            "%s:%ld: does not match schema domainsnapshot.rng: %s", src, fe.line,
                            fe.msg);
    return sb_error_set(SB_ERR_XML_INVALID_SCHEMA, "%s: does not match schema domainsnapshot.rng: %s",
                        src, fe.msg[0] ? fe.msg : "validation failed");
}
