/* tests/vbox - a test machine (two VDI disks of 8 and 4 MiB on SATA, an
 * empty DVD drive) with what each disk must read as (raw files receiving
 * the same writes), and the checks after every step. */
#ifndef VBOX_VM_H
#define VBOX_VM_H

#include <sys/types.h>

#include "vb.h"
#include "vbox_fixture.h"

#define FX_VM_DOM "m1"

typedef struct fx_vm {
    char dir[128];
    char settings[512];
    char raw[2][256]; /* what each disk should read as now */
    fx_conn f;
    vb_ctx ctx;
    pid_t stand_in;   /* a stand-in process to stop at teardown, 0 if none */
} fx_vm;

void fx_vm_setup(fx_vm *t, const char *tag);
void fx_vm_teardown(fx_vm *t);
/* The machine as its settings file says now (vb_machine_free). */
vb_machine *fx_vm_machine(fx_vm *t);
/* Image paths of disk i's chain in the current state, base first. */
size_t fx_vm_chain(fx_vm *t, int disk, char paths[][300]);
/* A write into the base with qemu-io (before any snapshot) ... */
void fx_vm_qemu_write(fx_vm *t, int disk, int pattern, unsigned long long off,
                      unsigned long long len);
/* ... or through the plugin's VDI code into the current differencing
 * image (what the guest would write). */
void fx_vm_guest_write(fx_vm *t, int disk, int pattern, unsigned long long off, size_t len);
/* Settings valid for VirtualBox, every registered image present and
 * sound, no image nobody registers, each disk reading as written. */
void fx_vm_consistent(fx_vm *t);
void fx_vm_create(fx_vm *t, const char *name, const char *desc);
const char *fx_vm_list(fx_vm *t, const char *from, unsigned flags);
/* NULL: there is no current snapshot. */
void fx_vm_current(fx_vm *t, const char *want);

#endif
