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
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "vb.h"
#include "vdi.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"
#include "test_wait.h"

#define DOM FX_VM_DOM

static int setup(void **state)
{
    fx_vm *t = calloc(1, sizeof *t);
    fx_vm_setup(t, "ops");
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fx_vm_teardown(*state);
    free(*state);
    return 0;
}

/* Snapshot, write, snapshot, write, delete: the data merges down, and
 * with every snapshot gone the bases hold everything (qemu-io reads it). */
static void create_write_delete(void **state)
{
    fx_vm *t = *state;
    char paths[16][300];
    fx_vm_qemu_write(t, 0, 0x11, 0, 3 * FX_MIB);
    fx_vm_qemu_write(t, 1, 0x12, FX_MIB, 4096);
    fx_vm_consistent(t);
    fx_vm_create(t, "s1", "first &amp; only");
    fx_vm_current(t, "s1");
    assert_int_equal(fx_vm_chain(t, 0, paths), 2);
    fx_vm_consistent(t);
    fx_vm_guest_write(t, 0, 0x21, FX_MIB + 512, 8192);
    fx_vm_guest_write(t, 1, 0x22, 3 * FX_MIB, FX_MIB);
    fx_vm_create(t, "s2", NULL);
    assert_string_equal(fx_vm_list(t, NULL, 0), "s1,s2");
    assert_int_equal(fx_vm_chain(t, 0, paths), 3);
    fx_vm_guest_write(t, 0, 0x31, 5 * FX_MIB, 100);
    fx_vm_consistent(t);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "s1", 0), 0);
    assert_non_null(strstr(xml, "<description>first &amp; only</description>"));
    assert_non_null(strstr(xml, "<disk name='sda' snapshot='internal'/>"));
    assert_non_null(strstr(xml, "<disk name='sdc' snapshot='no'/>")); /* the DVD drive */
    free(xml);

    /* s1 froze the bases: its child image is merged back into them */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", 0), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "s2");
    fx_vm_current(t, "s2");
    fx_vm_consistent(t);
    /* s2 (a differencing image with one child): merged, gone */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s2", 0), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "");
    fx_vm_current(t, NULL);
    fx_vm_consistent(t);
    assert_int_equal(fx_vm_chain(t, 0, paths), 1);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x11 0 1049088"), 0);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x21 1049088 8192"), 0);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", "read -P 0x31 5242880 100"), 0);
    assert_int_equal(fx_vm_chain(t, 1, paths), 1);
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

/* A delete refused with code and a message holding fragment leaves the
 * settings file as it was. */
static void delete_refused(fx_vm *t, const char *name, int code, const char *fragment)
{
    char *before = fx_read(t->settings);
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, name, 0), code, fragment);
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Revert: fresh differencing images on the snapshot's images; the
 * current state's own images are discarded. */
static void revert_and_branch(void **state)
{
    fx_vm *t = *state;
    char base_raw[2][300];
    fx_vm_qemu_write(t, 0, 0x41, 0, FX_MIB);
    fx_vm_create(t, "a", NULL);
    for (int d = 0; d < 2; d++) {
        snprintf(base_raw[d], sizeof base_raw[d], "%s/at-a%d.raw", t->dir, d);
        assert_int_equal(fx_sh("cp '%s' '%s'", t->raw[d], base_raw[d]), 0);
    }
    fx_vm_guest_write(t, 0, 0x42, 0, 4096);
    fx_vm_create(t, "b", NULL);
    fx_vm_guest_write(t, 0, 0x43, 2 * FX_MIB, 4096);
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "a", 0), 0);
    fx_vm_current(t, "a");
    for (int d = 0; d < 2; d++)
        assert_int_equal(fx_sh("cp '%s' '%s'", base_raw[d], t->raw[d]), 0);
    fx_vm_consistent(t);
    /* a second branch under a */
    fx_vm_guest_write(t, 1, 0x44, 0, 512);
    fx_vm_create(t, "c", NULL);
    assert_string_equal(fx_vm_list(t, "a", 0), "b,c");
    assert_string_equal(fx_vm_list(t, NULL, SB_SNAPSHOT_LIST_LEAVES), "b,c");
    fx_vm_consistent(t);
    /* a has two children: VirtualBox refuses, nothing changes */
    delete_refused(t, "a", SB_ERR_OPERATION_INVALID, "cannot be deleted: it has 2 child snapshots");
    /* b is a leaf off the current branch: its image simply goes */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "b", 0), 0);
    fx_vm_consistent(t);
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "c", 0), 0);
    fx_vm_consistent(t);
    /* flags that start the machine need VBoxManage */
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "a", SB_SNAPSHOT_REVERT_RUNNING),
                    SB_ERR_OPERATION_INVALID,
                    "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING: starting the machine after a revert "
                    "needs VirtualBox's VBoxManage");
}

