/* refhv's domains: a tiny state machine on the state file, as in ref. */
#include "refhv.h"
#include "fixture_file.h"

#include <string.h>

static int bad_flags(sb_conn *c, const char *op, unsigned flags)
{
    return hv_host->set_error(c->h, SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in %s", flags,
                              op);
}

static int active(int state)
{
    return state != SB_DOMAIN_SHUTOFF;
}

int hv_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    const unsigned known = SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE;
    struct hv_state st;
    char **names;
    size_t n = 0;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    if (flags & ~known)
        return bad_flags(c, "domain_list", flags & ~known);
    if ((rc = hv_load(&st, c, 0)) < 0)
        return rc;
    if (!(names = hv_host->alloc((st.n + 1) * sizeof(*names)))) {
        hv_release(&st);
        return hv_oom(c);
    }
    for (size_t i = 0; i < st.n; i++) {
        int a = active(st.doms[i].state);
        if ((flags & known) == SB_DOMAIN_LIST_ACTIVE && !a)
            continue;
        if ((flags & known) == SB_DOMAIN_LIST_INACTIVE && a)
            continue;
        names[n++] = st.doms[i].name; /* moved */
        st.doms[i].name = NULL;
    }
    hv_release(&st);
    *out_names = names;
    *out_n = n;
    return 0;
}

int hv_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    *out_xml = NULL;
    if (flags & ~0x7u) /* SECURE | INACTIVE | UPDATE_CPU: meaningless here */
        return bad_flags(c, "domain_get_xml", flags & ~0x7u);
    if ((rc = hv_load(&st, c, 0)) < 0)
        return rc;
    if (!(d = hv_find_dom(&st, domain)))
        rc = hv_no_domain(c, domain);
    else if (!(*out_xml = hv_host->strdup(d->xml)))
        rc = hv_oom(c);
    hv_release(&st);
    return rc;
}

int hv_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    *out_state = SB_DOMAIN_NOSTATE;
    if ((rc = hv_load(&st, c, 0)) < 0)
        return rc;
    if (!(d = hv_find_dom(&st, domain)))
        rc = hv_no_domain(c, domain);
    else
        *out_state = d->state;
    hv_release(&st);
    return rc;
}


static int transition(sb_conn *c, const char *domain, unsigned from_mask, int to,
                      const char *why)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    if ((rc = hv_load(&st, c, 1)) < 0)
        return rc;
    if (!(d = hv_find_dom(&st, domain)))
        rc = hv_no_domain(c, domain);
    else if (!(from_mask & (1u << d->state)))
        rc = hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID, "domain '%s' %s", domain, why);
    else {
        d->state = to;
        rc = hv_save(&st, c);
    }
    hv_release(&st);
    return rc;
}

/* One lifecycle verb: the shared rules (fixture_file.c), this state file. */
static int lifecycle(sb_conn *c, const char *domain, const char *verb, unsigned flags)
{
    struct fx_transition t;
    unsigned bad = fx_domain_transition(verb, flags, &t);
    if (bad)
        return bad_flags(c, verb, bad);
    return transition(c, domain, t.from_mask, t.to, t.refusal);
}

int hv_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_start", flags);
}

int hv_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_destroy", flags);
}

int hv_domain_shutdown(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_shutdown", flags);
}

int hv_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_suspend", flags);
}

int hv_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_resume", flags);
}

int hv_domain_define(char **out_name, sb_conn *c, const char *xml, unsigned flags)
{
    struct sb_domain_view *v = NULL;
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    *out_name = NULL;
    if (flags)
        return bad_flags(c, "domain_define", flags);
    if ((rc = hv_host->domain_view(c->h, xml, &v)) < 0)
        return rc;
    if (!v->name || !*v->name || strlen(v->name) > 255) {
        rc = hv_host->set_error(c->h, SB_ERR_XML_ERROR, "domain name '%s' is empty or too long",
                                v->name ? v->name : "");
        hv_host->domain_view_free(v);
        return rc;
    }
    if ((rc = hv_load(&st, c, 1)) < 0) {
        hv_host->domain_view_free(v);
        return rc;
    }
    if ((d = hv_find_dom(&st, v->name)) != NULL) {
        if (hv_set(&d->xml, xml) < 0)
            rc = hv_oom(c);
    } else {
        struct hv_dom *nd = hv_host->realloc(st.doms, (st.n + 1) * sizeof(*nd));
        if (!nd) {
            rc = hv_oom(c);
        } else {
            st.doms = nd;
            d = &nd[st.n++];
            memset(d, 0, sizeof(*d));
            d->state = SB_DOMAIN_SHUTOFF;
            d->name = hv_host->strdup(v->name);
            d->xml = hv_host->strdup(xml);
            if (!d->name || !d->xml)
                rc = hv_oom(c);
        }
    }
    if (rc == 0)
        rc = hv_save(&st, c);
    if (rc == 0 && !(*out_name = hv_host->strdup(v->name)))
        rc = hv_oom(c);
    hv_release(&st);
    hv_host->domain_view_free(v);
    return rc;
}

/* The VM goes with its snapshots (vSphere's Destroy_Task, VirtualBox's
 * unregister with cleanup): nothing of them survives in the hypervisor. */
int hv_domain_undefine(sb_conn *c, const char *domain, unsigned flags)
{
    struct hv_state st;
    struct hv_dom *d;
    int rc;

    /* the snapshots go with the VM either way (see refhv.h) */
    if (flags & ~(unsigned)SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        return bad_flags(c, "domain_undefine", flags);
    if ((rc = hv_load(&st, c, 1)) < 0)
        return rc;
    if (!(d = hv_find_dom(&st, domain))) {
        rc = hv_no_domain(c, domain);
    } else if (active(d->state)) {
        rc = hv_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                "domain '%s' is running; destroy it first", domain);
    } else {
        /* Close the gap; the removed record is parked past the end so
         * that hv_release() frees it. */
        struct hv_dom gone = *d;
        size_t i = (size_t)(d - st.doms);
        memmove(d, d + 1, (st.n - i - 1) * sizeof(*d));
        st.doms[st.n - 1] = gone; /* freed by hv_release */
        st.n--;
        rc = hv_save(&st, c);
        st.n++;
    }
    hv_release(&st);
    return rc;
}
