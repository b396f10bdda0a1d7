/* Reading VirtualBox machines through the public API (vbox:///DIR): the
 * real settings file tests/vbox/data/goad-dc01.vbox (written by VirtualBox
 * 7.2) loads with the right tree; every listing filter; duplicate
 * snapshot names and the uuid: form; machines from a home's global
 * registry, the user's VirtualBox home and configured folders; and the errors (malformed settings, unknown machine or
 * snapshot, ambiguous names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "vbox_fixture.h"

#define GOAD "GOAD-DC01"
#define S1 "push_1766163705_7292"
#define S2 "push_1766170151_8843"

struct t {
    char dir[128];
    fx_conn f;
};

static int setup_goad(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    fx_tmpdir(t->dir, sizeof t->dir, "read");
    assert_int_equal(fx_sh("mkdir -p '%s/GOAD' && cp '%s/tests/vbox/data/goad-dc01.vbox' "
                           "'%s/GOAD/GOAD-DC01.vbox'",
                           t->dir, getenv("SB_SOURCE_ROOT"), t->dir),
                     0);
    fx_connect(&t->f, t->dir, NULL);
    *state = t;
    return 0;
}

static int setup_empty(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    fx_tmpdir(t->dir, sizeof t->dir, "read");
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    if (t->f.c)
        fx_disconnect(&t->f);
    fx_rmrf(t->dir);
    free(t);
    return 0;
}

static const char *list(struct t *t, const char *dom, const char *from, unsigned flags)
{
    return fx_list(t->f.c, dom, from, flags);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *snap_xml(struct t *t, const char *dom, const char *name)
{
    char *xml = NULL;
    if (sb_snapshot_get_xml(&xml, t->f.c, dom, name, 0) != 0)
        fail_msg("xml of %s: %s", name, sb_error_last()->message);
    return xml;
}

static void contains(const char *text, const char *want)
{
    if (!text || !strstr(text, want))
        fail_msg("'%s' not in:\n%s", want, text ? text : "(nothing)");
}

static void goad_tree(void **state)
{
    struct t *t = *state;
    char **names = NULL, *s = NULL;
    size_t n = 0;
    sb_snapshot_info info;

    assert_string_equal(sb_connection_plugin(t->f.c), "vbox");
    assert_int_equal(sb_domain_list(&names, &n, t->f.c, 0), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], GOAD);
    sb_names_free(names, n);
    int st = 0;
    assert_int_equal(sb_domain_get_state(&st, t->f.c, GOAD), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);

    assert_string_equal(list(t, GOAD, NULL, 0), S1 "," S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_ROOTS), S1);
    assert_int_equal(sb_snapshot_current(&s, t->f.c, GOAD), 0);
    assert_string_equal(s, S2);
    free(s);
    assert_int_equal(sb_snapshot_parent(&s, t->f.c, GOAD, S2), 0);
    assert_string_equal(s, S1);
    free(s);
    fx_expect_error(sb_snapshot_parent(&s, t->f.c, GOAD, S1), SB_ERR_NO_DOMAIN_SNAPSHOT,
                    "does not have a parent");

    assert_int_equal(sb_snapshot_info_get(&info, t->f.c, GOAD, S1), 0);
    assert_int_equal(info.state, SB_STATE_SHUTOFF);
    assert_int_equal(info.creation_time, 1766163706);
    assert_false(info.is_current);
    assert_int_equal(info.children, 1);
    assert_int_equal(info.descendants, 1);
    assert_false(info.external); /* VirtualBox keeps the data in its own images */
    assert_int_equal(sb_snapshot_info_get(&info, t->f.c, GOAD, S2), 0);
    assert_int_equal(info.creation_time, 1766170151);
    assert_true(info.is_current);
    assert_string_equal(info.parent, S1);
    assert_int_equal(info.children, 0);

    /* the first snapshot froze the base image; the second froze the first
     * differencing image, and the current state writes to the second */
    char *x1 = snap_xml(t, GOAD, S1), *x2 = snap_xml(t, GOAD, S2);
    contains(x1, "<name>" S1 "</name>");
    contains(x1, "<state>shutoff</state>");
    contains(x1, "<creationTime>1766163706</creationTime>");
    contains(x1, "<memory snapshot='no'/>");
    contains(x1, "/GOAD/WindowsServer2019-disk001.vmdk'/>\n        <target dev='hda' bus='ide'/>");
    contains(x1, "<disks>\n    <disk name='hda' snapshot='internal'/>\n  </disks>");
    contains(x1, "uuid='{95b1572d-c893-48f0-9bc9-6a01a0fd2cb6}'>\n"
                 "        <vbox:overlay target='hda' file='");
    contains(x1, "/Snapshots/{3c72ec80-dc73-4448-a63e-97970cdd87e5}.vmdk'/>\n"
                 "      </vbox:snapshot>");
    contains(x1, "<memory unit='KiB'>3072000</memory>");
    contains(x1, "<vcpu>2</vcpu>");
    contains(x2, "<parent>\n    <name>" S1 "</name>\n  </parent>");
    contains(x2, "{e6800503-8273-4f16-b584-c7ba2c1df698}.vmdk'/>\n      </vbox:snapshot>");
    contains(x2, "{3c72ec80-dc73-4448-a63e-97970cdd87e5}.vmdk'/>\n        <target dev='hda'");
    free(x1);
    free(x2);
    char *dom = NULL;
    assert_int_equal(sb_domain_get_xml(&dom, t->f.c, GOAD, 0), 0);
    contains(dom, "<name>GOAD-DC01</name>");
    contains(dom, "<uuid>a6277950-3d1b-45d3-b2fd-dc1f385027e1</uuid>");
    contains(dom, "{e6800503-8273-4f16-b584-c7ba2c1df698}.vmdk'/>");
    free(dom);
    /* the sample is what VirtualBox's schema accepts (the harness works) */
    char path[300];
    snprintf(path, sizeof path, "%s/GOAD/GOAD-DC01.vbox", t->dir);
    assert_int_equal(fx_schema_ok(path), 0);
}