static void children_and_metadata_only(void **state)
{
    fx_vm *t = *state;
    fx_vm_qemu_write(t, 0, 0x51, 0, 2 * FX_MIB);
    fx_vm_create(t, "r", NULL);
    fx_vm_guest_write(t, 0, 0x52, 0, 4096);
    fx_vm_create(t, "k1", NULL);
    fx_vm_guest_write(t, 0, 0x53, 4096, 4096);
    fx_vm_create(t, "k2", NULL);
    fx_vm_guest_write(t, 0, 0x54, 8192, 4096);
    /* CHILDREN_ONLY: k2 then k1 go, their data merged into the current chain */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "r");
    fx_vm_current(t, "r");
    fx_vm_consistent(t);
    fx_vm_create(t, "k3", NULL);
    /* METADATA_ONLY with children: refused */
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_METADATA_ONLY),
                    SB_ERR_OPERATION_INVALID, "it has children");
    /* METADATA_ONLY of the leaf: the element goes, every image stays */
    vb_machine *m = fx_vm_machine(t);
    size_t media = m->nmedia;
    vb_machine_free(m);
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "k3", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    fx_vm_current(t, "r");
    m = fx_vm_machine(t);
    assert_int_equal(m->nmedia, media);
    vb_machine_free(m);
    assert_int_equal(fx_schema_ok(t->settings), 0);
    /* CHILDREN on the root: the whole tree, data kept in the current chain */
    fx_vm_create(t, "k4", NULL);
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "r", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "");
    assert_int_equal(fx_schema_ok(t->settings), 0);
}

/* The definitions the plugin writes round-trip: redefine with CURRENT
 * (virsh's snapshot-current) and a new snapshot from XML. */
static void redefine(void **state)
{
    fx_vm *t = *state;
    char *xml = NULL;
    fx_vm_create(t, "p", NULL);
    fx_vm_create(t, "q", "old words");
    /* q is current and the disks descend from it: its own XML with CURRENT */
    assert_int_equal(sb_snapshot_set_current(t->f.c, DOM, "q"), 0);
    /* p's images are not what the machine grows from directly but they
     * are ancestors: allowed, and p becomes current */
    assert_int_equal(sb_snapshot_set_current(t->f.c, DOM, "p"), 0);
    fx_vm_current(t, "p");
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
    assert_string_equal(fx_vm_list(t, "p", 0), "q,p2");
    fx_vm_current(t, "p");
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
                    SB_ERR_INVALID_ARG, "parent snapshot 'z' of 'p4' must be redefined first");
    free(root2);
    /* a <domain> naming a copy of a registered image (same UUID, another
     * path): refused, not quietly attached to the registered file */
    memcpy(strstr(copy, "<name>p4</name>"), "<name>p5</name>", 15);
    memcpy(strstr(copy, "<name>z</name></parent>"), "<name>p</name></parent>", 23);
    char orig[400], dup[400];
    snprintf(orig, sizeof orig, "%s/%s/disk0.vdi", t->dir, DOM);
    snprintf(dup, sizeof dup, "%s/%s/disk0-copy.vdi", t->dir, DOM);
    assert_non_null(strstr(copy, orig));
    assert_int_equal(fx_sh("cp '%s' '%s'", orig, dup), 0);
    char *elsewhere = NULL, *src = strstr(copy, orig);
    assert_true(asprintf(&elsewhere, "%.*s%s%s", (int)(src - copy), copy, dup,
                         src + strlen(orig)) > 0);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM, elsewhere,
                                           SB_SNAPSHOT_CREATE_REDEFINE),
                    SB_ERR_OPERATION_INVALID, "which medium");
    free(elsewhere);
    assert_int_equal(unlink(dup), 0);
    free(copy);
    free(xml);
    /* NO_METADATA: VirtualBox always records, so the plugin does not
     * declare it and the broker refuses it by its libvirt name */
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>n</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>",
                                           SB_SNAPSHOT_CREATE_NO_METADATA),
                    SB_ERR_INVALID_ARG, "unsupported flags VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA");
}

/* A tree rebuilt from its own XML (the snapshots' metadata gone, every
 * image kept): the same snapshots, UUIDs and current one, the machine's
 * disks where they were. */
