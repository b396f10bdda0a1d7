/* Unit tests of the CLI's pure parts: option parsing, virsh-identical
 * tables and trees, memspec/diskspec documents, JSON, times.  Expected
 * texts were captured from virsh 9.0 on test:///default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jobfmt.h"
#include "namesort.h"
#include "opts.h"
#include "output.h"
#include "spec.h"
#include "tree.h"
#include "xpath.h"
#include "reason.h"
#include "snapbroker/flags.h"

/* ---- capture helper -------------------------------------------------- */

typedef struct capture { char *buf; size_t len; FILE *f; } capture;

static FILE *cap_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    return c->f;
}

static void cap_check(capture *c, const char *expected)
{
    fclose(c->f);
    assert_string_equal(c->buf, expected);
    free(c->buf);
}

/* ---- options ---------------------------------------------------------- */

static const sb_optdef createas_defs[] = {
    { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED, "" },
    { "name", SB_OPT_STRING, SB_OPTF_POSITIONAL, "" },
    { "description", SB_OPT_STRING, SB_OPTF_POSITIONAL, "" },
    { "print-xml", SB_OPT_BOOL, 0, "" },
    { "memspec", SB_OPT_STRING, 0, "" },
    { "diskspec", SB_OPT_LIST, SB_OPTF_POSITIONAL, "" },
    { NULL },
};

static int parse(sb_args *a, char *err, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    va_start(ap, first);
    for (const char *w = first; w; w = va_arg(ap, const char *))
        argv[argc++] = (char *)w;
    va_end(ap);
    return sb_args_parse(a, "snapshot-create-as", createas_defs, argc, argv, err, 256);
}

static void opts_positional(void **state)
{
    sb_args a;
    char err[256];
    const char *const *l;
    (void)state;

    /* DOMAIN NAME DESC, then every further word is a diskspec (§9.12). */
    assert_int_equal(parse(&a, err, "dom", "s1", "d", "vda", "--diskspec", "vdb", "vdc",
                           "--print-xml", NULL), 0);
    assert_string_equal(sb_args_str(&a, "domain"), "dom");
    assert_string_equal(sb_args_str(&a, "name"), "s1");
    assert_string_equal(sb_args_str(&a, "description"), "d");
    assert_int_equal(sb_args_list(&a, "diskspec", &l), 3);
    assert_string_equal(l[0], "vda");
    assert_string_equal(l[1], "vdb");
    assert_string_equal(l[2], "vdc");
    assert_true(sb_args_bool(&a, "print-xml"));
    assert_null(sb_args_str(&a, "memspec"));
    sb_args_free(&a);

    /* A name given by option is skipped by bare words; --x=y works. */
    assert_int_equal(parse(&a, err, "--name=s2", "dom", "desc", "--memspec", "file=/m", NULL), 0);
    assert_string_equal(sb_args_str(&a, "name"), "s2");
    assert_string_equal(sb_args_str(&a, "description"), "desc");
    assert_string_equal(sb_args_str(&a, "memspec"), "file=/m");
    sb_args_free(&a);

    /* After "--" a word that looks like an option is data. */
    assert_int_equal(parse(&a, err, "dom", "--", "--weird", NULL), 0);
    assert_string_equal(sb_args_str(&a, "name"), "--weird");
    sb_args_free(&a);
}

static void opts_errors(void **state)
{
    sb_args a;
    char err[256];
    (void)state;

    assert_int_equal(parse(&a, err, "dom", "--bogus", NULL), -1);
    assert_string_equal(err, "command 'snapshot-create-as' doesn't support option --bogus");
    assert_int_equal(parse(&a, err, "--print-xml", NULL), -1);
    assert_string_equal(err, "command 'snapshot-create-as' requires <domain> option");
    assert_int_equal(parse(&a, err, "dom", "--memspec", NULL), -1);
    assert_string_equal(err, "expected syntax: --memspec <string>");
    assert_int_equal(parse(&a, err, "dom", "--print-xml", "--print-xml", NULL), -1);
    assert_string_equal(err, "option --print-xml already seen");
    assert_int_equal(parse(&a, err, "dom", "--name", "", NULL), -1);
    assert_string_equal(err, "Failed to get option 'name': Option argument is empty");
    assert_int_equal(parse(&a, err, "dom", "--print-xml=1", NULL), -1);
    assert_string_equal(err, "option --print-xml takes no value");
    assert_null(a.vals);
}

