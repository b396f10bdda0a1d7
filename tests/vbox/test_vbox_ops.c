/* Creating, reverting and deleting snapshots of powered-off VirtualBox
 * machines through the public API, on machines the test writes itself
 * (VDI bases made with qemu-img, patterns written with qemu-io; writes
 * into differencing images through the plugin's VDI code).  After every
 * step: the settings file validates against VirtualBox's schema, every
 * image the plugin wrote passes `qemu-img check`, and the disk content
 * qemu reads (qemu-img map/convert/compare) is what the writes made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "vb.h"
#include "vdi.h"
#include "vbox_fixture.h"

#define DOM "m1"

struct t {
    char dir[128];
    char settings[512];
    char raw[2][256]; /* what each disk should read as now */
    fx_conn f;
    vb_ctx ctx;
    pid_t stand_in; /* a stand-in process to stop, 0 if none */
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    const unsigned mib[2] = { 8, 4 };
    fx_tmpdir(t->dir, sizeof t->dir, "ops");
    snprintf(t->settings, sizeof t->settings, "%s", fx_machine(t->dir, DOM, 2, mib));
    for (int i = 0; i < 2; i++) {
        snprintf(t->raw[i], sizeof t->raw[i], "%s/expected%d.raw", t->dir, i);
        assert_int_equal(fx_sh("qemu-img create -q -f raw '%s' %uM", t->raw[i], mib[i]), 0);
    }
    vb_ctx_init(&t->ctx, NULL, NULL);
    fx_connect(&t->f, t->dir, NULL);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    if (t->stand_in > 0) {
        kill(t->stand_in, SIGKILL);
        waitpid(t->stand_in, NULL, 0);
    }
    fx_disconnect(&t->f);
    vb_ctx_fini(&t->ctx);
    fx_rmrf(t->dir);
    free(t);
    return 0;
}

/* The machine as the settings file says now. */
static vb_machine *machine(struct t *t)
{
    vb_machine *m = NULL;
    if (vb_machine_read(&t->ctx, t->settings, &m) != 0)
        fail_msg("read %s: %s", t->settings, t->ctx.err_msg);
    return m;
}

/* Image paths of disk i's chain in the current state, base first. */
static size_t chain_of(struct t *t, int disk, char paths[][300])
{
    vb_machine *m = machine(t);
    long md = vb_medium_index(m, m->hw.att[disk].image);
    size_t n = 0;
    char rev[16][300];
    for (; md >= 0 && n < 16; md = m->media[md].parent)
        snprintf(rev[n++], sizeof rev[0], "%s", m->media[md].path);
    for (size_t i = 0; i < n; i++)
        memcpy(paths[i], rev[n - 1 - i], sizeof rev[0]);
    vb_machine_free(m);
    return n;
}

/* A write into the base with qemu-io (no snapshot yet) ... */
static void qemu_write(struct t *t, int disk, int pattern, unsigned long long off,
                       unsigned long long len)
{
    char cmd[128], paths[16][300];
    assert_int_equal(chain_of(t, disk, paths), 1);
    snprintf(cmd, sizeof cmd, "write -P 0x%02x %llu %llu", pattern, off, len);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", cmd), 0);
    assert_int_equal(fx_qemu_io(t->raw[disk], "raw", cmd), 0);
}

/* ... or through the plugin's VDI code into the current differencing
 * image (what the guest would write while it runs). */
static void guest_write(struct t *t, int disk, int pattern, unsigned long long off, size_t len)
{
    char paths[16][300], cmd[128];
    size_t n = chain_of(t, disk, paths);
    vb_vdi *chain[16];
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vb_vdi_open(&t->ctx, paths[n - 1 - i], i == 0, &chain[i]), 0);
    unsigned char *buf = malloc(len);
    memset(buf, pattern, len);
    if (vb_vdi_chain_write(&t->ctx, chain, n, off, buf, len) != 0)
        fail_msg("write: %s", t->ctx.err_msg);
    free(buf);
    for (size_t i = 0; i < n; i++)
        vb_vdi_close(chain[i]);
    snprintf(cmd, sizeof cmd, "write -P 0x%02x %llu %zu", pattern, off, len);
    assert_int_equal(fx_qemu_io(t->raw[disk], "raw", cmd), 0);
}