static void tree_rebuilt_from_xml(void **state)
{
    fx_vm *t = *state;
    char *x1 = NULL, *x2 = NULL;
    fx_vm_qemu_write(t, 0, 0x71, 0, FX_MIB);
    fx_vm_create(t, "s1", "one");
    fx_vm_guest_write(t, 0, 0x72, 0, 4096);
    fx_vm_create(t, "s2", NULL);
    fx_vm_guest_write(t, 1, 0x73, 0, 4096);
    vb_machine *before = fx_vm_machine(t);
    assert_int_equal(sb_snapshot_get_xml(&x1, t->f.c, DOM, "s1", 0), 0);
    assert_int_equal(sb_snapshot_get_xml(&x2, t->f.c, DOM, "s2", 0), 0);
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", SB_SNAPSHOT_DELETE_CHILDREN |
                                                           SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "");
    if (sb_snapshot_create_xml(NULL, t->f.c, DOM, x1, SB_SNAPSHOT_CREATE_REDEFINE) != 0)
        fail_msg("redefine s1: %s", sb_error_last()->message);
    if (sb_snapshot_create_xml(NULL, t->f.c, DOM, x2,
                               SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT) != 0)
        fail_msg("redefine s2: %s", sb_error_last()->message);
    fx_vm_current(t, "s2");
    assert_string_equal(fx_vm_list(t, "s1", 0), "s2");
    vb_machine *after = fx_vm_machine(t);
    assert_int_equal(after->nsnaps, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(after->snaps[i].uuid, before->snaps[i].uuid);
        assert_int_equal(after->snaps[i].ctime, before->snaps[i].ctime);
        for (size_t k = 0; k < before->snaps[i].hw.natt; k++)
            assert_string_equal(after->snaps[i].hw.att[k].image, before->snaps[i].hw.att[k].image);
    }
    assert_string_equal(after->snaps[0].desc, "one");
    for (size_t k = 0; k < before->hw.natt; k++)
        assert_string_equal(after->hw.att[k].image, before->hw.att[k].image);
    vb_machine_free(before);
    vb_machine_free(after);
    fx_vm_consistent(t);
    free(x1);
    free(x2);
}

struct comm_wait {
    pid_t pid;
    const char *comm;
    char now[64]; /* its /proc/PID/comm when last read */
};

static int carries_comm(void *p)
{
    struct comm_wait *w = p;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)w->pid);
    char *s = fx_read(path);
    if (s) {
        s[strcspn(s, "\n")] = '\0';
        snprintf(w->now, sizeof w->now, "%s", s);
        free(s);
    }
    siginfo_t si = { 0 };
    if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
        return 1;
    if (strcmp(w->now, w->comm) != 0)
        return 0;
    /* The kernel names the process early in its exec, before it sets up
     * the new command line and environment (/proc/PID/cmdline and environ
     * read empty until then, and the plugin would take a VBoxSVC whose
     * home it cannot tell for one that holds every machine): the exec is
     * over once the environment, which every stand-in has, reads back. */
    snprintf(path, sizeof path, "/proc/%d/environ", (int)w->pid);
    char env[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, env, sizeof env) : -1;
    if (fd >= 0)
        close(fd);
    return n > 0;
}

/* Nothing is written while VirtualBox holds the machine: a VBoxSVC of the
 * same user (the settings would be overwritten), or a VM process running
 * it.  VirtualBox is not installable here: a stand-in process carries the
 * names VirtualBox's processes have (/proc/PID/comm and the command line
 * are what the plugin looks at).
 *
 * Every vbox plugin of the stand-in's user sees it, and one VBoxSVC whose
 * VirtualBox.xml cannot be read holds every machine of its user
 * (plugins/vbox/procs.c): a vbox test of the same user running at the
 * same time (beside this one, or in another test run on the machine) would
 * be refused with "is locked: VirtualBox's VBoxSVC".  So when the test
 * runs as root, the stand-ins run as a user of their own (a uid no
 * account has, made from the test's PID: two runs at once differ) and
 * this machine's settings file is given to that user, as VirtualBox's
 * files belong to the user who runs it; the plugin keeps a settings
 * file's owner when it rewrites it.  Run as another user, the stand-ins
 * are that user's, and only a vbox test of another user may run beside. */
static uid_t stand_in_uid(void)
{
    return geteuid() == 0 ? (uid_t)(200000 + getpid()) : geteuid();
}

