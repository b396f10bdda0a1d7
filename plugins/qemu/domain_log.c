/* qemu plugin - the domain's log: STATE/ours/<domain>.list.
 *
 * Two things must be on disk before the plugin creates a file for a
 * domain: that the file is the plugin's (so a later delete, or a
 * recovery, may remove it, and never a file the plugin did not make), and
 * the intent record of the operation making it (journal.c: so a process
 * killed before the file is used has it removed).  They were two files in
 * two directories, each rewritten whole through a temp file, fsync,
 * rename and directory fsync: four syncs before every file the plugin
 * made.  They are now one append-only file, and one record that says both
 * is one write and one fdatasync.
 *
 * Each record is one line, "<16 hex digits> <JSON object>\n", the digits
 * an FNV-1a 64 hash of the JSON text.  The object may carry "add" and
 * "drop" (arrays of canonical paths: they become, or stop being, the
 * plugin's files), "used" (images a definition stopped naming, which stay
 * images the domain has used: domain_used.c), "intent" (the operation's
 * record from now on, as
 * journal.c writes it), "end" (the record is closed), "merged" (an
 * object: merge notes by overlay path, merge_note.c) and "unmerge" (an
 * array: overlay paths whose note is done; a path dropped from the
 * plugin's files is done too).  A record is
 * applied whole or not at all: a line that was not completely written
 * before a crash (no newline, a hash that does not match, zeroes where a
 * power loss lost a block) is ignored, and it never was acknowledged: the
 * caller acts only after the fdatasync returned.  Before a record is
 * appended after such a torn tail, "!\n" ends the tail (the '!' spoils its
 * hash for good), so the new record starts a line of its own.
 *
 * The file of the previous layout (one canonical path per line, rewritten
 * whole) is read as it is: a line starting with '/' is a file of the
 * plugin's, and new records are appended to it (upgrade in place).  When
 * the log passes LOG_COMPACT_BYTES it is rewritten whole (temp file,
 * fsync, rename, directory fsync) as one record of what it says now.
 *
 * A record that may wait (a file no longer the plugin's, a closed intent
 * record) is written at once, so a process killed after it loses
 * nothing, and synced with the call's next synced record or at the end
 * of the call (qp_unlock): a full external delete drops its overlay and
 * its memory file with one fdatasync.  Either way it is on disk before
 * the call returns to the broker.  A close that would change nothing if
 * a power loss lost it (journal.c says when) is not synced at all: the
 * log's next synced record, or the kernel's writeback, covers it.
 *
 * Every writer holds the domain lock; a reader without it (the unlocked
 * "is a record pending?" of journal.c) at most misses a record being
 * appended, which the lock then waits for. */
#include "domain_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A process's first read of a log parses all of it (a 50 KB log took
 * 0.36 ms here), and later reads what was appended since (below, "the
 * log as this process last replayed it"); a process per call (the CLI)
 * reads it whole each time.  So it is kept short: rewriting it costs two
 * syncs, once per some dozens of operations. */
#define LOG_COMPACT_BYTES (16 * 1024)
#define HASH_DIGITS 16

char *qp_dlog_path(qp_ctx *ctx, const char *domain)
{
    return qp_printf("%s/ours/%s.list", ctx->state_dir, domain);
}

void qp_dlog_free(qp_dlog *l)
{
    qp_strv_free(&l->ours);
    qp_strv_free(&l->used);
    if (l->intent)
        json_object_put(l->intent);
    if (l->merged)
        json_object_put(l->merged);
    memset(l, 0, sizeof *l);
}

static uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void strv_del(qp_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->v[i], s)) {
            free(v->v[i]);
            v->v[i] = v->v[--v->n];
            v->v[v->n] = NULL;
            return;
        }
}

static int apply_paths(json_object *o, const char *key, qp_strv *ours, int add)
{
    json_object *a;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *p = json_object_get_string(json_object_array_get_idx(a, i));
        if (!p || *p != '/')
            continue;
        if (!add)
            strv_del(ours, p);
        else if (!qp_strv_has(ours, p) && qp_strv_add(ours, p) < 0)
            return -SB_ERR_NO_MEMORY;
    }
    return 0;
}