static void opts_unexpected_and_exclusive(void **state)
{
    static const sb_optdef defs[] = {
        { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED, "" },
        { "snapshotname", SB_OPT_STRING, SB_OPTF_POSITIONAL, "" },
        { "current", SB_OPT_BOOL, 0, "" },
        { NULL },
    };
    static const char *const excl[] = { "snapshotname", "current", NULL };
    char *argv1[] = { (char *)"dom", (char *)"s1", (char *)"extra" };
    char *argv2[] = { (char *)"dom", (char *)"s1", (char *)"--current" };
    sb_args a;
    char err[256];
    (void)state;

    assert_int_equal(sb_args_parse(&a, "snapshot-info", defs, 3, argv1, err, sizeof(err)), -1);
    assert_string_equal(err, "unexpected data 'extra'");
    assert_int_equal(sb_args_parse(&a, "snapshot-info", defs, 3, argv2, err, sizeof(err)), 0);
    assert_int_equal(sb_args_exclusive(&a, excl, err, sizeof(err)), -1);
    assert_string_equal(err, "Options --snapshotname and --current are mutually exclusive");
    sb_args_free(&a);
}

/* ---- tables ----------------------------------------------------------- */

static void table_empty_and_rows(void **state)
{
    const char *hdr[] = { "Name", "Creation Time", "State", "Parent" };
    capture c;
    (void)state;

    sb_table *t = sb_table_new(3, hdr);
    sb_table_print(t, cap_open(&c));
    cap_check(&c, " Name   Creation Time   State\n"
                  "-------------------------------\n"
                  "\n");
    sb_table_free(t);

    t = sb_table_new(4, hdr);
    const char *r1[] = { "s1", "2026-11-22 01:59:23 +0000", "running", "" };
    const char *r2[] = { "s2", "2026-11-22 01:59:23 +0000", "running", "s1" };
    sb_table_add_row(t, r1);
    sb_table_add_row(t, r2);
    sb_table_print(t, cap_open(&c));
    cap_check(&c, " Name   Creation Time               State     Parent\n"
                  "------------------------------------------------------\n"
                  " s1     2026-11-22 01:59:23 +0000   running   \n"
                  " s2     2026-11-22 01:59:23 +0000   running   s1\n"
                  "\n");
    sb_table_free(t);

    const char *lh[] = { "Id", "Name", "State" };
    const char *l1[] = { "1", "test", "running" };
    const char *l2[] = { "-", "t2", "shut off" };
    t = sb_table_new(3, lh);
    sb_table_add_row(t, l1);
    sb_table_add_row(t, l2);
    sb_table_print(t, cap_open(&c));
    cap_check(&c, " Id   Name   State\n"
                  "-----------------------\n"
                  " 1    test   running\n"
                  " -    t2     shut off\n"
                  "\n");
    sb_table_free(t);
}

