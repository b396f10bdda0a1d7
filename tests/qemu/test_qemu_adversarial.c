/* tests/qemu - hostile input the qemu plugin must refuse without touching
 * anything (issue 8, the plugin's part): URIs it does not implement, a
 * DOCTYPE in a domain definition, planted symlinks and wide permissions in
 * its state, out-of-range configuration values, a redefined <domain> no
 * host could run, and memory state files that are not plain new files.
 * Each case failed before its fix; docs/reliability.md lists them.
 *
 * Real QEMU and qemu-img, through the public API (e2e.h) and the CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "e2e.h"

/* ---- 8. URIs the plugin does not implement ----------------------------- */

static void uris_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "qemu:///sytem",                      /* a typo: used to make a new host */
        "qemu+ssh://kvm2.example.com/system", /* used to act on this machine */
        "qemu://kvm2.example.com/system",
        "qemu:///session?socket=/tmp/x",
        "qemu:///session/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sb_connection *c = NULL;
        int r = sb_connect(&c, E.b, bad[i], 0);
        print_message("# %s: %s\n", bad[i], r < 0 ? e2e_err() : "accepted");
        assert_int_equal(r, -SB_ERR_INVALID_ARG);
        assert_null(c);
        assert_non_null(strstr(e2e_err(), bad[i]));
    }
    /* nothing was created for the typo's host */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/hosts/qemu_sytem", E.state);
    assert_false(qp_file_exists(dir));
    /* the ones it implements */
    sb_connection *c = NULL;
    assert_int_equal(sb_connect(&c, E.b, "qemu:///session", 0), 0);
    sb_disconnect(c);
    c = NULL;
    int r = sb_connect(&c, E.b, "qemu:///system", 0);
    if (geteuid() == 0) {
        assert_int_equal(r, 0);
        sb_disconnect(c);
    } else {
        assert_int_equal(r, -SB_ERR_OPERATION_DENIED);
    }
}

/* ---- 10. DOCTYPE ----------------------------------------------------------- */

static const char *const doctype_domain =
    "<!DOCTYPE domain [<!ENTITY x 'kvm'>]>"
    "<domain type='kvm'><name>dt</name><memory unit='MiB'>64</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><description>&x;</description>"
    "</domain>";

static void define_with_doctype(void **state)
{
    (void)state;
    char *name = NULL;
    int r = sb_domain_define(&name, E.c, doctype_domain);
    print_message("# %s\n", r < 0 ? e2e_err() : "accepted");
    assert_int_equal(r, -SB_ERR_XML_ERROR);
    assert_non_null(strstr(e2e_err(), "DOCTYPE"));
    assert_null(name);
    char *xml = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "dt", 0), -SB_ERR_NO_DOMAIN);
    /* the plugin's own check (no broker behind it) refuses it too */
    qp_domain *d = NULL;
    assert_int_equal(qp_domain_parse(&E.t, doctype_domain, &d), -SB_ERR_XML_ERROR);
    assert_null(d);
}

/* ---- 7 (the plugin's files). permissions and planted symlinks ------------ */

/* Every file and directory the plugin keeps under its state dir is 0600 /
 * 0700 (docs/store.md); sockets are QEMU's (their directory is 0700). */
static int count_wide(const char *dir)
{
    int bad = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && (st.st_mode & 077)) {
            print_message("# %s has mode %04o\n", path, (unsigned)(st.st_mode & 07777));
            bad++;
        }
        if (S_ISDIR(st.st_mode))
            bad += count_wide(path);
    }
    closedir(d);
    return bad;
}