static pid_t stand_in(fx_vm *t, const char *comm, const char *arg1, const char *arg2,
                      const char *vbox_home)
{
    char exe[300];
    const char *helper = getenv("SB_VBOX_STAND_IN");
    const uid_t uid = stand_in_uid();
    assert_non_null(helper);
    /* a copy named as the process (its comm), where the user can run it
     * (the build directory may be out of its reach) */
    snprintf(exe, sizeof exe, "%s/%s", t->dir, comm);
    fx_copy_file(helper, exe, 0755);
    if (uid != geteuid()) {
        assert_int_equal(chmod(t->dir, 0711), 0);
        assert_int_equal(chown(t->settings, uid, uid), 0);
    }
    pid_t test = getpid(), pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (uid != geteuid() &&
            (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
            _exit(125);
        /* it dies with the test, whatever ends the test: a VBoxSVC left
         * behind would lock every test machine of its user (kept across
         * execve; set after the change of user, which clears it) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != test)
            _exit(126);
        char env[400];
        snprintf(env, sizeof env, "VBOX_USER_HOME=%s", vbox_home ? vbox_home : "/nonexistent");
        char *const envp[] = { env, NULL };
        char *const argv[] = { (char *)comm, (char *)arg1, (char *)arg2, NULL };
        execve(exe, argv, envp);
        _exit(127);
    }
    t->stand_in = pid;
    /* wait until the process carries its name (or ended: exec failed) */
    struct comm_wait w = { pid, comm, "" };
    (void)test_wait_for(carries_comm, &w, TEST_HANG_MS);
    assert_string_equal(w.now, comm);
    return pid;
}

static void stop(fx_vm *t, pid_t pid, const char *comm)
{
    char exe[300];
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    t->stand_in = 0;
    snprintf(exe, sizeof exe, "%s/%s", t->dir, comm);
    unlink(exe);
}

static void virtualbox_holds_machine(void **state)
{
    fx_vm *t = *state;
    char home[300], reg[400], uuid[64];
    fx_vm_create(t, "s1", NULL);
    vb_machine *m = fx_vm_machine(t);
    snprintf(uuid, sizeof uuid, "{%s}", m->uuid);
    vb_machine_free(m);
    /* a VBoxSVC whose home registers another machine has nothing to do
     * with this one */
    snprintf(home, sizeof home, "%s/vbox-home", t->dir);
    assert_int_equal(fx_sh("mkdir -p '%s'", home), 0);
    snprintf(reg, sizeof reg, "%s/VirtualBox.xml", home);
    fx_write(reg, "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                  "version=\"1.19-linux\"><Global><MachineRegistry><MachineEntry "
                  "uuid=\"{00000000-1111-4222-8333-444444444444}\" src=\"x/x.vbox\"/>"
                  "</MachineRegistry></Global></VirtualBox>\n");
    pid_t svc = stand_in(t, "VBoxSVC", "--auto-shutdown", NULL, home);
    fx_vm_create(t, "s2", NULL);
    stop(t, svc, "VBoxSVC");
    /* the VBoxSVC of the home that registers it locks it */
    char *text = NULL;
    assert_true(asprintf(&text, "<?xml version=\"1.0\"?>\n<VirtualBox "
                                "xmlns=\"http://www.virtualbox.org/\" version=\"1.19-linux\">"
                                "<Global><MachineRegistry><MachineEntry uuid=\"%s\" src=\"%s\"/>"
                                "</MachineRegistry></Global></VirtualBox>\n",
                         uuid, t->settings) > 0);
    fx_write(reg, text);
    free(text);
    char *before = fx_read(t->settings);
    svc = stand_in(t, "VBoxSVC", "--auto-shutdown", NULL, home);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_INVALID, "is locked: VirtualBox's VBoxSVC");
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "VBoxSVC");
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "VBoxSVC");
    stop(t, svc, "VBoxSVC");
    pid_t vm = stand_in(t, "VBoxHeadless", "--startvm", uuid, NULL);
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

static void count_plugin_errors(void *opaque, const char *level, const char *origin,
                                const char *message)
{
    (void)level;
    (void)origin;
    if (strstr(message, "reported an error")) {
        print_message("# %s\n", message);
        ++*(int *)opaque;
    }
}

/* A VBoxSVC whose VirtualBox.xml cannot be read holds the machine (better
 * refuse than lose a change), and that file's error is the plugin's own
 * business: an operation that succeeds leaves no error behind (the broker
 * logs one as "succeeded but reported an error"), one that is refused
 * says VBoxSVC holds the machine. */
static void unreadable_registry_held_quietly(void **state)
{
    fx_vm *t = *state;
    char home[300], reg[400];
    int st = -1, leaked = 0;
    fx_vm_create(t, "s1", NULL);
    snprintf(home, sizeof home, "%s/vbox-home", t->dir);
    assert_int_equal(fx_sh("mkdir -p '%s'", home), 0);
    snprintf(reg, sizeof reg, "%s/VirtualBox.xml", home);
    fx_write(reg, "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\"");
    pid_t svc = stand_in(t, "VBoxSVC", "--auto-shutdown", NULL, home);
    sb_log_drain(count_plugin_errors, &leaked);
    leaked = 0;
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    sb_log_drain(count_plugin_errors, &leaked);
    assert_int_equal(leaked, 0);
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "VBoxSVC");
    /* a machine of another user is not its business: run as root, the
     * stand-in is a user of its own (stand_in), and a machine of root's
     * (as every other vbox test's) is still written */
    if (stand_in_uid() != geteuid()) {
        fx_vm other;
        fx_vm_setup(&other, "ops-other");
        fx_vm_create(&other, "o1", NULL);
        assert_string_equal(fx_vm_list(&other, NULL, 0), "o1");
        fx_vm_teardown(&other);
    } else {
        print_message("# not run as root: the stand-in is this user's, no other user to try\n");
    }
    stop(t, svc, "VBoxSVC");
    assert_string_equal(fx_vm_list(t, NULL, 0), "s1");
}

/* Where VirtualBox holds the machine, its own VBoxManage does the work.
 * VirtualBox is not installable here: a stand-in script records what it
 * is asked (and answers showvminfo as VBoxManage does). */
