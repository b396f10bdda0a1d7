/* The fleet view through the public API (sb_fleet_list) over hosts of
 * the reference plugins (test fixtures standing in for hypervisors:
 * tests/plugins): "ref" keeps its metadata in the broker's store,
 * "refhv-vbox" lets the hypervisor keep the tree.  A host whose URI no
 * plugin accepts stands for a host that is down.  What the CLI adds
 * (tables, units, a host that does not answer) is in run-fleet.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"

struct fx {
    char dir[64];
    char conf[96];
    sb_broker *b;
};

/* Hosts r1..r3 (ref), v1 (refhv-vbox), down (ref, a URI it refuses). */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-fleet-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->conf, sizeof(f->conf), "%s/fleet.conf", f->dir);
    FILE *c = fopen(f->conf, "w");
    assert_non_null(c);
    fputs("hosts = (\n"
          "  { name = \"r1\"; plugin = \"ref\"; uri = \"ref:///default\"; },\n"
          "  { name = \"down\"; plugin = \"ref\"; uri = \"ref:///nowhere\"; },\n"
          "  { name = \"r2\"; plugin = \"ref\"; uri = \"ref:///default\"; },\n"
          "  { name = \"v1\"; plugin = \"refhv-vbox\"; uri = \"refhv-vbox:///default\"; },\n"
          "  { name = \"r3\"; plugin = \"ref\"; uri = \"ref:///default\"; }\n"
          ");\n",
          c);
    assert_int_equal(fclose(c), 0);
    setenv("SNAPBROKER_STATE_DIR", f->dir, 1);
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    if (sb_broker_new(&f->b, f->conf) != 0)
        fail_msg("broker: %s", sb_error_last()->message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    sb_broker_free(f->b);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Redefine snapshot name (parent may be NULL) of domain "test" on host,
 * created at time t. */
static void redefine(struct fx *f, const char *host, const char *name, const char *parent,
                     long long t)
{
    sb_connection *c = NULL;
    char xml[8192], *out = NULL, *dom = NULL;
    if (sb_connect(&c, f->b, host, 0) != 0)
        fail_msg("connect %s: %s", host, sb_error_last()->message);
    if (sb_domain_get_xml(&dom, c, "test", 0) != 0)
        fail_msg("domain on %s: %s", host, sb_error_last()->message);
    snprintf(xml, sizeof(xml),
             "<domainsnapshot><name>%s</name>%s%s%s<state>shutoff</state>"
             "<creationTime>%lld</creationTime>%s</domainsnapshot>",
             name, parent ? "<parent><name>" : "", parent ? parent : "",
             parent ? "</name></parent>" : "", t, dom);
    free(dom);
    unsigned flags = SB_SNAPSHOT_CREATE_REDEFINE;
    if (strcmp(name, "mid") == 0) /* the one current snapshot */
        flags |= SB_SNAPSHOT_CREATE_CURRENT;
    if (sb_snapshot_create_xml(&out, c, "test", xml, flags) != 0)
        fail_msg("redefine %s on %s: %s", name, host, sb_error_last()->message);
    free(out);
    sb_disconnect(c);
}

/* r1: old (2001) <- mid (2011, current); r2: none; r3: young (now); v1: vb
 * (2001). */
static void populate(struct fx *f)
{
    long long now = (long long)time(NULL);
    redefine(f, "r1", "old", NULL, 1000000000LL);
    redefine(f, "r1", "mid", "old", 1300000000LL);
    redefine(f, "r3", "young", NULL, now);
    redefine(f, "v1", "vb", NULL, 1000000000LL);
}

static const sb_fleet_host *host_named(const sb_fleet *fl, const char *name)
{
    const sb_fleet_host *h;
    size_t n = sb_fleet_hosts(fl, &h);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return &h[i];
    fail_msg("host %s not in the result", name);
    return NULL;
}

/* "host/domain/name(parent)" of every snapshot, in order. */
static char *listing(const sb_fleet *fl)
{
    const sb_fleet_snapshot *s;
    size_t n = sb_fleet_snapshots(fl, &s);
    char *out = calloc(1, 4096);
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 4096 - strlen(out), "%s/%s/%s(%s)%s ", s[i].host,
                 s[i].domain, s[i].name, s[i].parent ? s[i].parent : "", s[i].is_current ? "*" : "");
    return out;
}

