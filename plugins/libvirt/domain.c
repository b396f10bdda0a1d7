/* libvirt plugin - domains: list, XML, state, define, undefine and the
 * lifecycle verbs, one libvirt call each.  The broker's flag values for
 * these calls are libvirt's (SB_DOMAIN_LIST_ACTIVE = VIR_CONNECT_LIST_
 * DOMAINS_ACTIVE, SB_DOMAIN_START_PAUSED = VIR_DOMAIN_START_PAUSED,
 * SB_SNAPSHOT_XML_SECURE = VIR_DOMAIN_XML_SECURE, the state enums). */
#include "lvp.h"

#include <stdlib.h>

struct dom_args {
    const char *domain;
    unsigned flags;
    char **out_str;
    char ***out_names;
    size_t *out_n;
    int *out_state, *out_reason;
    int (*verb)(virDomainPtr d, unsigned flags);
    const char *verb_name;
};

static int op_list(sb_conn *c, void *arg)
{
    struct dom_args *a = arg;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c->vc, &doms, a->flags), rc;

    if (n < 0)
        return lvp_fail_vir(c, "host '%s': listing domains", c->host);
    const char **names = calloc((size_t)n + 1, sizeof(*names));
    for (int i = 0; names && i < n; i++)
        names[i] = virDomainGetName(doms[i]);
    rc = names ? lvp_out_names(c, a->out_names, a->out_n, names, (size_t)n)
               : lvp_fail(c, SB_ERR_NO_MEMORY, "out of memory");
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    free(names);
    return rc;
}

int lvp_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    struct dom_args a = { .flags = flags, .out_names = out_names, .out_n = out_n };
    return lvp_call(c, LVP_READ, "domain listing", op_list, &a);
}

static int op_get_xml(sb_conn *c, void *arg)
{
    struct dom_args *a = arg;
    virDomainPtr d = lvp_domain(c, a->domain);
    char *xml;
    int rc;

    if (!d)
        return -c->err.code;
    if (!(xml = virDomainGetXMLDesc(d, a->flags)))
        rc = lvp_fail_vir(c, "XML of domain '%s'", a->domain);
    else
        rc = lvp_out_str(c, a->out_str, xml);
    free(xml);
    virDomainFree(d);
    return rc;
}

int lvp_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    struct dom_args a = { .domain = domain, .flags = flags, .out_str = out_xml };
    return lvp_call(c, LVP_READ, "domain XML", op_get_xml, &a);
}

static int op_state(sb_conn *c, void *arg)
{
    struct dom_args *a = arg;
    virDomainPtr d = lvp_domain(c, a->domain);
    int state, reason, rc = 0;

    if (!d)
        return -c->err.code;
    if (virDomainGetState(d, &state, &reason, 0) < 0) {
        rc = lvp_fail_vir(c, "state of domain '%s'", a->domain);
    } else {
        *a->out_state = state;
        if (a->out_reason)
            *a->out_reason = reason;
    }
    virDomainFree(d);
    return rc;
}

int lvp_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    struct dom_args a = { .domain = domain, .out_state = out_state };
    return lvp_call(c, LVP_READ, "domain state", op_state, &a);
}

int lvp_domain_get_state_reason(int *out_state, int *out_reason, sb_conn *c, const char *domain)
{
    struct dom_args a = { .domain = domain, .out_state = out_state, .out_reason = out_reason };
    return lvp_call(c, LVP_READ, "domain state", op_state, &a);
}

static int op_define(sb_conn *c, void *arg)
{
    struct dom_args *a = arg;
    virDomainPtr d = virDomainDefineXMLFlags(c->vc, a->domain, a->flags);
    int rc;

    if (!d)
        return lvp_fail_vir(c, "host '%s': defining a domain", c->host);
    rc = lvp_out_str(c, a->out_str, virDomainGetName(d));
    virDomainFree(d);
    return rc;
}

int lvp_domain_define(char **out_name, sb_conn *c, const char *domain_xml, unsigned flags)
{
    /* .domain carries the XML here */
    struct dom_args a = { .domain = domain_xml, .flags = flags, .out_str = out_name };
    return lvp_call(c, LVP_WRITE, "domain define", op_define, &a);
}

static int op_verb(sb_conn *c, void *arg)
{
    struct dom_args *a = arg;
    virDomainPtr d = lvp_domain(c, a->domain);
    int rc = 0;

    if (!d)
        return -c->err.code;
    if (a->verb(d, a->flags) < 0)
        rc = lvp_fail_vir(c, "%s of domain '%s'", a->verb_name, a->domain);
    virDomainFree(d);
    return rc;
}

static int verb(sb_conn *c, const char *domain, unsigned flags, const char *name,
                int (*fn)(virDomainPtr, unsigned))
{
    struct dom_args a = { .domain = domain, .flags = flags, .verb = fn, .verb_name = name };
    return lvp_call(c, LVP_WRITE, name, op_verb, &a);
}

/* libvirt's calls without a flags argument, in the verb shape. */
static int suspend_fn(virDomainPtr d, unsigned flags)
{
    (void)flags; /* the broker passes 0 */
    return virDomainSuspend(d);
}

static int resume_fn(virDomainPtr d, unsigned flags)
{
    (void)flags;
    return virDomainResume(d);
}

int lvp_domain_undefine(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "undefine", virDomainUndefineFlags);
}

int lvp_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "start", virDomainCreateWithFlags);
}

int lvp_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "destroy", virDomainDestroyFlags);
}

int lvp_domain_shutdown(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "shutdown", virDomainShutdownFlags);
}

int lvp_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "suspend", suspend_fn);
}

int lvp_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    return verb(c, domain, flags, "resume", resume_fn);
}