/* Settings valid for VirtualBox, every image sound, content as written. */
static void consistent(struct t *t)
{
    char paths[16][300], flat[300];
    assert_int_equal(fx_schema_ok(t->settings), 0);
    vb_machine *m = machine(t);
    for (size_t i = 0; i < m->nmedia; i++) {
        if (!fx_exists(m->media[i].path))
            fail_msg("registered image %s is missing", m->media[i].path);
        assert_int_equal(fx_qemu_check(m->media[i].path), 0);
    }
    /* no image on disk that no registry knows */
    char snapdir[300];
    snprintf(snapdir, sizeof snapdir, "%s/%s/Snapshots", t->dir, DOM);
    assert_int_equal(fx_count_files(snapdir, ".vdi"), m->nmedia - 2);
    vb_machine_free(m);
    for (int d = 0; d < 2; d++) {
        size_t n = chain_of(t, d, paths);
        const char *p[16];
        for (size_t i = 0; i < n; i++)
            p[i] = paths[i];
        snprintf(flat, sizeof flat, "%s/flat.raw", t->dir);
        assert_int_equal(fx_flatten(p, n, flat), 0);
        if (fx_compare_raw(flat, t->raw[d]) != 0)
            fail_msg("disk %d does not read as written", d);
        unlink(flat);
    }
}

static void create(struct t *t, const char *name, const char *desc)
{
    char xml[512];
    snprintf(xml, sizeof xml,
             "<domainsnapshot><name>%s</name>%s%s%s<state>shutoff</state>"
             "<creationTime>1</creationTime></domainsnapshot>",
             name, desc ? "<description>" : "", desc ? desc : "", desc ? "</description>" : "");
    if (sb_snapshot_create_xml(NULL, t->f.c, DOM, xml, 0) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

static const char *list(struct t *t, const char *from, unsigned flags)
{
    static char buf[512];
    char **names = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (sb_snapshot_list(&names, &n, t->f.c, DOM, from, flags) < 0)
        fail_msg("list: %s", sb_error_last()->message);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, names[i]);
    }
    sb_names_free(names, n);
    return buf;
}

static void assert_current(struct t *t, const char *want)
{
    char *cur = NULL;
    int rc = sb_snapshot_current(&cur, t->f.c, DOM);
    if (!want) {
        fx_expect_error(rc, SB_ERR_OPERATION_INVALID, "has no current snapshot");
        return;
    }
    if (rc != 0)
        fail_msg("current: %s", sb_error_last()->message);
    assert_string_equal(cur, want);
    free(cur);
}

/* Snapshot, write, snapshot, write, delete: the data merges down, and
 * with every snapshot gone the bases hold everything (qemu-io reads it). */