static void display_width(void **state)
{
    (void)state;
    /* The CLI measures in the locale main() sets from the environment; the
     * tests name it.  C.UTF-8 is part of glibc (no locales package). */
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
    assert_int_equal(sb_display_width(""), 0);
    assert_int_equal(sb_display_width("abc"), 3);
    assert_int_equal(sb_display_width("h\xc3\xa9llo"), 5);      /* é */
    assert_int_equal(sb_display_width("\xe2\x82\xac"), 1);       /* € */
    assert_int_equal(sb_display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本: 2 each */
    assert_int_equal(sb_display_width("\xf0\x9f\x98\x80x"), 3); /* 😀 is 2, x 1 */
    assert_int_equal(sb_display_width("e\xcc\x81"), 1);          /* e + combining acute */
    assert_int_equal(sb_display_width("\xff" "a"), 2);           /* invalid byte */
    assert_int_equal(sb_display_width("\xe6\x97" "a"), 3);       /* cut sequence: a byte each */
    assert_int_equal(sb_display_width("a\x01"), 2);              /* non-printable: one */
    /* In an ASCII locale nothing above 0x7f is a character: a byte each. */
    assert_non_null(setlocale(LC_CTYPE, "C"));
    assert_int_equal(sb_display_width("\xe6\x97\xa5"), 3);
    assert_int_equal(sb_display_width("abc"), 3);
}

/* A table with CJK and emoji names lines up in a UTF-8 locale, as virsh
 * 9.0's does (bytes copied from `virsh snapshot-list test --parent` on
 * test:///default under LC_ALL=C.UTF-8). */
static void table_wide_chars(void **state)
{
    capture c;
    (void)state;
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
    const char *hdr[] = { "Name", "Creation Time", "State", "Parent" };
    sb_table *t = sb_table_new(4, hdr);
    const char *r1[] = { "abc", "2026-12-03 07:32:32 +0000", "running", "\xf0\x9f\x98\x80x" };
    const char *r2[] = { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "2026-12-03 07:32:32 +0000",
                         "running", "" };
    const char *r3[] = { "\xf0\x9f\x98\x80x", "2026-12-03 07:32:32 +0000", "running",
                         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" };
    assert_int_equal(sb_table_add_row(t, r1), 0);
    assert_int_equal(sb_table_add_row(t, r2), 0);
    assert_int_equal(sb_table_add_row(t, r3), 0);
    sb_table_print(t, cap_open(&c));
    cap_check(&c,
        " Name     Creation Time               State     Parent\n"
        "--------------------------------------------------------\n"
        " abc      2026-12-03 07:32:32 +0000   running   \xf0\x9f\x98\x80x\n"
        " \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e   2026-12-03 07:32:32 +0000   running   \n"
        " \xf0\x9f\x98\x80x      2026-12-03 07:32:32 +0000   running   "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n"
        "\n");
    sb_table_free(t);
    setlocale(LC_CTYPE, "C");
}

/* ---- trees ------------------------------------------------------------ */

static void tree_print(capture *c, size_t n, const char *const *names,
                       const char *const *parents, const char *root)
{
    assert_int_equal(sb_tree_print(cap_open(c), n, names, parents, root), 0);
}

static void tree_virsh_shapes(void **state)
{
    capture c;
    (void)state;

    /* Empty listing: just the final empty line. */
    tree_print(&c, 0, NULL, NULL, NULL);
    cap_check(&c, "\n");

    /* One childless root. */
    const char *n1[] = { "s1" }, *p1[] = { NULL };
    tree_print(&c, 1, n1, p1, NULL);
    cap_check(&c, "s1\n\n\n");

    /* Nested branches, names in display order (virsh capture). */
    const char *n2[] = { "a3", "B0", "b1", "s1", "s2" };
    const char *p2[] = { "B0", "b1", "s1", NULL, "s1" };
    tree_print(&c, 5, n2, p2, NULL);
    cap_check(&c, "s1\n"
                  "  |\n"
                  "  +- b1\n"
                  "  |   |\n"
                  "  |   +- B0\n"
                  "  |       |\n"
                  "  |       +- a3\n"
                  "  |         \n"
                  "  +- s2\n"
                  "    \n"
                  "\n");

    /* Two roots: a childless one and one with a child. */
    const char *n3[] = { "c1", "r1", "r2" }, *p3[] = { "r2", NULL, NULL };
    tree_print(&c, 3, n3, p3, NULL);
    cap_check(&c, "r1\n\nr2\n  |\n  +- c1\n    \n\n");

    /* A root with children first, then another root. */
    const char *n4[] = { "1795312812", "c1", "r1", "r2" };
    const char *p4[] = { "r1", "r2", NULL, NULL };
    tree_print(&c, 4, n4, p4, NULL);
    cap_check(&c, "r1\n  |\n  +- 1795312812\n    \nr2\n  |\n  +- c1\n    \n\n");
}

static void tree_from_root(void **state)
{
    capture c;
    (void)state;

    /* --from s1 --tree without --descendants: direct children only. */
    const char *n1[] = { "b1", "s2" }, *p1[] = { "s1", "s1" };
    tree_print(&c, 2, n1, p1, "s1");
    cap_check(&c, "s1\n  |\n  +- b1\n  +- s2\n    \n\n");

    /* --current --tree on a leaf. */
    tree_print(&c, 0, NULL, NULL, "a3");
    cap_check(&c, "a3\n\n\n");

    /* An entry whose parent was filtered out is not drawn. */
    const char *n2[] = { "x", "y" }, *p2[] = { "gone", NULL };
    tree_print(&c, 2, n2, p2, NULL);
    cap_check(&c, "y\n\n\n");
}

/* ---- memspec / diskspec ------------------------------------------------- */

static void createas_ok(const char *name, const char *desc, const char *mem,
                        const char *const *disks, size_t n, const char *expected)
{
    char err[256], *xml = NULL;
    assert_int_equal(sb_createas_xml(&xml, name, desc, mem, disks, n, err, sizeof(err)), 0);
    assert_string_equal(xml, expected);
    free(xml);
}

static void createas_err(const char *mem, const char *const *disks, size_t n, const char *prefix)
{
    char err[256], *xml = NULL;
    assert_int_equal(sb_createas_xml(&xml, "zz", NULL, mem, disks, n, err, sizeof(err)), -1);
    assert_null(xml);
    assert_memory_equal(err, prefix, strlen(prefix));
}

static void spec_documents(void **state)
{
    (void)state;
    createas_ok(NULL, NULL, NULL, NULL, 0, "<domainsnapshot>\n</domainsnapshot>\n");
    createas_ok("n&'<", "a&b<c>'\"", NULL, NULL, 0,
                "<domainsnapshot>\n  <name>n&amp;&apos;&lt;</name>\n"
                "  <description>a&amp;b&lt;c&gt;&apos;&quot;</description>\n</domainsnapshot>\n");

    const char *d1[] = { "vda,file=/a&b'c,snapshot=external,stype=block,driver=qcow2" };
    createas_ok("zz", NULL, "snapshot=external,file=/m&'", d1, 1,
                "<domainsnapshot>\n  <name>zz</name>\n"
                "  <memory snapshot='external' file='/m&amp;&apos;'/>\n"
                "  <disks>\n    <disk name='vda' snapshot='external' type='block'>\n"
                "      <driver type='qcow2'/>\n      <source dev='/a&amp;b&apos;c'/>\n"
                "    </disk>\n  </disks>\n</domainsnapshot>\n");

    const char *d2[] = { "vda,snapshot=external,file=/x,,y", "vdb", "vdc,stype=file" };
    createas_ok("s1", "a b", "/m", d2, 3,
                "<domainsnapshot>\n  <name>s1</name>\n  <description>a b</description>\n"
                "  <memory file='/m'/>\n  <disks>\n"
                "    <disk name='vda' snapshot='external'>\n      <source file='/x,y'/>\n    </disk>\n"
                "    <disk name='vdb'/>\n    <disk name='vdc' type='file'/>\n"
                "  </disks>\n</domainsnapshot>\n");

    createas_ok("zz", NULL, "file=/a,,b,snapshot=external", NULL, 0,
                "<domainsnapshot>\n  <name>zz</name>\n"
                "  <memory snapshot='external' file='/a,b'/>\n</domainsnapshot>\n");
    createas_ok("zz", NULL, "snapshot=no,/a", NULL, 0,
                "<domainsnapshot>\n  <name>zz</name>\n"
                "  <memory snapshot='no' file='/a'/>\n</domainsnapshot>\n");
}

static void spec_errors(void **state)
{
    (void)state;
    createas_err(",", NULL, 0, "unable to parse memspec: ,");
    createas_err("foo=bar", NULL, 0, "unable to parse memspec: foo=bar");
    createas_err("file=/a,file=/b", NULL, 0, "unable to parse memspec: file=/a,file=/b");
    createas_err("/a,/b", NULL, 0, "unable to parse memspec: /a,/b");
    const char *d1[] = { "vda,bogus=1" };
    createas_err(NULL, d1, 1, "unable to parse diskspec: vda,bogus=1");
    const char *d2[] = { "vda,driver=qcow2,driver=raw" };
    createas_err(NULL, d2, 1, "unable to parse diskspec: vda,driver=qcow2,driver=raw");
    const char *d3[] = { "vda,stype=network" };
    createas_err(NULL, d3, 1, "unable to parse diskspec: vda,stype=network");
    const char *d4[] = { "vda,/a" };
    createas_err(NULL, d4, 1, "unable to parse diskspec: vda,/a");
    const char *d5[] = { "" };
    createas_err(NULL, d5, 1, "unable to parse diskspec: ");
}

static void spec_split(void **state)
{
    char **t;
    size_t n;
    (void)state;

    assert_int_equal(sb_spec_split(&t, &n, "a,,b,,,c,"), 0);
    assert_int_equal(n, 3);
    assert_string_equal(t[0], "a,b,");
    assert_string_equal(t[1], "c");
    assert_string_equal(t[2], "");
    sb_spec_free(t, n);
}

/* ---- JSON and time ------------------------------------------------------ */

static void json_writer(void **state)
{
    capture c;
    sb_jdoc d;
    (void)state;

    json_object *root = sb_jdoc_init(&d, 0);
    sb_jdoc_str(&d, root, "s", "q\"b\\n\nt\x01\xc3\xa9/x");
    sb_jdoc_null(&d, root, "p");
    json_object *a = sb_jdoc_array(&d, root, "a");
    sb_jdoc_int(&d, a, NULL, -5);
    sb_jdoc_bool(&d, a, NULL, 1);
    sb_jdoc_object(&d, a, NULL);
    sb_jdoc_uint(&d, a, NULL, 18446744073709551615ULL);
    sb_jdoc_str(&d, root, "n", NULL);
    assert_int_equal(sb_jdoc_print(&d, cap_open(&c)), 0);
    assert_null(d.root);
    /* compact, keys in the order added, '/' and UTF-8 as they are */
    const char *want = "{\"s\":\"q\\\"b\\\\n\\nt\\u0001\xc3\xa9/x\",\"p\":null,"
                       "\"a\":[-5,true,{},18446744073709551615],\"n\":null}\n";
    cap_check(&c, want);

    /* and json-c reads back what was written */
    json_object *back = json_tokener_parse(want), *v;
    assert_non_null(back);
    assert_true(json_object_object_get_ex(back, "s", &v));
    assert_string_equal(json_object_get_string(v), "q\"b\\n\nt\x01\xc3\xa9/x");
    assert_true(json_object_object_get_ex(back, "p", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(back, "a", &v));
    assert_int_equal(json_object_array_length(v), 4);
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(v, 0)), -5);
    assert_true(json_object_get_uint64(json_object_array_get_idx(v, 3)) == 18446744073709551615ULL);
    json_object_put(back);
}

/* A member that cannot be added (no parent: an allocation that failed;
 * a key in an array) spoils the document: nothing is printed. */
static void json_writer_failure(void **state)
{
    capture c;
    sb_jdoc d;
    char *text;
    (void)state;

    json_object *root = sb_jdoc_init(&d, 0);
    sb_jdoc_str(&d, root, "ok", "yes");
    sb_jdoc_str(&d, sb_jdoc_object(&d, NULL, "lost"), "x", "y");
    assert_int_equal(sb_jdoc_print(&d, cap_open(&c)), -1);
    cap_check(&c, "");

    json_object *list = sb_jdoc_array(&d, sb_jdoc_init(&d, 0), "list");
    sb_jdoc_int(&d, list, "key-in-array", 1);
    assert_null(sb_jdoc_text(&d));

    json_object *arr = sb_jdoc_init(&d, 1);
    sb_jdoc_str(&d, arr, NULL, "a");
    sb_jdoc_add(&d, arr, NULL, json_object_new_int(2));
    assert_non_null(text = sb_jdoc_text(&d));
    assert_string_equal(text, "[\"a\",2]\n");
    free(text);
}

static void time_format(void **state)
{
    char buf[64];
    (void)state;

    setenv("TZ", "UTC", 1);
    tzset();
    assert_string_equal(sb_format_time(buf, sizeof(buf), 1795312763), "2026-11-22 01:59:23 +0000");
    setenv("TZ", "EST5", 1);
    tzset();
    assert_string_equal(sb_format_time(buf, sizeof(buf), 0), "1969-12-31 19:00:00 -0500");
}

/* ---- --xpath / --wrap (virsh 9.0's output for the same document) ---- */

static const char xp_doc[] =
    "<domainsnapshot>\n  <name>s1</name>\n  <memory snapshot='internal'/>\n"
    "  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n"
    "  <domain type='test'>\n    <name>test</name>\n    <uuid>u-1</uuid>\n  </domain>\n"
    "</domainsnapshot>\n";

static void xp_ok(const char *expr, int wrap, const char *expected)
{
    char err[256] = "", *out = NULL;
    assert_int_equal(sb_xpath_format(&out, xp_doc, expr, wrap, err, sizeof(err)), 0);
    assert_string_equal(out, expected);
    free(out);
}

static void xp_fails(const char *expr, const char *expected_err)
{
    char err[256] = "", *out = NULL;
    assert_int_equal(sb_xpath_format(&out, xp_doc, expr, 0, err, sizeof(err)), -1);
    assert_null(out);
    assert_string_equal(err, expected_err);
}

static void xpath_filter(void **state)
{
    (void)state;
    xp_ok("//name", 0, "<name>s1</name>\n<name>test</name>\n");
    xp_ok("//name", 1, "<nodes>\n  <name>s1</name>\n  <name>test</name>\n</nodes>\n");
    xp_ok("//disks", 0, "<disks>\n  <disk name=\"vda\" snapshot=\"internal\"/>\n</disks>\n");
    xp_ok("//nosuch", 0, "");
    xp_ok("//nosuch", 1, "<nodes/>\n");
    xp_ok("//disk/@name", 0, " name=\"vda\"\n");
    xp_ok("//disk/@name|//memory/@snapshot", 1, "<nodes snapshot=\"internal\" name=\"vda\"/>\n");
    xp_ok("//uuid/text()", 0, "u-1\n");
    xp_ok("//uuid/text()", 1, "<nodes>u-1</nodes>\n");
    xp_fails("count(//disk)", "Incorrect xpath 'count(//disk)': the result is not a set of nodes");
    xp_fails("///bad[", "Invalid xpath '///bad[': Invalid expression");

    char err[256] = "", *out = NULL;
    assert_int_equal(sb_xpath_format(&out, "<a>", "//a", 0, err, sizeof(err)), -1);
    assert_null(out);
    assert_non_null(strstr(err, "cannot parse the XML to filter"));
}

/* ---- domstate --reason words (virsh 9.0's) ---------------------------- */

static void state_reasons(void **state)
{
    (void)state;
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_RUNNING, 1), "booted");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_RUNNING, 4), "from snapshot");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_PAUSED, 1), "user");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_PAUSED, 5), "I/O error");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_PAUSED, 14), "api error");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_SHUTDOWN, 1), "user");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_SHUTOFF, 2), "destroyed");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_SHUTOFF, 8), "daemon");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_CRASHED, 1), "panicked");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_PMSUSPENDED, 0), "unknown");
    /* 0, a value past the table (a newer hypervisor's) and a negative one */
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_RUNNING, 0), "unknown");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_SHUTOFF, 99), "unknown");
    assert_string_equal(sb_state_reason_name(SB_DOMAIN_PAUSED, -1), "unknown");
    assert_string_equal(sb_state_reason_name(42, 1), "unknown");
}

