/* What the store does with what it finds on disk (docs/store.md,
 * "Ownership and permissions"): a state directory others may write is
 * refused, nothing below it is followed through a symbolic link, the log
 * and its lock files must be regular files, temporaries are created anew
 * (O_EXCL), and what the store creates is 0700 / 0600 whatever the umask.
 *
 * Each case was an attack that worked before: a planted `hosts` symlink
 * redirected every write, a symlink named snapshots.log.new or .compact
 * made the store overwrite its target, and a FIFO in place of the log hung
 * snapshot-list forever. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <sys/wait.h>

#include "core/error.h"
#include "store/store_internal.h"
#include "store_helpers.h"
#include "tree_helpers.h"

#define OTHER_UID 54321
#define PLAIN_UID 65534

static char path[4096];

static const char *at(const char *rel)
{
    snprintf(path, sizeof(path), "%s/%s", test_dir, rel);
    return path;
}

#define DOM "hosts/h/domains/d"

/* The open fails with class cls and a message containing every want. */
static void open_fails(unsigned flags, int cls, ...)
{
    sb_store *s = (sb_store *)1;
    int rc = sb_store_open(test_dir, "h", "d", flags, &s);
    va_list ap;
    const char *want;

    assert_null(s);
    if (rc != -cls)
        fail_msg("rc %d (expected -%d): %s", rc, cls, sb_error_last()->message);
    va_start(ap, cls);
    while ((want = va_arg(ap, const char *)))
        if (!strstr(sb_error_last()->message, want))
            fail_msg("\"%s\" lacks \"%s\"", sb_error_last()->message, want);
    va_end(ap);
}

static sb_store *open_ok(unsigned flags)
{
    sb_store *s = NULL;
    if (sb_store_open(test_dir, "h", "d", flags, &s) < 0)
        fail_msg("open: %s", sb_error_last()->message);
    return s;
}

