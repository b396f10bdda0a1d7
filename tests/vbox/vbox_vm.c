/* tests/vbox - a test machine with its expected disk contents
 * (vbox_vm.h). */
#include "vbox_vm.h"

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

#include "vdi.h"

void fx_vm_setup(fx_vm *t, const char *tag)
{
    const unsigned mib[2] = { 8, 4 };
    memset(t, 0, sizeof *t);
    fx_tmpdir(t->dir, sizeof t->dir, tag);
    snprintf(t->settings, sizeof t->settings, "%s", fx_machine(t->dir, FX_VM_DOM, 2, mib));
    for (int i = 0; i < 2; i++) {
        snprintf(t->raw[i], sizeof t->raw[i], "%s/expected%d.raw", t->dir, i);
        fx_raw_create(t->raw[i], mib[i] * FX_MIB);
    }
    vb_ctx_init(&t->ctx, NULL, NULL);
    fx_connect(&t->f, t->dir, NULL);
}

void fx_vm_teardown(fx_vm *t)
{
    if (t->stand_in > 0) {
        kill(t->stand_in, SIGKILL);
        waitpid(t->stand_in, NULL, 0);
    }
    if (t->f.c)
        fx_disconnect(&t->f);
    vb_ctx_fini(&t->ctx);
    fx_rmrf(t->dir);
}

/* The machine as the settings file says now. */
vb_machine *fx_vm_machine(fx_vm *t)
{
    vb_machine *m = NULL;
    if (vb_machine_read(&t->ctx, t->settings, &m) != 0)
        fail_msg("read %s: %s", t->settings, t->ctx.err_msg);
    return m;
}

/* Image paths of disk i's chain in the current state, base first. */
size_t fx_vm_chain(fx_vm *t, int disk, char paths[][300])
{
    vb_machine *m = fx_vm_machine(t);
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
void fx_vm_qemu_write(fx_vm *t, int disk, int pattern, unsigned long long off,
                       unsigned long long len)
{
    char cmd[128], paths[16][300];
    assert_int_equal(fx_vm_chain(t, disk, paths), 1);
    snprintf(cmd, sizeof cmd, "write -P 0x%02x %llu %llu", pattern, off, len);
    assert_int_equal(fx_qemu_io(paths[0], "vdi", cmd), 0);
    fx_raw_write(t->raw[disk], pattern, off, len);
}

/* ... or through the plugin's VDI code into the current differencing
 * image (what the guest would write while it runs). */
void fx_vm_guest_write(fx_vm *t, int disk, int pattern, unsigned long long off, size_t len)
{
    char paths[16][300];
    size_t n = fx_vm_chain(t, disk, paths);
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
    fx_raw_write(t->raw[disk], pattern, off, len);
}

/* Settings valid for VirtualBox, every image sound, content as written. */
void fx_vm_consistent(fx_vm *t)
{
    char paths[16][300], flat[300];
    assert_int_equal(fx_schema_ok(t->settings), 0);
    vb_machine *m = fx_vm_machine(t);
    for (size_t i = 0; i < m->nmedia; i++) {
        if (!fx_exists(m->media[i].path))
            fail_msg("registered image %s is missing", m->media[i].path);
        assert_int_equal(fx_qemu_check(m->media[i].path), 0);
    }
    /* no image on disk that no registry knows */
    char snapdir[300];
    snprintf(snapdir, sizeof snapdir, "%s/%s/Snapshots", t->dir, FX_VM_DOM);
    assert_int_equal(fx_count_files(snapdir, ".vdi"), m->nmedia - 2);
    vb_machine_free(m);
    for (int d = 0; d < 2; d++) {
        size_t n = fx_vm_chain(t, d, paths);
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

void fx_vm_create(fx_vm *t, const char *name, const char *desc)
{
    char xml[512];
    snprintf(xml, sizeof xml,
             "<domainsnapshot><name>%s</name>%s%s%s<state>shutoff</state>"
             "<creationTime>1</creationTime></domainsnapshot>",
             name, desc ? "<description>" : "", desc ? desc : "", desc ? "</description>" : "");
    if (sb_snapshot_create_xml(NULL, t->f.c, FX_VM_DOM, xml, 0) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

const char *fx_vm_list(fx_vm *t, const char *from, unsigned flags)
{
    return fx_list(t->f.c, FX_VM_DOM, from, flags);
}

void fx_vm_current(fx_vm *t, const char *want)
{
    char *cur = NULL;
    int rc = sb_snapshot_current(&cur, t->f.c, FX_VM_DOM);
    if (!want) {
        fx_expect_error(rc, SB_ERR_OPERATION_INVALID, "has no current snapshot");
        return;
    }
    if (rc != 0)
        fail_msg("current: %s", sb_error_last()->message);
    assert_string_equal(cur, want);
    free(cur);
}

