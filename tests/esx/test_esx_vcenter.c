/* The esx plugin on a vCenter (the simulator's VPX model: datacenter
 * DC0, a standalone host DC0_H0, a cluster DC0_C0 of three hosts, two
 * VMs on each): one connection reaches a datacenter, a cluster, a host
 * or a VM folder; VMs whose names repeat are told apart by inventory
 * path or uuid; snapshots work the same as on an ESXi host. */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char web_a[32], web_b[32], uuid_a[64];

static int group_setup(void **state)
{
    static const char *const args[] = { "-vpx", NULL };
    (void)state;
    if (esx_fx_start(args, NULL) != 0)
        return -1;
    /* two VMs named "web", in folders a and b of DC0's VM folder */
    char *a = esxsim_ctl(&fx.sim, "vm/create?name=web&folder=a&power=on");
    char *b = esxsim_ctl(&fx.sim, "vm/create?name=web&folder=b");
    int ok = a && b && sscanf(a, "%31s %63s", web_a, uuid_a) == 2 &&
             sscanf(b, "%31s", web_b) == 1;
    free(a);
    free(b);
    return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    esx_fx_stop();
    return 0;
}

static char *domains(void)
{
    char **names = NULL;
    size_t n = 0;
    if (sb_domain_list(&names, &n, fx.c, 0) != 0)
        fail_msg("list: %s", sb_error_last()->message);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, names[i]);
    }
    sb_names_free(names, n);
    return s;
}

static void scope(const char *path)
{
    char uri[300];
    snprintf(uri, sizeof(uri), "esx+http://%s/%s", fx.sim.hostport, path);
    if (esx_fx_connect(uri, NULL) != 0)
        fail_msg("connect %s: %s", uri, sb_error_last()->message);
}

static void assert_domains(const char *want)
{
    char *got = domains();
    if (strcmp(got, want) != 0)
        fail_msg("domains: got '%s', want '%s'", got, want);
    free(got);
}

static void scopes(void **state)
{
    (void)state;
    scope("");
    assert_domains("DC0/vm/a/web,DC0/vm/b/web,DC0_C0_RP0_VM0,DC0_C0_RP0_VM1,DC0_H0_VM0,DC0_H0_VM1");
    scope("DC0");
    assert_domains("DC0/vm/a/web,DC0/vm/b/web,DC0_C0_RP0_VM0,DC0_C0_RP0_VM1,DC0_H0_VM0,DC0_H0_VM1");
    scope("DC0/host/DC0_C0");
    assert_domains("DC0_C0_RP0_VM0,DC0_C0_RP0_VM1");
    scope("DC0/DC0_C0"); /* libvirt's vpx:// form, without the host folder */
    assert_domains("DC0_C0_RP0_VM0,DC0_C0_RP0_VM1");
    scope("DC0/host/DC0_H0"); /* the standalone host, where the two webs run */
    assert_domains("DC0/vm/a/web,DC0/vm/b/web,DC0_H0_VM0,DC0_H0_VM1");
    scope("DC0/vm/a"); /* the name is unique in this folder */
    assert_domains("web");

    char uri[300];
    snprintf(uri, sizeof(uri), "esx+http://%s/DC0/nope", fx.sim.hostport);
    sb_error_clear();
    expect_error(esx_fx_connect(uri, NULL), SB_ERR_CONFIG, "has no inventory path 'DC0/nope'");
    snprintf(uri, sizeof(uri), "esx+http://%s/DC0/vm/a/web", fx.sim.hostport);
    expect_error(esx_fx_connect(uri, NULL), SB_ERR_CONFIG, "is a VirtualMachine");
}

static void repeated_names(void **state)
{
    char *xml = NULL;
    (void)state;
    scope("DC0");
    expect_error(sb_domain_get_xml(&xml, fx.c, "web", 0), SB_ERR_INVALID_ARG,
                 "2 VMs on");
    assert_non_null(strstr(sb_error_last()->message, "'DC0/vm/a/web', 'DC0/vm/b/web'"));

    /* by inventory path and by uuid: the same VM */
    snprintf(fx.vm, sizeof(fx.vm), "DC0/vm/a/web");
    create_ok("s1", NULL, 0);
    snprintf(fx.vm, sizeof(fx.vm), "%s", uuid_a);
    char *l = list_str(NULL, 0);
    assert_string_equal(l, "s1");
    free(l);
    snprintf(fx.vm, sizeof(fx.vm), "DC0/vm/b/web");
    l = list_str(NULL, 0);
    assert_string_equal(l, "");
    free(l);
    int st = 0;
    assert_int_equal(sb_domain_get_state(&st, fx.c, "DC0/vm/b/web"), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    assert_int_equal(sb_domain_get_state(&st, fx.c, "DC0/vm/a/web"), 0);
    assert_int_equal(st, SB_DOMAIN_RUNNING);

    /* in folder a's scope, the plain name works and finds the same tree */
    scope("DC0/vm/a");
    snprintf(fx.vm, sizeof(fx.vm), "web");
    l = list_str(NULL, 0);
    assert_string_equal(l, "s1");
    free(l);
    /* a VM outside the scope is not there, even by path */
    expect_error(sb_domain_get_xml(&xml, fx.c, "DC0/vm/b/web", 0), SB_ERR_NO_DOMAIN,
                 "under DC0/vm/a");
    expect_error(sb_domain_get_xml(&xml, fx.c, "DC0_H0_VM0", 0), SB_ERR_NO_DOMAIN, "DC0_H0_VM0");
}

/* The snapshot calls on a cluster's VM through the cluster's scope. */
static void cluster_snapshots(void **state)
{
    (void)state;
    scope("DC0/host/DC0_C0");
    snprintf(fx.vm, sizeof(fx.vm), "DC0_C0_RP0_VM0");
    create_ok("c1", NULL, 0);
    create_ok("c2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "c1", 0), 0);
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "c1", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    char *l = list_str(NULL, 0);
    assert_string_equal(l, "");
    free(l);
}

/* A VM renamed or removed after the connection listed the VMs. */
static void inventory_changes(void **state)
{
    char moref[32], *xml = NULL;
    (void)state;
    scope("DC0");
    char *before = domains();
    free(before);
    assert_int_equal(esxsim_new_vm(&fx.sim, "late", "folder=c", moref), 0);
    assert_int_equal(sb_domain_get_xml(&xml, fx.c, "late", 0), 0); /* listed again */
    free(xml);
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", moref));
    expect_error(sb_domain_get_xml(&xml, fx.c, "late", 0), SB_ERR_NO_DOMAIN, "'late'");
}

/* vCenter hands large results out in pages (a token, then
 * ContinueRetrievePropertiesEx); the simulator never does, so the
 * control endpoint pages the next listing, two VMs at a time. */
static void paged_results(void **state)
{
    (void)state;
    scope("DC0");
    free(requests());
    char *r = esxsim_ctl(&fx.sim, "fault?method=RetrievePropertiesEx&match=ContainerView"
                                  "&action=paginate&polls=2");
    assert_non_null(r);
    free(r);
    assert_domains("DC0/vm/a/web,DC0/vm/b/web,DC0_C0_RP0_VM0,DC0_C0_RP0_VM1,DC0_H0_VM0,DC0_H0_VM1");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "ContinueRetrievePropertiesEx"), 1);
    free(reqs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes),
        cmocka_unit_test(repeated_names),
        cmocka_unit_test(cluster_snapshots),
        cmocka_unit_test(inventory_changes),
        cmocka_unit_test(paged_results),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
