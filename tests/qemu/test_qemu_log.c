/* tests/qemu - the qemu plugin's domain log (domain_log.c): the list of
 * its files and its intent record in one append-only file; the state the
 * previous layout left (a list rewritten whole, a record in its own file)
 * read and upgraded in place; records torn by a crash ignored; and the
 * canonical paths kept for one locked call (canon.c); a log read again
 * from where the process last stopped; a delete's merge notes.  No QEMU needed:
 * the domain these records name is not defined, so a recovery finds no
 * image in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_log.h"
#include "journal.h"
#include "qp.h"
#include "snapshot_common.h"
#include "state_fixture.h"

static void write_file(const char *file, const char *text, size_t len)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void append_file(const char *file, const char *text, size_t len)
{
    int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static char *slurp(const char *file, size_t *len)
{
    char *text = NULL;
    assert_int_equal(qp_read_file(&ctx, file, &text, len), 0);
    return text;
}

static void touch(const char *file)
{
    write_file(file, "", 0);
}

/* The previous layout: STATE/ours/<d>.list with a path per line and
 * STATE/journal/<d>.json, the record of a create that was killed after it
 * made its file.  The record is found, undone (the file it made, which
 * nothing uses, removed, and off the list) and its file removed; the
 * paths of the old list stay the plugin's, and new records are appended
 * to the same file. */
static void old_layout_upgraded(void **state)
{
    (void)state;
    char *a = qp_strdup(path("a.qcow2")), *made = qp_strdup(path("made.qcow2"));
    char *added = qp_strdup(path("added.qcow2")), *other = qp_strdup(path("other.qcow2"));
    touch(a);
    touch(made);
    touch(other); /* nobody's: never on a list */
    assert_int_equal(qp_mkdir_p(path("state/ours"), 0700), 0);
    assert_int_equal(qp_mkdir_p(path("state/journal"), 0700), 0);
    char *list = qp_printf("%s\n%s\n", a, made);
    write_file(path("state/ours/old.list"), list, strlen(list));
    char *rec = qp_printf("{ \"op\": \"create\", \"snapshot\": \"s1\", \"images\": [ ], "
                          "\"created\": [ \"%s\" ], \"committed\": false, \"resume\": false }",
                          made);
    write_file(path("state/journal/old.json"), rec, strlen(rec));

    assert_true(qp_journal_pending(&ctx, "old"));
    assert_true(qp_ours_has(&ctx, "old", a));
    assert_true(qp_ours_has(&ctx, "old", made));
    assert_false(qp_ours_has(&ctx, "old", other));
    assert_int_equal(qp_journal_recover(&ctx, "old"), 0);
    assert_false(qp_file_exists(made)); /* undone */
    assert_false(qp_file_exists(path("state/journal/old.json")));
    assert_false(qp_journal_pending(&ctx, "old"));
    assert_true(qp_ours_has(&ctx, "old", a));
    assert_false(qp_ours_has(&ctx, "old", made));

    /* new records go after the old lines, which are read as before */
    assert_int_equal(qp_ours_add(&ctx, "old", added), 0);
    size_t len;
    char *text = slurp(path("state/ours/old.list"), &len);
    assert_memory_equal(text, list, strlen(list)); /* the old lines, untouched */
    free(text);
    qp_strv ours = {0};
    assert_int_equal(qp_ours_load(&ctx, "old", &ours), 0);
    assert_int_equal(ours.n, 2);
    assert_true(qp_strv_has(&ours, a) && qp_strv_has(&ours, added));
    qp_strv_free(&ours);
    /* a file off the list is never removed by the plugin */
    assert_int_equal(qp_ours_unlink(&ctx, "old", other), 0);
    assert_true(qp_file_exists(other));
    assert_int_equal(qp_ours_unlink(&ctx, "old", a), 0);
    assert_false(qp_file_exists(a));
    assert_false(qp_ours_has(&ctx, "old", a));
    free(list);
    free(rec);
    free(a);
    free(made);
    free(added);
    free(other);
}

