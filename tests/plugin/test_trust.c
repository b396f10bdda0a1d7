/* Which plugin files the loader trusts (store/safe_path.h): sshd's rule --
 * the file and every directory above it owned by root or the running user
 * and writable by nobody else; a sticky world-writable directory (/tmp) is
 * fine above it.  Before this rule a world-writable qemu.so in a
 * world-writable plugin_dir was loaded, constructor and all, as root.
 *
 * As root the "other owner" cases use chown; a forked child that drops to
 * an unprivileged uid checks the rule from a normal user's side too (when
 * the test runs as a normal user, that is simply the process itself). */
#include "helpers.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin/loader.h"

#define OTHER_UID 54321 /* nobody on the machine: "another user" */
#define PLAIN_UID 65534 /* nobody: the unprivileged side */

static char dir[4096];

static int setup(void **state)
{
    (void)state;
    make_tmpdir(dir, sizeof(dir), "trust");
    /* reachable by the unprivileged child */
    assert_int_equal(chmod(dir, 0755), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(dir);
    return 0;
}

/* dir/sub/good.so, a copy of the valid fixture, with the given modes. */
static void place(char *out, size_t n, const char *sub, mode_t dir_mode, mode_t file_mode)
{
    char d[4200];
    snprintf(d, sizeof(d), "%s/%s", dir, sub);
    mkdir(d, 0755);
    assert_int_equal(chmod(d, dir_mode), 0);
    snprintf(out, n, "%s/good.so", d);
    int in = open(FIXTURE("fx_good"), O_RDONLY);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(in >= 0 && fd >= 0);
    char buf[65536];
    ssize_t r;
    while ((r = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(fd, buf, (size_t)r), r);
    close(in);
    close(fd);
    assert_int_equal(chmod(out, file_mode), 0);
}

/* Load file into a fresh registry: 0, or the negative class. */
static int load(const char *file)
{
    sb_plugin_registry *reg;
    const sb_loaded_plugin *p;

    assert_int_equal(sb_registry_new(&reg), 0);
    int rc = sb_registry_load_file(&p, reg, file);
    assert_true(rc < 0 ? p == NULL : p != NULL);
    sb_registry_free(reg);
    return rc;
}

static void test_modes(void **state)
{
    char f[4300], d[4300];

    (void)state;
    place(f, sizeof(f), "ok", 0755, 0755);
    assert_int_equal(load(f), 0);

    place(f, sizeof(f), "wfile", 0755, 0666);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "writable by others", "0666");
    place(f, sizeof(f), "gfile", 0755, 0775);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "writable by its group");

    /* the directory: anyone could swap the file */
    place(f, sizeof(f), "wdir", 0777, 0755);
    snprintf(d, sizeof(d), "%s/wdir'", dir);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, d, "writable by others", "0777");
    place(f, sizeof(f), "gdir", 0775, 0755);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "writable by its group");

    /* sticky and world-writable above the file (as /tmp): the entries in it
     * cannot be replaced by others; but not the file's own directory */
    place(f, sizeof(f), "sticky", 01777, 0755);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "sticky'", "writable by others");
    snprintf(d, sizeof(d), "%s/sticky/inner", dir);
    assert_int_equal(mkdir(d, 0755), 0);
    place(f, sizeof(f), "sticky/inner", 0755, 0755);
    assert_int_equal(load(f), 0);

    /* a symbolic link is judged by what it points to */
    char link[4300], target[4300];
    place(target, sizeof(target), "wdir", 0777, 0755);
    snprintf(link, sizeof(link), "%s/ok/link.so", dir);
    assert_int_equal(symlink(target, link), 0);
    check_error(load(link), SB_ERR_PLUGIN_LOAD, link, "wdir'", "writable by others");
}

static void test_owner(void **state)
{
    char f[4300], d[4300];

    (void)state;
    if (geteuid() != 0) {
        /* a normal user cannot give files away: the unprivileged side is
         * test_unprivileged, which is this process then */
        skip();
    }
    place(f, sizeof(f), "owned", 0755, 0755);
    assert_int_equal(chown(f, OTHER_UID, 0), 0);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "owned by uid 54321", "uid 0");

    place(f, sizeof(f), "ownerdir", 0755, 0755);
    snprintf(d, sizeof(d), "%s/ownerdir", dir);
    assert_int_equal(chown(d, OTHER_UID, 0), 0);
    check_error(load(f), SB_ERR_PLUGIN_LOAD, f, "ownerdir'", "owned by uid 54321");
}

/* In the child: the message of the last error must contain want. */
static int child_expect(int rc, const char *want)
{
    if (want == NULL)
        return rc == 0 ? 0 : (fprintf(stderr, "# child: %s\n", sb_error_last()->message), 1);
    if (rc == -SB_ERR_PLUGIN_LOAD && strstr(sb_error_last()->message, want))
        return 0;
    fprintf(stderr, "# child: rc %d, message \"%s\" lacks \"%s\"\n", rc,
            sb_error_last()->message, want);
    return 1;
}

static int child_load(const char *file)
{
    sb_plugin_registry *reg;
    const sb_loaded_plugin *p;
    if (sb_registry_new(&reg) < 0)
        return -1;
    int rc = sb_registry_load_file(&p, reg, file);
    sb_registry_free(reg);
    return rc;
}

/* A normal user: its own files and root's are trusted, another user's are
 * not, and a directory others may write is refused as for root. */
static void test_unprivileged(void **state)
{
    char mine[4300], roots[4300], others[4300], ww[4300];

    (void)state;
    place(mine, sizeof(mine), "mine", 0755, 0755);
    place(roots, sizeof(roots), "roots", 0755, 0755);
    place(others, sizeof(others), "others", 0755, 0755);
    place(ww, sizeof(ww), "ww", 0777, 0755);
    uid_t uid = geteuid();
    if (uid == 0) {
        uid = PLAIN_UID;
        assert_int_equal(chown(mine, uid, uid), 0);
        assert_int_equal(chown(others, OTHER_UID, 0), 0);
    } else if (chown(others, OTHER_UID, 0) < 0) {
        others[0] = '\0'; /* cannot make one: that case is test_owner's */
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0 || geteuid() != uid))
            _exit(99);
        int bad = child_expect(child_load(mine), NULL);
        bad += child_expect(child_load(roots), NULL);
        if (others[0])
            bad += child_expect(child_load(others), "owned by uid 54321");
        bad += child_expect(child_load(ww), "writable by others");
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
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_unprivileged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
