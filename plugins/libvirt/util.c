/* libvirt plugin - lookups and out parameters. */
#include "lvp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct sb_host_api *lvp_host;

char *lvp_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

void lvp_cache_drop(sb_conn *c)
{
    if (c->snap)
        virDomainSnapshotFree(c->snap);
    if (c->dom)
        virDomainFree(c->dom);
    free(c->snap_name);
    free(c->dom_name);
    c->snap = NULL;
    c->dom = NULL;
    c->snap_name = NULL;
    c->dom_name = NULL;
}

/* The same domain: libvirt acts on a handle by uuid. */
static int same_domain(virDomainPtr a, virDomainPtr b)
{
    unsigned char ua[VIR_UUID_BUFLEN], ub[VIR_UUID_BUFLEN];
    return virDomainGetUUID(a, ua) == 0 && virDomainGetUUID(b, ub) == 0 &&
           memcmp(ua, ub, sizeof(ua)) == 0;
}

virDomainPtr lvp_domain(sb_conn *c, const char *domain)
{
    /* Looked up by name every time: the kept handle's domain may have been
     * renamed by another client since (no call on the handle fails then,
     * it acts on the renamed domain).  When the lookup finds the kept
     * one, the kept handle, and with it the kept snapshot handle, stays. */
    virDomainPtr d = virDomainLookupByName(c->vc, domain);
    if (!d) {
        lvp_fail_vir(c, "domain '%s'", domain);
        return NULL;
    }
    if (c->dom && strcmp(c->dom_name, domain) == 0 && same_domain(c->dom, d) &&
        virDomainRef(c->dom) == 0) {
        virDomainFree(d);
        c->cache_used = 1;
        return c->dom;
    }
    lvp_cache_drop(c); /* a snapshot handle belongs to its domain's */
    if ((c->dom_name = strdup(domain)) && virDomainRef(d) == 0)
        c->dom = d;
    return d;
}

virDomainSnapshotPtr lvp_snapshot(sb_conn *c, virDomainPtr dom, const char *domain,
                                  const char *name)
{
    virDomainSnapshotPtr s;

    if (c->snap && dom == c->dom && strcmp(c->snap_name, name) == 0 &&
        virDomainSnapshotRef(c->snap) == 0)
        return c->snap;
    if (!(s = virDomainSnapshotLookupByName(dom, name, 0))) {
        lvp_fail_vir(c, "snapshot '%s' of domain '%s'", name, domain);
        return NULL;
    }
    if (dom == c->dom) {
        if (c->snap)
            virDomainSnapshotFree(c->snap);
        free(c->snap_name);
        c->snap = NULL;
        if ((c->snap_name = strdup(name)) && virDomainSnapshotRef(s) == 0)
            c->snap = s;
    }
    return s;
}

int lvp_out_str(sb_conn *c, char **out, const char *s)
{
    if (!(*out = lvp_host->strdup(s)))
        return lvp_fail(c, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

void lvp_free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        lvp_host->free(names[i]);
    lvp_host->free(names);
}

int lvp_out_names(sb_conn *c, char ***out_names, size_t *out_n, const char *const *names,
                  size_t n)
{
    char **v = lvp_host->alloc((n + 1) * sizeof(*v));
    size_t k = 0;

    while (v && k < n && (v[k] = lvp_host->strdup(names[k])))
        k++;
    if (!v || k < n) {
        lvp_free_names(v, k);
        return lvp_fail(c, SB_ERR_NO_MEMORY, "out of memory");
    }
    *out_names = v;
    *out_n = n;
    return 0;
}

int lvp_out_snapshot_names(sb_conn *c, char ***out_names, size_t *out_n,
                           virDomainSnapshotPtr *snaps, int n)
{
    const char **names = calloc((size_t)n + 1, sizeof(*names));
    int rc;

    for (int i = 0; names && i < n; i++)
        names[i] = virDomainSnapshotGetName(snaps[i]);
    rc = names ? lvp_out_names(c, out_names, out_n, names, (size_t)n)
               : lvp_fail(c, SB_ERR_NO_MEMORY, "out of memory");
    for (int i = 0; i < n; i++)
        virDomainSnapshotFree(snaps[i]);
    free(snaps);
    free(names);
    return rc;
}