static void state_files_private(void **state)
{
    (void)state;
    e2e_define("pm");
    assert_int_equal(e2e_snap("pm", "p1", NULL, 0), 0);
    assert_int_equal(sb_domain_start(E.c, "pm", 0), 0);
    assert_int_equal(e2e_snap("pm", "p2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(count_wide(E.t.state_dir), 0);
    e2e_stop("pm");
}

/* A symlink planted where the plugin writes its temporary definition file
 * (predictable: <name>.xml.tmp.<pid>) must not make it write through the
 * link: the victim keeps its contents. */
static void planted_temp_symlink(void **state)
{
    (void)state;
    const char *victim = e2e_path("victim.txt");
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    assert_int_equal(fclose(f), 0);
    char link[600], dir[520];
    snprintf(dir, sizeof dir, "%s/domains", E.t.state_dir);
    assert_int_equal(qp_mkdir_p(dir, 0700), 0);
    snprintf(link, sizeof link, "%s/sl.xml.tmp.%ld", dir, (long)getpid());
    assert_int_equal(symlink(victim, link), 0);
    e2e_define("sl");
    char *text = NULL;
    assert_int_equal(qp_read_file(&E.t, victim, &text, NULL), 0);
    assert_string_equal(text, "precious\n");
    free(text);
    struct stat st;
    char stored[600];
    snprintf(stored, sizeof stored, "%s/sl.xml", dir);
    assert_int_equal(lstat(stored, &st), 0);
    assert_true(S_ISREG(st.st_mode)); /* the definition itself, not the link */
}

/* ---- 14. configuration values ---------------------------------------------- */

static void connect_with(const char *conf, int want, const char *key)
{
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    int r = sb_broker_new(&b, conf);
    if (r == 0)
        r = sb_connect(&c, b, NULL, 0);
    print_message("# %s\n", r < 0 ? e2e_err() : "accepted");
    assert_int_equal(r, want);
    /* the message names the key and where it is: FILE:LINE */
    char where[600];
    snprintf(where, sizeof where, "%s:3:", conf);
    assert_non_null(strstr(e2e_err(), key));
    assert_non_null(strstr(e2e_err(), where));
    sb_disconnect(c);
    sb_broker_free(b);
}

static void refused_setting(const char *file, const char *setting, const char *key)
{
    char conf[400];
    assert_int_equal(e2e_write_conf(conf, sizeof conf, file, setting), 0);
    connect_with(conf, -SB_ERR_CONFIG, key);
}

static void config_values_refused(void **state)
{
    (void)state;
    refused_setting("neg.conf", "job_timeout_ms = -5;", "job_timeout_ms");
    refused_setting("zero.conf", "start_timeout_ms = 0;", "start_timeout_ms");
    refused_setting("big.conf", "shutdown_timeout_ms = 2147483648L;", "shutdown_timeout_ms");
    refused_setting("type.conf", "job_timeout_ms = \"soon\";", "job_timeout_ms");
}

/* ---- 14. a redefined <domain> no host could run -------------------------- */

/* The domain's own XML with `from` replaced by `to` (first occurrence;
 * `from` is written with single quotes and matches either quote). */
static char *domain_with(const char *dom, const char *from, const char *to)
{
    char *xml = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, dom, 0), 0);
    for (char *q = xml; *q; q++)
        if (*q == '"')
            *q = '\'';
    char *at = strstr(xml, from);
    assert_non_null(at);
    char *out = qp_printf("%.*s%s%s", (int)(at - xml), xml, to, at + strlen(from));
    free(xml);
    return out;
}

static int redefine_with(const char *dom, const char *name, const char *domxml)
{
    char *x = qp_printf("<domainsnapshot><name>%s</name><state>shutoff</state>"
                        "<creationTime>1700000000</creationTime>%s</domainsnapshot>",
                        name, domxml);
    int r = sb_snapshot_create_xml(NULL, E.c, dom, x, SB_SNAPSHOT_CREATE_REDEFINE);
    print_message("# redefine %s: %s\n", name, r < 0 ? e2e_err() : "accepted");
    free(x);
    return r;
}