/* A record and the file it makes: one line of the log says both.  A create
 * whose record is left open (its process killed after the file exists) is
 * undone by the next recovery; one that ended leaves nothing to do. */
static void record_and_file_in_one_line(void **state)
{
    (void)state;
    qp_journal j;
    char *f = qp_strdup(path("new.qcow2"));
    assert_int_equal(qp_journal_init(&ctx, &j, "one", "create", "s1", NULL), 0);
    int fd = qp_journal_create_file(&ctx, &j, f);
    assert_true(fd >= 0);
    close(fd);
    size_t len;
    char *text = slurp(path("state/ours/one.list"), &len);
    assert_non_null(memchr(text, '\n', len));
    assert_ptr_equal(memchr(text, '\n', len), text + len - 1); /* one line */
    free(text);
    assert_true(qp_ours_has(&ctx, "one", f));
    assert_true(qp_journal_pending(&ctx, "one"));
    /* a second attempt at the same path: not the plugin's to make */
    assert_int_equal(qp_journal_create_file(&ctx, &j, f), -EEXIST);
    assert_int_equal(j.created.n, 1);
    assert_true(qp_ours_has(&ctx, "one", f)); /* the first one still is */
    qp_journal_free(&j); /* killed: the record stays open */

    assert_int_equal(qp_journal_recover(&ctx, "one"), 0);
    assert_false(qp_file_exists(f));
    assert_false(qp_ours_has(&ctx, "one", f));
    assert_false(qp_journal_pending(&ctx, "one"));

    /* done normally: closed, the file stays the plugin's */
    assert_int_equal(qp_journal_init(&ctx, &j, "one", "create", "s2", NULL), 0);
    fd = qp_journal_create_file(&ctx, &j, f);
    assert_true(fd >= 0);
    close(fd);
    qp_journal_end(&ctx, &j);
    assert_false(qp_journal_pending(&ctx, "one"));
    assert_int_equal(qp_journal_recover(&ctx, "one"), 0);
    assert_true(qp_file_exists(f));
    assert_true(qp_ours_has(&ctx, "one", f));
    free(f);
}

/* A running guest's disk-only create: QEMU formats each overlay it made
 * in the transaction, so its undo removes only the files still empty.  A
 * power loss that loses the record's close (not synced: nothing waits
 * for it) therefore removes nothing QEMU wrote to, whatever the
 * definition says by then; an interrupted create's empty file goes. */
static void empty_only_undo_keeps_what_qemu_wrote(void **state)
{
    (void)state;
    char *empty = qp_strdup(path("e-empty.qcow2")), *used = qp_strdup(path("e-used.qcow2"));
    qp_journal j;
    assert_int_equal(qp_journal_init(&ctx, &j, "eo", "create", "s1", NULL), 0);
    j.undo_empty_only = 1;
    int fd = qp_journal_create_file(&ctx, &j, empty);
    assert_true(fd >= 0);
    close(fd);
    fd = qp_journal_create_file(&ctx, &j, used);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "QFI\xfb", 4), 4); /* QEMU's header */
    close(fd);
    qp_journal_free(&j); /* the close lost */
    assert_true(qp_journal_pending(&ctx, "eo"));
    assert_int_equal(qp_journal_recover(&ctx, "eo"), 0);
    assert_false(qp_file_exists(empty));
    assert_true(qp_file_exists(used));
    assert_true(qp_ours_has(&ctx, "eo", used)); /* still the plugin's, for a delete */
    assert_false(qp_journal_pending(&ctx, "eo"));
    free(empty);
    free(used);
}

/* What a crash can leave at the end of the log: part of a record (no
 * newline), a record whose bytes do not match its hash, zeroes.  None of
 * them counts - they were never acknowledged - and the next record is
 * appended on a line of its own, not glued to the tail. */