/* ---- snapshot-list's order (namesort.c) ------------------------------ */

typedef struct ref_row {
    const char *name;
    size_t pos;
} ref_row;

/* What the listing sorted with before: strcasecmp on every comparison,
 * the given order among names equal but for case. */
static int ref_cmp(const void *a, const void *b)
{
    const ref_row *x = a, *y = b;
    int r = strcasecmp(x->name, y->name);
    return r ? r : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

static void check_order(const char *const *names, size_t n)
{
    ref_row *ref = malloc((n ? n : 1) * sizeof(*ref));
    size_t *order = NULL;
    for (size_t i = 0; i < n; i++)
        ref[i] = (ref_row){ names[i], i };
    qsort(ref, n, sizeof(*ref), ref_cmp);
    assert_int_equal(cli_names_order(names, n, &order), 0);
    for (size_t i = 0; i < n; i++)
        if (order[i] != ref[i].pos)
            fail_msg("place %zu: '%s' (%zu), expected '%s' (%zu)", i, names[order[i]],
                     order[i], ref[i].name, ref[i].pos);
    free(order);
    free(ref);
}

static void names_order(void **state)
{
    (void)state;
    /* case, the 8-byte boundary (7, 8 and 9 bytes, equal first 8), equal
     * but for case (given order kept), non-ASCII bytes, punctuation */
    static const char *const fixed[] = {
        "snap-10", "Snap-1", "snapshot", "SNAPSHOT", "snapshot1", "Snapshot0", "snapsho",
        "snapshot-b", "snapshot-A", "s\xc3\xa9", "s\xc3\x89", "sZ", "s_", "s-", "s.", "a", "B",
        "snapshot", "~x", "0", "SNAPSHOT-a",
    };
    check_order(fixed, sizeof(fixed) / sizeof(fixed[0]));
    check_order(NULL, 0);
    /* one, two, three names; empty names (every byte of the key the same:
     * no radix pass at all) */
    static const char *const bac[] = { "b", "a", "c" };
    static const char *const one[] = { "x" };
    static const char *const empty1[] = { "" };
    static const char *const empty2[] = { "", "" };
    static const char *const mixed[] = { "b", "", "B", "" };
    check_order(bac, 3);
    check_order(one, 1);
    check_order(empty1, 1);
    check_order(empty2, 2);
    check_order(mixed, 4);
    /* s0 ... s99999: the first byte is shared (skipped), five bytes
     * differ, an odd number of passes, so the result ends in the second
     * half of the scratch keys */
    enum { NS = 100000 };
    char (*sbuf)[8] = malloc(NS * sizeof(*sbuf));
    const char **sv = malloc(NS * sizeof(*sv));
    for (size_t i = 0; i < NS; i++) {
        snprintf(sbuf[i], sizeof sbuf[i], "s%zu", (i * 7919) % NS);
        sv[i] = sbuf[i];
    }
    check_order(sv, NS);
    free(sv);
    free(sbuf);
    /* random names over an alphabet that makes long shared prefixes */
    static const char alpha[] = "sSnN-_.0129\xc3\xa9";
    enum { N = 3000 };
    char (*buf)[24] = malloc(N * sizeof(*buf));
    const char **v = malloc(N * sizeof(*v));
    unsigned seed = 12345;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 16) % 20;
        for (size_t j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[i][j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        buf[i][len] = '\0';
        v[i] = buf[i];
    }
    check_order(v, N);
    free(v);
    free(buf);
}

/* domjobinfo's text, as virsh prints it (columns %-17s %-12s, the
 * capacities of vshPrettyCapacity). */
static void jobinfo_text(void **state)
{
    (void)state;
    char buf[1024];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    sb_domain_job none = { 0 };
    cli_print_job(f, &none);
    fclose(f);
    assert_string_equal(buf, "Job type:         None        \n");

    sb_domain_job j = { .active = 1, .operation = "active-block-commit", .snapshot = "s1",
                        .processed = 3 * 1048576ULL, .total = 8 * 1048576ULL,
                        .elapsed_ms = 1523 };
    f = fmemopen(buf, sizeof(buf), "w");
    cli_print_job(f, &j);
    fclose(f);
    assert_string_equal(buf, "Job type:         Unbounded   \n"
                             "Operation:        Active Block Commit\n"
                             "Time elapsed:     1523         ms\n"
                             "Data processed:   3.000 MiB\n"
                             "Data remaining:   5.000 MiB\n"
                             "Data total:       8.000 MiB\n");
    /* nothing known about the data: no data lines */
    sb_domain_job k = { .active = 1, .operation = "snapshot-delete", .elapsed_ms = 7 };
    f = fmemopen(buf, sizeof(buf), "w");
    cli_print_job(f, &k);
    fclose(f);
    assert_string_equal(buf, "Job type:         Unbounded   \n"
                             "Operation:        Snapshot delete\n"
                             "Time elapsed:     7            ms\n");
    assert_string_equal(cli_job_operation_name("frobnicate"), "frobnicate");
    const char *unit;
    assert_true(cli_pretty_capacity(1023, &unit) == 1023.0);
    assert_string_equal(unit, "B");
    assert_true(cli_pretty_capacity(1536, &unit) == 1.5);
    assert_string_equal(unit, "KiB");
    assert_true(cli_pretty_capacity(5ULL << 40, &unit) == 5.0);
    assert_string_equal(unit, "TiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jobinfo_text),
        cmocka_unit_test(names_order),
        cmocka_unit_test(opts_positional),
        cmocka_unit_test(opts_errors),
        cmocka_unit_test(opts_unexpected_and_exclusive),
        cmocka_unit_test(table_empty_and_rows),
        cmocka_unit_test(display_width),
        cmocka_unit_test(table_wide_chars),
        cmocka_unit_test(tree_virsh_shapes),
        cmocka_unit_test(tree_from_root),
        cmocka_unit_test(spec_documents),
        cmocka_unit_test(spec_errors),
        cmocka_unit_test(spec_split),
        cmocka_unit_test(json_writer),
        cmocka_unit_test(json_writer_failure),
        cmocka_unit_test(time_format),
        cmocka_unit_test(xpath_filter),
        cmocka_unit_test(state_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
