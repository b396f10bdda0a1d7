/* The session: the service content (manager references, API version,
 * whether this is an ESXi host or a vCenter), Login and Logout.  The
 * session cookie lives in libcurl's cookie engine; the password is sent
 * in the Login body only, never logged. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

static int take_ref(esx_conn *c, xmlNode *rv, const char *name, esx_ref *out, int required)
{
    xmlNode *n = ex_child(rv, name);
    if (!n)
        return required ? esx_error(c, SB_ERR_HYPERVISOR,
                                    "esx: %s's service content has no %s: not a vSphere "
                                    "endpoint?",
                                    c->display, name)
                        : 0;
    return ex_ref(n, out) < 0 ? esx_oom(c) : 0;
}

static int service_content(esx_conn *c)
{
    esx_ref si = { (char *)"ServiceInstance", (char *)"ServiceInstance" };
    xmlDoc *doc;
    xmlNode *resp;
    int rc;

    if ((rc = esx_call(c, "RetrieveServiceContent", &si, NULL, &doc, &resp)) < 0)
        return rc;
    xmlNode *rv = ex_child(resp, "returnval");
    xmlNode *about = ex_child(rv, "about");
    if ((rc = take_ref(c, rv, "rootFolder", &c->root_folder, 1)) < 0 ||
        (rc = take_ref(c, rv, "propertyCollector", &c->property_collector, 1)) < 0 ||
        (rc = take_ref(c, rv, "sessionManager", &c->session_manager, 1)) < 0 ||
        (rc = take_ref(c, rv, "viewManager", &c->view_manager, 1)) < 0 ||
        (rc = take_ref(c, rv, "searchIndex", &c->search_index, 1)) < 0)
        goto out;
    free(c->api_version);
    free(c->api_type);
    free(c->product);
    c->api_version = ex_child_text(about, "apiVersion");
    c->api_type = ex_child_text(about, "apiType");
    c->product = ex_child_text(about, "fullName");
    if (!c->api_version || !c->api_type) {
        rc = esx_error(c, SB_ERR_HYPERVISOR,
                       "esx: %s does not say which vSphere API it serves (about.apiVersion)",
                       c->display);
        goto out;
    }
    rc = esx_transport_headers(c);
out:
    xmlFreeDoc(doc);
    return rc;
}

int esx_login(esx_conn *c)
{
    esx_buf args = { 0 };
    xmlDoc *doc = NULL;
    xmlNode *resp;
    int rc;

    eb_elem(&args, "userName", c->user);
    eb_elem(&args, "password", c->password);
    char *a = eb_steal(&args);
    if (!a)
        return esx_oom(c);
    rc = esx_call(c, "Login", &c->session_manager, a, &doc, &resp);
    memset(a, 0, strlen(a));
    free(a);
    if (rc < 0) {
        if (esx_fault_is(c, "InvalidLogin"))
            return esx_error(c, SB_ERR_CONFIG,
                             "esx: %s refused the login of user '%s' (%s): check the user and "
                             "password in the host's esx group or its auth file",
                             c->display, c->user, c->fault_msg[0] ? c->fault_msg : "InvalidLogin");
        return rc;
    }
    xmlFreeDoc(doc);
    c->logged_in = 1;
    return 0;
}

int esx_session_open(esx_conn *c)
{
    int rc;
    if ((rc = service_content(c)) < 0 || (rc = esx_login(c)) < 0)
        return rc;
    esx_log(c, SB_LOG_INFO, "esx: logged in to %s (%s, API %s) as '%s'", c->display,
            c->product ? c->product : c->api_type, c->api_version, c->user);
    return 0;
}

void esx_session_close(esx_conn *c)
{
    xmlDoc *doc = NULL;
    xmlNode *resp;

    if (!c->logged_in)
        return;
    c->logged_in = 0; /* no re-login from inside Logout */
    c->quiet = 1;     /* close() reports nothing to the broker */
    if (esx_call(c, "Logout", &c->session_manager, NULL, &doc, &resp) < 0)
        esx_log(c, SB_LOG_DEBUG, "esx: logout from %s: %s", c->display, c->err_msg);
    c->quiet = 0;
    xmlFreeDoc(doc);
}

int esx_is_vcenter(const esx_conn *c)
{
    return c->api_type && strcmp(c->api_type, "VirtualCenter") == 0;
}