/* The notes of o's "merged" set into l->merged; the paths of its
 * "unmerge" and "drop" taken out of it. */
static int apply_notes(json_object *o, qp_dlog *l)
{
    json_object *v;
    if (json_object_object_get_ex(o, "merged", &v) && json_object_is_type(v, json_type_object)) {
        if (!l->merged && !(l->merged = json_object_new_object()))
            return -SB_ERR_NO_MEMORY;
        json_object_object_foreach(v, path, note) {
            if (*path != '/' || !json_object_is_type(note, json_type_object))
                continue;
            if (json_object_object_add(l->merged, path, json_object_get(note)) < 0) {
                json_object_put(note); /* the reference taken for it */
                return -SB_ERR_NO_MEMORY;
            }
        }
    }
    static const char *const ends[] = {"unmerge", "drop"};
    for (size_t k = 0; k < 2 && l->merged; k++) {
        if (!json_object_object_get_ex(o, ends[k], &v) || !json_object_is_type(v, json_type_array))
            continue;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *p = json_object_get_string(json_object_array_get_idx(v, i));
            if (p)
                json_object_object_del(l->merged, p);
        }
    }
    return 0;
}

/* Apply one complete line (NUL-terminated in place). */
static int apply_line(char *line, size_t len, qp_dlog *l)
{
    if (*line == '/') /* the previous layout: a path of the plugin's */
        return qp_strv_has(&l->ours, line) || qp_strv_add(&l->ours, line) == 0
                   ? 0 : -SB_ERR_NO_MEMORY;
    char *end = NULL;
    if (len <= HASH_DIGITS + 1 || line[HASH_DIGITS] != ' ')
        return 0;
    line[HASH_DIGITS] = '\0';
    errno = 0;
    uint64_t want = strtoull(line, &end, 16);
    line[HASH_DIGITS] = ' ';
    const char *text = line + HASH_DIGITS + 1;
    size_t tlen = len - HASH_DIGITS - 1;
    if (errno || end != line + HASH_DIGITS || fnv1a64(text, tlen) != want)
        return 0; /* torn by a crash: never acknowledged */
    json_object *o = json_tokener_parse(text), *v;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return 0;
    }
    int r = apply_paths(o, "add", &l->ours, 1);
    if (r == 0)
        r = apply_paths(o, "drop", &l->ours, 0);
    if (r == 0)
        r = apply_paths(o, "used", &l->used, 1);
    if (r == 0)
        r = apply_notes(o, l);
    if (r == 0 && json_object_object_get_ex(o, "intent", &v) &&
        json_object_is_type(v, json_type_object)) {
        if (l->intent)
            json_object_put(l->intent);
        l->intent = json_object_get(v);
    }
    if (r == 0 && json_object_object_get_ex(o, "end", &v) && json_object_get_boolean(v) &&
        l->intent) {
        json_object_put(l->intent);
        l->intent = NULL;
    }
    json_object_put(o);
    return r;
}

/* Replay text[0..len) into *l; *out_torn: the last line lacks its newline;
 * *out_done: the bytes replayed (up to just after the last newline). */
static int replay(char *text, size_t len, qp_dlog *l, int *out_torn, size_t *out_done)
{
    size_t off = 0;
    *out_torn = 0;
    *out_done = 0;
    while (off < len) {
        char *nl = memchr(text + off, '\n', len - off);
        if (!nl) {
            *out_torn = 1;
            break;
        }
        *nl = '\0';
        size_t n = (size_t)(nl - (text + off));
        /* a NUL inside (zeroes a power loss left) fails the hash or the path */
        int r = n && strlen(text + off) == n ? apply_line(text + off, n, l) : 0;
        *nl = '\n';
        if (r < 0)
            return r;
        off = (size_t)(nl - text) + 1;
        *out_done = off;
    }
    return 0;
}