static void everything_with_a_host_down(void **state)
{
    struct fx *f = *state;
    sb_fleet *fl = NULL;
    populate(f);
    assert_int_equal(sb_fleet_list(&fl, f->b, NULL), 1); /* one host failed */
    const sb_fleet_host *h;
    assert_int_equal(sb_fleet_hosts(fl, &h), 5);
    /* configuration order */
    assert_string_equal(h[0].name, "r1");
    assert_string_equal(h[1].name, "down");
    assert_string_equal(h[4].name, "r3");
    assert_int_equal(h[1].status, -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(h[1].error, "ref:///nowhere"));
    assert_int_equal(h[1].timed_out, 0);
    assert_int_equal(h[0].status, 0);
    assert_string_equal(h[0].error, "");
    assert_int_equal(h[0].snapshots, 2);
    assert_int_equal(h[0].domains, 1);
    assert_int_equal(h[0].unknown_sizes, 2); /* sizes were not asked for */
    assert_int_equal(h[0].oldest, 1000000000LL);
    assert_int_equal(host_named(fl, "r2")->snapshots, 0);
    char *l = listing(fl);
    assert_string_equal(l, "r1/test/old() r1/test/mid(old)* v1/test/vb() r3/test/young() ");
    free(l);
    const sb_fleet_snapshot *s;
    assert_int_equal(sb_fleet_snapshots(fl, &s), 4);
    assert_string_equal(s[0].plugin, "ref");
    assert_string_equal(s[2].plugin, "refhv-vbox");
    assert_int_equal(s[0].state, SB_STATE_SHUTOFF);
    assert_int_equal(s[1].creation_time, 1300000000LL);
    assert_string_equal(s[0].where, "");
    sb_fleet_free(fl);
}

/* One host at a time or all at once: the same answer. */
static void parallelism_does_not_change_the_answer(void **state)
{
    struct fx *f = *state;
    sb_fleet *one = NULL, *many = NULL;
    populate(f);
    sb_fleet_query q1 = { .max_parallel = 1 }, q8 = { .max_parallel = 8 };
    assert_int_equal(sb_fleet_list(&one, f->b, &q1), 1);
    assert_int_equal(sb_fleet_list(&many, f->b, &q8), 1);
    char *a = listing(one), *b = listing(many);
    assert_string_equal(a, b);
    free(a);
    free(b);
    sb_fleet_free(one);
    sb_fleet_free(many);
}

