/* The SOAP transport: one libcurl easy handle per connection (keep-alive,
 * the session cookie in curl's in-memory cookie engine), hand-written
 * envelopes, answers read with libxml2.  HTTP 500 carries SOAP faults;
 * their detail element's type is what callers act on (faultstring may be
 * empty, e.g. for NotAuthenticated). */
#include "esx.h"
#include "esx_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    esx_buf *b = arg;
    eb_add(b, ptr, size * nmemb);
    return b->oom ? 0 : size * nmemb;
}

int esx_transport_open(esx_conn *c)
{
    CURL *h = curl_easy_init();
    int rc = 0;

    if (!h)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: libcurl could not make a handle");
    c->curl = h;
    if ((rc = esx_transport_headers(c)) < 0)
        return rc;
#define SET(opt, val)                                                                   \
    do {                                                                                \
        if (curl_easy_setopt(h, opt, val) != CURLE_OK)                                  \
            return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: libcurl refused " #opt);   \
    } while (0)
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_COOKIEFILE, ""); /* in-memory cookies: the session */
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_USERAGENT, "snapbroker-esx/1.0");
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_PROTOCOLS_STR, c->uri.https ? "https" : "http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    if (c->uri.https) {
        /* A pinned thumbprint replaces the CA chain and the host name:
         * the certificate itself is what is trusted (tls.c checks it). */
        long verify = c->tls_verify && !c->pin_len;
        SET(CURLOPT_SSL_VERIFYPEER, verify);
        SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
        if (c->ca_file)
            SET(CURLOPT_CAINFO, c->ca_file);
        if ((rc = esx_tls_setup(c, h)) < 0)
            return rc;
    }
#undef SET
    return 0;
}

void esx_transport_close(esx_conn *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->headers)
        curl_slist_free_all(c->headers);
    c->curl = c->headers = NULL;
    ex_parser_free(&c->parser);
}

/* The SOAPAction header names the API version we talk (vCenter and ESXi
 * negotiate with it); before the service content is read, the plain one. */
int esx_transport_headers(esx_conn *c)
{
    struct curl_slist *hd = NULL;
    char action[96];

    snprintf(action, sizeof(action), "SOAPAction: urn:vim25%s%s", c->api_version ? "/" : "",
             c->api_version ? c->api_version : "");
    if (!(hd = curl_slist_append(hd, "Content-Type: text/xml; charset=utf-8")) ||
        !curl_slist_append(hd, action)) {
        curl_slist_free_all(hd);
        return esx_oom(c);
    }
    curl_slist_free_all(c->headers);
    c->headers = hd;
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hd);
    return 0;
}

static int transport_error(esx_conn *c, const char *method, CURLcode cc, const char *detail)
{
    const char *what = detail && *detail ? detail : curl_easy_strerror(cc);

    if (c->pin_mismatch)
        return esx_error(c, SB_ERR_CONFIG,
                         "esx: the certificate of %s has SHA-256 thumbprint %s, not the "
                         "pinned one: refusing to talk to it (update 'thumbprint' in the "
                         "host's esx group only if the host's certificate really changed)",
                         c->display, c->seen_thumbprint);
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
        (cc == CURLE_SSL_CONNECT_ERROR && c->tls_verify && c->seen_thumbprint[0]))
        return esx_error(c, SB_ERR_CONFIG,
                         "esx: the certificate of %s is not trusted: %s.  Trust its CA "
                         "(ca_file), or pin it (thumbprint = \"%s\") after checking that "
                         "this is the host's certificate, or turn verification off "
                         "(tls_verify = false) in the host's esx group",
                         c->display, what,
                         c->seen_thumbprint[0] ? c->seen_thumbprint : "<SHA-256 of the "
                                                                      "certificate>");
    return esx_error(c, SB_ERR_HYPERVISOR, "esx: no answer from %s to %s: %s", c->url, method,
                     what);
}

/* POST one envelope; *doc gets the parsed answer, with its device lists
 * set aside into defer (when not NULL).  scan (may be NULL): an answer
 * that is one reference in the plain shape (ex_scan_ref) goes there
 * instead, *doc NULL. */