static void redefine_unusable_domain(void **state)
{
    (void)state;
    e2e_define("rv");
    char *test_type = domain_with("rv", "type='kvm'", "type='test'");
    assert_int_equal(redefine_with("rv", "t1", test_type), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(e2e_err(), "type='test'"));
    assert_false(e2e_in_tree("rv", "t1"));
    char *pci = domain_with("rv", "<target dev='vdb' bus='virtio'/>",
                            "<target dev='vdb' bus='virtio'/>"
                            "<address type='pci' domain='0x0000' bus='0x00' slot='0x40' "
                            "function='0x0'/>");
    assert_int_equal(redefine_with("rv", "t2", pci), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(e2e_err(), "slot"));
    assert_false(e2e_in_tree("rv", "t2"));
    /* define makes the same checks (one code path) */
    char *name = NULL;
    assert_int_equal(sb_domain_define(&name, E.c, pci), -SB_ERR_XML_ERROR);
    assert_int_equal(sb_domain_define(&name, E.c, test_type), -SB_ERR_CONFIG_UNSUPPORTED);
    /* a valid address is fine, and so is the domain as it is */
    char *ok = domain_with("rv", "<target dev='vdb' bus='virtio'/>",
                           "<target dev='vdb' bus='virtio'/>"
                           "<address type='pci' domain='0x0000' bus='0x00' slot='0x1f' "
                           "function='0x7'/>");
    assert_int_equal(redefine_with("rv", "t3", ok), 0);
    /* the connection remembers only what the plugin accepted: the same
     * unusable <domain> after an accepted one is refused again, the
     * accepted one (asked no more) still goes in */
    assert_int_equal(redefine_with("rv", "t4", pci), -SB_ERR_XML_ERROR);
    assert_non_null(strstr(e2e_err(), "slot"));
    assert_false(e2e_in_tree("rv", "t4"));
    assert_int_equal(redefine_with("rv", "t5", ok), 0);
    assert_int_equal(redefine_with("rv", "t6", test_type), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_false(e2e_in_tree("rv", "t6"));
    free(test_type);
    free(pci);
    free(ok);
}

/* domain_get_xml keeps the last file it parsed on the connection: a
 * definition changed since (here by define on the same connection, then
 * by a write to the file itself, as another process's define would leave
 * it) is what the next call answers, down to one byte of the same
 * size. */
static void changed_definition_seen(void **state)
{
    (void)state;
    e2e_define("cd");
    char *xml = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "cd", 0), 0);
    assert_non_null(strstr(xml, "<vcpu>1</vcpu>"));
    free(xml);
    char *more = domain_with("cd", "<vcpu>1</vcpu>", "<vcpu>2</vcpu>"), *name = NULL;
    assert_int_equal(sb_domain_define(&name, E.c, more), 0);
    free(name);
    free(more);
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "cd", 0), 0);
    assert_non_null(strstr(xml, "<vcpu>2</vcpu>"));
    free(xml);

    char file[1024];
    snprintf(file, sizeof file, "%s/hosts/%s/plugin-qemu/domains/cd.xml", E.state,
             sb_connection_host(E.c));
    char *text = NULL;
    assert_int_equal(qp_read_file(&E.t, file, &text, NULL), 0);
    char *at = strstr(text, "<vcpu>2</vcpu>");
    assert_non_null(at);
    at[6] = '3'; /* the same size */
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    free(text);
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "cd", 0), 0);
    assert_non_null(strstr(xml, "<vcpu>3</vcpu>"));
    free(xml);
}

/* ---- 6. a redefined snapshot naming images the domain does not use ------ */

/* An internal snapshot 'base' redefined with a <domain> whose vda is
 * another image that happens to hold a 'base' tag: deleting or reverting
 * to it used to remove or apply that image's tag. */
