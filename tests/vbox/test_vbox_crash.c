/* A kill at every step of create, revert and delete (the plugin's
 * test_crash_at setting: the process SIGKILLs itself there).  Right after
 * the kill, the settings file is one VirtualBox can open (it validates
 * against VirtualBox's schema); after the next access to the machine, no
 * image is lost or left over, no temporary file or intent remains, every
 * image passes qemu-img check, the disks read as before, and the
 * operation either happened or did not (a delete always completes: its
 * merge may have begun). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"

#define DOM FX_VM_DOM

enum op { OP_CREATE, OP_REVERT, OP_DELETE };

/* Run op in a child whose plugin kills itself at step; it must die so. */
static void killed_at(fx_vm *t, const char *step, enum op op, const char *name)
{
    char conf[300], extra[128];
    snprintf(conf, sizeof conf, "%s/crash.conf", t->dir);
    snprintf(extra, sizeof extra, "test_crash_at = \"%s\";", step);
    fx_write_conf(conf, t->dir, extra);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sb_broker *b = NULL;
        sb_connection *c = NULL;
        int rc = -1;
        char xml[256];
        setenv("SNAPBROKER_CONFIG", conf, 1);
        if (sb_broker_new(&b, NULL) == 0 && sb_connect(&c, b, "vb", 0) == 0) {
            snprintf(xml, sizeof xml,
                     "<domainsnapshot><name>%s</name><state>shutoff</state>"
                     "<creationTime>1</creationTime></domainsnapshot>", name);
            rc = op == OP_CREATE   ? sb_snapshot_create_xml(NULL, c, DOM, xml, 0)
                 : op == OP_REVERT ? sb_snapshot_revert(c, DOM, name, 0)
                                   : sb_snapshot_delete(c, DOM, name, 0);
        }
        if (rc != 0)
            fprintf(stderr, "child: %s\n", sb_error_last()->message);
        _exit(rc == 0 ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("step '%s' was never reached (child exit %d)", step,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    unlink(conf);
}

/* What a kill leaves is valid for VirtualBox before anyone touches it;
 * the next access puts everything right. */
static void after_kill(fx_vm *t)
{
    char path[700];
    assert_int_equal(fx_schema_ok(t->settings), 0);
    (void)fx_vm_list(t, NULL, 0); /* the next access */
    fx_vm_consistent(t);
    static const char *const leftovers[] = { "-sbintent", "-tmp", "-prev.sb-tmp", NULL };
    for (int i = 0; leftovers[i]; i++) {
        snprintf(path, sizeof path, "%s%s", t->settings, leftovers[i]);
        if (fx_exists(path))
            fail_msg("'%s' remains", path);
    }
}

static fx_vm *fresh(void)
{
    fx_vm *t = calloc(1, sizeof *t);
    fx_vm_setup(t, "crash");
    fx_vm_qemu_write(t, 0, 0x61, 0, 4 * FX_MIB);
    fx_vm_qemu_write(t, 1, 0x62, FX_MIB, FX_MIB);
    fx_vm_create(t, "s0", NULL);
    fx_vm_guest_write(t, 0, 0x63, 512, 3 * FX_MIB);
    fx_vm_guest_write(t, 1, 0x64, 0, 4096);
    return t;
}

static void done(fx_vm *t)
{
    fx_vm_teardown(t);
    free(t);
}

static void create_killed(void **state)
{
    (void)state;
    static const struct { const char *step; int happened; } steps[] = {
        { "create-image:1", 0 }, { "create-image:2", 0 }, { "create-settings", 0 },
        { "settings-rename", 0 }, { "create-committed", 1 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fx_vm *t = fresh();
        killed_at(t, steps[i].step, OP_CREATE, "new");
        after_kill(t);
        assert_string_equal(fx_vm_list(t, NULL, 0), steps[i].happened ? "s0,new" : "s0");
        fx_vm_current(t, steps[i].happened ? "new" : "s0");
        /* and the machine goes on working */
        fx_vm_create(t, "next", NULL);
        fx_vm_consistent(t);
        done(t);
    }
}

static void revert_killed(void **state)
{
    (void)state;
    static const struct { const char *step; int happened; } steps[] = {
        { "revert-image:1", 0 }, { "revert-image:2", 0 }, { "revert-settings", 0 },
        { "settings-rename", 0 }, { "revert-committed", 1 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fx_vm *t = calloc(1, sizeof *t);
        char at_s0[2][300];
        fx_vm_setup(t, "crash");
        fx_vm_qemu_write(t, 0, 0x71, 0, 2 * FX_MIB);
        fx_vm_create(t, "s0", NULL);
        for (int d = 0; d < 2; d++) {
            snprintf(at_s0[d], sizeof at_s0[d], "%s/s0-%d.raw", t->dir, d);
            assert_int_equal(fx_sh("cp '%s' '%s'", t->raw[d], at_s0[d]), 0);
        }
        fx_vm_guest_write(t, 0, 0x72, 4096, 4096);
        fx_vm_create(t, "s1", NULL);
        fx_vm_guest_write(t, 1, 0x73, 0, 2 * FX_MIB);
        killed_at(t, steps[i].step, OP_REVERT, "s0");
        if (steps[i].happened)
            for (int d = 0; d < 2; d++)
                assert_int_equal(fx_sh("cp '%s' '%s'", at_s0[d], t->raw[d]), 0);
        after_kill(t);
        fx_vm_current(t, steps[i].happened ? "s0" : "s1");
        done(t);
    }
}

/* Deleting s0 merges the bases' children back into them (backward);
 * deleting s1, a differencing image smaller than its child, merges it
 * forward into the child.  Either way the delete completes. */
static void delete_killed(void **state)
{
    (void)state;
    static const struct { const char *victim, *step; } steps[] = {
        { "s0", "merge-block:1" },     { "s0", "merge-block:3" },   { "s0", "delete-merged:1" },
        { "s0", "delete-merged:2" },   { "s0", "delete-settings" }, { "s0", "settings-rename" },
        { "s0", "delete-committed" },  { "s1", "merge-block:1" },   { "s1", "delete-settings" },
        { "s1", "settings-rename" },   { "s1", "delete-committed" },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fx_vm *t = fresh();
        fx_vm_create(t, "s1", NULL);
        /* s1's child grows bigger than s1's own image: a forward merge */
        fx_vm_guest_write(t, 0, 0x65, 4 * FX_MIB, 4 * FX_MIB);
        fx_vm_guest_write(t, 1, 0x66, 2 * FX_MIB, 2 * FX_MIB);
        killed_at(t, steps[i].step, OP_DELETE, steps[i].victim);
        after_kill(t);
        assert_string_equal(fx_vm_list(t, NULL, 0), strcmp(steps[i].victim, "s0") ? "s0" : "s1");
        done(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_killed),
        cmocka_unit_test(revert_killed),
        cmocka_unit_test(delete_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
