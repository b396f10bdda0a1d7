/* The floor of esx_roundtrip: a minimal vSphere SOAP client.  One
 * libcurl handle (keep-alive, the session cookie), hand-written
 * envelopes, answers parsed with libxml2; it knows the VM's reference,
 * so a round trip is CreateSnapshot_Task, RevertToSnapshot_Task and
 * RemoveSnapshot_Task, each followed by polls of the task until it
 * ends: nothing a real client could leave out. */
#include "esx_bench.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>

struct esx_raw {
    CURL *h;
    struct curl_slist *hd;
    char *vm;
    char *poll_vm; /* a VM propSet each poll also reads (diagnostic), or NULL */
    char *pc; /* the property collector */
    char *body;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    esx_raw *r = arg;
    char *nb = realloc(r->body, r->len + size * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, size * n);
    r->len += size * n;
    nb[r->len] = '\0';
    r->body = nb;
    return size * n;
}

/* POST a body; the answer as a document (exits on a transport error). */
static xmlDoc *post(esx_raw *r, const char *method, const char *inner)
{
    char *env = NULL;
    if (asprintf(&env,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope "
                 "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
                 "<%s xmlns=\"urn:vim25\">%s</%s></soapenv:Body></soapenv:Envelope>",
                 method, inner, method) < 0)
        bench_die("out of memory");
    r->len = 0;
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, env);
    CURLcode cc = curl_easy_perform(r->h);
    free(env);
    if (cc != CURLE_OK)
        bench_die("raw client: %s: %s", method, curl_easy_strerror(cc));
    xmlDoc *doc = xmlReadMemory(r->body, (int)r->len, NULL, NULL, XML_PARSE_NONET);
    if (!doc)
        bench_die("raw client: %s: unreadable answer", method);
    return doc;
}

/* The text of the first element with this local name, or NULL. */
static char *find(xmlNode *n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return (char *)xmlNodeGetContent(n);
        char *hit = find(n->children, name);
        if (hit)
            return hit;
    }
    return NULL;
}

static char *call(esx_raw *r, const char *method, const char *inner, const char *want)
{
    xmlDoc *doc = post(r, method, inner);
    char *v = find(xmlDocGetRootElement(doc), want);
    if (!v)
        bench_die("raw client: %s: no <%s> in %.300s", method, want, r->body);
    xmlFreeDoc(doc);
    return v;
}

/* The value of the propSet with this name, anywhere below n. */
static char *prop(xmlNode *n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "propSet") == 0) {
            char *pn = find(n->children, "name");
            int hit = pn && strcmp(pn, name) == 0;
            xmlFree(pn);
            if (hit)
                return find(n->children, "val");
        }
        char *v = prop(n->children, name);
        if (v)
            return v;
    }
    return NULL;
}

/* Poll until the task ends; its result (a MoRef's text) or NULL. */
static char *wait_task(esx_raw *r, const char *task)
{
    char inner[4096];
    if (r->poll_vm)
        snprintf(inner, sizeof(inner),
                 "<_this type=\"PropertyCollector\">%s</_this><specSet><propSet><type>Task</type>"
                 "<pathSet>info.state</pathSet><pathSet>info.result</pathSet></propSet>%s"
                 "<objectSet><obj type=\"Task\">%s</obj></objectSet><objectSet>"
                 "<obj type=\"VirtualMachine\">%s</obj></objectSet></specSet><options/>",
                 r->pc, r->poll_vm, task, r->vm);
    else
        snprintf(inner, sizeof(inner),
                 "<_this type=\"PropertyCollector\">%s</_this><specSet><propSet><type>Task</type>"
                 "<pathSet>info.state</pathSet><pathSet>info.result</pathSet></propSet><objectSet>"
                 "<obj type=\"Task\">%s</obj></objectSet></specSet><options/>",
                 r->pc, task);
    for (;;) {
        xmlDoc *doc = post(r, "RetrievePropertiesEx", inner);
        xmlNode *root = xmlDocGetRootElement(doc);
        char *state = prop(root, "info.state");
        int done = state && strcmp(state, "success") == 0;
        int failed = state && strcmp(state, "error") == 0;
        char *result = done ? prop(root, "info.result") : NULL;
        xmlFree(state);
        xmlFreeDoc(doc);
        if (failed)
            bench_die("raw client: task %s failed: %.300s", task, r->body);
        if (done) {
            char *copy = result ? strdup(result) : NULL;
            xmlFree(result);
            return copy;
        }
    }
}

esx_raw *esx_raw_open(const char *url, const char *user, const char *password,
                      const char *vm_moref, const char *poll_vm)
{
    esx_raw *r = calloc(1, sizeof(*r));
    char inner[512];
    if (!r || !(r->h = curl_easy_init()))
        bench_die("raw client: no curl handle");
    r->vm = strdup(vm_moref);
    r->poll_vm = poll_vm ? strdup(poll_vm) : NULL;
    r->hd = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
    r->hd = curl_slist_append(r->hd, "SOAPAction: urn:vim25/6.5");
    curl_easy_setopt(r->h, CURLOPT_URL, url);
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hd);
    curl_easy_setopt(r->h, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
    r->pc = call(r, "RetrieveServiceContent",
                 "<_this type=\"ServiceInstance\">ServiceInstance</_this>", "propertyCollector");
    char *sm = call(r, "RetrieveServiceContent",
                    "<_this type=\"ServiceInstance\">ServiceInstance</_this>", "sessionManager");
    snprintf(inner, sizeof(inner),
             "<_this type=\"SessionManager\">%s</_this><userName>%s</userName>"
             "<password>%s</password>",
             sm, user, password);
    xmlFree(call(r, "Login", inner, "key"));
    xmlFree(sm);
    return r;
}

/* Call a *_Task method on _this (type, value) with these arguments and
 * wait for it; its result (malloc'ed) or NULL. */
static char *run_task(esx_raw *r, const char *method, const char *type, const char *value,
                      const char *args)
{
    char inner[512];
    snprintf(inner, sizeof(inner), "<_this type=\"%s\">%s</_this>%s", type, value, args);
    char *task = call(r, method, inner, "returnval");
    char *result = wait_task(r, task);
    xmlFree(task);
    return result;
}

void esx_raw_roundtrip(esx_raw *r, const char *name)
{
    char args[256];
    snprintf(args, sizeof(args),
             "<name>%s</name><description></description><memory>true</memory>"
             "<quiesce>false</quiesce>",
             name);
    char *snap = run_task(r, "CreateSnapshot_Task", "VirtualMachine", r->vm, args);
    if (!snap)
        bench_die("raw client: no snapshot from the create task");
    free(run_task(r, "RevertToSnapshot_Task", "VirtualMachineSnapshot", snap,
                  "<suppressPowerOn>false</suppressPowerOn>"));
    free(run_task(r, "RemoveSnapshot_Task", "VirtualMachineSnapshot", snap,
                  "<removeChildren>false</removeChildren><consolidate>true</consolidate>"));
    free(snap);
}

void esx_raw_close(esx_raw *r)
{
    if (!r)
        return;
    curl_easy_cleanup(r->h);
    curl_slist_free_all(r->hd);
    xmlFree(r->pc);
    free(r->vm);
    free(r->poll_vm);
    free(r->body);
    free(r);
}