/* ---- the log as this process last replayed it ------------------------
 *
 * Every operation replays the log two or three times (the unlocked "is a
 * record pending?", the locked recovery check, the plugin's files), and a
 * replay parses every record: a log near LOG_COMPACT_BYTES took about
 * 100 us of JSON parsing a read, for records that had not changed since
 * the previous read.  What a replay says depends on the bytes replayed
 * alone, and the log only grows (a record is never changed once written;
 * a compaction renames a new file over it).  So a process keeps, per
 * log, the bytes it replayed (up to just after the last newline) and
 * what they said; the next read reads the file whole, as before, and
 * when it still begins with those bytes, only what follows them is
 * replayed.  The bytes are compared, not the file's identity: on ext4 a
 * removed log's inode number and even its birth time (stamped in steps
 * of a few ms) come back for the file made next.  A record still being
 * written, or torn, lies after the last newline and is read again next
 * time, as a whole replay would see it then. */
#define TAIL_SLOTS 8

typedef struct tail_slot {
    char *path;            /* NULL: free */
    char *bytes;           /* the log's first `done` bytes as replayed */
    size_t done;
    qp_dlog state;         /* what they say */
    uint64_t used;         /* for replacing the least recently used */
} tail_slot;

static struct {
    pthread_mutex_t lock;
    tail_slot v[TAIL_SLOTS];
    uint64_t clock;
    uint64_t replayed;     /* bytes handed to replay() (tests) */
} tails = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int dlog_copy(const qp_dlog *from, qp_dlog *to);

static void tail_free(tail_slot *t)
{
    free(t->path);
    free(t->bytes);
    qp_dlog_free(&t->state);
    memset(t, 0, sizeof *t);
}

/* When text[0..len) begins with the bytes kept for this log: *out gets
 * what they said and the count is returned; else 0 and *out is empty.
 * Negative: out of memory. */
static long tail_take(const char *path, const char *text, size_t len, qp_dlog *out)
{
    long from = 0;
    pthread_mutex_lock(&tails.lock);
    for (size_t i = 0; i < TAIL_SLOTS; i++) {
        tail_slot *t = &tails.v[i];
        if (!t->path || strcmp(t->path, path))
            continue;
        if (t->done <= len && !memcmp(t->bytes, text, t->done)) {
            from = dlog_copy(&t->state, out) < 0 ? -1 : (long)t->done;
            t->used = ++tails.clock;
        }
        break;
    }
    pthread_mutex_unlock(&tails.lock);
    return from;
}

/* Keep what text[0..done) says (best effort). */
static void tail_keep(const char *path, const char *text, size_t done, const qp_dlog *l)
{
    tail_slot n = {.done = done};
    if (!(n.path = qp_strdup(path)) || !(n.bytes = malloc(done)) || dlog_copy(l, &n.state) < 0) {
        tail_free(&n);
        return;
    }
    memcpy(n.bytes, text, done);
    pthread_mutex_lock(&tails.lock);
    tail_slot *slot = &tails.v[0];
    for (size_t i = 0; i < TAIL_SLOTS; i++) {
        tail_slot *t = &tails.v[i];
        if (t->path && !strcmp(t->path, path)) {
            slot = t;
            break;
        }
        if (t->used < slot->used)
            slot = t;
    }
    tail_slot old = *slot;
    n.used = ++tails.clock;
    *slot = n;
    pthread_mutex_unlock(&tails.lock);
    tail_free(&old);
}

/* Forget what was kept of this log (it is being removed). */
static void tail_forget(const char *path)
{
    pthread_mutex_lock(&tails.lock);
    for (size_t i = 0; i < TAIL_SLOTS; i++)
        if (tails.v[i].path && !strcmp(tails.v[i].path, path))
            tail_free(&tails.v[i]);
    pthread_mutex_unlock(&tails.lock);
}

uint64_t qp_dlog_replayed_bytes(void)
{
    pthread_mutex_lock(&tails.lock);
    uint64_t n = tails.replayed;
    pthread_mutex_unlock(&tails.lock);
    return n;
}