static void torn_records_ignored(void **state)
{
    (void)state;
    char *f = qp_strdup(path("t1.qcow2")), *g = qp_strdup(path("t2.qcow2"));
    assert_int_equal(qp_ours_add(&ctx, "torn", f), 0);
    const char *log = path("state/ours/torn.list");
    size_t len;
    char *good = slurp(log, &len); /* one whole record adding f */
    assert_true(len > 20 && good[len - 1] == '\n');

    /* the same record whole but one byte changed, and the path removed */
    char *bad = qp_strdup(good);
    char *p = strstr(bad, "t1.qcow2");
    assert_non_null(p);
    p[1] = '9';
    qp_dlog_rec drop = {.drop = f};
    assert_int_equal(qp_dlog_append(&ctx, "torn", &drop), 0);
    append_file(log, bad, len);
    assert_false(qp_ours_has(&ctx, "torn", f));
    assert_false(qp_ours_has(&ctx, "torn", path("t9.qcow2")));
    /* a record cut short: no newline */
    append_file(log, good, len - 1);
    assert_false(qp_ours_has(&ctx, "torn", f));
    /* the next record is a line of its own */
    assert_int_equal(qp_ours_add(&ctx, "torn", g), 0);
    assert_true(qp_ours_has(&ctx, "torn", g));
    assert_false(qp_ours_has(&ctx, "torn", f));
    /* zeroes where a power loss lost a block, then a record */
    static const char zeroes[64];
    append_file(log, zeroes, sizeof zeroes);
    assert_int_equal(qp_ours_add(&ctx, "torn", f), 0);
    assert_true(qp_ours_has(&ctx, "torn", f));
    assert_true(qp_ours_has(&ctx, "torn", g));
    /* a path in the old layout's form is only taken whole: a torn
     * record never starts with '/' */
    qp_strv ours = {0};
    assert_int_equal(qp_ours_load(&ctx, "torn", &ours), 0);
    assert_int_equal(ours.n, 2);
    qp_strv_free(&ours);
    free(good);
    free(bad);
    free(f);
    free(g);
}

/* A log that is mostly history is rewritten whole as what it says now:
 * the files of the plugin's and an open record survive it. */
static void compacted_log_says_the_same(void **state)
{
    (void)state;
    char *keep = qp_strdup(path("keep.qcow2")), *f = qp_strdup(path("churn.qcow2"));
    assert_int_equal(qp_ours_add(&ctx, "big", keep), 0);
    qp_journal j;
    assert_int_equal(qp_journal_init(&ctx, &j, "big", "create", "s1", NULL), 0);
    assert_int_equal(qp_strv_add(&j.created, keep), 0);
    assert_int_equal(qp_journal_save(&ctx, &j), 0);
    struct stat st;
    off_t most = 0;
    for (int i = 0; i < 2000; i++) {
        qp_dlog_rec add = {.add = f}, drop = {.drop = f};
        assert_int_equal(qp_dlog_append(&ctx, "big", i % 2 ? &drop : &add), 0);
        assert_int_equal(stat(path("state/ours/big.list"), &st), 0);
        if (st.st_size > most)
            most = st.st_size;
    }
    assert_true(most > 16 * 1024);   /* it grew past the limit */
    assert_true(st.st_size < 16 * 1024 + 4096); /* and was rewritten */
    assert_true(qp_ours_has(&ctx, "big", keep));
    assert_false(qp_ours_has(&ctx, "big", f));
    assert_true(qp_journal_pending(&ctx, "big"));
    qp_journal_end(&ctx, &j);
    assert_false(qp_journal_pending(&ctx, "big"));
    free(keep);
    free(f);
}

/* merge_note.c: a shut-off delete's note of a merge (the overlay committed
 * into `onto`, the images to rebase) is found for that very file and that
 * image below it only, survives a compaction, and ends when the file
 * leaves the plugin's list or explicitly. */
