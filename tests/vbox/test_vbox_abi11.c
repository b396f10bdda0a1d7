/* The vbox plugin's ABI 1.1 callbacks, called on the built vbox.so
 * (sb_domain_get_state_reason and sb_fleet_list reach them too, but
 * sb_fleet_list asks snapshot_usage only about snapshots it listed, never
 * an unknown one).  A FIXTURE host-services table
 * stands in for the broker: memory and errors only; the XML services
 * answer NO_SUPPORT (these callbacks never need them). */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/plugin.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"

static char last_error[1024];

static int fx_set_error(sb_host *h, int code, const char *fmt, ...)
{
    va_list ap;
    (void)h;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return -code;
}

static void fx_log(sb_host *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    (void)fmt;
}

static void fx_progress(sb_host *h, const char *what, unsigned p)
{
    (void)h;
    (void)what;
    (void)p;
}

static void *fx_alloc(size_t n)
{
    return calloc(1, n ? n : 1);
}

static char *fx_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int fx_cfg_string(sb_host *h, const char *k, const char **o)
{
    (void)h;
    (void)o;
    /* no VBoxManage, whatever this machine has */
    if (strcmp(k, "vboxmanage") == 0) {
        *o = "";
        return 1;
    }
    return 0;
}

static int fx_cfg_int(sb_host *h, const char *k, long long *o)
{
    (void)h;
    (void)k;
    (void)o;
    return 0;
}

static int fx_cfg_bool(sb_host *h, const char *k, int *o)
{
    (void)h;
    (void)k;
    (void)o;
    return 0;
}

static const char *fx_state_dir(sb_host *h)
{
    (void)h;
    return "/tmp";
}

static int fx_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    (void)h;
    (void)xml;
    *out = NULL;
    return fx_set_error(NULL, SB_ERR_NO_SUPPORT, "fixture host: no XML services");
}

static void fx_snapshot_view_free(struct sb_snapshot_view *v)
{
    (void)v;
}

static int fx_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    (void)h;
    (void)xml;
    *out = NULL;
    return fx_set_error(NULL, SB_ERR_NO_SUPPORT, "fixture host: no XML services");
}

static void fx_domain_view_free(struct sb_domain_view *v)
{
    (void)v;
}

static const struct sb_host_api host = {
    .struct_size = sizeof(struct sb_host_api),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .set_error = fx_set_error,
    .log = fx_log,
    .progress = fx_progress,
    .alloc = fx_alloc,
    .realloc = realloc,
    .strdup = fx_strdup,
    .free = free,
    .config_string = fx_cfg_string,
    .config_int = fx_cfg_int,
    .config_bool = fx_cfg_bool,
    .state_dir = fx_state_dir,
    .snapshot_view = fx_snapshot_view,
    .snapshot_view_free = fx_snapshot_view_free,
    .domain_view = fx_domain_view,
    .domain_view_free = fx_domain_view_free,
};

/* A copy of the plugin file: the broker of the test machine has loaded
 * vbox.so itself, and a second dlopen of one file is the same instance. */
static const struct sb_plugin *load(const char *dir)
{
    const char *so = getenv("SB_VBOX_PLUGIN");
    char copy[400];
    assert_non_null(so);
    snprintf(copy, sizeof copy, "%s/vbox-fixture-host.so", dir);
    assert_int_equal(fx_sh("cp '%s' '%s'", so, copy), 0);
    void *dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        fail_msg("dlopen %s: %s", copy, dlerror());
    sb_plugin_entry_fn entry = (sb_plugin_entry_fn)(uintptr_t)dlsym(dl, SB_PLUGIN_ENTRY_SYMBOL);
    const struct sb_plugin *p = NULL;
    assert_non_null(entry);
    assert_int_equal(entry(&p, &host, SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR), 0);
    /* the 1.1 members exist in any table of minor 1 or later; 1.2's
     * domain_is_active is left NULL by this plugin (no cheaper answer) */
    assert_true(p->abi_minor >= 1);
    assert_true(p->struct_size > offsetof(struct sb_plugin, domain_get_state_reason));
    if (p->abi_minor >= 2)
        assert_null(p->domain_is_active);
    return p;
}

/* Usage: the data blocks of the snapshot's own images (VDI: allocated
 * blocks x block size), its first image as the location. */
static int setup(void **state)
{
    fx_vm *t = calloc(1, sizeof *t);
    fx_vm_setup(t, "abi11");
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fx_vm_teardown(*state);
    free(*state);
    return 0;
}

static void usage_and_state_reason(void **state)
{
    fx_vm *t = *state;
    sb_conn *c = NULL;
    char uri[300], want[400];
    const struct sb_plugin *p = load(t->dir);
    fx_vm_qemu_write(t, 0, 0x11, 0, 3 * FX_MIB);    /* 3 blocks */
    fx_vm_qemu_write(t, 1, 0x12, FX_MIB + 10, 100); /* 1 block */
    fx_vm_create(t, "s1", NULL);
    fx_vm_guest_write(t, 0, 0x13, 0, 512);          /* the next state's */
    fx_vm_create(t, "s2", NULL);
    snprintf(uri, sizeof uri, "vbox://%s", t->dir);
    assert_int_equal(p->open(&c, NULL, uri), 0);

    struct sb_snapshot_usage u;
    memset(&u, 0, sizeof u);
    u.struct_size = sizeof u;
    if (p->snapshot_usage(&u, c, FX_VM_DOM, "s1", NULL) != 0)
        fail_msg("usage: %s", last_error);
    assert_true(u.known_bytes);
    assert_int_equal(u.bytes, 4 * FX_MIB);
    assert_int_equal(u.memory_bytes, 0);
    snprintf(want, sizeof want, "%s/%s/disk0.vdi", t->dir, FX_VM_DOM);
    assert_string_equal(u.location, want);
    memset(&u, 0, sizeof u);
    u.struct_size = sizeof u;
    assert_int_equal(p->snapshot_usage(&u, c, FX_VM_DOM, "s2", NULL), 0);
    assert_int_equal(u.bytes, FX_MIB); /* the block written after s1 */
    assert_int_equal(p->snapshot_usage(&u, c, FX_VM_DOM, "zz", NULL), -SB_ERR_OPERATION_INVALID);
    if (!strstr(last_error, "has no snapshots with name 'zz'"))
        fail_msg("error: %s", last_error);

    int st = -1, reason = -1;
    assert_int_equal(p->domain_get_state_reason(&st, &reason, c, FX_VM_DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    assert_int_equal(reason, 0);
    /* a saved machine (VirtualBox writes stateFile on the Machine) */
    assert_int_equal(fx_sh("head -c 100 /dev/zero > '%s/%s/m1.sav' && sed -i 's|name=\"%s\"|name=\"%s\" "
                           "stateFile=\"m1.sav\"|' '%s'",
                           t->dir, FX_VM_DOM, FX_VM_DOM, FX_VM_DOM, t->settings),
                     0);
    assert_int_equal(p->domain_get_state_reason(&st, &reason, c, FX_VM_DOM), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    assert_int_equal(reason, 5); /* VIR_DOMAIN_SHUTOFF_SAVED */
    assert_null(p->conn_caps);
    p->close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(usage_and_state_reason, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