static void goad_filters(void **state)
{
    struct t *t = *state;
    size_t n = 0;
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_LEAVES), S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_NO_LEAVES), S1);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_LEAVES | SB_SNAPSHOT_LIST_NO_LEAVES),
                        "");
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_METADATA), "");
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_NO_METADATA), S1 "," S2);
    assert_string_equal(
        list(t, GOAD, NULL, SB_SNAPSHOT_LIST_METADATA | SB_SNAPSHOT_LIST_NO_METADATA), S1 "," S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_INACTIVE), S1 "," S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_ACTIVE), "");
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_DISK_ONLY), "");
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_EXTERNAL), "");
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_INTERNAL), S1 "," S2);
    assert_string_equal(
        list(t, GOAD, NULL, SB_SNAPSHOT_LIST_INTERNAL | SB_SNAPSHOT_LIST_EXTERNAL), S1 "," S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL), S1 "," S2);
    assert_string_equal(list(t, GOAD, NULL, SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_LEAVES), "");
    assert_string_equal(list(t, GOAD, S1, 0), S2);
    assert_string_equal(list(t, GOAD, S1, SB_SNAPSHOT_LIST_DESCENDANTS), S2);
    assert_string_equal(list(t, GOAD, S2, 0), "");
    assert_int_equal(sb_snapshot_count(&n, t->f.c, GOAD, NULL, SB_SNAPSHOT_LIST_LEAVES), 0);
    assert_int_equal(n, 1);
    char **names = NULL;
    fx_expect_error(sb_snapshot_list(&names, &n, t->f.c, GOAD, "zz", 0),
                    SB_ERR_OPERATION_INVALID, "has no snapshots with name 'zz'");
}

/* A machine of the test's own: a tree with repeated names (VirtualBox
 * allows them), no images needed for reading. */
