/* Domain callbacks of the reference plugin: a tiny state machine on the
 * state file, with libvirt's error classes for invalid transitions. */
#include "ref.h"
#include "fixture_file.h"

#include <string.h>

#define DOMAIN_LIST_KNOWN (SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE)
/* libvirt's VIR_DOMAIN_XML_SECURE | INACTIVE | UPDATE_CPU: accepted and
 * meaningless here (the XML holds no secrets and no live-only data). */
#define DOMAIN_XML_KNOWN 0x7u

static int bad_flags(sb_conn *c, const char *op, unsigned flags)
{
    return ref_host->set_error(c->h, SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in %s",
                               flags, op);
}

static int active(int state)
{
    return state != SB_DOMAIN_SHUTOFF;
}

int ref_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    struct ref_state st;
    char **names;
    size_t i, n = 0;
    int lock, rc;

    *out_names = NULL;
    *out_n = 0;
    if (flags & ~DOMAIN_LIST_KNOWN)
        return bad_flags(c, "domain_list", flags & ~DOMAIN_LIST_KNOWN);
    if ((rc = ref_state_load(&st, &lock, c, 0)) < 0)
        return rc;
    ref_state_unlock(lock);
    if (!(names = ref_host->alloc((st.n ? st.n : 1) * sizeof(*names)))) {
        ref_state_clear(&st);
        return ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    }
    for (i = 0; i < st.n; i++) {
        int a = active(st.doms[i].state);
        /* neither filter bit (or both) means all domains */
        if ((flags & SB_DOMAIN_LIST_ACTIVE) && !(flags & SB_DOMAIN_LIST_INACTIVE) && !a)
            continue;
        if ((flags & SB_DOMAIN_LIST_INACTIVE) && !(flags & SB_DOMAIN_LIST_ACTIVE) && a)
            continue;
        names[n++] = st.doms[i].name; /* moved: allocated with host->alloc */
        st.doms[i].name = NULL;
    }
    for (i = 0; i < st.n; i++)
        ref_host->free(st.doms[i].name);
    for (i = 0; i < st.n; i++)
        st.doms[i].name = NULL;
    ref_state_clear(&st);
    *out_names = names;
    *out_n = n;
    return 0;
}

/* Read one domain's field under a shared lock. */
int ref_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    struct ref_state st;
    struct ref_domain *d;
    int lock, rc;

    *out_xml = NULL;
    if (flags & ~DOMAIN_XML_KNOWN)
        return bad_flags(c, "domain_get_xml", flags & ~DOMAIN_XML_KNOWN);
    if ((rc = ref_state_load(&st, &lock, c, 0)) < 0)
        return rc;
    ref_state_unlock(lock);
    if (!(d = ref_state_find(&st, domain)))
        rc = ref_no_domain(c, domain);
    else if (!(*out_xml = ref_host->strdup(d->xml)))
        rc = ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    ref_state_clear(&st);
    return rc;
}

static int state_of(int *out_state, sb_conn *c, const char *domain)
{
    struct ref_state st;
    struct ref_domain *d;
    int lock, rc;

    *out_state = SB_DOMAIN_NOSTATE;
    if ((rc = ref_state_load(&st, &lock, c, 0)) < 0)
        return rc;
    ref_state_unlock(lock);
    if (!(d = ref_state_find(&st, domain)))
        rc = ref_no_domain(c, domain);
    else
        *out_state = d->state;
    ref_state_clear(&st);
    return rc;
}

int ref_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    ref_call_log("domain_get_state");
    return state_of(out_state, c, domain);
}

/* ABI 1.2: the same file read, the answer reduced to active or not (the
 * reference of the ABI shows the callback; a real plugin has it where it
 * is cheaper than its state query). */
int ref_domain_is_active(int *out_active, sb_conn *c, const char *domain)
{
    int state, rc;

    ref_call_log("domain_is_active");
    *out_active = 0;
    if ((rc = state_of(&state, c, domain)) == 0)
        *out_active = active(state);
    return rc;
}

/* The state transitions: from_mask says which current states are valid
 * (bit per enum sb_domain_state), to is the new state.  why names the
 * refusal as libvirt words it. */
