/* tests/qemu - the references file (plugins/qemu/refs_file.c) end to end:
 * each CLI call is a process that has not seen the tree, and its debug
 * log says, per walk over the tree, how many snapshots' references came
 * from the file and how many documents it parsed.  The file is taken
 * only for documents whose digest it holds: a changed snapshot, an old
 * copy of the file, a damaged or foreign file all cost parses and never
 * a wrong answer; the file is rewritten only when a walk parsed a good
 * share of the tree, is the plugin's alone (0600) and goes with the
 * domain.  A file another build of the plugin wrote is not taken, a FIFO
 * in its place does not hang a call, and a temporary file a killed
 * writer left is removed by the next write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

#define DOM "rf"

static char conf[512];

/* The counts the last walk of a CLI call reported: parsed and taken from
 * the file (and in all); the call must succeed. */
static void cli_walk(const char *const args[], int *parsed, int *from_file, int *all)
{
    unlink(e2e_path("cli.log"));
    assert_int_equal(e2e_cli(conf, args), 0);
    FILE *f = fopen(e2e_path("cli.log"), "r");
    assert_non_null(f);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "domain '" DOM "': references of ");
        int known = -1;
        if (p && sscanf(p, "domain '" DOM "': references of %d snapshots: %d known, %d from the "
                           "references file, %d parsed", all, &known, from_file, parsed) == 4) {
            assert_int_equal(known, 0); /* a new process knows nothing */
            found = 1;
        }
    }
    fclose(f);
    if (!found)
        fail_msg("no walk over the tree in the CLI's debug log");
}

static const char *cache_file(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/refs/%s.cache", E.t.state_dir, DOM);
    return path;
}

static ino_t cache_inode(void)
{
    struct stat st;
    assert_int_equal(stat(cache_file(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    return st.st_ino;
}

static void copy_file(const char *from, const char *to)
{
    char *cmd = qp_printf("cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void references_file(void **state)
{
    (void)state;
    FILE *cf = fopen(e2e_path("debug.conf"), "w");
    assert_non_null(cf);
    fprintf(cf, "log_level = \"debug\";\ndefault_host = \"local\";\n"
                "hosts = ( { name = \"local\"; plugin = \"qemu\"; uri = \"qemu:///session\"; } );\n");
    assert_int_equal(fclose(cf), 0);
    snprintf(conf, sizeof conf, "%s", e2e_path("debug.conf"));

    /* internal snapshots to revert to (the revert's guard walks the
     * tree), an external one whose overlay the others must not lose */
    e2e_define(DOM);
    assert_int_equal(e2e_snap(DOM, "i1", NULL, 0), 0);
    assert_int_equal(e2e_snap(DOM, "x1", "<description>first</description>",
                              SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_snap(DOM, "i2", NULL, 0), 0);
    unlink(cache_file()); /* whatever this process wrote: start from none */

    const char *const revert[] = {"snapshot-revert", DOM, "i2", NULL};
    int parsed, from_file, all;
    /* no file: every document parsed, the file written */
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(all, 3);
    assert_int_equal(parsed, 3);
    assert_int_equal(from_file, 0);
    ino_t first = cache_inode();
    copy_file(cache_file(), e2e_path("old.cache"));

    /* the next process parses nothing and leaves the file as it is */
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 0);
    assert_int_equal(from_file, 3);
    assert_int_equal(cache_inode(), first);

    /* a snapshot's document changes (its references do not): its entry
     * no longer matches, that one document is parsed, the file renewed */
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, DOM, "x1", 0), 0);
    char *desc = strstr(xml, "first");
    assert_non_null(desc);
    memcpy(desc, "other", 5);
    assert_int_equal(sb_snapshot_create_xml(NULL, E.c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE), 0);
    free(xml);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 1);
    assert_int_equal(from_file, 2);
    assert_int_not_equal(cache_inode(), first);

    /* an older copy of the file: only the entries that still match */
    copy_file(e2e_path("old.cache"), cache_file());
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 1);
    assert_int_equal(from_file, 2);

    /* a new snapshot: parsed once, then known */
    assert_int_equal(e2e_snap(DOM, "i3", NULL, 0), 0);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(all, 4);
    assert_int_equal(parsed, 1);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 0);
    assert_int_equal(from_file, 4);

    /* one byte of the body changed: the checksum refuses the whole file */
    int fd = open(cache_file(), O_RDWR);
    assert_true(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    char c = 0;
    assert_int_equal(pread(fd, &c, 1, size / 2), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, size / 2), 1);
    close(fd);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 4);
    assert_int_equal(from_file, 0);

    /* not a references file at all, and a truncated one: the same */
    FILE *g = fopen(cache_file(), "w");
    assert_non_null(g);
    fputs("<domain>not this</domain>\n", g);
    fclose(g);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 4);
    assert_int_equal(truncate(cache_file(), 40), 0);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 4);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 0);

    /* written by other code (the stamp after the magic differs; the
     * body and its checksum are intact): nothing taken, the file renewed;
     * the temporary file a writer killed before its rename left goes */
    fd = open(cache_file(), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, 8), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, 8), 1);
    close(fd);
    char leftover[700], other[700];
    snprintf(leftover, sizeof leftover, "%s/refs/.%s.Ab3xYz", E.t.state_dir, DOM);
    snprintf(other, sizeof other, "%s/refs/.%s.x.Ab3xYz", E.t.state_dir, DOM); /* domain rf.x's */
    copy_file(cache_file(), leftover);
    copy_file(cache_file(), other);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 4);
    assert_int_equal(from_file, 0);
    assert_int_equal(access(leftover, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    unlink(other);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 0);

    /* a FIFO where the file should be: read as no file, the call ends */
    assert_int_equal(unlink(cache_file()), 0);
    assert_int_equal(mkfifo(cache_file(), 0600), 0);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 4);
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(parsed, 0);

    /* a larger tree: a walk that parsed fewer than one document in 64
     * leaves the file as it is (rewriting it would cost more), and the
     * next process parses that document again */
    char name[16];
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof name, "b%02d", i);
        assert_int_equal(e2e_snap(DOM, name, NULL, 0), 0);
    }
    cli_walk(revert, &parsed, &from_file, &all);
    assert_int_equal(all, 68);
    assert_int_equal(parsed, 64);
    ino_t big = cache_inode();
    assert_int_equal(e2e_snap(DOM, "late", NULL, 0), 0);
    for (int i = 0; i < 2; i++) {
        cli_walk(revert, &parsed, &from_file, &all);
        assert_int_equal(parsed, 1);
        assert_int_equal(from_file, 68);
        assert_int_equal(cache_inode(), big);
    }

    /* the file goes with the domain */
    assert_int_equal(sb_domain_undefine(E.c, DOM, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), 0);
    assert_int_equal(access(cache_file(), F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(references_file),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