static void vboxmanage_does_running_machines(void **state)
{
    fx_vm *t = *state;
    char script[300], log[300], extra[400], uuid[64], *text = NULL;
    fx_vm_create(t, "s1", NULL);
    vb_machine *m = fx_vm_machine(t);
    snprintf(uuid, sizeof uuid, "%s", m->uuid);
    char *s1 = strdup(m->snaps[0].uuid);
    vb_machine_free(m);
    snprintf(script, sizeof script, "%s/VBoxManage", t->dir);
    snprintf(log, sizeof log, "%s/vboxmanage.log", t->dir);
    assert_true(asprintf(&text,
                         "#!/bin/sh\necho \"$*\" >> '%s'\n"
                         "case \"$1\" in showvminfo) echo 'VMState=\"paused\"';;\n"
                         "  snapshot) [ \"$4\" = refused ] && "
                         "{ echo 'VBoxManage: error: not now' >&2; exit 1; };;\nesac\n"
                         "exit 0\n", log) > 0);
    fx_write(script, text);
    free(text);
    assert_int_equal(fx_sh("chmod +x '%s'", script), 0);
    fx_disconnect(&t->f);
    snprintf(extra, sizeof extra, "vboxmanage = \"%s\";", script);
    fx_connect(&t->f, t->dir, extra);
    char braced[80];
    snprintf(braced, sizeof braced, "{%s}", uuid);
    /* read (and kept by the connection) before the stand-in's user owns
     * the settings file: the new owner makes the kept machine stale (run
     * as root, stand_in gives the file to the stand-in's user) */
    int st = 0;
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    stand_in(t, "VBoxHeadless", "--startvm", braced, NULL);
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_PAUSED);
    char *before = fx_read(t->settings);
    fx_vm_create(t, "live", "taken while it runs");
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>refused</name><state>running"
                                           "</state><creationTime>1</creationTime>"
                                           "</domainsnapshot>", 0),
                    SB_ERR_HYPERVISOR, "VBoxManage snapshot");
    assert_non_null(strstr(sb_error_last()->message, "VBoxManage: error: not now"));
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", 0), 0);
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "cannot revert snapshot of running domain");
    /* the files were VirtualBox's business */
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
    stop(t, t->stand_in, "VBoxHeadless");
    /* powered off: the plugin reverts, VBoxManage starts it */
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "s1", SB_SNAPSHOT_REVERT_PAUSED), 0);
    /* what it was asked, state queries aside */
    char *got = fx_sh_out("grep -v '^showvminfo %s --machinereadable$' '%s'", uuid, log);
    char want[800];
    snprintf(want, sizeof want,
             "snapshot %s take live --description taken while it runs\n"
             "snapshot %s take refused\nsnapshot %s delete %s\nstartvm %s --type headless\n"
             "controlvm %s pause\n",
             uuid, uuid, uuid, s1, uuid, uuid);
    if (strcmp(got, want) != 0)
        fail_msg("VBoxManage was asked:\n%s\nnot:\n%s", got, want);
    free(got);
    /* a VBoxManage that cannot be executed: said so, naming it and why,
     * and nothing changed */
    stand_in(t, "VBoxHeadless", "--startvm", braced, NULL);
    assert_int_equal(fx_sh("chmod -x '%s'", script), 0);
    before = fx_read(t->settings);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>unrun</name><state>running"
                                           "</state><creationTime>1</creationTime>"
                                           "</domainsnapshot>", 0),
                    SB_ERR_SYSTEM_ERROR, script);
    assert_non_null(strstr(sb_error_last()->message, "cannot run"));
    assert_non_null(strstr(sb_error_last()->message, "Permission denied"));
    after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
    stop(t, t->stand_in, "VBoxHeadless");
    free(s1);
    fx_vm_consistent(t);
}

/* A registered image whose file is gone, another format: refused before
 * anything is written. */
static void missing_and_foreign_media(void **state)
{
    fx_vm *t = *state;
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

/* Snapshots taken while the machine ran hold a saved state (a stateFile:
 * VirtualBox's own files, never made here, so the test adds the attribute
 * and a file as VirtualBox would); a machine can be saved itself. */
/* Make a VDI's header say the disk grew to `blocks` blocks of 1 MiB (what
 * a resize of that image after a snapshot leaves: a size its parent does
 * not have); the new blocks are unallocated. */
static void grow_vdi(const char *path, uint32_t blocks)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    uint32_t off_blocks = 0, old = 0;
    assert_int_equal(pread(fd, &off_blocks, 4, 340), 4);
    assert_int_equal(pread(fd, &old, 4, 384), 4);
    uint64_t size = (uint64_t)blocks << 20;
    assert_int_equal(pwrite(fd, &size, 8, 368), 8);
    assert_int_equal(pwrite(fd, &blocks, 4, 384), 4);
    for (uint32_t b = old; b < blocks; b++) {
        uint32_t free_block = 0xffffffffu;
        assert_int_equal(pwrite(fd, &free_block, 4, off_blocks + 4 * (off_t)b), 4);
    }
    assert_int_equal(close(fd), 0);
}

