/* w3_ops - W3 of bench/README.md: real operations on a running guest
 * (256 MiB, one 1 GiB qcow2 disk holding 64 MiB of data, KVM when
 * /dev/kvm opens, else TCG), timed per operation for each target, targets
 * interleaved rep by rep. */
#ifndef BENCH_W3_H
#define BENCH_W3_H

enum w3_op {
    OP_DEFINE, OP_START, OP_INT, OP_INT_REVERT, OP_INT_DEL, OP_DEXT, OP_DEXT_DEL, OP_FEXT,
    OP_FEXT_DEL, OP_DESTROY, OP_OFF_INT, OP_OFF_INT_REVERT, OP_OFF_INT_DEL, OP_OFF_EXT,
    OP_OFF_EXT_DEL, W3_NOPS
};

/* What one repetition works with (paths are per target and per rep so
 * no file is ever reused). */
struct w3_env {
    const char *dir;      /* the target's scratch dir (0755) */
    const char *disk;     /* base qcow2 image */
    int kvm;              /* accel */
    int rep;
    char dext[1024], fext[1024], fmem[1024], oext[1024]; /* overlay / memory files */
};

/* A target: init once (scratch dir given), then op() per operation;
 * returns 0, 1 when the target has no such operation (n/a), or -1 with
 * err() saying why.  fini stops whatever still runs. */
struct w3_target {
    const char *name;
    void *(*init)(const char *dir, int kvm);
    int (*op)(void *ctx, enum w3_op op, const struct w3_env *e);
    const char *(*err)(void *ctx);
    void (*fini)(void *ctx);
};

extern const struct w3_target w3_raw, w3_raw_safe, w3_raw_guard, w3_sb_api, w3_sb_cli, w3_lv;

/* The snapbroker API and CLI targets on an existing state dir and domain
 * (w3_ops --scale: W1's stores); use with w3_sb_api's (w3_sb_cli's)
 * op/err/fini. */
void *w3_sb_api_at(const char *dir, const char *state, const char *dom, int kvm);
void *w3_sb_cli_at(const char *dir, const char *state, const char *dom, int kvm);

/* Nonzero while libvirt may fork and wait for a QEMU of its own (the
 * capability probe at open/first define): the subreaper thread of
 * w3_ops.c must not reap it then, or libvirt's waitpid fails (ECHILD). */
extern volatile int w3_reaper_paused;

/* The documents snapbroker and libvirt both get (static buffer). */
const char *w3_domain_xml(const char *name, const char *disk, int kvm);
const char *w3_snap_xml(enum w3_op op, const struct w3_env *e);
/* 1 when the create of op passes DISK_ONLY. */
int w3_disk_only(enum w3_op op);
/* Snapshot name an op creates or works on. */
const char *w3_snap_name(enum w3_op op);

#endif