static int read_log(qp_ctx *ctx, const char *domain, qp_dlog *out, int *out_torn,
                    size_t *out_size)
{
    memset(out, 0, sizeof *out);
    *out_torn = 0;
    *out_size = 0;
    char *path = qp_dlog_path(ctx, domain), *text = NULL;
    size_t len = 0, done = 0;
    if (!path)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    int r = qp_read_file(&quiet, path, &text, &len);
    if (r < 0 && quiet.err_code == SB_ERR_NO_DOMAIN) { /* ENOENT: no log yet */
        free(path);
        return 0;
    }
    if (r < 0) {
        r = qp_error(ctx, quiet.err_code, "the plugin's log of domain '%s': %s", domain,
                     quiet.err_msg);
        free(path);
        return r;
    }
    long from = tail_take(path, text, len, out);
    if (from < 0 || replay(text + from, len - (size_t)from, out, out_torn, &done) < 0) {
        qp_dlog_free(out);
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    } else {
        *out_size = len;
        pthread_mutex_lock(&tails.lock);
        tails.replayed += len - (size_t)from;
        pthread_mutex_unlock(&tails.lock);
        if (done)
            tail_keep(path, text, (size_t)from + done, out);
    }
    free(text);
    free(path);
    return r;
}

/* What the log of the domain whose lock this thread holds says, replayed
 * once per locked call (an active commit read and replayed it three
 * times).  Every writer holds that lock, so within the call the log
 * changes only through qp_dlog_append and qp_ours_drop, which forget it;
 * qp_unlock forgets it too, so a kept one is always the locked domain's
 * (it is kept only while qp_holds_lock_of() the domain).  Readers get a
 * copy of their own. */
static __thread qp_dlog memo;
static __thread int memo_kept;

static void memo_forget(void)
{
    qp_dlog_free(&memo);
    memo_kept = 0;
}

static int dlog_copy(const qp_dlog *from, qp_dlog *to)
{
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->ours.n; i++)
        if (qp_strv_add(&to->ours, from->ours.v[i]) < 0)
            goto oom;
    for (size_t i = 0; i < from->used.n; i++)
        if (qp_strv_add(&to->used, from->used.v[i]) < 0)
            goto oom;
    if (from->intent && json_object_deep_copy(from->intent, &to->intent, NULL) < 0)
        goto oom;
    if (from->merged && json_object_deep_copy(from->merged, &to->merged, NULL) < 0)
        goto oom;
    return 0;
oom:
    qp_dlog_free(to);
    return -1;
}

int qp_dlog_read(qp_ctx *ctx, const char *domain, qp_dlog *out)
{
    int torn;
    size_t size;
    int locked = qp_holds_lock_of(ctx, domain);
    if (locked && memo_kept) {
        if (dlog_copy(&memo, out) < 0)
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        return 0;
    }
    int r = read_log(ctx, domain, out, &torn, &size);
    if (r == 0 && locked) {
        memo_forget();
        memo_kept = dlog_copy(out, &memo) == 0;
    }
    return r;
}

/* o[key] = v; 1 when it failed (v released).  json-c stores a NULL value
 * (a failed constructor) as JSON null, so every value is checked: a
 * record must be written whole or not at all. */
static int put(json_object *o, const char *key, json_object *v)
{
    if (v && json_object_object_add(o, key, v) == 0)
        return 0;
    json_object_put(v);
    return 1;
}

/* A JSON array of v's paths, or NULL when memory ran out. */
static json_object *paths_array(const qp_strv *v)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < v->n; i++) {
        json_object *p = json_object_new_string(v->v[i]);
        if (!p || json_object_array_add(a, p) != 0) {
            json_object_put(p);
            json_object_put(a);
            a = NULL;
        }
    }
    return a;
}

/* o[key] = [path] (nothing when path is NULL); 1 when it failed. */
static int put_paths(json_object *o, const char *key, const char *path)
{
    if (!path)
        return 0;
    json_object *a = json_object_new_array(), *v = json_object_new_string(path);
    if (!a || !v || json_object_array_add(a, v) != 0) {
        json_object_put(v);
        json_object_put(a);
        return 1;
    }
    return put(o, key, a);
}