/* A delete whose second disk cannot be merged (its image after the
 * snapshot was resized) is refused before the first disk's merge runs.
 * It used to merge disk 0 into the snapshot's image first (the snapshot
 * then read newer data), fail on disk 1, and leave an intent every later
 * change retried and failed on: the machine was locked for good. */
static void delete_refused_before_any_merge(void **state)
{
    fx_vm *t = *state;
    char base0[300];
    fx_vm_qemu_write(t, 0, 0x11, 0, 2 * FX_MIB);
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x21, 0, 4096);
    fx_vm_guest_write(t, 1, 0x22, 0, 4096);
    fx_vm_create(t, "s2", NULL);
    vb_machine *m = fx_vm_machine(t);
    long y = -1;
    for (size_t i = 0; i < m->nsnaps; i++)
        if (strcmp(m->snaps[i].name, "s2") == 0)
            y = vb_medium_index(m, m->snaps[i].hw.att[1].image);
    assert_true(y >= 0);
    grow_vdi(m->media[y].path, 8);
    vb_machine_free(m);
    delete_refused(t, "s1", SB_ERR_OPERATION_UNSUPPORTED, "different sizes or block layouts");
    snprintf(base0, sizeof base0, "%s/%s/disk0.vdi", t->dir, DOM);
    assert_int_equal(fx_qemu_io(base0, "vdi", "read -P 0x11 0 4096"), 0); /* s1's data */
    char intent[600];
    snprintf(intent, sizeof intent, "%s-sbintent", t->settings);
    assert_false(fx_exists(intent));
    /* the machine takes the next operations */
    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "s2", 0), 0);
    fx_vm_create(t, "s3", NULL);
    assert_string_equal(fx_vm_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL), "s1,s2,s3");
}

/* Limit the size any file this process writes may reach (RLIMIT_FSIZE):
 * a write past it fails with EFBIG, as a write on a full disk fails, in
 * the middle of a merge.  limit 0 lifts it. */
static void file_size_limit(off_t limit)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = limit ? (rlim_t)limit : rl.rlim_max;
    signal(SIGXFSZ, SIG_IGN); /* the write fails instead of the process */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static off_t size_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static int intent_left(fx_vm *t)
{
    char intent[600];
    snprintf(intent, sizeof intent, "%s-sbintent", t->settings);
    return fx_exists(intent);
}

/* A backward merge (the current state's image into the snapshot's base)
 * that fails part-way, its image unable to grow: the snapshot's image holds
 * part of the next state's data, so the delete stays pending.  The error
 * says so, names the image and the cause; later changes are refused saying
 * what blocks them; reads work; once the cause is gone the next access
 * finishes the delete and nothing is lost.  It used to report only the
 * write's error, and each later change the same bare error. */
static void delete_fails_part_way(void **state)
{
    fx_vm *t = *state;
    char paths[16][300];
    fx_vm_qemu_write(t, 0, 0x11, 0, 2 * FX_MIB);
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x21, 4 * FX_MIB, 3 * FX_MIB); /* 3 blocks the base lacks */
    assert_int_equal(fx_vm_chain(t, 0, paths), 2);
    off_t room = size_of(paths[0]) + FX_MIB + 4096; /* one block fits, not two */

    file_size_limit(room);
    int rc = sb_snapshot_delete(t->f.c, DOM, "s1", 0);
    file_size_limit(0);
    fx_expect_error(rc, SB_ERR_SYSTEM_ERROR, "deleting snapshot 's1' of domain 'm1' stopped "
                    "part-way: VDI image '");
    assert_non_null(strstr(sb_error_last()->message, "disk0.vdi': cannot write a block: File "
                           "too large"));
    assert_non_null(strstr(sb_error_last()->message, "the next operation on the machine "
                           "finishes it"));
    assert_true(intent_left(t));

    /* the cause stays: changes are refused saying what blocks them */
    file_size_limit(room);
    rc = sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                "<domainsnapshot><name>s2</name><state>shutoff</state>"
                                "<creationTime>1</creationTime></domainsnapshot>", 0);
    int code = sb_error_last()->code;
    char *why = strdup(sb_error_last()->message);
    const char *listed = fx_vm_list(t, NULL, 0); /* reads work */
    file_size_limit(0);
    assert_int_equal(rc, -SB_ERR_SYSTEM_ERROR);
    assert_int_equal(code, SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(why, "domain 'm1': the delete of snapshot 's1' (recorded in '"));
    assert_non_null(strstr(why, "must finish before the machine changes, and cannot: "));
    assert_non_null(strstr(why, "File too large"));
    free(why);
    assert_string_equal(listed, "s1");
    assert_true(intent_left(t));

    /* the cause gone, the next change finishes the delete first */
    fx_vm_create(t, "s2", NULL);
    assert_false(intent_left(t));
    assert_string_equal(fx_vm_list(t, NULL, 0), "s2");
    fx_vm_consistent(t);
}

/* A forward merge (the snapshot's differencing image into the next one)
 * that fails part-way changed nothing any state reads: the delete is
 * dropped with its intent, the error says so, and the machine takes the
 * next operation at once.  It used to keep the intent: every later change
 * retried the merge and failed while the cause lasted. */
