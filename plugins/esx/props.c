/* The PropertyCollector: RetrievePropertiesEx (and
 * ContinueRetrievePropertiesEx while the host hands out tokens), turned
 * into a list of objects and their property values.  Values stay inside
 * the parsed answers, which the result keeps alive; device lists are set
 * aside unread (defer.c), each wrapped here into a document of its own
 * that declares the namespaces in scope where it was cut out. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

void esx_result_clear(esx_result *r)
{
    for (size_t i = 0; i < r->nobjs; i++) {
        esx_ref_clear(&r->objs[i].ref);
        for (size_t k = 0; k < r->objs[i].nprops; k++)
            free(r->objs[i].props[k].name);
        free(r->objs[i].props);
    }
    free(r->objs);
    esx_texts_clear(&r->deferred);
    for (size_t i = 0; i < r->ndocs; i++)
        xmlFreeDoc(r->docs[i]);
    free(r->docs);
    memset(r, 0, sizeof(*r));
}

xmlNode *esx_obj_prop(const esx_obj *o, const char *name)
{
    for (size_t i = 0; o && i < o->nprops; i++)
        if (strcmp(o->props[i].name, name) == 0)
            return o->props[i].val;
    return NULL;
}

const esx_obj *esx_result_find(const esx_result *r, const esx_ref *ref)
{
    for (size_t i = 0; i < r->nobjs; i++)
        if (esx_ref_eq(&r->objs[i].ref, ref))
            return &r->objs[i];
    return NULL;
}

/* The text an <esxDeferred> marker stands for, made a document: a root
 * declaring the namespaces in scope at the marker, holding the <val>.
 * *out stays NULL for a marker that names no text; -1: out of memory. */
static int resolve_deferred(esx_result *r, xmlNode *marker, const char **out)
{
    char *idx = ex_text(marker), *endp;
    if (!idx)
        return -1;
    unsigned long i = strtoul(idx, &endp, 10);
    int ok = *idx && !*endp && i < r->deferred.n;
    free(idx);
    if (!ok)
        return 0;
    esx_buf b = { 0 };
    xmlNs **ns = xmlGetNsList(marker->doc, marker);
    eb_adds(&b, "<esxDeferred");
    for (size_t k = 0; ns && ns[k]; k++) {
        if (ns[k]->prefix)
            eb_printf(&b, " xmlns:%s=\"", (const char *)ns[k]->prefix);
        else
            eb_adds(&b, " xmlns=\"");
        eb_esc(&b, (const char *)ns[k]->href);
        eb_adds(&b, "\"");
    }
    xmlFree(ns);
    eb_adds(&b, ">");
    eb_adds(&b, r->deferred.v[i]);
    eb_adds(&b, "</esxDeferred>");
    char *doc = eb_steal(&b);
    if (!doc)
        return -1;
    free(r->deferred.v[i]);
    *out = r->deferred.v[i] = doc;
    return 0;
}