static int transition(sb_conn *c, const char *domain, unsigned from_mask, int to,
                      const char *why)
{
    struct ref_state st;
    struct ref_domain *d;
    int lock, rc;

    if ((rc = ref_state_load(&st, &lock, c, 1)) < 0)
        return rc;
    if (!(d = ref_state_find(&st, domain)))
        rc = ref_no_domain(c, domain);
    else if (!(from_mask & (1u << d->state)))
        rc = ref_host->set_error(c->h, SB_ERR_OPERATION_INVALID, "domain '%s' %s", domain, why);
    else {
        d->state = to;
        rc = ref_state_save(&st, c);
    }
    ref_state_unlock(lock);
    ref_state_clear(&st);
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

int ref_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_start", flags);
}

int ref_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_destroy", flags);
}

int ref_domain_shutdown(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_shutdown", flags);
}

int ref_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_suspend", flags);
}

int ref_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    return lifecycle(c, domain, "domain_resume", flags);
}

/* A name goes into the state file's record line. */
static int name_ok(const char *n)
{
    size_t i;

    if (!n || !*n || strlen(n) > 255)
        return 0;
    for (i = 0; n[i]; i++)
        if ((unsigned char)n[i] <= ' ' || n[i] == 0x7f)
            return 0;
    return 1;
}

int ref_domain_define(char **out_name, sb_conn *c, const char *xml, unsigned flags)
{
    struct sb_domain_view *v = NULL;
    struct ref_state st;
    struct ref_domain *d;
    int lock, rc;

    *out_name = NULL;
    if (flags)
        return bad_flags(c, "domain_define", flags);
    if (!ref_host->domain_view) /* an older broker without XML services */
        return ref_host->set_error(c->h, SB_ERR_OPERATION_UNSUPPORTED,
                                   "ref plugin: the broker provides no domain_view service");
    if ((rc = ref_host->domain_view(c->h, xml, &v)) < 0)
        return rc;
    if (!name_ok(v->name)) {
        rc = ref_host->set_error(c->h, SB_ERR_XML_ERROR,
                                 "domain name '%s' is empty, too long or has blanks",
                                 v->name ? v->name : "");
        ref_host->domain_view_free(v);
        return rc;
    }
    if ((rc = ref_state_load(&st, &lock, c, 1)) < 0) {
        ref_host->domain_view_free(v);
        return rc;
    }
    if ((d = ref_state_find(&st, v->name)) != NULL) {
        /* redefining replaces the definition and keeps the state */
        char *x = ref_host->strdup(xml);
        if (x) {
            ref_host->free(d->xml);
            d->xml = x;
        } else {
            rc = ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
        }
    } else {
        struct ref_domain *nd = ref_host->realloc(st.doms, (st.n + 1) * sizeof(*nd));
        if (!nd) {
            rc = ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
        } else {
            st.doms = nd;
            nd[st.n].name = ref_host->strdup(v->name);
            nd[st.n].xml = ref_host->strdup(xml);
            nd[st.n].state = SB_DOMAIN_SHUTOFF;
            st.n++;
            if (!nd[st.n - 1].name || !nd[st.n - 1].xml)
                rc = ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
        }
    }
    if (rc == 0)
        rc = ref_state_save(&st, c);
    if (rc == 0 && !(*out_name = ref_host->strdup(v->name)))
        rc = ref_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    ref_state_unlock(lock);
    ref_state_clear(&st);
    ref_host->domain_view_free(v);
    return rc;
}

int ref_domain_undefine(sb_conn *c, const char *domain, unsigned flags)
{
    struct ref_state st;
    struct ref_domain *d;
    int lock, rc;

    if (flags)
        return bad_flags(c, "domain_undefine", flags);
    if ((rc = ref_state_load(&st, &lock, c, 1)) < 0)
        return rc;
    if (!(d = ref_state_find(&st, domain))) {
        rc = ref_no_domain(c, domain);
    } else if (active(d->state)) {
        /* libvirt would keep a transient domain; the fixture has none */
        rc = ref_host->set_error(c->h, SB_ERR_OPERATION_INVALID,
                                 "domain '%s' is running; destroy it first", domain);
    } else {
        size_t i = (size_t)(d - st.doms);
        ref_host->free(d->name);
        ref_host->free(d->xml);
        memmove(d, d + 1, (st.n - i - 1) * sizeof(*d));
        st.n--;
        rc = ref_state_save(&st, c);
    }
    ref_state_unlock(lock);
    ref_state_clear(&st);
    return rc;
}