static void forward_merge_failure_dropped(void **state)
{
    fx_vm *t = *state;
    char paths[16][300];
    fx_vm_qemu_write(t, 0, 0x11, 0, FX_MIB);
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x21, 0, 2 * FX_MIB);          /* s2's image: 2 blocks */
    fx_vm_create(t, "s2", NULL);
    fx_vm_guest_write(t, 0, 0x31, 4 * FX_MIB, 3 * FX_MIB); /* the larger next one: 3 */
    assert_int_equal(fx_vm_chain(t, 0, paths), 3);
    off_t room = size_of(paths[2]) + FX_MIB + 4096; /* one of the two blocks fits */

    char *before = fx_read(t->settings);
    file_size_limit(room);
    int rc = sb_snapshot_delete(t->f.c, DOM, "s2", 0);
    file_size_limit(0);
    fx_expect_error(rc, SB_ERR_SYSTEM_ERROR, "cannot delete snapshot 's2' of domain 'm1': VDI "
                    "image '");
    assert_non_null(strstr(sb_error_last()->message, "File too large; nothing any snapshot or "
                           "the machine reads was changed"));
    assert_false(intent_left(t));
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(before);
    free(after);
    fx_vm_consistent(t);
    assert_string_equal(fx_vm_list(t, NULL, 0), "s1,s2");
    /* run again with room, it goes through */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s2", 0), 0);
    assert_string_equal(fx_vm_list(t, NULL, 0), "s1");
    fx_vm_consistent(t);
}

/* A machine whose disk 0 is a differencing image on a base of the given
 * VirtualBox type, as VirtualBox attaches an Immutable or MultiAttach
 * base (each attachment gets its own differencing image).  A snapshot
 * must freeze that image and grow a new one on it, a revert put the
 * machine on a fresh image, and a delete merge the two without touching
 * the shared base.  Judged by the base's type, the image was shared by
 * the snapshot and the current state: the writes after the snapshot
 * changed it, and the revert brought them back. */
static void diff_on_typed_base(fx_vm *t, const char *type)
{
    char paths[16][300], base[300], keep[300], at_s1[300];
    fx_vm_qemu_write(t, 0, 0x11, 0, FX_MIB);
    fx_vm_create(t, "s0", NULL); /* makes disk 0's own differencing image */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s0", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_int_equal(fx_sh("sed -i 's|location=\"disk0.vdi\" format=\"VDI\" type=\"Normal\"|"
                           "location=\"disk0.vdi\" format=\"VDI\" type=\"%s\"|' '%s'",
                           type, t->settings), 0);
    assert_int_equal(fx_schema_ok(t->settings), 0);
    assert_int_equal(fx_vm_chain(t, 0, paths), 2);
    snprintf(base, sizeof base, "%s", paths[0]);
    snprintf(keep, sizeof keep, "%s/base-copy.vdi", t->dir);
    assert_int_equal(fx_sh("cp '%s' '%s'", base, keep), 0);
    fx_vm_guest_write(t, 0, 0x21, 0, 4096);

    fx_vm_create(t, "s1", NULL);
    assert_int_equal(fx_vm_chain(t, 0, paths), 3); /* frozen, and a new one on it */
    snprintf(at_s1, sizeof at_s1, "%s/at-s1.raw", t->dir);
    assert_int_equal(fx_sh("cp '%s' '%s'", t->raw[0], at_s1), 0);
    fx_vm_guest_write(t, 0, 0x31, 0, 4096);
    fx_vm_consistent(t);

    assert_int_equal(sb_snapshot_revert(t->f.c, DOM, "s1", 0), 0);
    assert_int_equal(fx_sh("cp '%s' '%s'", at_s1, t->raw[0]), 0);
    assert_int_equal(fx_vm_chain(t, 0, paths), 3);
    fx_vm_consistent(t); /* reads s1's data, not the write after it */
    fx_vm_guest_write(t, 0, 0x41, FX_MIB, 4096);

    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", 0), 0);
    assert_int_equal(fx_vm_chain(t, 0, paths), 2); /* one image on the base again */
    fx_vm_consistent(t);
    assert_int_equal(fx_sh("cmp -s '%s' '%s'", base, keep), 0); /* the base never changed */
}

static void immutable_base_image_snapshotted(void **state)
{
    diff_on_typed_base(*state, "Immutable");
}

static void multiattach_base_image_snapshotted(void **state)
{
    diff_on_typed_base(*state, "MultiAttach");
}


/* A differencing image whose block map is damaged (an entry past the
 * data) is refused before anything is written.  The merge used to start,
 * fail on the entry, and leave an intent every later change retried. */