static void add(sb_store *s, const char *name)
{
    sb_tree_snapshot x = snap(name, NULL, SB_STATE_SHUTOFF, false);
    if (sb_store_create(s, &x) < 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

static char *read_text(const char *p)
{
    FILE *f = fopen(p, "r");
    char *buf = calloc(1, 4096);
    if (f) {
        (void)!fread(buf, 1, 4095, f);
        fclose(f);
    }
    return buf;
}

static void state_dir_writable_by_others(void **state)
{
    (void)state;
    assert_int_equal(chmod(test_dir, 0777), 0);
    open_fails(W, SB_ERR_CONFIG, test_dir, "writable by others", NULL);
    open_fails(0, SB_ERR_CONFIG, test_dir, "writable by others", NULL);
    struct stat st;
    assert_int_not_equal(stat(at("hosts"), &st), 0); /* nothing created in it */
    assert_int_equal(chmod(test_dir, 0770), 0);
    open_fails(W, SB_ERR_CONFIG, test_dir, "writable by its group", NULL);
    /* a sticky world-writable directory above it (/tmp) is fine */
    assert_int_equal(chmod(test_dir, 01777), 0);
    assert_int_equal(mkdir(at("state"), 0700), 0);
    sb_store *s = NULL;
    OK(sb_store_open(at("state"), "h", "d", W, &s));
    sb_store_close(s);
    assert_int_equal(chmod(test_dir, 0700), 0);

    /* a directory the store made, loosened afterwards, is refused too */
    s = open_ok(W);
    sb_store_close(s);
    assert_int_equal(chmod(at("hosts/h"), 0777), 0);
    open_fails(W, SB_ERR_STORE, "hosts/h'", "writable by others", NULL);
    assert_int_equal(chmod(at("hosts/h"), 0700), 0);

    if (geteuid() == 0) { /* a directory another user owns */
        assert_int_equal(chown(test_dir, OTHER_UID, 0), 0);
        open_fails(W, SB_ERR_CONFIG, test_dir, "owned by uid 54321", NULL);
        assert_int_equal(chown(test_dir, 0, 0), 0);
        assert_int_equal(chown(at(DOM), OTHER_UID, 0), 0);
        open_fails(W, SB_ERR_STORE, DOM "'", "owned by uid 54321", NULL);
    }
}

static void planted_symlinks_below_state_dir(void **state)
{
    (void)state;
    char elsewhere[4200];
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", test_dir);
    assert_int_equal(mkdir(elsewhere, 0700), 0);

    assert_int_equal(symlink(elsewhere, at("hosts")), 0);
    open_fails(W, SB_ERR_STORE, "/hosts'", "symbolic link", NULL);
    open_fails(0, SB_ERR_STORE, "/hosts'", "symbolic link", NULL);
    assert_int_equal(rmdir(elsewhere), 0); /* still empty: nothing written there */
    assert_int_equal(unlink(at("hosts")), 0);

    assert_int_equal(mkdir(elsewhere, 0700), 0);
    assert_int_equal(mkdir(at("hosts"), 0700), 0);
    assert_int_equal(mkdir(at("hosts/h"), 0700), 0);
    assert_int_equal(symlink(elsewhere, at("hosts/h/domains")), 0);
    open_fails(W, SB_ERR_STORE, "hosts/h/domains'", "symbolic link", NULL);
    assert_int_equal(rmdir(elsewhere), 0);
}

/* The store writes its temporaries itself; a link planted under their
 * names is removed, its target never written. */
static void planted_temporaries(void **state)
{
    (void)state;
    char victim[4200];
    snprintf(victim, sizeof(victim), "%s/victim", test_dir);
    FILE *f = fopen(victim, "w");
    fputs("precious", f);
    fclose(f);

    sb_store *s = open_ok(W); /* creates the directories only... */
    sb_store_close(s);
    /* ...and the log: start again without it, with .new planted */
    assert_int_equal(unlink(at(DOM "/snapshots.log")), 0);
    assert_int_equal(symlink(victim, at(DOM "/snapshots.log.new")), 0);
    s = open_ok(W);
    add(s, "a");
    char *text = read_text(victim);
    assert_string_equal(text, "precious");
    free(text);
    struct stat st;
    assert_int_equal(lstat(at(DOM "/snapshots.log"), &st), 0);
    assert_true(S_ISREG(st.st_mode));

    assert_int_equal(symlink(victim, at(DOM "/snapshots.log.compact")), 0);
    OK(sb_store_compact(s));
    text = read_text(victim);
    assert_string_equal(text, "precious");
    free(text);
    assert_int_equal(lstat(at(DOM "/snapshots.log"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "a"));
    sb_store_close(s);
    s = open_ok(0);
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "a"));
    sb_store_close(s);

    /* the log itself, or a lock, as a link: refused, never followed */
    assert_int_equal(rename(at(DOM "/snapshots.log"), victim), 0);
    assert_int_equal(symlink(victim, at(DOM "/snapshots.log")), 0);
    open_fails(0, SB_ERR_STORE, "snapshots.log'", "symbolic link", NULL);
    open_fails(W, SB_ERR_STORE, "snapshots.log'", "symbolic link", NULL);
    assert_int_equal(unlink(at(DOM "/snapshots.log")), 0);
    assert_int_equal(rename(victim, at(DOM "/snapshots.log")), 0);
    assert_int_equal(rename(at(DOM "/lock"), victim), 0);
    assert_int_equal(symlink(victim, at(DOM "/lock")), 0);
    open_fails(W, SB_ERR_STORE, "/lock'", "symbolic link", NULL);
}

/* A FIFO (or a device) in place of a store file: an error naming it, never
 * a hang (before: a read-only open blocked in open() or read()). */
static void not_regular_files(void **state)
{
    (void)state;
    sb_store *s = open_ok(W);
    add(s, "a");
    sb_store_close(s);

    assert_int_equal(unlink(at(DOM "/snapshots.log")), 0);
    assert_int_equal(mkfifo(at(DOM "/snapshots.log"), 0600), 0);
    open_fails(0, SB_ERR_STORE, "snapshots.log'", "FIFO", NULL);
    open_fails(W, SB_ERR_STORE, "snapshots.log'", "FIFO", NULL);
    assert_int_equal(unlink(at(DOM "/snapshots.log")), 0);

    assert_int_equal(unlink(at(DOM "/lock")), 0);
    assert_int_equal(mkfifo(at(DOM "/lock"), 0600), 0);
    open_fails(0, SB_ERR_STORE, "/lock'", "FIFO", NULL);
    assert_int_equal(unlink(at(DOM "/lock")), 0);
    assert_int_equal(mkdir(at(DOM "/lock"), 0700), 0);
    open_fails(W, SB_ERR_STORE, "/lock'", "directory", NULL);
    assert_int_equal(rmdir(at(DOM "/lock")), 0);

    /* the operation lock, taken when an intent begins */
    s = open_ok(W);
    assert_int_equal(mkfifo(at(DOM "/oplock"), 0600), 0);
    uint64_t id;
    assert_int_equal(sb_store_intent_begin(s, "create", "x", "", &id), -SB_ERR_STORE);
    assert_non_null(strstr(sb_error_last()->message, "FIFO"));
    sb_store_close(s);
}

static void modes_whatever_the_umask(void **state)
{
    (void)state;
    mode_t old = umask(0);
    sb_store *s = NULL;
    char root[4200];
    snprintf(root, sizeof(root), "%s/new/state", test_dir); /* created too */
    OK(sb_store_open(root, "h", "d", W, &s));
    add(s, "a");
    uint64_t id;
    OK(sb_store_intent_begin(s, "create", "b", "", &id));
    OK(sb_store_intent_end(s, id));
    OK(sb_store_compact(s));
    sb_store_close(s);
    umask(old);

    const char *dirs[] = {"new", "new/state", "new/state/hosts", "new/state/hosts/h",
                          "new/state/hosts/h/domains", "new/state/" DOM, NULL};
    const char *files[] = {"/snapshots.log", "/lock", "/oplock", NULL};
    struct stat st;
    for (int i = 0; dirs[i]; i++) {
        assert_int_equal(stat(at(dirs[i]), &st), 0);
        if ((st.st_mode & 07777) != 0700)
            fail_msg("%s has mode %04o", dirs[i], (unsigned)(st.st_mode & 07777));
    }
    for (int i = 0; files[i]; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "new/state/" DOM "%s", files[i]);
        assert_int_equal(stat(at(rel), &st), 0);
        if ((st.st_mode & 07777) != 0600)
            fail_msg("%s has mode %04o", rel, (unsigned)(st.st_mode & 07777));
    }
}