static int add_object(esx_result *r, const xmlNode *on)
{
    esx_obj *nv = realloc(r->objs, (r->nobjs + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    r->objs = nv;
    esx_obj *o = &r->objs[r->nobjs++];
    memset(o, 0, sizeof(*o));
    if (ex_ref(ex_child(on, "obj"), &o->ref) < 0)
        return -1;
    for (xmlNode *ps = ex_child(on, "propSet"); ps; ps = ex_next(ps)) {
        esx_prop *np = realloc(o->props, (o->nprops + 1) * sizeof(*np));
        if (!np)
            return -1;
        o->props = np;
        esx_prop *p = &o->props[o->nprops];
        memset(p, 0, sizeof(*p));
        if (!(p->name = ex_child_text(ps, "name")))
            return -1;
        o->nprops++;
        xmlNode *marker = (p->val = ex_child(ps, "val")) ? NULL : ex_child(ps, "esxDeferred");
        if (marker && resolve_deferred(r, marker, &p->deferred) < 0)
            return -1;
    }
    /* Without a session a host answers with every path "missing":
     * NotAuthenticated.  Other missing paths (InvalidProperty) are just
     * absent properties. */
    for (xmlNode *ms = ex_child(on, "missingSet"); ms; ms = ex_next(ms)) {
        char *t = ex_xsi_type(ex_child(ex_child(ms, "fault"), "fault"));
        if (t && strcmp(t, "NotAuthenticated") == 0)
            o->not_authenticated = 1;
        free(t);
    }
    return 0;
}

static int keep_doc(esx_result *r, xmlDoc *doc)
{
    xmlDoc **nd = realloc(r->docs, (r->ndocs + 1) * sizeof(*nd));
    if (!nd)
        return -1;
    r->docs = nd;
    r->docs[r->ndocs++] = doc;
    return 0;
}

int esx_result_take_page(esx_conn *c, esx_result *r, xmlDoc *doc, xmlNode *resp, char **token)
{
    xmlNode *rv = ex_child(resp, "returnval");
    *token = NULL;
    if (keep_doc(r, doc) < 0) {
        xmlFreeDoc(doc);
        return esx_oom(c);
    }
    for (xmlNode *o = ex_child(rv, "objects"); o; o = ex_next(o))
        if (add_object(r, o) < 0)
            return esx_oom(c);
    if (rv && ex_child(rv, "token") && !(*token = ex_child_text(rv, "token")))
        return esx_oom(c);
    return 0;
}

static int retrieve_once(esx_conn *c, const char *spec, esx_result *out)
{
    esx_buf args = { 0 };
    xmlDoc *doc;
    xmlNode *resp;
    char *token = NULL;
    int rc;

    eb_adds(&args, "<specSet>");
    eb_adds(&args, spec);
    eb_adds(&args, "</specSet><options></options>");
    char *a = eb_steal(&args);
    if (!a)
        return esx_oom(c);
    c->defer = &out->deferred;
    rc = esx_call(c, "RetrievePropertiesEx", &c->property_collector, a, &doc, &resp);
    free(a);
    if (rc < 0)
        return rc;
    rc = esx_result_take_page(c, out, doc, resp, &token);
    while (rc == 0 && token) {
        esx_buf t = { 0 };
        eb_elem(&t, "token", token);
        free(token);
        token = NULL;
        if (!(a = eb_steal(&t)))
            return esx_oom(c);
        c->defer = &out->deferred;
        rc = esx_call(c, "ContinueRetrievePropertiesEx", &c->property_collector, a, &doc, &resp);
        free(a);
        if (rc == 0)
            rc = esx_result_take_page(c, out, doc, resp, &token);
    }
    free(token);
    return rc;
}

int esx_retrieve(esx_conn *c, const char *spec, esx_result *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    for (int attempt = 0;; attempt++) {
        if ((rc = retrieve_once(c, spec, out)) < 0) {
            esx_result_clear(out);
            return rc;
        }
        int lost = 0;
        for (size_t i = 0; i < out->nobjs; i++)
            lost |= out->objs[i].not_authenticated;
        if (!lost || attempt > 0 || !c->logged_in)
            break;
        /* the session expired: this call answers "missing", not a fault */
        esx_result_clear(out);
        c->logged_in = 0;
        if ((rc = esx_login(c)) < 0)
            return rc;
    }
    return 0;
}

int esx_retrieve_one(esx_conn *c, esx_buf *spec, const char *type, const char *value,
                     esx_result *out)
{
    memset(out, 0, sizeof(*out));
    eb_adds(spec, "<objectSet>");
    eb_ref(spec, "obj", type, value);
    eb_adds(spec, "</objectSet>");
    char *s = eb_steal(spec);
    if (!s)
        return esx_oom(c);
    int rc = esx_retrieve(c, s, out);
    free(s);
    return rc;
}