/* One line for a record: "<hash> <json>\n" (malloc'd). */
static char *format_line(json_object *o, size_t *out_len)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (!text)
        return NULL;
    size_t tlen = strlen(text);
    char *line = qp_printf("%016" PRIx64 " %s\n", fnv1a64(text, tlen), text);
    if (line)
        *out_len = tlen + HASH_DIGITS + 2;
    return line;
}

/* The record's JSON object, or NULL when memory ran out. */
static json_object *record_json(const qp_dlog_rec *rec)
{
    json_object *o = json_object_new_object(), *m = NULL;
    int bad = !o || put_paths(o, "add", rec->add) || put_paths(o, "drop", rec->drop) ||
              (rec->intent && put(o, "intent", json_object_get(rec->intent))) ||
              (rec->end && put(o, "end", json_object_new_boolean(1))) ||
              put_paths(o, "unmerge", rec->unmerge);
    if (!bad && rec->used && rec->used->n)
        bad = put(o, "used", paths_array(rec->used));
    if (!bad && rec->merged && rec->note)
        bad = !(m = json_object_new_object()) ||
              put(m, rec->merged, json_object_get(rec->note)) || put(o, "merged", m);
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* The log rewritten whole as one record of what it says after rec, when
 * most of it is history: 0 done, 1 not worth it (append rec instead). */
static int compact(qp_ctx *ctx, const char *domain, const char *path, const qp_dlog_rec *rec)
{
    qp_dlog l;
    int torn;
    size_t size, live = 0;
    int r = read_log(ctx, domain, &l, &torn, &size);
    if (r < 0)
        return r;
    for (size_t i = 0; i < l.ours.n; i++)
        live += strlen(l.ours.v[i]) + 4;
    for (size_t i = 0; i < l.used.n; i++)
        live += strlen(l.used.v[i]) + 4;
    if (l.intent)
        live += strlen(json_object_to_json_string_ext(l.intent, JSON_C_TO_STRING_PLAIN));
    if (l.merged)
        live += strlen(json_object_to_json_string_ext(l.merged, JSON_C_TO_STRING_PLAIN));
    if (size < 2 * live + LOG_COMPACT_BYTES / 2) { /* a large list, little history */
        qp_dlog_free(&l);
        return 1;
    }
    if (rec->add && !qp_strv_has(&l.ours, rec->add) && qp_strv_add(&l.ours, rec->add) < 0)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (rec->drop)
        strv_del(&l.ours, rec->drop);
    json_object *o = json_object_new_object(), *a = json_object_new_array();
    int bad = !o || !a;
    for (size_t i = 0; i < l.ours.n && !bad; i++) {
        json_object *v = json_object_new_string(l.ours.v[i]);
        bad = !v || json_object_array_add(a, v) != 0;
        if (bad)
            json_object_put(v);
    }
    if (bad)
        json_object_put(a);
    else
        bad = put(o, "add", a);
    json_object *intent = rec->end ? NULL : rec->intent ? rec->intent : l.intent;
    if (!bad && intent)
        bad = put(o, "intent", json_object_get(intent));
    /* the notes as they are after rec: its own applied to what the log says */
    json_object *recj = bad ? NULL : record_json(rec);
    bad = bad || !recj || apply_notes(recj, &l) < 0;
    json_object_put(recj);
    if (!bad && l.merged && json_object_object_length(l.merged))
        bad = put(o, "merged", json_object_get(l.merged));
    for (size_t i = 0; !bad && rec->used && i < rec->used->n; i++)
        if (!qp_strv_has(&l.used, rec->used->v[i]) && qp_strv_add(&l.used, rec->used->v[i]) < 0)
            bad = 1;
    if (!bad && l.used.n)
        bad = put(o, "used", paths_array(&l.used));
    if (r == 0 && bad)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    size_t len = 0;
    char *line = r == 0 ? format_line(o, &len) : NULL;
    if (r == 0 && !line)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r == 0)
        r = qp_write_file_atomic(ctx, path, line, len);
    free(line);
    json_object_put(o);
    qp_dlog_free(&l);
    return r;
}

