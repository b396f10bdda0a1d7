/* Kill points for the crash test: every call through which the store makes
 * data durable (pwrite, pwritev, fsync, fdatasync, ftruncate, rename) goes
 * through the wrappers in crash_points.c instead of libc's: the test is
 * linked with -Wl,--wrap=<call> (tests/store/meson.build).  They count
 * the calls, can record them (a dry run that tells which call comes when),
 * and can make the process SIGKILL itself just before its n-th call, or in
 * the middle of it (a prefix of the data written).  So a kill lands at a
 * named step, whatever the speed of the machine. */
#ifndef SB_TESTS_STORE_CRASH_POINTS_H
#define SB_TESTS_STORE_CRASH_POINTS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cp_kind {
    CP_PWRITE,    /* whole-file writes: a new log, a compaction */
    CP_PWRITEV,   /* a commit's record appended to the log */
    CP_FSYNC,
    CP_FDATASYNC, /* a commit made durable */
    CP_FTRUNCATE,
    CP_RENAME,    /* a new or compacted log put in place */
} cp_kind;

/* One call of the dry run, and what the process had done before it. */
typedef struct cp_call {
    cp_kind kind;
    int acked;           /* commits acknowledged (cp_acked) before the call */
    bool record_written; /* the commit in progress has written its record */
} cp_call;

const char *cp_kind_name(cp_kind k);

/* Record every call into v[0..cap) from now on; cp_record_stop() ends it
 * and returns how many calls there were (more than cap: the rest were
 * counted, not kept). */
void cp_record_start(cp_call *v, size_t cap);
size_t cp_record_stop(void);

/* The caller acknowledged a commit (its sb_store_commit returned 0). */
void cp_acked(void);

/* Die (SIGKILL) at the n-th call from now on (1-based): before it, or
 * when torn and the call writes data, after writing 1..len-1 of its bytes
 * (how many chosen by torn_seed). */
void cp_arm(int n, bool torn, unsigned torn_seed);

#endif