static void delete_refused_damaged_map(void **state)
{
    fx_vm *t = *state;
    char paths[16][300];
    fx_vm_qemu_write(t, 0, 0x11, 0, FX_MIB);
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x21, 0, 4096);
    assert_int_equal(fx_vm_chain(t, 0, paths), 2);
    int fd = open(paths[1], O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    uint32_t off_blocks = 0, bad = 500;
    assert_int_equal(pread(fd, &off_blocks, 4, 340), 4);
    assert_int_equal(pwrite(fd, &bad, 4, off_blocks + 4 * 7), 4);
    assert_int_equal(close(fd), 0);
    delete_refused(t, "s1", SB_ERR_OPERATION_INVALID, "points at data block 500, which is out "
                   "of range");
    assert_false(intent_left(t));
}

static void saved_states(void **state)
{
    fx_vm *t = *state;
    char sav[400], msav[400], *xml = NULL;
    fx_vm_qemu_write(t, 0, 0x81, 0, 2 * FX_MIB);
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x82, FX_MIB, 4096);
    fx_vm_create(t, "s2", NULL);
    snprintf(sav, sizeof sav, "%s/%s/Snapshots/s1.sav", t->dir, DOM);
    assert_int_equal(fx_sh("head -c 12345 /dev/zero > '%s' && sed -i 's|name=\"s1\"|name=\"s1\" "
                           "stateFile=\"Snapshots/s1.sav\"|' '%s'", sav, t->settings), 0);
    assert_int_equal(fx_schema_ok(t->settings), 0);

    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "s1", 0), 0);
    assert_non_null(strstr(xml, "<state>running</state>"));
    assert_non_null(strstr(xml, "<memory snapshot='internal'/>"));
    free(xml);
    assert_int_equal(sb_snapshot_get_xml(&xml, t->f.c, DOM, "s2", 0), 0);
    assert_non_null(strstr(xml, "<state>shutoff</state>"));
    assert_non_null(strstr(xml, "<memory snapshot='no'/>"));
    free(xml);
    assert_string_equal(fx_vm_list(t, NULL, SB_SNAPSHOT_LIST_ACTIVE), "s1");
    assert_string_equal(fx_vm_list(t, NULL, SB_SNAPSHOT_LIST_INACTIVE), "s2");

    /* restoring a saved state is VirtualBox's work */
    char *before = fx_read(t->settings);
    fx_expect_error(sb_snapshot_revert(t->f.c, DOM, "s1", 0), SB_ERR_OPERATION_INVALID,
                    "snapshot 's1' holds a saved machine state; restoring it needs VirtualBox's "
                    "VBoxManage");
    char *after = fx_read(t->settings);
    assert_string_equal(before, after);
    free(after);
    free(before);

    /* a saved machine: shut off (saved), and nothing that changes images */
    snprintf(msav, sizeof msav, "%s/%s/Snapshots/m1.sav", t->dir, DOM);
    assert_int_equal(fx_sh("head -c 100 /dev/zero > '%s' && sed -i 's|name=\"%s\"|name=\"%s\" "
                           "stateFile=\"Snapshots/m1.sav\"|' '%s'", msav, DOM, DOM, t->settings), 0);
    assert_int_equal(fx_schema_ok(t->settings), 0);
    int st = -1;
    assert_int_equal(sb_domain_get_state(&st, t->f.c, DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    fx_expect_error(sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                           "<domainsnapshot><name>x</name><state>shutoff</state>"
                                           "<creationTime>1</creationTime></domainsnapshot>", 0),
                    SB_ERR_OPERATION_INVALID, "is in saved state");
    fx_expect_error(sb_snapshot_delete(t->f.c, DOM, "s2", 0), SB_ERR_OPERATION_INVALID,
                    "is in saved state; merging its images needs VirtualBox");
    assert_int_equal(fx_sh("sed -i 's| stateFile=\"Snapshots/m1.sav\"||' '%s' && rm '%s'",
                           t->settings, msav), 0);

    /* deleting the snapshot deletes its saved state with its image */
    assert_int_equal(sb_snapshot_delete(t->f.c, DOM, "s1", 0), 0);
    assert_false(fx_exists(sav));
    assert_string_equal(fx_vm_list(t, NULL, 0), "s2");
    fx_vm_consistent(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_write_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(revert_and_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(children_and_metadata_only, setup, teardown),
        cmocka_unit_test_setup_teardown(redefine, setup, teardown),
        cmocka_unit_test_setup_teardown(tree_rebuilt_from_xml, setup, teardown),
        cmocka_unit_test_setup_teardown(virtualbox_holds_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(unreadable_registry_held_quietly, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_and_foreign_media, setup, teardown),
        cmocka_unit_test_setup_teardown(saved_states, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_refused_before_any_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_fails_part_way, setup, teardown),
        cmocka_unit_test_setup_teardown(forward_merge_failure_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_refused_damaged_map, setup, teardown),
        cmocka_unit_test_setup_teardown(immutable_base_image_snapshotted, setup, teardown),
        cmocka_unit_test_setup_teardown(multiattach_base_image_snapshotted, setup, teardown),
        cmocka_unit_test_setup_teardown(vboxmanage_does_running_machines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