static void filters(void **state)
{
    struct fx *f = *state;
    sb_fleet *fl = NULL;
    char *l;
    populate(f);

    const char *hosts[] = { "r1", "r3" };
    sb_fleet_query q = { .hosts = hosts, .nhosts = 2 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 0); /* "down" not asked */
    l = listing(fl);
    assert_string_equal(l, "r1/test/old() r1/test/mid(old)* r3/test/young() ");
    free(l);
    sb_fleet_free(fl);

    const char *plugins[] = { "refhv-vbox" };
    q = (sb_fleet_query){ .plugins = plugins, .nplugins = 1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 0);
    const sb_fleet_host *h;
    assert_int_equal(sb_fleet_hosts(fl, &h), 1);
    assert_string_equal(h[0].name, "v1");
    sb_fleet_free(fl);

    /* older than a day: the 2001 and 2011 ones */
    q = (sb_fleet_query){ .older_than = 86400 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 1);
    l = listing(fl);
    assert_string_equal(l, "r1/test/old() r1/test/mid(old)* v1/test/vb() ");
    free(l);
    assert_int_equal(host_named(fl, "r3")->snapshots, 0);
    assert_int_equal(host_named(fl, "r3")->domains, 1);
    sb_fleet_free(fl);

    /* larger than 0 bytes: the reference plugins cannot tell, so none */
    q = (sb_fleet_query){ .larger_than = 1, .plugins = (const char *[]){ "ref" }, .nplugins = 1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 1);
    assert_int_equal(sb_fleet_snapshots(fl, &(const sb_fleet_snapshot *){ NULL }), 0);
    sb_fleet_free(fl);

    /* larger than 0 given as a filter (SB_FLEET_LARGER_THAN_SET): only
     * known sizes above 0, so none again; without the flag 0 is no filter */
    q = (sb_fleet_query){ .usage = SB_FLEET_LARGER_THAN_SET, .plugins = (const char *[]){ "ref" },
                          .nplugins = 1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 1);
    assert_int_equal(sb_fleet_snapshots(fl, &(const sb_fleet_snapshot *){ NULL }), 0);
    assert_int_equal(host_named(fl, "r1")->domains, 1);
    sb_fleet_free(fl);
    q = (sb_fleet_query){ .usage = SB_FLEET_USAGE, .plugins = (const char *[]){ "ref" },
                          .nplugins = 1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 1);
    l = listing(fl);
    assert_string_equal(l, "r1/test/old() r1/test/mid(old)* r3/test/young() ");
    free(l);
    sb_fleet_free(fl);

    /* a domain by name */
    q = (sb_fleet_query){ .domain = "nosuch" };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), 1);
    assert_int_equal(host_named(fl, "r1")->domains, 0);
    sb_fleet_free(fl);
}

static void bad_queries(void **state)
{
    struct fx *f = *state;
    sb_fleet *fl = (sb_fleet *)1;
    const char *hosts[] = { "r1", "nosuch" };
    sb_fleet_query q = { .hosts = hosts, .nhosts = 2 };

    assert_int_equal(sb_fleet_list(&fl, f->b, &q), -SB_ERR_INVALID_ARG);
    assert_null(fl);
    assert_non_null(strstr(sb_error_last()->message, "no configured host named 'nosuch'"));
    q = (sb_fleet_query){ .nhosts = 1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "nhosts is 1, hosts is NULL"));
    q = (sb_fleet_query){ .nplugins = 2 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "nplugins is 2, plugins is NULL"));
    q = (sb_fleet_query){ .older_than = -1 };
    assert_int_equal(sb_fleet_list(&fl, f->b, &q), -SB_ERR_INVALID_ARG);
    assert_int_equal(sb_fleet_list(NULL, f->b, NULL), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "NULL output"));
    assert_int_equal(sb_fleet_list(&fl, NULL, NULL), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "NULL broker"));
    sb_fleet_free(NULL);
    const sb_fleet_host *h = (const sb_fleet_host *)1;
    assert_int_equal(sb_fleet_hosts(NULL, &h), 0);
    assert_null(h);
}

/* The result owns its strings: it outlives the broker. */
static void result_outlives_the_broker(void **state)
{
    struct fx *f = *state;
    sb_fleet *fl = NULL;
    populate(f);
    assert_int_equal(sb_fleet_list(&fl, f->b, NULL), 1);
    sb_broker_free(f->b);
    f->b = NULL;
    char *l = listing(fl);
    assert_string_equal(l, "r1/test/old() r1/test/mid(old)* v1/test/vb() r3/test/young() ");
    free(l);
    assert_string_equal(host_named(fl, "v1")->uri, "refhv-vbox:///default");
    sb_fleet_free(fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(everything_with_a_host_down, setup, teardown),
        cmocka_unit_test_setup_teardown(parallelism_does_not_change_the_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(filters, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(result_outlives_the_broker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