static void create_write_delete(void **state)
{
    struct t *t = *state;
    char paths[16][300];
    qemu_write(t, 0, 0x11, 0, 3 * FX_MIB);
    qemu_write(t, 1, 0x12, FX_MIB, 4096);
    consistent(t);
    create(t, "s1", "first &amp; only");
    assert_current(t, "s1");
    assert_int_equal(chain_of(t, 0, paths), 2);
    consistent(t);
    guest_write(t, 0, 0x21, FX_MIB + 512, 8192);
    guest_write(t, 1, 0x22, 3 * FX_MIB, FX_MIB);
    create(t, "s2", NULL);
    assert_string_equal(list(t, NULL, 0), "s1,s2");
    assert_int_equal(chain_of(t, 0, paths), 3);
    guest_write(t, 0, 0x31, 5 * FX_MIB, 100);
    consistent(t);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "s1", 0), 0);
    assert_non_null(strstr(xml, "<description>first &amp; only</description>"));
    assert_non_null(strstr(xml, "<disk name='sda' snapshot='internal'/>"));
    assert_non_null(strstr(xml, "<disk name='sdc' snapshot='no'/>")); /* the DVD drive */
    free(xml);

    /* s1 froze the bases: its child image is merged back into them */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", 0), 0);
    assert_string_equal(list(t, NULL, 0), "s2");
    assert_current(t, "s2");
    consistent(t);
    /* s2 (a differencing image with one child): merged, gone */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s2", 0), 0);
    assert_string_equal(list(t, NULL, 0), "");
    assert_current(t, NULL);
    consistent(t);
    assert_int_equal(chain_of(t, 0, paths), 1);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x11 0 1049088"), 0);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x21 1049088 8192"), 0);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x31 5242880 100"), 0);
    assert_int_equal(chain_of(t, 1, paths), 1);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x12 1048576 4096"), 0);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x22 3145728 1048576"), 0);
    char snapdir[300];
    snprintf(snapdir, sizeof snapdir, "%s/%s/Snapshots", t->dir, DOM);
    assert_int_equal(fx_count_files(snapdir, NULL), 0);
    /* the previous settings are kept as VirtualBox keeps them */
    char prev[600];
    snprintf(prev, sizeof prev, "%s-prev", t->settings);
    assert_true(fx_exists(prev));
    assert_int_equal(fx_schema_ok(prev), 0);
}

/* Revert: fresh differencing images on the snapshot's images; the
 * current state's own images are discarded. */
static void revert_and_branch(void **state)
{
    struct t *t = *state;
    char base_raw[2][300];
    qemu_write(t, 0, 0x41, 0, FX_MIB);
    create(t, "a", NULL);
    for (int d = 0; d < 2; d++) {
        snprintf(base_raw[d], sizeof base_raw[d], "%s/at-a%d.raw", t->dir, d);
        assert_int_equal(fx_sh("cp '%s' '%s'", t->raw[d], base_raw[d]), 0);
    }
    guest_write(t, 0, 0x42, 0, 4096);
    create(t, "b", NULL);
    guest_write(t, 0, 0x43, 2 * FX_MIB, 4096);
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "a", 0), 0);
    assert_current(t, "a");
    for (int d = 0; d < 2; d++)
        assert_int_equal(fx_sh("cp '%s' '%s'", base_raw[d], t->raw[d]), 0);
    consistent(t);
    /* a second branch under a */
    guest_write(t, 1, 0x44, 0, 512);
    create(t, "c", NULL);
    assert_string_equal(list(t, "a", 0), "b,c");
    assert_string_equal(list(t, NULL, SB_SNAPSHOT_LIST_LEAVES), "b,c");
    consistent(t);
    /* a has two children: VirtualBox refuses, nothing changes */
    char *before = fx_read(t->settings);
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "a", 0), SB_ERR_OPERATION_INVALID,
                    "cannot be deleted: it has 2 child snapshots");
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* b is a leaf off the current branch: its image simply goes */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "b", 0), 0);
    consistent(t);
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "c", 0), 0);
    consistent(t);
    /* flags that start the machine need VBoxManage */
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "a", SB_SNAPSHOT_REVERT_RUNNING),
                    SB_ERR_OPERATION_INVALID, "needs VirtualBox's VBoxManage");
}

static void children_and_metadata_only(void **state)
{
    struct t *t = *state;
    qemu_write(t, 0, 0x51, 0, 2 * FX_MIB);
    create(t, "r", NULL);
    guest_write(t, 0, 0x52, 0, 4096);
    create(t, "k1", NULL);
    guest_write(t, 0, 0x53, 4096, 4096);
    create(t, "k2", NULL);
    guest_write(t, 0, 0x54, 8192, 4096);
    /* CHILDREN_ONLY: k2 then k1 go, their data merged into the current chain */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    assert_string_equal(list(t, NULL, 0), "r");
    assert_current(t, "r");
    consistent(t);
    create(t, "k3", NULL);
    /* METADATA_ONLY with children: refused */
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_METADATA_ONLY),
                    SB_ERR_OPERATION_INVALID, "it has children");
    /* METADATA_ONLY of the leaf: the element goes, every image stays */
    vb_machine *m = machine(t);
    size_t media = m->nmedia;
    vb_machine_free(m);
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "k3", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_current(t, "r");
    m = machine(t);
    assert_int_equal(m->nmedia, media);
    vb_machine_free(m);
    assert_int_equal(fx_schema_ok(t->settings), 0);
    /* CHILDREN on the root: the whole tree, data kept in the current chain */
    create(t, "k4", NULL);
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    assert_string_equal(list(t, NULL, 0), "");
    assert_int_equal(fx_schema_ok(t->settings), 0);
}