static void write_dup_machine(const char *dir)
{
    char path[300];
    static const char *snap =
        "<Snapshot uuid=\"{%s}\" name=\"%s\" timeStamp=\"2024-0%d-01T10:00:00Z\">"
        "<Hardware><Memory RAMSize=\"64\"/></Hardware>%s</Snapshot>";
    char c1[512], c2[512], c3[1100], root[2048];
    snprintf(c1, sizeof c1, snap, "00000000-0000-4000-8000-00000000000b", "dup", 2, "");
    snprintf(c2, sizeof c2, snap, "00000000-0000-4000-8000-00000000000c", "dup", 3, "");
    snprintf(c3, sizeof c3, "<Snapshots>%s%s</Snapshots>", c1, c2);
    snprintf(root, sizeof root, snap, "00000000-0000-4000-8000-00000000000a", "a &amp; b", 1, c3);
    snprintf(path, sizeof path, "%s/dups", dir);
    assert_int_equal(fx_sh("mkdir -p '%s'", path), 0);
    snprintf(path, sizeof path, "%s/dups/dups.vbox", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
            "version=\"1.19-linux\"><Machine uuid=\"{11111111-2222-4333-8444-555555555555}\" "
            "name=\"dups\" OSType=\"Other\" currentSnapshot=\"{00000000-0000-4000-8000-"
            "00000000000c}\">%s<Hardware><Memory RAMSize=\"64\"/></Hardware></Machine>"
            "</VirtualBox>\n",
            root);
    fclose(f);
    assert_int_equal(fx_schema_ok(path), 0);
}

static void duplicate_names(void **state)
{
    struct t *t = *state;
    char *s = NULL;
    write_dup_machine(t->dir);
    fx_connect(&t->f, t->dir, NULL);
    assert_string_equal(list(t, "dups", NULL, 0), "a & b,dup,dup");
    assert_string_equal(list(t, "dups", "a & b", 0), "dup,dup");
    fx_expect_error(sb_snapshot_get_xml(&s, t->f.c, "dups", "dup", 0), SB_ERR_INVALID_ARG,
                    "ambiguous in domain 'dups': 2 snapshots have it "
                    "({00000000-0000-4000-8000-00000000000b}, "
                    "{00000000-0000-4000-8000-00000000000c}); select one as 'uuid:{UUID}'");
    fx_expect_error(sb_snapshot_parent(&s, t->f.c, "dups", "dup"), SB_ERR_INVALID_ARG,
                    "ambiguous");
    s = snap_xml(t, "dups", "uuid:{00000000-0000-4000-8000-00000000000C}");
    contains(s, "<name>dup</name>");
    contains(s, "<creationTime>1709287200</creationTime>"); /* 2024-03-01T10:00:00Z */
    contains(s, "uuid='{00000000-0000-4000-8000-00000000000c}'");
    free(s);
    s = snap_xml(t, "dups", "uuid:00000000-0000-4000-8000-00000000000b");
    contains(s, "<parent>\n    <name>a &amp; b</name>\n  </parent>");
    free(s);
    assert_int_equal(sb_snapshot_parent(&s, t->f.c, "dups",
                                        "uuid:{00000000-0000-4000-8000-00000000000b}"),
                     0);
    assert_string_equal(s, "a & b");
    free(s);
    assert_int_equal(sb_snapshot_current(&s, t->f.c, "dups"), 0);
    assert_string_equal(s, "dup");
    free(s);
    fx_expect_error(sb_snapshot_get_xml(&s, t->f.c, "dups",
                                        "uuid:{00000000-0000-4000-8000-0000000000ff}", 0),
                    SB_ERR_OPERATION_INVALID, "has no snapshots with name");
    /* the broker's info through the uuid: form */
    sb_snapshot_info info;
    assert_int_equal(sb_snapshot_info_get(&info, t->f.c, "dups",
                                          "uuid:{00000000-0000-4000-8000-00000000000c}"),
                     0);
    assert_string_equal(info.parent, "a & b");
    assert_int_equal(info.creation_time, 1709287200);
}

/* A VirtualBox home: machines come from VirtualBox.xml's registry, and a
 * medium registered there (older VirtualBox) resolves too. */