static void merge_notes_kept_and_ended(void **state)
{
    (void)state;
    char *o = qp_strdup(path("o.qcow2")), *b = qp_strdup(path("b.qcow2"));
    char *f = qp_strdup(path("churn2.qcow2")), *moved = qp_strdup(path("o.new"));
    touch(o);
    qp_strv above = {0}, got = {0};
    assert_int_equal(qp_strv_add(&above, "/x/top.qcow2"), 0);
    assert_int_equal(qp_strv_add(&above, "/x/s3.qcow2"), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 0); /* none yet */
    assert_int_equal(qp_merge_note_save(&ctx, "mn", o, b, &above), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, "/x/other.qcow2", &got), 0);
    assert_int_equal(got.n, 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 1);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.v[0], "/x/top.qcow2");
    assert_string_equal(got.v[1], "/x/s3.qcow2");
    qp_strv_free(&got);
    for (int i = 0; i < 2000; i++) { /* past the compaction */
        qp_dlog_rec add = {.add = f}, drop = {.drop = f};
        assert_int_equal(qp_dlog_append(&ctx, "mn", i % 2 ? &drop : &add), 0);
    }
    struct stat st;
    assert_int_equal(stat(path("state/ours/mn.list"), &st), 0);
    assert_true(st.st_size < 16 * 1024 + 4096);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 1);
    assert_int_equal(got.n, 2);
    qp_strv_free(&got);
    /* another file at the overlay's path is not the merged overlay */
    touch(moved);
    assert_int_equal(rename(moved, o), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 0);
    /* ended explicitly, or by the overlay leaving the plugin's files */
    assert_int_equal(qp_merge_note_save(&ctx, "mn", o, b, &above), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 1);
    qp_strv_free(&got);
    qp_merge_note_end(&ctx, "mn", o);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 0);
    /* a delete starting afresh clears what an unfinished one left */
    assert_int_equal(qp_merge_note_save(&ctx, "mn", o, b, &above), 0);
    assert_int_equal(qp_merge_note_clear(&ctx, "mn", o), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 0);
    assert_int_equal(qp_merge_note_clear(&ctx, "mn", o), 0); /* none: nothing written */
    assert_int_equal(qp_merge_note_save(&ctx, "mn", o, b, &above), 0);
    qp_dlog_rec drop = {.drop = o};
    assert_int_equal(qp_dlog_append(&ctx, "mn", &drop), 0);
    assert_int_equal(qp_merge_note_find(&ctx, "mn", o, b, &got), 0);
    assert_int_equal(got.n, 0);
    qp_strv_free(&above);
    free(o);
    free(b);
    free(f);
    free(moved);
}

/* domain_used.c: images a definition stopped naming stay the domain's,
 * across a compaction of the log. */
static void used_images_kept(void **state)
{
    (void)state;
    qp_strv v = {0}, got = {0};
    char *f = qp_strdup(path("churn3.qcow2"));
    assert_int_equal(qp_strv_add(&v, "/x/vdc.qcow2"), 0);
    qp_dlog_rec rec = {.used = &v};
    assert_int_equal(qp_dlog_append(&ctx, "ud", &rec), 0);
    assert_int_equal(qp_used_load(&ctx, "ud", &got), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0], "/x/vdc.qcow2");
    qp_strv_free(&got);
    for (int i = 0; i < 2000; i++) { /* past the compaction */
        qp_dlog_rec add = {.add = f}, drop = {.drop = f};
        assert_int_equal(qp_dlog_append(&ctx, "ud", i % 2 ? &drop : &add), 0);
    }
    assert_int_equal(qp_used_load(&ctx, "ud", &got), 0);
    assert_int_equal(got.n, 1);
    qp_strv_free(&got);
    qp_strv_free(&v);
    free(f);
}

/* canon.c: inside a locked call an existing file's canonical path is kept;
 * the lock's release and a removal by the plugin forget it, and a missing
 * file's answer is never kept (it may be created during the call). */