/* The definitions the plugin writes round-trip: redefine with CURRENT
 * (virsh's snapshot-current) and a new snapshot from XML. */
static void redefine(void **state)
{
    struct t *t = *state;
    char *xml = NULL;
    create(t, "p", NULL);
    create(t, "q", "old words");
    /* q is current and the disks descend from it: its own XML with CURRENT */
    assert_int_equal(sb_snapshot_set_current(t->f.c, DOM, "q"), 0);
    /* p's images are not what the machine grows from directly but they
     * are ancestors: allowed, and p becomes current */
    assert_int_equal(sb_snapshot_set_current(t->f.c, DOM, "p"), 0);
    assert_current(t, "p");
    assert_int_equal(fx_schema_ok(t->settings), 0);
    /* description and time change through a redefine of the same XML */
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "q", 0), 0);
    char *at = strstr(xml, "old words");
    assert_non_null(at);
    memcpy(at, "new words", 9);
    assert_int_equal(sb_snapshot_create_xml(NULL, t->f.c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE),
                     0);
    free(xml);
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "q", 0), 0);
    assert_non_null(strstr(xml, "new words"));
    free(xml);
    /* a new snapshot from XML: under p, not current, its images p's */
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "p", 0), 0);
    char *name = strstr(xml, "<name>p</name>");
    assert_non_null(name);
    char *copy = NULL;
    assert_true(asprintf(&copy, "%.*s<name>p2</name><parent><name>p</name></parent>%s",
                         (int)(name - xml), xml, name + strlen("<name>p</name>")) > 0);
    /* drop the metadata UUID: a new snapshot gets its own */
    char *meta = strstr(copy, "<metadata>");
    char *meta_end = strstr(copy, "</metadata>");
    assert_non_null(meta);
    memmove(meta, meta_end + strlen("</metadata>"), strlen(meta_end + strlen("</metadata>")) + 1);
    assert_int_equal(sb_snapshot_create_xml(NULL, t->f.c, DOM, copy, SB_SNAPSHOT_CREATE_REDEFINE),
                     0);
    assert_string_equal(list(t, "p", 0), "q,p2");
    assert_current(t, "p");
    assert_int_equal(fx_schema_ok(t->settings), 0);
    /* one root only; a parent must exist */
    char *root2 = NULL;
    assert_true(asprintf(&root2, "%s", copy) > 0);
    char *par = strstr(root2, "<parent>");
    char *par_end = strstr(root2, "</parent>");
    memmove(par, par_end + 9, strlen(par_end + 9) + 1);
    memcpy(strstr(root2, "<name>p2</name>"), "<name>p3</name>", 15);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM, root2, SB_SNAPSHOT_CREATE_REDEFINE),
                    SB_ERR_OPERATION_INVALID, "one root only");
    /* an existing snapshot cannot move: VirtualBox's images follow the tree */
    memcpy(strstr(root2, "<name>p3</name>"), "<name>p2</name>", 15);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM, root2, SB_SNAPSHOT_CREATE_REDEFINE),
                    SB_ERR_CONFIG_UNSUPPORTED, "cannot become a root");
    /* a parent that does not exist */
    memcpy(strstr(copy, "<name>p2</name>"), "<name>p4</name>", 15);
    memcpy(strstr(copy, "<name>p</name></parent>"), "<name>z</name></parent>", 23);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM, copy, SB_SNAPSHOT_CREATE_REDEFINE),
                    SB_ERR_OPERATION_INVALID, "parent snapshot 'z' of 'p4' must be redefined first");
    free(root2);
    free(copy);
    free(xml);
    /* NO_METADATA: VirtualBox always records */
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>n</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>",
                                           SB_SNAPSHOT_CREATE_NO_METADATA),
                    SB_ERR_INVALID_ARG, "flag 'no-metadata' is not supported");
}