static void global_registry(void **state)
{
    struct t *t = *state;
    char path[400], *dom = NULL, **names = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/elsewhere/m1", t->dir);
    assert_int_equal(fx_sh("mkdir -p '%s'", path), 0);
    snprintf(path, sizeof path, "%s/elsewhere/m1/m1.vbox", t->dir);
    fx_write(path,
             "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
             "version=\"1.19-linux\"><Machine uuid=\"{aaaaaaaa-2222-4333-8444-555555555555}\" "
             "name=\"m1\" OSType=\"Other\"><Hardware><Memory RAMSize=\"128\"/>"
             "<StorageControllers><StorageController name=\"IDE\" type=\"PIIX4\" PortCount=\"2\">"
             "<AttachedDevice type=\"HardDisk\" port=\"1\" device=\"1\"><Image "
             "uuid=\"{bbbbbbbb-2222-4333-8444-555555555555}\"/></AttachedDevice>"
             "</StorageController></StorageControllers></Hardware></Machine></VirtualBox>\n");
    snprintf(path, sizeof path, "%s/VirtualBox.xml", t->dir);
    fx_write(path,
             "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
             "version=\"1.12-linux\"><Global><MachineRegistry><MachineEntry "
             "uuid=\"{aaaaaaaa-2222-4333-8444-555555555555}\" src=\"elsewhere/m1/m1.vbox\"/>"
             "<MachineEntry uuid=\"{cccccccc-2222-4333-8444-555555555555}\" "
             "src=\"gone/gone.vbox\"/></MachineRegistry><MediaRegistry><HardDisks><HardDisk "
             "uuid=\"{bbbbbbbb-2222-4333-8444-555555555555}\" location=\"disks/old.vdi\" "
             "format=\"VDI\" type=\"Normal\"/></HardDisks></MediaRegistry></Global>"
             "</VirtualBox>\n");
    fx_connect(&t->f, t->dir, NULL);
    assert_int_equal(sb_domain_list(&names, &n, t->f.c, 0), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "m1");
    sb_names_free(names, n);
    assert_int_equal(sb_domain_get_xml(&dom, t->f.c, "m1", 0), 0);
    contains(dom, "<source file='");
    contains(dom, "/disks/old.vdi'/>\n      <target dev='hdd' bus='ide'/>");
    contains(dom, "<memory unit='KiB'>131072</memory>");
    free(dom);
    /* by UUID too, with or without braces */
    assert_int_equal(sb_domain_get_xml(&dom, t->f.c, "{AAAAAAAA-2222-4333-8444-555555555555}", 0),
                     0);
    free(dom);
    /* the dangling registry entry is named when a lookup fails */
    fx_expect_error(sb_domain_get_xml(&dom, t->f.c, "nosuch", 0), SB_ERR_NO_DOMAIN,
                    "gone/gone.vbox' (machine {cccccccc-2222-4333-8444-555555555555} in "
                    "VirtualBox.xml) does not exist");
}

/* Where machines come from: vbox:///session (VBOX_USER_HOME, else
 * ~/.config/VirtualBox, else the older ~/.VirtualBox), the configuration's
 * home (over the URI's) and machine_folders (a folder's .vbox files and
 * its direct subfolders'). */
static void write_min_machine(const char *dir, const char *rel, const char *name, int id)
{
    char path[500];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(fx_sh("mkdir -p \"$(dirname '%s')\"", path), 0);
    char *text = NULL;
    assert_true(asprintf(&text,
                         "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                         "version=\"1.19-linux\"><Machine uuid=\"{%08d-2222-4333-8444-555555555555}\" "
                         "name=\"%s\" OSType=\"Other\"><Hardware><Memory RAMSize=\"64\"/>"
                         "</Hardware></Machine></VirtualBox>\n",
                         id, name) > 0);
    fx_write(path, text);
    free(text);
}

static void write_home(const char *dir, const char *home_rel, const char *machine_rel, int id)
{
    char path[500], *text = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, home_rel);
    assert_int_equal(fx_sh("mkdir -p '%s'", path), 0);
    snprintf(path, sizeof path, "%s/%s/VirtualBox.xml", dir, home_rel);
    assert_true(asprintf(&text,
                         "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                         "version=\"1.19-linux\"><Global><MachineRegistry><MachineEntry "
                         "uuid=\"{%08d-2222-4333-8444-555555555555}\" src=\"%s/%s\"/>"
                         "</MachineRegistry></Global></VirtualBox>\n",
                         id, dir, machine_rel) > 0);
    fx_write(path, text);
    free(text);
}