static void redefined_foreign_image(void **state)
{
    (void)state;
    e2e_define("fi");
    const char *other = e2e_path("other.qcow2");
    assert_int_equal(qp_img_create(&E.t, other, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_snapshot_create(&E.t, other, "base"), 0);
    /* vdb (the domain's own) holds the tag too, so only vda is foreign */
    const char *vdb = e2e_path("fi-vdb.qcow2");
    assert_int_equal(qp_img_snapshot_create(&E.t, vdb, "base"), 0);
    char *dom = domain_with("fi", e2e_path("fi-vda.qcow2"), other);
    assert_int_equal(redefine_with("fi", "base", dom), 0);
    free(dom);
    int r = e2e_revert("fi", "base", 0);
    print_message("# revert: %s\n", r < 0 ? e2e_err() : "done");
    assert_int_equal(r, -SB_ERR_OPERATION_UNSUPPORTED);
    assert_non_null(strstr(e2e_err(), other));
    r = e2e_del("fi", "base", 0);
    print_message("# delete: %s\n", r < 0 ? e2e_err() : "done");
    assert_int_equal(r, -SB_ERR_OPERATION_UNSUPPORTED);
    assert_int_equal(e2e_has_tag(other, "base"), 1); /* untouched */
    assert_int_equal(e2e_has_tag(vdb, "base"), 1);  /* nothing was done */
    assert_int_equal(e2e_del("fi", "base", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_int_equal(e2e_has_tag(other, "base"), 1);
}

/* An external snapshot redefined so that its <disks> name a file the
 * plugin never made: a delete used to unlink it as an unneeded overlay,
 * and a revert elsewhere used to unlink the domain's own image when a
 * redefined <disks> named it. */
static void redefined_foreign_overlay(void **state)
{
    (void)state;
    e2e_define("fo");
    const char *victim = e2e_path("fo-precious.qcow2"), *copy = e2e_path("fo-copy.qcow2");
    const char *base = e2e_path("fo-vda.qcow2");
    assert_int_equal(qp_img_create(&E.t, victim, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_create(&E.t, copy, "qcow2", "16M"), 0);
    char *dom = domain_with("fo", base, copy);
    char *x = qp_printf("<domainsnapshot><name>e1</name><state>shutoff</state>"
                        "<creationTime>1700000000</creationTime><disks>"
                        "<disk name='vda' snapshot='external'><source file='%s'/></disk>"
                        "<disk name='vdb' snapshot='no'/></disks>%s</domainsnapshot>",
                        victim, dom);
    assert_int_equal(sb_snapshot_create_xml(NULL, E.c, "fo", x, SB_SNAPSHOT_CREATE_REDEFINE),
                     0);
    free(x);
    x = qp_printf("<domainsnapshot><name>e2</name><state>shutoff</state>"
                  "<creationTime>1700000001</creationTime><disks>"
                  "<disk name='vda' snapshot='external'><source file='%s'/></disk>"
                  "<disk name='vdb' snapshot='no'/></disks>%s</domainsnapshot>",
                  base, dom);
    assert_int_equal(sb_snapshot_create_xml(NULL, E.c, "fo", x, SB_SNAPSHOT_CREATE_REDEFINE),
                     0);
    free(x);
    free(dom);
    /* revert to e2: the domain moves onto a new overlay of the copy; its
     * old top (its own base image, named by e2's <disks>) must stay */
    assert_int_equal(e2e_revert("fo", "e2", 0), 0);
    assert_true(qp_file_exists(base));
    assert_true(e2e_img_check(base, 0xaa));
    /* delete e1: its "overlay" is a file the plugin never made */
    int r = e2e_del("fo", "e1", 0);
    print_message("# delete e1: %s\n", r < 0 ? e2e_err() : "done");
    assert_true(qp_file_exists(victim));
}

/* ---- 14. an explicit mode on a read-only disk ------------------------------ */

static void readonly_disk_explicit_external(void **state)
{
    (void)state;
    e2e_define("ro");
    char *xml = domain_with("ro", "<target dev='vdb' bus='virtio'/>",
                            "<target dev='vdb' bus='virtio'/><readonly/>");
    char *name = NULL;
    assert_int_equal(sb_domain_define(&name, E.c, xml), 0);
    free(name);
    free(xml);
    /* --diskspec vdb,snapshot=external: used to be recorded as 'no' */
    int r = e2e_snap("ro", "x1", "<disks><disk name='vdb' snapshot='external'/></disks>",
                     SB_SNAPSHOT_CREATE_DISK_ONLY);
    print_message("# %s\n", r < 0 ? e2e_err() : "accepted");
    assert_int_equal(r, -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(e2e_err(), "'vdb'"));
    assert_false(e2e_in_tree("ro", "x1"));
    assert_false(qp_file_exists(e2e_path("ro-vda.x1")));
    /* not listed: 'no', as before */
    assert_int_equal(e2e_snap("ro", "x2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *snap = NULL;
    assert_int_equal(sb_snapshot_get_xml(&snap, E.c, "ro", "x2", 0), 0);
    assert_non_null(strstr(snap, "<disk name='vdb' snapshot='no'/>"));
    free(snap);
}

/* ---- 2. memory state files ------------------------------------------------- */

static int mem_snap(const char *dom, const char *name, const char *file, const char *disks)
{
    char *inner = qp_printf("<memory snapshot='external' file='%s'/>%s", file,
                            disks ? disks : "");
    int r = e2e_snap(dom, name, inner, 0);
    print_message("# memory file %s: %s\n", file, r < 0 ? e2e_err() : "accepted");
    free(inner);
    return r;
}

static void memory_file_not_plain(void **state)
{
    (void)state;
    e2e_define("mf");
    assert_int_equal(sb_domain_start(E.c, "mf", 0), 0);
    /* a character device (as /dev/null: a delete used to unlink it) */
    if (geteuid() == 0) {
        const char *dev = e2e_path("null-dev");
        assert_int_equal(mknod(dev, S_IFCHR | 0600, makedev(1, 3)), 0);
        assert_int_equal(mem_snap("mf", "m1", dev, NULL), -SB_ERR_CONFIG_UNSUPPORTED);
        assert_non_null(strstr(e2e_err(), "character device"));
        struct stat st;
        assert_int_equal(lstat(dev, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
    } else {
        print_message("# not root: no character device case\n");
    }
    /* the same path as a disk's overlay in the same request */
    const char *ov = e2e_path("mf-both");
    char *disks = qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/>"
                            "</disk><disk name='vdb' snapshot='no'/></disks>", ov);
    assert_int_equal(mem_snap("mf", "m2", ov, disks), -SB_ERR_CONFIG_UNSUPPORTED);
    free(disks);
    assert_false(qp_file_exists(ov));
    /* a disk's own image */
    assert_int_equal(mem_snap("mf", "m3", e2e_path("mf-vdb.qcow2"), NULL),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_true(e2e_img_check(e2e_path("mf-vdb.qcow2"), 0xaa));
    /* none of that paused the guest */
    assert_int_equal(e2e_state("mf"), SB_DOMAIN_RUNNING);
    assert_false(e2e_in_tree("mf", "m1") || e2e_in_tree("mf", "m2") || e2e_in_tree("mf", "m3"));
    e2e_stop("mf");
}

/* A FIFO used to block the CLI forever in open(), with the guest paused
 * and the domain locked; the CLI runs in a child so a hang is caught. */
static void memory_file_fifo(void **state)
{
    (void)state;
    e2e_define("ff");
    assert_int_equal(sb_domain_start(E.c, "ff", 0), 0);
    const char *fifo = e2e_path("ff-mem");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char spec[600];
    snprintf(spec, sizeof spec, "file=%s", fifo);
    const char *const args[] = {"snapshot-create-as", "ff", "f1", "--memspec", spec, NULL};
    int st = e2e_cli(NULL, args);
    assert_int_not_equal(st, -1); /* it ended */
    assert_int_not_equal(st, 0);  /* refused */
    assert_false(e2e_in_tree("ff", "f1"));
    assert_int_equal(e2e_state("ff"), SB_DOMAIN_RUNNING);
    e2e_stop("ff");
}

/* The plugin removes at delete only a memory file it created itself. */
static void memory_file_ownership(void **state)
{
    (void)state;
    e2e_define("mo");
    assert_int_equal(sb_domain_start(E.c, "mo", 0), 0);
    const char *mine = e2e_path("mo-new.mem"), *theirs = e2e_path("mo-given.mem");
    FILE *f = fopen(theirs, "w"); /* an existing empty file: allowed, not ours */
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mem_snap("mo", "n1", mine, NULL), 0);
    assert_int_equal(mem_snap("mo", "g1", theirs, NULL), 0);
    assert_true(qp_file_size(theirs) > 0);
    struct stat st;
    assert_int_equal(stat(mine, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    e2e_stop("mo");
    assert_int_equal(e2e_del("mo", "g1", 0), 0);
    assert_int_equal(e2e_del("mo", "n1", 0), 0);
    assert_false(qp_file_exists(mine));
    assert_true(qp_file_exists(theirs));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uris_refused),
        cmocka_unit_test(define_with_doctype),
        cmocka_unit_test(state_files_private),
        cmocka_unit_test(planted_temp_symlink),
        cmocka_unit_test(config_values_refused),
        cmocka_unit_test(redefine_unusable_domain),
        cmocka_unit_test(changed_definition_seen),
        cmocka_unit_test(redefined_foreign_image),
        cmocka_unit_test(redefined_foreign_overlay),
        cmocka_unit_test(readonly_disk_explicit_external),
        cmocka_unit_test(memory_file_not_plain),
        cmocka_unit_test(memory_file_fifo),
        cmocka_unit_test(memory_file_ownership),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
