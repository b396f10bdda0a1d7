/* vbox plugin - the snapshot operations on a machine's files, and what
 * keeps them safe: the machine lock and the intent journal (journal.c),
 * the checks before anything is written (ops_common.c). */
#ifndef VB_OPS_H
#define VB_OPS_H

#include "vb.h"
#include "settings.h"

/* ---- lock and journal (journal.c) -------------------------------------- */

/* flock of the machine's folder: an fd to vb_unlock, or negative.  Without
 * wait, a busy lock gives -SB_ERR_OPERATION_INVALID and no message. */
int vb_lock_machine(vb_ctx *ctx, const char *settings_path, int wait);
void vb_unlock(int fd);

typedef struct vb_intent {
    char op[16];                 /* create, revert, delete, redefine */
    char snapshot[VB_UUID_LEN];  /* delete: the snapshot being deleted */
    vb_strv created;             /* "uuid path": images this operation made */
    vb_strv obsolete;            /* "uuid path" ("- path": a saved state file) */
    vb_strv reparent;            /* "uuid path": header must follow the registry */
    vb_strv merges;              /* "uuid fwd|bwd": merge direction per snapshot image */
} vb_intent;

char *vb_intent_path(const char *settings_path);
int vb_intent_add(vb_intent *in, vb_strv *list, const char *uuid, const char *rest);
int vb_intent_write(vb_ctx *ctx, const char *settings_path, const vb_intent *in);
/* 1 and *in filled when an intent is pending, 0 when none. */
int vb_intent_read(vb_ctx *ctx, const char *settings_path, vb_intent *in);
int vb_intent_clear(vb_ctx *ctx, const char *settings_path);
void vb_intent_free(vb_intent *in);
/* After the settings are written: headers, files, then the intent goes. */
int vb_intent_finish(vb_ctx *ctx, const char *settings_path, const vb_intent *in);
/* End an operation's intent: rc 0 finishes it, else it rolls back what
 * was not committed and returns rc with the operation's message kept. */
int vb_intent_done(vb_ctx *ctx, const char *settings_path, const vb_intent *in, int rc);
/* Resolve a pending intent (the caller holds the lock). */
int vb_recover(vb_ctx *ctx, const char *settings_path);
/* The same for readers: only when an intent is pending and nobody works
 * on the machine right now. */
int vb_recover_if_needed(vb_ctx *ctx, const char *settings_path);

/* ---- before writing (ops_common.c) -------------------------------------- */

/* Can the files of this machine be written now?  0: yes.  1: no, but
 * VBoxManage can do it (VirtualBox owns the machine right now).  Else an
 * error: running without VBoxManage (OPERATION_INVALID, what = the
 * operation), VirtualBox's VBoxSVC holding the settings (locked). */
int vb_writable(vb_ctx *ctx, const vb_machine *m, const char *what);
/* Where a new differencing image on medium parent goes, with its UUID:
 * checks that the parent is a VDI of this machine's registry whose file
 * exists (a missing medium, another format, the global registry: refused,
 * naming disk target). */
int vb_plan_diff(vb_ctx *ctx, const vb_machine *m, long parent, const char *target,
                 char uuid[VB_UUID_LEN], char **path, char **location);
/* Create the planned differencing images (in order, stopping at the
 * first failure; images already made stay listed in the intent). */
int vb_make_diff(vb_ctx *ctx, const vb_machine *m, long parent, const char *uuid,
                 const char *path);

/* ---- operations (the caller holds the lock and recovered first) -------- */

int vb_op_create(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags);
int vb_op_redefine(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags);
int vb_op_revert(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags);
int vb_op_delete(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags);
/* Delete one snapshot (merging its images away), by UUID.  forced:
 * merge directions an interrupted run chose ("uuid fwd|bwd"), or NULL. */
int vb_delete_one(vb_ctx *ctx, const char *settings_path, const char *snap_uuid,
                  const vb_strv *forced);

/* ---- VBoxManage (vboxmanage.c) ----------------------------------------- */

/* Run VBoxManage with args (NULL-terminated); its error output becomes a
 * HYPERVISOR error. */
int vb_vboxmanage(vb_ctx *ctx, const char *const *args);
/* The machine's state as VBoxManage reports it (SB_DOMAIN_*). */
int vb_vboxmanage_state(vb_ctx *ctx, const char *uuid, int *state);

#endif