/* Nothing is written while VirtualBox holds the machine: a VBoxSVC of the
 * same user (the settings would be overwritten), or a VM process running
 * it.  VirtualBox is not installable here: a stand-in process carries the
 * names VirtualBox's processes have (/proc/PID/comm and the command line
 * are what the plugin looks at). */
static pid_t stand_in(struct t *t, const char *comm, const char *arg1, const char *arg2)
{
    char link[300];
    const char *helper = getenv("SB_VBOX_STAND_IN");
    assert_non_null(helper);
    snprintf(link, sizeof link, "%s/%s", t->dir, comm);
    assert_int_equal(symlink(helper, link), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(link, comm, arg1, arg2, (char *)NULL);
        _exit(127);
    }
    t->stand_in = pid;
    /* wait until the process carries its name */
    char path[64], comm_now[64] = "";
    for (int i = 0; i < 500 && strcmp(comm_now, comm) != 0; i++) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        char *s = fx_read(path);
        if (s) {
            s[strcspn(s, "\n")] = '\0';
            snprintf(comm_now, sizeof comm_now, "%s", s);
            free(s);
        }
        if (strcmp(comm_now, comm) != 0)
            usleep(10000);
    }
    assert_string_equal(comm_now, comm);
    return pid;
}

static void stop(struct t *t, pid_t pid, const char *comm)
{
    char link[300];
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    t->stand_in = 0;
    snprintf(link, sizeof link, "%s/%s", t->dir, comm);
    unlink(link);
}

static void virtualbox_holds_machine(void **state)
{
    struct t *t = *state;
    create(t, "s1", NULL);
    char *before = fx_read(t->settings);
    pid_t svc = stand_in(t, "VBoxSVC", "--auto-shutdown", NULL);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_INVALID, "is locked: VirtualBox's VBoxSVC");
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "VBoxSVC");
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "VBoxSVC");
    stop(t, svc, "VBoxSVC");
    char uuid[64];
    vb_machine *m = machine(t);
    snprintf(uuid, sizeof uuid, "{%s}", m->uuid);
    vb_machine_free(m);
    pid_t vm = stand_in(t, "VBoxHeadless", "--startvm", uuid);
    int st = 0;
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_RUNNING);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_INVALID, "is running");
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "cannot revert snapshot of running domain");
    stop(t, vm, "VBoxHeadless");
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
}

/* A registered image whose file is gone, another format: refused before
 * anything is written. */
static void missing_and_foreign_media(void **state)
{
    struct t *t = *state;
    char img[400];
    char *before = fx_read(t->settings);
    snprintf(img, sizeof img, "%s/%s/disk1.vdi", t->dir, DOM);
    assert_int_equal(fx_sh("mv '%s' '%s.away'", img, img), 0);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_INVALID, "disk 'sdb': medium {");
    assert_non_null(strstr(sb_error_last()->message, "disk1.vdi') is missing"));
    assert_int_equal(fx_sh("mv '%s.away' '%s'", img, img), 0);
    assert_int_equal(fx_sh("sed -i 's/location=\"disk1.vdi\" format=\"VDI\"/location=\"disk1.vdi\" "
                           "format=\"VMDK\"/' '%s'", t->settings), 0);
    free(before);
    before = fx_read(t->settings);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_UNSUPPORTED, "is a VMDK image; the plugin writes VDI images");
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    char snapdir[300];
    snprintf(snapdir, sizeof snapdir, "%s/%s/Snapshots", t->dir, DOM);
    assert_int_equal(fx_count_files(snapdir, NULL), 0);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_write_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(revert_and_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(children_and_metadata_only, setup, teardown),
        cmocka_unit_test_setup_teardown(redefine, setup, teardown),
        cmocka_unit_test_setup_teardown(virtualbox_holds_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_and_foreign_media, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