/* The machines a connection sees with this URI and vbox group, sorted. */
static const char *machines(struct t *t, const char *uri, const char *group)
{
    static char out[256];
    char conf[300], **names = NULL;
    size_t n = 0;
    snprintf(conf, sizeof conf, "%s/where.conf", t->dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "state_dir = \"%s/.state\";\nhosts = ( { name = \"vb\"; plugin = \"vbox\"; "
               "uri = \"%s\"; vbox = { vboxmanage = \"\"; %s }; } );\n", t->dir, uri, group);
    assert_int_equal(fclose(f), 0);
    setenv("SNAPBROKER_CONFIG", conf, 1);
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    assert_int_equal(sb_broker_new(&b, NULL), 0);
    if (sb_connect(&c, b, "vb", 0) != 0 || sb_domain_list(&names, &n, c, 0) != 0)
        fail_msg("%s: %s", uri, sb_error_last()->message);
    qsort(names, n, sizeof *names, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "," : "", names[i]);
    sb_names_free(names, n);
    sb_disconnect(c);
    sb_broker_free(b);
    return out;
}

static void where_machines_come_from(void **state)
{
    struct t *t = *state;
    char env[300];
    const char *saved_home = getenv("HOME"), *saved_vbox = getenv("VBOX_USER_HOME");
    char *home_copy = saved_home ? strdup(saved_home) : NULL;
    char *vbox_copy = saved_vbox ? strdup(saved_vbox) : NULL;
    write_min_machine(t->dir, "vms/a/a.vbox", "a", 1);
    write_min_machine(t->dir, "vms/d/d.vbox", "d", 4);
    write_home(t->dir, "home1", "vms/a/a.vbox", 1);
    write_min_machine(t->dir, "f1/b/b.vbox", "b", 2);   /* in a subfolder */
    write_min_machine(t->dir, "f2/c.vbox", "c", 3);     /* in the folder itself */
    write_min_machine(t->dir, "f2/x/y/deep.vbox", "deep", 5); /* too deep: not a machine */

    snprintf(env, sizeof env, "%s/home1", t->dir);
    setenv("VBOX_USER_HOME", env, 1);
    assert_string_equal(machines(t, "vbox:///session", ""), "a");
    /* no VBOX_USER_HOME: the older ~/.VirtualBox when ~/.config/VirtualBox is absent */
    unsetenv("VBOX_USER_HOME");
    snprintf(env, sizeof env, "%s/user", t->dir);
    setenv("HOME", env, 1);
    write_home(t->dir, "user/.VirtualBox", "vms/d/d.vbox", 4);
    assert_string_equal(machines(t, "vbox:///session", ""), "d");
    write_home(t->dir, "user/.config/VirtualBox", "vms/a/a.vbox", 1);
    assert_string_equal(machines(t, "vbox:///session", ""), "a");
    /* a home given as the URI, and the configuration's home over the URI's */
    snprintf(env, sizeof env, "vbox://%s/user/.VirtualBox", t->dir);
    assert_string_equal(machines(t, env, ""), "d");
    char group[600];
    snprintf(group, sizeof group, "home = \"%s/user/.VirtualBox\";", t->dir);
    assert_string_equal(machines(t, "vbox:///session", group), "d");
    /* more folders */
    snprintf(group, sizeof group, "machine_folders = \"%s/f1:%s/f2\";", t->dir, t->dir);
    assert_string_equal(machines(t, "vbox:///session", group), "a,b,c");
    snprintf(env, sizeof env, "vbox://%s/f2", t->dir);
    assert_string_equal(machines(t, env, ""), "c");

    if (home_copy)
        setenv("HOME", home_copy, 1);
    else
        unsetenv("HOME");
    if (vbox_copy)
        setenv("VBOX_USER_HOME", vbox_copy, 1);
    free(home_copy);
    free(vbox_copy);
}