static void canonical_paths_kept_for_one_call(void **state)
{
    (void)state;
    char *t1 = qp_strdup(path("target1")), *t2 = qp_strdup(path("target2"));
    char *link = qp_strdup(path("link")), *later = qp_strdup(path("later"));
    touch(t1);
    touch(t2);
    assert_int_equal(symlink(t1, link), 0);
    int lk = qp_lock_domain(&ctx, "canon");
    assert_true(lk >= 0);
    char *c = qp_realpath_or_copy(link);
    assert_string_equal(c, t1);
    free(c);
    /* replaced under the call: the call goes on with what it saw */
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(t2, link), 0);
    c = qp_realpath_or_copy(link);
    assert_string_equal(c, t1);
    free(c);
    /* missing, then made a symlink during the call: resolved each time */
    c = qp_realpath_or_copy(later);
    assert_string_equal(c, later);
    free(c);
    assert_int_equal(symlink(t2, later), 0);
    c = qp_realpath_or_copy(later);
    assert_string_equal(c, t2);
    free(c);
    qp_unlock(&ctx, lk);
    c = qp_realpath_or_copy(link); /* the next call sees the change */
    assert_string_equal(c, t2);
    free(c);

    /* a file the plugin removes is forgotten at once */
    lk = qp_lock_domain(&ctx, "canon");
    assert_true(lk >= 0);
    assert_int_equal(qp_ours_add(&ctx, "canon", t2), 0);
    c = qp_realpath_or_copy(link);
    assert_string_equal(c, t2);
    free(c);
    assert_int_equal(qp_ours_unlink(&ctx, "canon", t2), 0);
    assert_false(qp_file_exists(t2));
    c = qp_realpath_or_copy(link); /* dangling now: its own name */
    assert_string_equal(c, link);
    free(c);
    qp_unlock(&ctx, lk);
    free(t1);
    free(t2);
    free(link);
    free(later);
}

/* Inside a locked call the locked domain's log is replayed once
 * (domain_log.c, "memo"): a change behind the lock is not seen within the
 * call, what the plugin appends is seen at once, each reader's copy is its
 * own, another domain's log is read every time, and the next call reads
 * the file again. */
static void log_replayed_once_per_call(void **state)
{
    (void)state;
    char *a = qp_strdup(path("memo-a.qcow2")), *b = qp_strdup(path("memo-b.qcow2"));
    char *log = qp_strdup(path("state/ours/memo.list")), *olog = qp_strdup(path("state/ours/other.list"));
    assert_int_equal(qp_ours_add(&ctx, "memo", a), 0);
    assert_int_equal(qp_ours_add(&ctx, "other", a), 0);
    size_t len = 0, olen = 0;
    char *text = slurp(log, &len), *otext = slurp(olog, &olen);

    int lk = qp_lock_domain(&ctx, "memo");
    assert_true(lk >= 0);
    qp_journal j;
    assert_int_equal(qp_journal_init(&ctx, &j, "memo", "create", "s1", NULL), 0);
    assert_int_equal(qp_journal_save(&ctx, &j), 0); /* an intent in the log */
    qp_dlog l1, l2;
    assert_int_equal(qp_dlog_read(&ctx, "memo", &l1), 0);
    assert_true(qp_strv_has(&l1.ours, a) && l1.intent);
    /* emptied behind the lock (no writer does that): the call keeps what
     * it replayed, which shows the memo is what answers */
    write_file(log, "", 0);
    write_file(olog, "", 0);
    assert_int_equal(qp_dlog_read(&ctx, "memo", &l2), 0);
    assert_true(qp_strv_has(&l2.ours, a) && l2.intent && l2.intent != l1.intent);
    qp_dlog_free(&l1); /* copies of their own */
    assert_true(qp_ours_has(&ctx, "memo", a));
    qp_dlog_free(&l2);
    assert_false(qp_ours_has(&ctx, "other", a)); /* not the locked domain */
    /* what the plugin appends is seen at once (on top of the emptied
     * file: the append is the truth from now on) */
    assert_int_equal(qp_ours_add(&ctx, "memo", b), 0);
    assert_true(qp_ours_has(&ctx, "memo", b));
    assert_false(qp_ours_has(&ctx, "memo", a));
    qp_journal_free(&j);
    qp_unlock(&ctx, lk);

    /* the next call reads the file again */
    write_file(log, text, len);
    write_file(olog, otext, olen);
    assert_true(qp_ours_has(&ctx, "memo", a));
    assert_false(qp_ours_has(&ctx, "memo", b));
    free(text);
    free(otext);
    free(log);
    free(olog);
    free(a);
    free(b);
}

