/* tests/qemu - helpers for the end-to-end tests: the broker is driven only
 * through the public API (snapbroker.h), with SNAPBROKER_STATE_DIR set to
 * a scratch directory and no configuration (the embedded default host
 * "local", plugin qemu, found in the build tree).
 *
 * The checks look at QEMU's storage from the outside, never through the
 * broker: qemu-io patterns on the images (qemu-io -U while QEMU runs,
 * after a flush through HMP), `qemu-img snapshot -l`/info for tags and
 * chains, HMP `xp` for a value in guest RAM.  Those use the plugin's own
 * qemu-img/QMP wrappers as tools (qp.h), with no host attached.
 *
 * Every domain gets its own name, images and tree, so cases are
 * independent.  Domains have two 16 MiB qcow2 disks (vda, vdb) holding
 * 0xaa at 1 MiB; vda boots a sector whose code counts timer interrupts
 * at guest address 0x7e00 (RAM that moves on its own).
 */
#ifndef QEMU_E2E_H
#define QEMU_E2E_H

#include "snapbroker/snapbroker.h"
#include "qp.h"

struct e2e {
    char dir[256];   /* scratch dir, removed at the end */
    char state[320]; /* SNAPBROKER_STATE_DIR */
    sb_broker *b;
    sb_connection *c;
    qp_ctx t;        /* tool context: plugin state dir, no host */
    double last_ms;  /* duration of the last e2e_snap/revert/del */
};
extern struct e2e E;

/* cmocka group setup/teardown: scratch dir, environment, child
 * subreaper, broker and connection to the default host. */
int e2e_setup(void **state);
int e2e_teardown(void **state);

/* Write <dir>/<file> (its path into path[len]): a configuration with the
 * one host "local" whose qemu group holds `setting` (e.g. "a = 1;"). */
int e2e_write_conf(char *path, size_t len, const char *file, const char *setting);
/* "<dir>/<f>" in one of 8 rotating buffers. */
const char *e2e_path(const char *f);
/* Define domain `dom` with fresh images <dom>-vda.qcow2, <dom>-vdb.qcow2. */
void e2e_define(const char *dom);
/* Current source of a disk in the stored definition (malloc'ed). */
char *e2e_source(const char *dom, const char *target);
int e2e_state(const char *dom);

/* Shut-off data: write / check a pattern at 1 MiB (64 KiB) on the disk's
 * current top, or on any image (check returns 1 when it holds it). */
void e2e_off_write(const char *dom, const char *target, int pattern);
int e2e_off_check(const char *dom, const char *target, int pattern);
int e2e_img_check(const char *image, int pattern);
/* Running data: qemu-io inside QEMU (HMP), checked through the image. */
void e2e_on_write(const char *dom, const char *target, int pattern);
int e2e_on_check(const char *dom, const char *target, int pattern);
/* Any qemu-io command on a running disk (HMP), e.g. a bigger write. */
void e2e_on_io(const char *dom, const char *target, const char *iocmd);
/* Guest RAM: the boot sector's tick counter.  The waits fail the test
 * when the counter stays still for TEST_HANG_MS (tests/common/test_wait.h);
 * e2e_wait_tick_moves returns the new value. */
unsigned e2e_tick(const char *dom);
void e2e_wait_ticking(const char *dom);
unsigned e2e_wait_tick_moves(const char *dom, unsigned from);
pid_t e2e_qemu_pid(const char *dom);
/* How many seconds a process of ours (a forked child) has asked to sleep
 * in the nanosleep its main thread is in now, or -1 when it is not in one
 * (read from /proc/PID/syscall and /proc/PID/mem: no waiting on its locks,
 * no guess at how long it takes to get there). */
long e2e_proc_sleep_s(pid_t pid);

/* 1 if the image's snapshot table lists tag; number of images in a chain. */
int e2e_has_tag(const char *image, const char *tag);
int e2e_chain_len(const char *image);

/* Broker calls; return 0 or -class and record the time in E.last_ms. */
int e2e_snap(const char *dom, const char *name, const char *inner_xml, unsigned flags);
int e2e_revert(const char *dom, const char *name, unsigned flags);
int e2e_del(const char *dom, const char *name, unsigned flags);
/* 1 if the tree has the snapshot. */
int e2e_in_tree(const char *dom, const char *name);
/* Error message of the last failed call. */
const char *e2e_err(void);
/* Destroy the domain if it runs (end of a case). */
void e2e_stop(const char *dom);

/* Files in the scratch dir named "<dom>-..." that nothing names: not in
 * the backing chain of any of the domain's disks, not in any of its
 * snapshots' XML.  Each is printed as a TAP comment. */
int e2e_orphans(const char *dom);
/* The same, and each is removed (a test that leaves some on purpose). */
int e2e_orphans_remove(const char *dom);

/* The CLI ($SB_CLI) in a child process, with SNAPBROKER_CONFIG=config
 * (NULL: none, the embedded default) and args (NULL-terminated, without
 * the program name); its output is appended to <dir>/cli.log.  Returns
 * the pid. */
pid_t e2e_cli_start(const char *config, const char *const args[]);
/* Wait for that child: its exit status, or 128+signal; -1 when it hangs
 * (TEST_HANG_MS, tests/common/test_wait.h: it is then killed). */
int e2e_cli_wait(pid_t pid);
/* Both: run the CLI to its end. */
int e2e_cli(const char *config, const char *const args[]);

#endif