/* The log holding records of this call not synced yet (sync_at_end). */
static __thread int unsynced_fd = -1;
static __thread char *unsynced_path;
static __thread dev_t unsynced_dev; /* the file itself: a log rewritten */
static __thread ino_t unsynced_ino; /* or removed since is another one */

static int sync_unsynced(void)
{
    int e = 0;
    if (unsynced_fd >= 0) {
        e = fdatasync(unsynced_fd) < 0 ? errno : 0;
        close(unsynced_fd);
    }
    unsynced_fd = -1;
    free(unsynced_path);
    unsynced_path = NULL;
    return e;
}

void qp_dlog_call_done(qp_ctx *ctx)
{
    memo_forget();
    char *path = unsynced_path ? qp_strdup(unsynced_path) : NULL;
    int e = sync_unsynced();
    if (e)
        qp_log(ctx, SB_LOG_WARN, "cannot sync '%s': %s", path ? path : "the plugin's log",
               strerror(e));
    free(path);
}

/* After a record is written: its fdatasync now, with the call's last
 * one (sync_at_end), or none (no_sync).  0 or an errno; *fd is taken
 * when kept for the end of the call. */
static int settle(int *fd, const char *path, const struct stat *st, const qp_dlog_rec *rec,
                  int made)
{
    if (rec->no_sync && !made)
        return 0; /* nobody waits for it (the caller says why) */
    int same = unsynced_path && !strcmp(unsynced_path, path) && unsynced_dev == st->st_dev &&
               unsynced_ino == st->st_ino;
    if (rec->sync_at_end && !made && qp_in_locked_call()) {
        if (same)
            return 0; /* the kept descriptor's fdatasync covers it */
        (void)sync_unsynced(); /* another log: one kept at a time */
        if ((unsynced_path = qp_strdup(path))) {
            unsynced_fd = *fd;
            unsynced_dev = st->st_dev;
            unsynced_ino = st->st_ino;
            *fd = -1;
            return 0;
        }
    }
    if (fdatasync(*fd) < 0)
        return errno;
    if (same)
        (void)sync_unsynced(); /* covered by this fdatasync */
    return 0;
}

/* The log opened for appending: an existing one (a regular file, never
 * through a symlink), else made, and then its directory entry synced. */
static int open_log(qp_ctx *ctx, const char *path, int *out_made)
{
    *out_made = 0;
    int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        char *dir = qp_printf("%s/ours", ctx->state_dir);
        int m = dir ? qp_mkdir_p(dir, 0700) : -ENOMEM;
        free(dir);
        if (m < 0)
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -m, "cannot create '%s/ours'",
                                  ctx->state_dir);
        fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        *out_made = fd >= 0;
    }
    if (fd < 0)
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot open '%s'", path);
    return fd;
}

int qp_dlog_append(qp_ctx *ctx, const char *domain, const qp_dlog_rec *rec)
{
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    memo_forget();
    char *path = qp_dlog_path(ctx, domain), *line = NULL;
    if (!path)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int made = 0, r = 0;
    int fd = open_log(ctx, path, &made);
    struct stat st;
    if (fd < 0) {
        r = fd;
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        r = qp_error(ctx, SB_ERR_SYSTEM_ERROR, "'%s' is not a regular file", path);
    } else if (st.st_size > LOG_COMPACT_BYTES &&
               (r = compact(ctx, domain, path, rec)) <= 0) {
        /* rewritten whole (or failed) */
    } else {
        r = 0;
        json_object *o = record_json(rec);
        size_t len = 0;
        char last = '\n';
        line = o ? format_line(o, &len) : NULL;
        json_object_put(o);
        /* A torn tail is ended first, so this record is a line of its own;
         * with a byte that spoils its hash, since a record cut just before
         * its newline would otherwise become whole, and a record the
         * caller never acted on must never count. */
        if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
            last = 0;
        int e = !line ? ENOMEM : last != '\n' ? -qp_write_all(fd, "!\n", 2) : 0;
        if (!e)
            e = -qp_write_all(fd, line, len);
        if (!e)
            e = settle(&fd, path, &st, rec, made);
        if (e)
            r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot write '%s'", path);
        else if (made)
            (void)qp_fsync_dir_of(path); /* the new file's name */
    }
    if (fd >= 0)
        close(fd);
    free(line);
    free(path);
    return r;
}