/* A normal user: its own state directory works; a state directory it may
 * not write gives the real reason (before, the qemu plugin reported "the
 * broker gave no state directory"), and one owned by another user is
 * refused.  Runs in a child that drops to an unprivileged uid when root. */
static int child_case(const char *root, int want_rc, const char *want)
{
    sb_store *s = NULL;
    int rc = sb_store_open(root, "h", "d", W, &s);
    sb_store_close(s);
    if (rc == want_rc && (!want || strstr(sb_error_last()->message, want)))
        return 0;
    fprintf(stderr, "# %s: rc %d, \"%s\" (wanted %d, \"%s\")\n", root, rc,
            sb_error_last()->message, want_rc, want ? want : "");
    return 1;
}

static void unprivileged_user(void **state)
{
    (void)state;
    uid_t uid = geteuid() == 0 ? PLAIN_UID : geteuid();
    char mine[4200], ro[4200], others[4200];
    snprintf(mine, sizeof(mine), "%s/mine", test_dir);
    snprintf(ro, sizeof(ro), "%s/ro", test_dir);
    snprintf(others, sizeof(others), "%s/others", test_dir);
    assert_int_equal(chmod(test_dir, 0755), 0);
    assert_int_equal(mkdir(mine, 0700), 0);
    assert_int_equal(mkdir(ro, 0500), 0);
    assert_int_equal(mkdir(others, 0755), 0);
    bool have_other = true;
    if (geteuid() == 0) {
        assert_int_equal(chown(mine, uid, uid), 0);
        assert_int_equal(chown(ro, uid, uid), 0);
    }
    if (chown(others, OTHER_UID, OTHER_UID) < 0)
        have_other = false;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0 || geteuid() != uid))
            _exit(99);
        int bad = child_case(mine, 0, NULL);
        bad += child_case(ro, -SB_ERR_SYSTEM_ERROR, "cannot create state directory");
        bad += child_case(ro, -SB_ERR_SYSTEM_ERROR, "/ro/hosts': Permission denied");
        if (have_other)
            bad += child_case(others, -SB_ERR_CONFIG, "owned by uid 54321");
        _exit(bad);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(state_dir_writable_by_others),
        STORE_TEST(planted_symlinks_below_state_dir),
        STORE_TEST(planted_temporaries),
        STORE_TEST(not_regular_files),
        STORE_TEST(modes_whatever_the_umask),
        STORE_TEST(unprivileged_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
