/* qemu plugin - the domain's log: the plugin's files and its intent record
 * in one append-only file (domain_log.c explains the layout). */
#ifndef QP_DOMAIN_LOG_H
#define QP_DOMAIN_LOG_H

#include "qp.h"

/* What the log says now. */
typedef struct qp_dlog {
    qp_strv ours;         /* the files the plugin made for the domain (canonical) */
    json_object *intent;  /* the open intent record (journal.c), or NULL */
    json_object *merged;  /* merge notes by overlay path (merge_note.c), or NULL */
    qp_strv used;         /* images a definition stopped naming (domain_used.c) */
} qp_dlog;

/* One record: each part optional, all of it applied or none. */
typedef struct qp_dlog_rec {
    const char *add;      /* becomes the plugin's file */
    const char *drop;     /* no longer the plugin's file */
    json_object *intent;  /* the intent record from now on (not taken) */
    int end;              /* the intent record is closed */
    const char *merged;   /* a merge note for this overlay path ... */
    json_object *note;    /* ... this one, from now on (not taken) */
    const char *unmerge;  /* the merge note of this overlay path is done */
    const qp_strv *used;  /* become images the domain has used */
    /* Inside a locked call: written now, synced by the call's next
     * record that is synced, or at its end (qp_unlock), so that the drops
     * and the close of one call share one fdatasync. */
    int sync_at_end;
    int no_sync;          /* written, synced by whatever syncs the log next */
} qp_dlog_rec;

/* Replay the log into *out (empty when there is none).  0, or negative
 * with a message when it exists but cannot be read. */
int qp_dlog_read(qp_ctx *ctx, const char *domain, qp_dlog *out);
void qp_dlog_free(qp_dlog *l);
/* Append one record under the domain lock; on disk (fdatasync) when it
 * returns 0, or at the end of the call (sync_at_end). */
int qp_dlog_append(qp_ctx *ctx, const char *domain, const qp_dlog_rec *rec);
/* Append the plugin's files (used 0) or the images the domain's
 * definitions stopped naming (used 1) to out; an unreadable log adds
 * nothing.  0, or -SB_ERR_NO_MEMORY. */
int qp_dlog_list(qp_ctx *ctx, const char *name, int used, qp_strv *out) QP_MUST_CHECK;
/* Bytes of logs this process has replayed so far (tests: a read parses
 * only what was appended since the last one). */
uint64_t qp_dlog_replayed_bytes(void);
/* The log's path (malloc'd), for messages and tests. */
char *qp_dlog_path(qp_ctx *ctx, const char *domain);

#endif