static int post(esx_conn *c, const char *method, const char *body, esx_texts *defer,
                esx_ref *scan, xmlDoc **doc, long *status)
{
    esx_buf in = { 0 };
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc;

    *doc = NULL;
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &in);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
    c->pin_mismatch = 0;
    cc = curl_easy_perform(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    if (cc != CURLE_OK) {
        eb_free(&in);
        return transport_error(c, method, cc, errbuf);
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    if (scan && *status == 200 && !in.oom && in.p) {
        int found = ex_scan_ref(in.p, in.len, method, scan);
        if (found) {
            eb_free(&in);
            return found < 0 ? esx_oom(c) : 0;
        }
    }
    if (in.oom || (defer && ex_defer_devices(&in, defer) < 0)) {
        eb_free(&in);
        return esx_oom(c);
    }
    *doc = in.p ? ex_parse(in.p, in.len, &c->parser) : NULL;
    if (!*doc) {
        char head[120] = "";
        snprintf(head, sizeof(head), "%.100s", in.p ? in.p : "");
        for (char *p = head; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        eb_free(&in);
        return esx_error(c, SB_ERR_HYPERVISOR,
                         "esx: %s answered %s with HTTP %ld and no SOAP envelope ('%s')",
                         c->display, method, *status, head);
    }
    eb_free(&in);
    return 0;
}

/* Fill fault_type/fault_msg from a <Fault>. */
static void read_fault(esx_conn *c, const xmlNode *fault)
{
    char *msg = ex_child_text(fault, "faultstring");
    xmlNode *detail = ex_child(ex_child(fault, "detail"), NULL);
    char *type = ex_xsi_type(detail);

    snprintf(c->fault_msg, sizeof(c->fault_msg), "%s", msg ? msg : "");
    if (!type && detail) {
        /* <InvalidLoginFault> without xsi:type: the element names it */
        const char *n = (const char *)detail->name;
        size_t len = strlen(n);
        if (len > 5 && strcmp(n + len - 5, "Fault") == 0)
            len -= 5;
        snprintf(c->fault_type, sizeof(c->fault_type), "%.*s", (int)len, n);
    } else {
        snprintf(c->fault_type, sizeof(c->fault_type), "%s", type ? type : "");
    }
    free(msg);
    free(type);
}

int esx_fault_is(const esx_conn *c, const char *type)
{
    return strcmp(c->fault_type, type) == 0;
}

static char *envelope(const char *method, const esx_ref *this_ref, const char *args)
{
    esx_buf b = { 0 };
    eb_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<soapenv:Envelope xmlns:soapenv=\"" ESX_NS_SOAP "\" "
                "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                "xmlns:xsi=\"" ESX_NS_XSI "\"><soapenv:Body>");
    eb_printf(&b, "<%s xmlns=\"" ESX_NS_VIM "\">", method);
    if (this_ref)
        eb_ref(&b, "_this", this_ref->type, this_ref->value);
    if (args)
        eb_adds(&b, args);
    eb_printf(&b, "</%s></soapenv:Body></soapenv:Envelope>", method);
    return eb_steal(&b);
}

/* esx_call; scan: see post() (the caller then finds *doc NULL). */
static int call(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
                esx_ref *scan, xmlDoc **doc, xmlNode **resp)
{
    int relogin = c->logged_in && strcmp(method, "Login") != 0 && strcmp(method, "Logout") != 0;
    esx_texts *defer = c->defer; /* this call's answer only (not a login's) */
    char *body = NULL;
    long status = 0;
    int rc;

    *doc = NULL;
    *resp = NULL;
    c->defer = NULL;
    c->fault_type[0] = c->fault_msg[0] = '\0';
    if (!(body = envelope(method, this_ref, args)))
        return esx_oom(c);
    if (c->trace)
        esx_log(c, SB_LOG_DEBUG, "esx: %s %s", method, this_ref ? this_ref->value : "");
    for (int attempt = 0;; attempt++) {
        c->fault_type[0] = c->fault_msg[0] = '\0';
        if ((rc = post(c, method, body, defer, scan, doc, &status)) < 0 || !*doc)
            break;
        xmlNode *b = ex_child(xmlDocGetRootElement(*doc), "Body");
        xmlNode *fault = ex_child(b, "Fault");
        if (fault) {
            read_fault(c, fault);
            xmlFreeDoc(*doc);
            *doc = NULL;
            /* An expired session (vCenter drops idle ones): log in again,
             * once, and repeat the call. */
            if (esx_fault_is(c, "NotAuthenticated") && relogin && attempt == 0) {
                esx_log(c, SB_LOG_INFO, "esx: session on %s expired; logging in again",
                        c->display);
                c->logged_in = 0;
                if ((rc = esx_login(c)) < 0)
                    break;
                continue;
            }
            rc = esx_error(c, esx_fault_class(c->fault_type), "esx: %s on %s failed: %s%s%s%s",
                           method, c->display, c->fault_msg[0] ? c->fault_msg : "(no message)",
                           c->fault_type[0] ? " (" : "", c->fault_type,
                           c->fault_type[0] ? ")" : "");
            break;
        }
        char want[128];
        snprintf(want, sizeof(want), "%sResponse", method);
        if (!(*resp = ex_child(b, want))) {
            xmlFreeDoc(*doc);
            *doc = NULL;
            rc = esx_error(c, SB_ERR_HYPERVISOR, "esx: %s answered %s (HTTP %ld) without <%s>",
                           c->display, method, status, want);
        }
        break;
    }
    free(body);
    return rc;
}

int esx_call(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
             xmlDoc **doc, xmlNode **resp)
{
    return call(c, method, this_ref, args, NULL, doc, resp);
}

int esx_call_ref(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
                 esx_ref *out)
{
    xmlDoc *doc = NULL;
    xmlNode *resp;
    int rc = call(c, method, this_ref, args, out, &doc, &resp);
    if (rc < 0 || !doc)
        return rc;
    if (ex_ref(ex_child(resp, "returnval"), out) < 0)
        rc = esx_error(c, SB_ERR_HYPERVISOR, "esx: %s on %s returned no reference", method,
                       c->display);
    xmlFreeDoc(doc);
    return rc;
}
