/* The libvirt plugin on libvirt's ESX driver (a client-side driver: no
 * daemon), against VMware's vSphere simulator (tests/esx-sim, started by
 * this program, reached through its -libvirt-fix proxy as libvirt needs).
 * What only such a driver shows:
 * - the capabilities the probe declares for ESX, so the broker refuses up
 *   front what libvirt's ESX driver would (revert flags, REDEFINE, <disks>
 *   entries, list filters);
 * - the listings through virDomainSnapshotNum + ListNames (the driver has
 *   no virDomainListAllSnapshots), the same as libvirt gives directly;
 * - credentials asked by the driver itself (service "esx"), answered from
 *   the config group or an auth file, never from the environment of a
 *   person.
 * Against the simulator libvirt cannot give a domain's XML (it cannot map
 * the simulator's datastore paths: "An error occurred, but the cause is
 * unknown"); the broker needs that XML to normalize a create, so the
 * snapshots are taken through libvirt directly and the plugin does the
 * rest (list, current, parent, XML, revert, delete). */
#include "esxsim.h"
#include "lvt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static esxsim S;
static int sim_ok;
static char lv_hostport[64];
static char vm[32];

static int group_setup(void **state)
{
    static const char *const args[] = { "-libvirt-fix", NULL };
    char moref[32];
    (void)state;
    if (esxsim_start(&S, args) != 0)
        return 0; /* the cases fail, saying so */
    const char *h = strstr(S.libvirt_url, "://");
    if (!h)
        return 0;
    snprintf(lv_hostport, sizeof(lv_hostport), "%.*s", (int)strcspn(h + 3, "/"), h + 3);
    snprintf(vm, sizeof(vm), "%s", esxsim_unique("lvesx"));
    sim_ok = esxsim_new_vm(&S, vm, "disks=persistent&power=on", moref) == 0;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    lvt_cleanup_all();
    esxsim_stop(&S);
    return 0;
}

static void need_sim(void)
{
    if (!sim_ok)
        fail_msg("the vSphere simulator did not start (see above)");
}

/* A broker with hosts "esx" (credentials in the group), "esxfile" (an
 * auth file) and "esxnopw" (no password), all on the simulator's proxy. */
static struct lvt *esx_broker(const char *host)
{
    char *conf = NULL, auth[600];
    snprintf(auth, sizeof(auth), "%s/lv-auth.conf", S.dir);
    FILE *f = fopen(auth, "w");
    assert_non_null(f);
    fprintf(f, "[credentials-sim]\nusername=root\npassword=secret\n"
               "[auth-esx-%.*s]\ncredentials=sim\n",
            (int)strcspn(lv_hostport, ":"), lv_hostport);
    fclose(f);
    assert_true(asprintf(&conf,
                         "hosts = (\n"
                         "  { name = \"esx\"; plugin = \"libvirt\";\n"
                         "    uri = \"esx://%s/?transport=http\";\n"
                         "    libvirt = { username = \"root\"; password = \"secret\"; }; },\n"
                         "  { name = \"esxfile\"; plugin = \"libvirt\";\n"
                         "    uri = \"esx://%s/?transport=http\";\n"
                         "    libvirt = { auth_file = \"%s\"; }; },\n"
                         "  { name = \"esxnopw\"; plugin = \"libvirt\";\n"
                         "    uri = \"esx://%s/?transport=http\";\n"
                         "    libvirt = { username = \"root\"; }; }\n"
                         ");\n",
                         lv_hostport, lv_hostport, auth, lv_hostport) > 0);
    unsetenv("LIBVIRT_AUTH_FILE"); /* libvirt would read it before asking us */
    struct lvt *t = lvt_new(conf, host);
    free(conf);
    return t;
}

/* libvirt directly, with the same credentials (libvirt's own callback
 * reading an auth file). */
static virConnectPtr vir_open(void)
{
    char uri[160], auth[600];
    snprintf(auth, sizeof(auth), "%s/lv-auth.conf", S.dir);
    setenv("LIBVIRT_AUTH_FILE", auth, 1);
    snprintf(uri, sizeof(uri), "esx://root@%s/?transport=http", lv_hostport);
    virConnectPtr vc = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0);
    unsetenv("LIBVIRT_AUTH_FILE");
    if (!vc)
        fail_msg("libvirt esx: %s", lvt_vir_err());
    return vc;
}

static void vir_snapshot(virConnectPtr vc, const char *name)
{
    char xml[128];
    virDomainPtr d = virDomainLookupByName(vc, vm);
    assert_non_null(d);
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    virDomainSnapshotPtr s = virDomainSnapshotCreateXML(d, xml, 0);
    if (!s)
        fail_msg("libvirt snapshot %s: %s", name, lvt_vir_err());
    virDomainSnapshotFree(s);
    virDomainFree(d);
}

/* The names libvirt lists with Num + ListNames (what the plugin must use
 * on this driver), sorted, "a,b". */
static char *vir_names(virConnectPtr vc, const char *from, unsigned flags)
{
    virDomainPtr d = virDomainLookupByName(vc, vm);
    virDomainSnapshotPtr s = from ? virDomainSnapshotLookupByName(d, from, 0) : NULL;
    char *names[64], *out;
    int n = s ? virDomainSnapshotListChildrenNames(s, names, 64, flags)
              : virDomainSnapshotListNames(d, names, 64, flags);
    if (n < 0)
        fail_msg("libvirt list: %s", lvt_vir_err());
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    for (int i = 0; i < n; i++) /* sort: strings are short, n is small */
        for (int k = i + 1; k < n; k++)
            if (strcmp(names[k], names[i]) < 0) {
                char *x = names[i];
                names[i] = names[k];
                names[k] = x;
            }
    out = calloc(1, len);
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, names[i]);
        free(names[i]);
    }
    if (s)
        virDomainSnapshotFree(s);
    virDomainFree(d);
    return out;
}