/* ---- the plugin's files (qp.h) ----------------------------------------- */

int qp_dlog_list(qp_ctx *ctx, const char *name, int used, qp_strv *out)
{
    qp_dlog l;
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    int r = qp_dlog_read(&quiet, name, &l);
    if (r < 0) /* an unreadable log lists nothing, unless memory ran out */
        return r == -SB_ERR_NO_MEMORY ? r : 0;
    const qp_strv *v = used ? &l.used : &l.ours;
    for (size_t i = 0; i < v->n && r == 0; i++)
        if (!qp_strv_has(out, v->v[i]))
            r = qp_strv_add(out, v->v[i]);
    qp_dlog_free(&l);
    return r;
}

int qp_ours_load(qp_ctx *ctx, const char *name, qp_strv *out)
{
    return qp_dlog_list(ctx, name, 0, out);
}

/* 1 on the list, 0 not, or -SB_ERR_NO_MEMORY. */
static int ours_lookup(qp_ctx *ctx, const char *name, const char *path)
{
    qp_strv l = {0};
    int r = qp_ours_load(ctx, name, &l);
    int has = r < 0 ? r : qp_strv_has(&l, path);
    qp_strv_free(&l);
    return has;
}

int qp_ours_has(qp_ctx *ctx, const char *name, const char *path)
{
    return ours_lookup(ctx, name, path) > 0; /* an error: not ours */
}

int qp_ours_add(qp_ctx *ctx, const char *name, const char *path)
{
    if (qp_ours_has(ctx, name, path))
        return 0;
    qp_dlog_rec rec = {.add = path};
    return qp_dlog_append(ctx, name, &rec);
}

/* The drop is on disk before the call returns: a path left on the list
 * after its file is gone would make a file someone else creates there
 * later the plugin's, for a delete to remove. */
void qp_ours_remove(qp_ctx *ctx, const char *name, const char *path)
{
    if (!qp_ours_has(ctx, name, path))
        return;
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    qp_dlog_rec rec = {.drop = path, .sync_at_end = 1};
    (void)qp_dlog_append(&quiet, name, &rec);
}

int qp_ours_unlink(qp_ctx *ctx, const char *name, const char *path)
{
    char *c = qp_realpath_or_copy(path);
    struct stat st;
    int r = qp_intent_durable(ctx);
    if (r < 0 || !c) {
        free(c);
        return r < 0 ? r : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    /* unknown is not "not ours": a file kept for that would stay on disk
     * unnamed, and an overlay nothing names blocks the delete of the
     * snapshot whose image it sits on */
    int ours = ours_lookup(ctx, name, c);
    if (ours < 0) {
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory reading the plugin's list of files");
    } else if (!ours) {
        if (lstat(c, &st) == 0)
            qp_log(ctx, SB_LOG_INFO, "keeping '%s': the plugin did not create it", c);
    } else if (lstat(c, &st) == 0 && !S_ISREG(st.st_mode)) {
        qp_log(ctx, SB_LOG_WARN, "keeping '%s': no longer a regular file", c);
    } else if (unlink(c) < 0 && errno != ENOENT) {
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot remove '%s'", c);
    } else {
        qp_canon_forget(); /* a kept answer may have named it */
        qp_ctx quiet = *ctx;
        quiet.api = NULL;
        qp_dlog_rec rec = {.drop = c, .sync_at_end = 1};
        (void)qp_dlog_append(&quiet, name, &rec);
    }
    free(c);
    return r;
}

void qp_ours_drop(qp_ctx *ctx, const char *name)
{
    memo_forget();
    char *path = qp_dlog_path(ctx, name);
    if (path) {
        tail_forget(path);
        unlink(path);
    }
    free(path);
}
