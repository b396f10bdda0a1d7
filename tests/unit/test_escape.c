/* Control characters in messages (sb_escape_controls, errors.h).
 *
 * The attack: a domain name containing "\nerror: X" made the CLI print a
 * second, forged error line; an ESC sequence in a name reached the
 * terminal.  Every message the library makes (errors, log lines) and every
 * one the CLI prints is escaped, once, where it is set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "plugin/log.h"
#include "sb_config.h"
#include "test_rm_tree.h"

static const char *esc(const char *in, size_t size)
{
    static char out[512];
    return sb_escape_controls(out, size, in);
}

static void escapes(void **state)
{
    (void)state;
    assert_string_equal(esc("a\nerror: X", 512), "a\\nerror: X");
    assert_string_equal(esc("t\tr\r", 512), "t\\tr\\r");
    assert_string_equal(esc("\x1b[31mred\x7f", 512), "\\x1B[31mred\\x7F");
    /* UTF-8 stays; C1 controls (U+0080..U+009F) and non-UTF-8 bytes go */
    assert_string_equal(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 512),
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_string_equal(esc("\xc2\x9b" "1m", 512), "\\xC2\\x9B1m");
    assert_string_equal(esc("\xff\xc3(\xe0\x80\xaf\xed\xa0\x80", 512),
                        "\\xFF\\xC3(\\xE0\\x80\\xAF\\xED\\xA0\\x80");
    /* backslashes are kept: escaping twice changes nothing */
    char once[64], twice[64];
    sb_escape_controls(once, sizeof(once), "a\\n\nb");
    assert_string_equal(once, "a\\n\\nb");
    assert_string_equal(sb_escape_controls(twice, sizeof(twice), once), once);
    /* truncation never splits an escape or a character */
    assert_string_equal(esc("ab\n", 4), "ab");
    assert_string_equal(esc("a\xc3\xa9", 3), "a");
    assert_string_equal(esc("", 512), "");
}

static char last_line[512];
static void keep_line(void *data, int level, const char *origin, const char *msg)
{
    (void)data;
    (void)level;
    (void)origin;
    snprintf(last_line, sizeof(last_line), "%s", msg);
}

static void errors_and_logs_are_escaped(void **state)
{
    (void)state;
    sb_error_set(SB_ERR_NO_DOMAIN, "no domain '%s'", "x\nerror: X");
    assert_string_equal(sb_error_last()->message, "no domain 'x\\nerror: X'");
    sb_error_prefix("host '%s'", "h\r");
    assert_string_equal(sb_error_last()->message, "host 'h\\r': no domain 'x\\nerror: X'");
    sb_error_set_errno(SB_ERR_SYSTEM_ERROR, 2, "cannot open '%s'", "/a\n");
    assert_non_null(strstr(sb_error_last()->message, "cannot open '/a\\n': "));

    sb_log_ring_drain(NULL, NULL);
    sb_log_write(SB_LOG_ERROR, "test", "domain '%s'", "d\n\x1b[2J");
    last_line[0] = '\0';
    assert_int_equal(sb_log_ring_drain(keep_line, NULL), 1);
    assert_string_equal(last_line, "domain 'd\\n\\x1B[2J'");
}

/* The CLI end to end: stderr is exactly one line for a library error that
 * names the domain, and for the CLI's own error that echoes an argument. */
static void cli_prints_one_line(void **state)
{
    (void)state;
    char state_dir[] = "/tmp/sb-escape-XXXXXX";
    assert_non_null(mkdtemp(state_dir));
    const char *cases[][3] = {
        {"snapshot-list", "x\nerror: X", "no domain with matching name 'x\\nerror: X'"},
        {"x\nerror: X", NULL, "unknown command: 'x\\nerror: X'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dup2(fds[1], STDERR_FILENO);
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            setenv("SNAPBROKER_STATE_DIR", state_dir, 1);
            execl(SB_BUILD_ROOT "/broker/cli/snapbroker", "snapbroker", "-c", "ref:///default",
                  cases[i][0], cases[i][1], (char *)NULL);
            _exit(127);
        }
        close(fds[1]);
        char out[4096] = "";
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(out) - 1 && (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
            len += (size_t)n;
        out[len] = '\0';
        close(fds[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        if (!strstr(out, cases[i][2]) || strchr(out, '\n') != out + len - 1)
            fail_msg("output \"%s\" is not one line with \"%s\"", out, cases[i][2]);
    }
    rm_rf(state_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes),
        cmocka_unit_test(errors_and_logs_are_escaped),
        cmocka_unit_test(cli_prints_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