/* What a log's replay found is kept per process and the next read
 * replays only what was appended since (domain_log.c, "the log as this
 * process last replayed it").  Each step is checked against a replay of
 * the whole file (a copy under another domain's name is a new file):
 * records appended by another writer are seen, a torn tail is not until
 * it is completed, a record written in two pieces counts once whole, a
 * log rewritten in place, replaced, or removed and made again is read
 * again whole; and a read parses only what was appended since the last. */
static void whole_copy(const char *domain, const char *copy)
{
    char from[128], to[128];
    snprintf(from, sizeof from, "state/ours/%s.list", domain);
    snprintf(to, sizeof to, "state/ours/%s.list", copy);
    size_t len;
    char *text = slurp(path(from), &len);
    char *dst = qp_strdup(path(to));
    unlink(dst);
    write_file(dst, text, len);
    free(dst);
    free(text);
}

static void assert_as_whole(const char *domain)
{
    whole_copy(domain, "whole");
    qp_dlog a, b;
    assert_int_equal(qp_dlog_read(&ctx, domain, &a), 0);
    assert_int_equal(qp_dlog_read(&ctx, "whole", &b), 0);
    assert_int_equal(a.ours.n, b.ours.n);
    for (size_t i = 0; i < a.ours.n; i++)
        assert_true(qp_strv_has(&b.ours, a.ours.v[i]));
    assert_int_equal(a.intent != NULL, b.intent != NULL);
    if (a.intent)
        assert_string_equal(json_object_to_json_string(a.intent),
                            json_object_to_json_string(b.intent));
    qp_dlog_free(&a);
    qp_dlog_free(&b);
}

/* One record's line, as the plugin writes it (made in a scratch log). */
static char *record_line(const qp_dlog_rec *rec, size_t *len)
{
    char *scratch = qp_strdup(path("state/ours/scratch.list"));
    unlink(scratch);
    assert_int_equal(qp_dlog_append(&ctx, "scratch", rec), 0);
    char *line = slurp(scratch, len);
    assert_true(*len > 20 && line[*len - 1] == '\n');
    unlink(scratch);
    free(scratch);
    return line;
}

