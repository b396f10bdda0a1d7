/* qemu plugin - its own intent records (journal.c explains them). */
#ifndef QP_JOURNAL_H
#define QP_JOURNAL_H

#include "qp.h"

typedef struct qp_journal {
    char *domain;
    char *op;         /* "revert-internal", "revert-external", "create" */
    char *snapshot;
    char *undo_tag;   /* revert-internal: the temporary tag on every image */
    qp_strv images;   /* revert-internal: the images the tag is applied to */
    qp_strv created;  /* files the operation created (canonical) */
    char *old_xml;    /* the definition to store back when undoing; may be NULL */
    /* revert-internal of one image, finished rather than undone: the
     * definition to store when finishing (the tag to apply is snapshot) */
    char *new_xml;
    int committed;    /* past the commit point: finish, never undo */
    int resume;       /* the guest was running: resume it when undoing */
    /* a running guest's create without a memory file: undoing removes
     * only the files still empty (QEMU never wrote to them), so a close
     * a power loss lost undoes nothing (journal.c, qp_journal_end) */
    int undo_empty_only;
    int on_disk;      /* written (or read): qp_journal_end closes it */
    int legacy;       /* read from the previous layout's own file */
} qp_journal;

/* Write a new record (under the domain lock; in the domain's log,
 * domain_log.c). */
int qp_journal_begin(qp_ctx *ctx, qp_journal *j, const char *domain, const char *op,
                     const char *snapshot, const char *old_xml);
/* The same, in memory only: fill *j, then qp_journal_save() it. */
int qp_journal_init(qp_ctx *ctx, qp_journal *j, const char *domain, const char *op,
                    const char *snapshot, const char *old_xml);
/* Rewrite the record after changing *j. */
int qp_journal_save(qp_ctx *ctx, qp_journal *j);
/* The commit point: from now on the operation is finished, not undone. */
int qp_journal_commit(qp_ctx *ctx, qp_journal *j);
/* Done: remove the record, free *j. */
void qp_journal_end(qp_ctx *ctx, qp_journal *j);
void qp_journal_free(qp_journal *j);
/* Create a new file the operation will own: recorded here and on the
 * domain's list of the plugin's files first (one record of the log), then
 * created with
 * O_EXCL|O_NOFOLLOW, 0600.  Returns the open fd; -EEXIST (not an error
 * class, no message) when the path exists: it is not the plugin's and
 * nothing is recorded; else a negative class with a message. */
int qp_journal_create_file(qp_ctx *ctx, qp_journal *j, const char *path);

/* 1 when the domain has a record (no lock needed to ask). */
int qp_journal_pending(qp_ctx *ctx, const char *domain);
/* Under the domain lock: finish or undo what a dead process's record
 * describes, then remove it.  0 when there was none or it is dealt with;
 * negative (the record stays) when it could not be. */
int qp_journal_recover(qp_ctx *ctx, const char *domain);

#endif
