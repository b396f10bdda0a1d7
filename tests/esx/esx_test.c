/* Shared fixture of the esx suite (esx_test.h). */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct esx_fx fx;

static const char default_group[] = "user = \"root\"; password = \"secret\"; cache_ms = 0;";

int esx_fx_connect(const char *uri, const char *group)
{
    char def_uri[300];

    if (fx.c)
        sb_disconnect(fx.c);
    if (fx.b)
        sb_broker_free(fx.b);
    fx.c = NULL;
    fx.b = NULL;
    if (!uri) {
        snprintf(def_uri, sizeof(def_uri), "%s://%s/", strncmp(fx.sim.url, "https", 5) == 0
                                                           ? "esx"
                                                           : "esx+http",
                 fx.sim.hostport);
        uri = def_uri;
    }
    if (esxsim_write_config(&fx.sim, "sb.conf", uri, group ? group : default_group,
                            fx.config) < 0)
        return -1;
    setenv("SNAPBROKER_CONFIG", fx.config, 1);
    if (sb_broker_new(&fx.b, NULL) != 0)
        return -1;
    return sb_connect(&fx.c, fx.b, "sim", 0);
}

int esx_fx_start(const char *const *sim_args, const char *group)
{
    memset(&fx, 0, sizeof(fx));
    if (esxsim_start(&fx.sim, sim_args) < 0)
        return -1;
    snprintf(fx.state_dir, sizeof(fx.state_dir), "%s/state", fx.sim.dir);
    setenv("SNAPBROKER_STATE_DIR", fx.state_dir, 1);
    unsetenv("SNAPBROKER_PLUGIN_DIR"); /* the build tree's search path finds esx.so */
    if (esx_fx_connect(NULL, group) != 0) {
        fprintf(stderr, "connect: %s\n", sb_error_last()->message);
        return -1;
    }
    return 0;
}

void esx_fx_stop(void)
{
    if (fx.c)
        sb_disconnect(fx.c);
    if (fx.b)
        sb_broker_free(fx.b);
    fx.c = NULL;
    fx.b = NULL;
    esxsim_stop(&fx.sim);
}

void esx_fx_vm(const char *query)
{
    snprintf(fx.vm, sizeof(fx.vm), "%s", esxsim_unique("vm"));
    if (esxsim_new_vm(&fx.sim, fx.vm, query, fx.moref) < 0)
        fail_msg("could not create VM %s", fx.vm);
    free(esxsim_requests(&fx.sim)); /* start each test with an empty log */
}

void expect_error(int rc, int code, const char *fragment)
{
    const sb_error *e = sb_error_last();
    if (rc != -code || e->code != code)
        fail_msg("expected %s, got rc %d (%s: %s)", sb_error_class_name(code), rc,
                 sb_error_class_name(e->code), e->message);
    if (fragment && !strstr(e->message, fragment))
        fail_msg("message '%s' lacks '%s'", e->message, fragment);
}

int try_create(const char *name, const char *inner, unsigned flags)
{
    char xml[2048];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name>%s</domainsnapshot>", name,
             inner ? inner : "");
    return sb_snapshot_create_xml(NULL, fx.c, fx.vm, xml, flags);
}

void create_ok(const char *name, const char *inner, unsigned flags)
{
    if (try_create(name, inner, flags) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

char *list_str(const char *from, unsigned flags)
{
    char **names = NULL;
    size_t n = 0;
    if (sb_snapshot_list(&names, &n, fx.c, fx.vm, from, flags) != 0)
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

char *requests(void)
{
    char *r = esxsim_requests(&fx.sim);
    if (!r)
        fail_msg("cannot read the simulator's request log");
    return r;
}

static int in_entry(const char *p, const char *end, const char *needle)
{
    const char *at = strstr(p, needle);
    return at && at + strlen(needle) <= end;
}

int requests_with(const char *reqs, const char *method, const char *needle, const char *needle2)
{
    char key[128];
    int n = 0;
    size_t klen = (size_t)snprintf(key, sizeof(key), "%s\t", method);
    for (const char *p = reqs; p && *p;) {
        const char *sep = strstr(p, "\n----\n");
        const char *end = sep ? sep : p + strlen(p);
        if (strncmp(p, key, klen) == 0 && in_entry(p, end, needle) &&
            (!needle2 || in_entry(p, end, needle2)))
            n++;
        p = sep ? sep + 6 : NULL;
    }
    return n;
}

int request_has(const char *reqs, const char *method, const char *needle)
{
    char key[128];
    const char *hit = NULL, *end = NULL;
    size_t klen = (size_t)snprintf(key, sizeof(key), "%s\t", method);
    for (const char *p = reqs; p && *p;) {
        const char *sep = strstr(p, "\n----\n");
        if (strncmp(p, key, klen) == 0) {
            hit = p;
            end = sep ? sep : p + strlen(p);
        }
        p = sep ? sep + 6 : NULL;
    }
    if (!hit)
        return 0;
    const char *at = strstr(hit, needle);
    return at && at + strlen(needle) <= end;
}

static void collect(void *opaque, const char *level, const char *origin, const char *message)
{
    FILE *f = opaque;
    fprintf(f, "%s %s: %s\n", level, origin, message);
}

char *drain_log(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sb_log_drain(collect, f);
    fclose(f);
    return buf;
}