static void log_read_on_from_where_it_stopped(void **state)
{
    (void)state;
    char *a = qp_strdup(path("tail-a.qcow2")), *b = qp_strdup(path("tail-b.qcow2"));
    char *c = qp_strdup(path("tail-c.qcow2")), *log = qp_strdup(path("state/ours/tail.list"));
    assert_int_equal(qp_ours_add(&ctx, "tail", a), 0);
    assert_true(qp_ours_has(&ctx, "tail", a)); /* replayed and kept */
    assert_as_whole("tail");

    /* another writer's records: only they are replayed */
    size_t alen, blen, clen;
    qp_dlog_rec adda = {.add = a}, addb = {.add = b}, addc = {.add = c};
    char *aline = record_line(&adda, &alen);
    char *bline = record_line(&addb, &blen), *cline = record_line(&addc, &clen);
    uint64_t before = qp_dlog_replayed_bytes();
    append_file(log, bline, blen);
    assert_true(qp_ours_has(&ctx, "tail", b));
    assert_int_equal(qp_dlog_replayed_bytes() - before, blen);
    before = qp_dlog_replayed_bytes();
    assert_true(qp_ours_has(&ctx, "tail", a)); /* nothing new: nothing replayed */
    assert_int_equal(qp_dlog_replayed_bytes(), before);
    assert_as_whole("tail");

    /* a record in two pieces: nothing until its newline, then all of it */
    append_file(log, cline, clen / 2);
    assert_false(qp_ours_has(&ctx, "tail", c));
    assert_as_whole("tail");
    append_file(log, cline + clen / 2, clen - clen / 2);
    assert_true(qp_ours_has(&ctx, "tail", c));
    assert_as_whole("tail");

    /* an open intent and its close, appended by the plugin */
    qp_journal j;
    assert_int_equal(qp_journal_init(&ctx, &j, "tail", "create", "s1", NULL), 0);
    assert_int_equal(qp_journal_save(&ctx, &j), 0);
    assert_true(qp_journal_pending(&ctx, "tail"));
    assert_as_whole("tail");
    qp_journal_end(&ctx, &j);
    assert_false(qp_journal_pending(&ctx, "tail"));
    assert_as_whole("tail");

    /* changed in place before the bytes replayed last (no writer of the
     * plugin's does that): replayed whole, the spoiled record ignored */
    size_t len;
    char *text = slurp(log, &len);
    char *spoiled = qp_strdup(text);
    char *p = strstr(spoiled, "tail-a.qcow2");
    assert_non_null(p);
    p[5] = 'z';
    int fd = open(log, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, spoiled, (size_t)(strchr(spoiled, '\n') - spoiled), 0),
                     strchr(spoiled, '\n') - spoiled);
    close(fd);
    assert_false(qp_ours_has(&ctx, "tail", a));
    assert_true(qp_ours_has(&ctx, "tail", b));
    assert_as_whole("tail");
    /* rewritten in place, its last record elsewhere now: read whole */
    write_file(log, bline, blen);
    append_file(log, cline, clen);
    append_file(log, cline, clen); /* longer than what was kept */
    assert_false(qp_ours_has(&ctx, "tail", a));
    assert_true(qp_ours_has(&ctx, "tail", b) && qp_ours_has(&ctx, "tail", c));
    assert_as_whole("tail");
    /* another file renamed over it (a compaction does that) */
    char *tmp = qp_strdup(path("state/ours/tail.tmp"));
    write_file(tmp, text, len);
    append_file(tmp, cline, clen);
    assert_int_equal(rename(tmp, log), 0);
    assert_true(qp_ours_has(&ctx, "tail", a));
    assert_as_whole("tail");
    /* removed and made again by another process at once, with a record
     * of the same length first and the same last record: on ext4 the
     * inode number and the birth time may well be the old file's */
    write_file(log, aline, alen);
    append_file(log, cline, clen);
    assert_true(qp_ours_has(&ctx, "tail", a) && qp_ours_has(&ctx, "tail", c));
    assert_int_equal(unlink(log), 0);
    write_file(log, bline, blen);
    append_file(log, cline, clen);
    assert_false(qp_ours_has(&ctx, "tail", a));
    assert_true(qp_ours_has(&ctx, "tail", b) && qp_ours_has(&ctx, "tail", c));
    assert_as_whole("tail");
    /* removed, and a new log begun */
    qp_ours_drop(&ctx, "tail");
    assert_false(qp_ours_has(&ctx, "tail", a));
    assert_int_equal(qp_ours_add(&ctx, "tail", c), 0);
    assert_false(qp_ours_has(&ctx, "tail", a));
    assert_true(qp_ours_has(&ctx, "tail", c));
    assert_as_whole("tail");
    free(tmp);
    free(text);
    free(spoiled);
    free(aline);
    free(bline);
    free(cline);
    free(log);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_layout_upgraded),
        cmocka_unit_test(record_and_file_in_one_line),
        cmocka_unit_test(empty_only_undo_keeps_what_qemu_wrote),
        cmocka_unit_test(torn_records_ignored),
        cmocka_unit_test(compacted_log_says_the_same),
        cmocka_unit_test(merge_notes_kept_and_ended),
        cmocka_unit_test(used_images_kept),
        cmocka_unit_test(canonical_paths_kept_for_one_call),
        cmocka_unit_test(log_replayed_once_per_call),
        cmocka_unit_test(log_read_on_from_where_it_stopped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