static void settings_errors(void **state)
{
    struct t *t = *state;
    char path[400], *xml = NULL, **names = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/bad", t->dir);
    assert_int_equal(fx_sh("mkdir -p '%s'", path), 0);
    snprintf(path, sizeof path, "%s/bad/bad.vbox", t->dir);
    static const struct { const char *body, *fragment; } cases[] = {
        /* not well-formed: file and line */
        { "<Machine uuid=\"{11111111-2222-4333-8444-555555555556}\" name=\"bad\" "
          "OSType=\"x\">\n<Hardware>\n<Memory RAMSize=\"64\">\n</Hardware></Machine>",
          "bad.vbox' line 5: Opening and ending tag mismatch" },
        { "<Machine uuid=\"{11111111-2222-4333-8444-555555555556}\" name=\"bad\" OSType=\"x\" "
          "currentSnapshot=\"{11111111-2222-4333-8444-555555555557}\"><Hardware><Memory "
          "RAMSize=\"64\"/></Hardware></Machine>",
          "currentSnapshot {11111111-2222-4333-8444-555555555557} is not a snapshot" },
        { "<Machine uuid=\"{11111111-2222-4333-8444-555555555556}\" name=\"bad\" OSType=\"x\" "
          "currentSnapshot=\"{11111111-2222-4333-8444-555555555557}\"><Snapshot "
          "uuid=\"{11111111-2222-4333-8444-555555555557}\" name=\"s\" "
          "timeStamp=\"yesterday\"><Hardware><Memory RAMSize=\"64\"/></Hardware></Snapshot>"
          "<Hardware><Memory RAMSize=\"64\"/></Hardware></Machine>",
          "<Snapshot name='s'> has an invalid timeStamp 'yesterday'" },
        { "<Machine uuid=\"{11111111-2222-4333-8444-555555555556}\" name=\"bad\" OSType=\"x\">"
          "<Snapshot uuid=\"{not-a-uuid}\" name=\"s\" timeStamp=\"2024-01-01T00:00:00Z\"/>"
          "<Hardware><Memory RAMSize=\"64\"/></Hardware></Machine>",
          "<Snapshot uuid='{not-a-uuid}'> is not a UUID" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        fprintf(f, "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                   "version=\"1.19-linux\">%s</VirtualBox>\n", cases[i].body);
        fclose(f);
        if (!t->f.c)
            fx_connect(&t->f, t->dir, NULL);
        fx_expect_error(sb_snapshot_list(&names, &n, t->f.c, "bad", NULL, 0), SB_ERR_XML_ERROR,
                        cases[i].fragment);
    }
    /* a DOCTYPE (and so any entity) is refused */
    fx_write(path, "<?xml version=\"1.0\"?>\n<!DOCTYPE VirtualBox [<!ENTITY x \"y\">]>\n"
                   "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.19\"><Machine "
                   "uuid=\"{11111111-2222-4333-8444-555555555556}\" name=\"bad\" OSType=\"x\">"
                   "<Hardware><Memory RAMSize=\"64\"/></Hardware></Machine></VirtualBox>\n");
    fx_expect_error(sb_snapshot_list(&names, &n, t->f.c, "bad", NULL, 0), SB_ERR_NO_DOMAIN,
                    "DOCTYPE");
    /* another namespace: not VirtualBox's settings */
    fx_write(path, "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"urn:other\"/>\n");
    fx_expect_error(sb_domain_get_xml(&xml, t->f.c, "bad", 0), SB_ERR_NO_DOMAIN,
                    "not in VirtualBox's namespace");
    /* unknown machine */
    fx_expect_error(sb_domain_get_xml(&xml, t->f.c, "nobody", 0), SB_ERR_NO_DOMAIN,
                    "no domain with matching name 'nobody'");
}

static void ambiguous_domains(void **state)
{
    struct t *t = *state;
    char *xml = NULL;
    write_dup_machine(t->dir);
    assert_int_equal(fx_sh("mkdir -p '%s/copy' && sed 's/11111111-2222-4333-8444-555555555555/"
                           "11111111-2222-4333-8444-666666666666/' '%s/dups/dups.vbox' > "
                           "'%s/copy/dups.vbox'",
                           t->dir, t->dir, t->dir),
                     0);
    fx_connect(&t->f, t->dir, NULL);
    fx_expect_error(sb_domain_get_xml(&xml, t->f.c, "dups", 0), SB_ERR_INVALID_ARG,
                    "domain name 'dups' is ambiguous: 2 machines have it");
    contains(sb_error_last()->message, "{11111111-2222-4333-8444-555555555555}");
    contains(sb_error_last()->message, "{11111111-2222-4333-8444-666666666666}");
    assert_int_equal(sb_domain_get_xml(&xml, t->f.c, "11111111-2222-4333-8444-666666666666", 0),
                     0);
    contains(xml, "<uuid>11111111-2222-4333-8444-666666666666</uuid>");
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(goad_tree, setup_goad, teardown),
        cmocka_unit_test_setup_teardown(goad_filters, setup_goad, teardown),
        cmocka_unit_test_setup_teardown(duplicate_names, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(global_registry, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(where_machines_come_from, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(settings_errors, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(ambiguous_domains, setup_empty, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