static void esx_through_libvirt(void **state)
{
    (void)state;
    need_sim();
    struct lvt *t = esx_broker("esx");
    virConnectPtr vc = vir_open();
    const struct sb_plugin_caps *caps = t->c->caps;
    char *s = NULL;

    /* the ESX table: what libvirt's ESX driver takes */
    assert_int_equal(caps->revert_flags, 0);
    assert_int_equal(caps->disk_override, SB_DISK_OVERRIDE_NONE);
    assert_int_equal(caps->create_flags & SB_SNAPSHOT_CREATE_REDEFINE, 0);

    /* s1 <- s2, s1 <- s3 */
    vir_snapshot(vc, "s1");
    vir_snapshot(vc, "s2");
    lvt_ok(sb_snapshot_revert(t->c, vm, "s1", 0), "revert s1");
    vir_snapshot(vc, "s3");
    static const struct {
        const char *from;
        unsigned flags;
    } lists[] = {
        { NULL, 0 },
        { NULL, SB_SNAPSHOT_LIST_ROOTS },
        { NULL, SB_SNAPSHOT_LIST_LEAVES },
        { "s1", 0 },
        { "s1", SB_SNAPSHOT_LIST_DESCENDANTS },
        { "s1", SB_SNAPSHOT_LIST_LEAVES },
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char *mine = lvt_list(t->c, vm, lists[i].from, lists[i].flags);
        char *theirs = vir_names(vc, lists[i].from, lists[i].flags);
        if (strcmp(mine, theirs) != 0)
            fail_msg("from %s flags 0x%x: snapbroker '%s', libvirt '%s'",
                     lists[i].from ? lists[i].from : "-", lists[i].flags, mine, theirs);
        free(mine);
        free(theirs);
    }
    lvt_ok(sb_snapshot_current(&s, t->c, vm), "current");
    assert_string_equal(s, "s3");
    free(s);
    lvt_ok(sb_snapshot_parent(&s, t->c, vm, "s3"), "parent");
    assert_string_equal(s, "s1");
    free(s);
    lvt_ok(sb_snapshot_get_xml(&s, t->c, vm, "s2", 0), "xml");
    assert_non_null(strstr(s, "<name>s2</name>"));
    assert_non_null(strstr(s, "<parent>"));
    free(s);
    lvt_expect_error(sb_snapshot_get_xml(&s, t->c, vm, "ghost", 0), SB_ERR_NO_DOMAIN_SNAPSHOT,
                     "ghost");

    /* refused by the broker before the driver sees them */
    lvt_expect_error(sb_snapshot_revert(t->c, vm, "s1", SB_SNAPSHOT_REVERT_PAUSED),
                     SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'libvirt'");
    char **names = NULL;
    size_t n = 0;
    lvt_expect_error(sb_snapshot_list(&names, &n, t->c, vm, NULL, SB_SNAPSHOT_LIST_NO_LEAVES),
                     SB_ERR_INVALID_ARG, "for snapshot_list in plugin 'libvirt'");
    lvt_expect_error(sb_snapshot_delete(t->c, vm, "s2", SB_SNAPSHOT_DELETE_CHILDREN_ONLY),
                     SB_ERR_INVALID_ARG, "for snapshot_delete in plugin 'libvirt'");
    lvt_expect_error(sb_snapshot_create_xml(NULL, t->c, vm,
                                            "<domainsnapshot><name>r</name></domainsnapshot>",
                                            SB_SNAPSHOT_CREATE_REDEFINE),
                     SB_ERR_INVALID_ARG, "for snapshot_create in plugin 'libvirt'");

    /* delete with the driver's flags */
    lvt_ok(sb_snapshot_delete(t->c, vm, "s2", SB_SNAPSHOT_DELETE_METADATA_ONLY), "metadata");
    lvt_ok(sb_snapshot_delete(t->c, vm, "s1", SB_SNAPSHOT_DELETE_CHILDREN), "delete children");
    s = vir_names(vc, NULL, 0);
    assert_string_equal(s, "");
    free(s);
    lvt_expect_error(sb_snapshot_current(&s, t->c, vm), SB_ERR_NO_DOMAIN_SNAPSHOT, NULL);
    virConnectClose(vc);
    lvt_free(t);
}

static void esx_credentials(void **state)
{
    (void)state;
    need_sim();
    struct lvt *t = esx_broker(NULL);
    sb_connection *c = NULL;
    char **names = NULL;
    size_t n = 0;

    /* an auth file of libvirt's format, section auth-esx-HOST */
    lvt_ok(sb_connect(&c, t->b, "esxfile", 0), "auth file");
    assert_int_equal(c->caps->revert_flags, 0); /* the probe saw ESX */
    lvt_ok(sb_domain_list(&names, &n, c, 0), "domains");
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(names[i], vm) == 0;
    assert_true(found);
    sb_names_free(names, n);
    sb_disconnect(c);
    c = NULL;
    /* the driver asks for a password that nobody configured */
    lvt_expect_error(sb_connect(&c, t->b, "esxnopw", 0), SB_ERR_OPERATION_DENIED, "password");
    assert_null(c);
    lvt_free(t);
}

int main(void)
{
    /* libvirt's ESX driver warns about every property it does not know */
    setenv("LIBVIRT_LOG_OUTPUTS", "4:stderr", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(esx_through_libvirt),
        cmocka_unit_test(esx_credentials),
    };
    return cmocka_run_group_tests_name("libvirt plugin on libvirt's ESX driver", tests,
                                       group_setup, group_teardown);
}
