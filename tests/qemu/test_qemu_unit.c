/* tests/qemu - unit tests of the qemu plugin's modules with REAL QEMU and
 * qemu-img (no mocks): QMP client, qemu-img wrappers, domain definitions,
 * QEMU lifecycle and stale runtime files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_file.h"
#include "job.h"
#include "qp.h"
#include "snapshot_common.h"
#include "state_fixture.h"
#include "test_wait.h"

static void qmp_machine_none(void **state)
{
    (void)state;
    char *sock = path("none.sock");
    char qmparg[512];
    snprintf(qmparg, sizeof qmparg, "unix:%s,server=on,wait=off", sock);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none", "-nodefaults",
               "-display", "none", "-no-user-config", "-qmp", qmparg, (char *)NULL);
        _exit(127);
    }
    qp_qmp *q = NULL;
    assert_int_equal(qp_qmp_connect(&ctx, sock, TEST_HANG_MS, &q), 0);
    char st[64];
    assert_int_equal(qp_qmp_status(q, st, sizeof st), 0);
    assert_string_equal(st, "running");
    /* a QMP error comes back as a class + message */
    int r = qp_qmp_execute(q, "no-such-command", NULL, NULL);
    assert_int_equal(r, -SB_ERR_OPERATION_UNSUPPORTED);
    assert_non_null(strstr(ctx.err_msg, "no-such-command"));
    /* HMP errors are in the text: detected */
    char *out = NULL;
    assert_int_equal(qp_qmp_hmp(q, "info status", &out), 0);
    assert_non_null(strstr(out, "running"));
    free(out);
    assert_true(qp_qmp_hmp(q, "loadvm nosuch", NULL) < 0);
    /* a job with an error: snapshot-load of a missing tag on no devices */
    json_object *a = json_object_new_object();
    json_object_object_add(a, "job-id", json_object_new_string("j1"));
    json_object_object_add(a, "tag", json_object_new_string("nosuch"));
    json_object_object_add(a, "vmstate", json_object_new_string("nonode"));
    json_object_object_add(a, "devices", json_object_new_array());
    assert_true(qp_qmp_job(q, "snapshot-load", a, "j1") < 0);
    assert_non_null(strstr(ctx.err_msg, "job"));
    /* quit: ECONNRESET / EOF count as success */
    assert_int_equal(qp_qmp_quit(q), 0);
    assert_int_equal(qp_qmp_wait_closed(q, TEST_HANG_MS), 0);
    qp_qmp_close(q);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* A stand-in monitor (a child process) on sock: greets with greeting,
 * then answers nothing until the client has sent two commands - the
 * negotiation and the command after it - and then answers both (the
 * second as a query-status saying "paused").  A client that waits for the
 * reply to qmp_capabilities before it sends its first command gets no
 * answer at all.  Returns the child's pid. */
static pid_t fake_monitor(const char *sock, const char *greeting)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    unlink(sock);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(lfd);
        return pid;
    }
    int c = accept(lfd, NULL, NULL);
    if (c < 0 || write(c, greeting, strlen(greeting)) < 0)
        _exit(2);
    char buf[4096];
    size_t len = 0;
    int lines = 0;
    while (lines < 2) {
        struct pollfd pf = {c, POLLIN, 0};
        if (poll(&pf, 1, TEST_HANG_MS) <= 0)
            _exit(3); /* the client never sent its command: no answer */
        ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            _exit(4);
        for (ssize_t i = 0; i < n; i++)
            lines += buf[len + (size_t)i] == '\n';
        len += (size_t)n;
    }
    const char *rep = "{\"return\": {}, \"id\": \"sb1\"}\r\n"
                      "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": \"sb2\"}\r\n";
    if (write(c, rep, strlen(rep)) < 0)
        _exit(5);
    while (read(c, buf, sizeof buf) > 0) /* until the client closes */
        ;
    _exit(0);
}

/* The negotiation and the first command share one round trip: the
 * command goes out before the greeting and the reply to qmp_capabilities
 * are read; a socket that does not greet as QMP fails that command. */
static void qmp_first_command_rides_with_negotiation(void **state)
{
    (void)state;
    char *sock = path("fake.sock");
    const char *qmp = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
    pid_t pid = fake_monitor(sock, qmp);
    qp_qmp *q = NULL;
    /* the monitor answers only once it has the command: a client that
     * waited for the negotiation first would time out here */
    assert_int_equal(qp_qmp_connect(&ctx, sock, TEST_HANG_MS, &q), 0);
    qp_qmp_set_timeout(q, TEST_HANG_MS);
    char st[64];
    assert_int_equal(qp_qmp_status(q, st, sizeof st), 0);
    assert_string_equal(st, "paused");
    qp_qmp_close(q);
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

    pid = fake_monitor(sock, "{\"hello\": 1}\r\n");
    assert_int_equal(qp_qmp_connect(&ctx, sock, TEST_HANG_MS, &q), 0);
    qp_qmp_set_timeout(q, TEST_HANG_MS);
    assert_true(qp_qmp_status(q, st, sizeof st) < 0);
    assert_non_null(strstr(ctx.err_msg, "did not greet as a QMP monitor"));
    qp_qmp_close(q);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
}

static void qemu_img_wrappers(void **state)
{
    (void)state;
    char *base = path("img.qcow2"), *ov = path("img.ov");
    assert_int_equal(qp_img_create(&ctx, base, "qcow2", "16M"), 0);
    char *out = NULL;
    assert_int_equal(qp_io(&ctx, base, "qcow2", "write -P 0xab 0 64k", &out), 0);
    free(out);
    assert_int_equal(qp_img_snapshot_create(&ctx, base, "t1"), 0);
    /* duplicate tags are refused by us (qemu-img would accept them) */
    assert_int_equal(qp_img_snapshot_create(&ctx, base, "t1"), -SB_ERR_OPERATION_FAILED);
    assert_int_equal(qp_img_has_snapshot(&ctx, base, "t1", 0), 1);
    assert_int_equal(qp_io(&ctx, base, "qcow2", "write -P 0xcd 0 64k", &out), 0);
    free(out);
    assert_int_equal(qp_img_snapshot_apply(&ctx, base, "t1"), 0);
    assert_int_equal(qp_io(&ctx, base, "qcow2", "read -P 0xab 0 64k", &out), 0);
    assert_null(strstr(out, "failed"));
    free(out);
    assert_int_equal(qp_img_snapshot_apply(&ctx, base, "nosuch"), -SB_ERR_NO_DOMAIN_SNAPSHOT);
    assert_int_equal(qp_img_snapshot_delete(&ctx, base, "t1"), 0);
    assert_int_equal(qp_img_has_snapshot(&ctx, base, "t1", 0), 0);
    assert_int_equal(qp_img_create_overlay(&ctx, ov, base, "qcow2"), 0);
    qp_img_info *chain = NULL;
    size_t n = 0;
    assert_int_equal(qp_img_chain(&ctx, ov, 0, &chain, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(chain[0].backing, base);
    qp_img_chain_free(chain, n);
    assert_int_equal(qp_io(&ctx, ov, "qcow2", "write -P 0x77 0 4k", &out), 0);
    free(out);
    assert_int_equal(qp_img_commit(&ctx, ov, base), 0);
    assert_int_equal(qp_io(&ctx, base, "qcow2", "read -P 0x77 0 4k", &out), 0);
    assert_null(strstr(out, "failed"));
    free(out);
    /* a missing file names the file */
    assert_true(qp_img_snapshot_create(&ctx, path("missing.qcow2"), "x") < 0);
    assert_non_null(strstr(ctx.err_msg, "missing.qcow2"));
}

static const char *dom_fmt =
    "<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
    "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "<source file='%s'/><target dev='vda' bus='virtio'/></disk>%s"
    "<memballoon model='none'/></devices></domain>";

static char *dom_xml(const char *name, const char *disk, const char *extra)
{
    return qp_printf(dom_fmt, name, disk, extra ? extra : "");
}

static void domain_define_refusals(void **state)
{
    (void)state;
    char *disk = path("d1.qcow2");
    assert_int_equal(qp_img_create(&ctx, disk, "qcow2", "16M"), 0);
    char *xml = dom_xml("vm1", disk, NULL), *name = NULL;
    assert_int_equal(qp_domain_define(&ctx, xml, &name), 0);
    assert_string_equal(name, "vm1");
    free(name);
    free(xml);
    qp_domain *d = NULL;
    assert_int_equal(qp_domain_load(&ctx, "vm1", &d), 0);
    assert_non_null(d->uuid); /* generated */
    assert_int_equal(strlen(d->uuid), 36);
    assert_int_equal(d->memory_kib, 65536);
    qp_domain_free(d);
    struct {
        const char *extra;
        int code;
        const char *word;
    } bad[] = {
        {"<interface type='network'><source network='default'/></interface>",
         SB_ERR_CONFIG_UNSUPPORTED, "interface"},
        {"<graphics type='spice'/>", SB_ERR_CONFIG_UNSUPPORTED, "graphics"},
        {"<disk type='network' device='disk'><target dev='vdb'/></disk>", SB_ERR_CONFIG_UNSUPPORTED,
         "network"},
        {"<disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='/x'/>"
         "<target dev='vdb'/></disk>", SB_ERR_CONFIG_UNSUPPORTED, "vmdk"},
        {"<disk type='file' device='disk'><source file='rel.img'/><target dev='vdb'/></disk>",
         SB_ERR_XML_ERROR, "absolute"},
        {"<serial type='tcp'/>", SB_ERR_CONFIG_UNSUPPORTED, "serial"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xml = dom_xml("vmbad", disk, bad[i].extra);
        int r = qp_domain_define(&ctx, xml, NULL);
        free(xml);
        assert_int_equal(r, -bad[i].code);
        assert_non_null(strstr(ctx.err_msg, bad[i].word));
    }
    assert_int_equal(qp_domain_define(&ctx, "<domain type='xen'><name>x</name></domain>", NULL),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_int_equal(qp_domain_define(&ctx, "<domain", NULL), -SB_ERR_XML_DETAIL);
    qp_strv names = {0};
    assert_int_equal(qp_domain_list(&ctx, &names), 0);
    assert_int_equal(names.n, 1);
    qp_strv_free(&names);
}

static void put_in_place(const char *file, const char *text)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
    assert_int_equal(ftruncate(fd, (off_t)strlen(text)), 0);
    assert_int_equal(close(fd), 0);
}

/* The definition of the locked domain is parsed once per locked call
 * (domain.c, "memo"): every load gets a copy of its own, equal to a parse
 * of the file; a change the plugin writes is seen at once; the file is
 * read again after the unlock, and another domain's is never kept. */
static void domain_memo_in_locked_call(void **state)
{
    (void)state;
    char *disk = path("memo.qcow2");
    assert_int_equal(qp_img_create(&ctx, disk, "qcow2", "16M"), 0);
    const char *extra =
        "<disk type='file' device='cdrom'><target dev='sdb' bus='scsi'/><readonly/></disk>"
        "<controller type='scsi' index='0' model='virtio-scsi'/>"
        "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/>"
        "</interface>"
        "<graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/>"
        "</graphics><video><model type='virtio'/></video>";
    char *xml = dom_xml("vmm", disk, extra), *other = dom_xml("vmo", disk, NULL);
    assert_int_equal(qp_domain_define(&ctx, xml, NULL), 0);
    assert_int_equal(qp_domain_define(&ctx, other, NULL), 0);
    char *file = qp_domain_path(&ctx, "vmm"), *ofile = qp_domain_path(&ctx, "vmo");
    char *stored = NULL, *ostored = NULL;
    assert_int_equal(qp_domain_read(&ctx, "vmm", &stored), 0);
    assert_int_equal(qp_domain_read(&ctx, "vmo", &ostored), 0);

    int lk = qp_lock_domain(&ctx, "vmm");
    assert_true(lk >= 0);
    qp_domain *a = NULL, *b = NULL, *c = NULL, *d = NULL, *o = NULL;
    assert_int_equal(qp_domain_load(&ctx, "vmm", &a), 0);
    /* the file changed behind the lock (no writer does that): the call
     * keeps what it parsed, which shows the memo is what answers */
    char *changed = qp_printf("%s", stored);
    char *mem = strstr(changed, "<memory");
    assert_non_null(mem);
    put_in_place(file, "<domain type='kvm'><name>vmm</name></domain>");
    assert_int_equal(qp_domain_load(&ctx, "vmm", &b), 0);
    assert_string_equal(b->xml, stored);
    assert_true(b != a && b->xml != a->xml && b->disks != a->disks && b->nics != a->nics);
    assert_int_equal(b->ndisks, 2);
    assert_int_equal(b->nnics, 1);
    assert_string_equal(b->disks[0].source, disk);
    assert_string_equal(b->disks[1].target, "sdb");
    assert_string_equal(b->nics[0].mac, "52:54:00:12:34:56");
    assert_string_equal(b->vnc_listen, "127.0.0.1");
    assert_string_equal(b->video, "virtio");
    assert_string_equal(b->uuid, a->uuid);
    assert_true(b->memory_kib == a->memory_kib && b->scsi_ctls == a->scsi_ctls);
    /* each copy is the caller's own: freeing one leaves the others whole
     * (a pointer shared with the memo would be freed twice: ASan) */
    qp_domain_free(a);
    assert_int_equal(qp_domain_load(&ctx, "vmm", &c), 0);
    assert_string_equal(c->nics[0].model, "virtio");
    qp_domain_free(b);
    /* what the plugin stores is what the next load gives */
    char *bigger = qp_printf("%.*s<memory unit='MiB'>128</memory>%s", (int)(mem - changed),
                             changed, strstr(mem, "</memory>") + strlen("</memory>"));
    assert_int_equal(qp_domain_store(&ctx, "vmm", bigger), 0);
    assert_int_equal(qp_domain_load(&ctx, "vmm", &d), 0);
    assert_int_equal(d->memory_kib, 131072);
    qp_domain_free(d);
    /* another domain than the locked one is read every time */
    assert_int_equal(qp_domain_load(&ctx, "vmo", &o), 0);
    qp_domain_free(o);
    put_in_place(ofile, "<domain type='kvm'><name>vmo</name></domain>");
    assert_true(qp_domain_load(&ctx, "vmo", &o) < 0); /* no <memory>: refused */
    put_in_place(ofile, ostored);
    qp_unlock(&ctx, lk);
    qp_domain_free(c);

    /* after the unlock, the file again */
    put_in_place(file, stored);
    assert_int_equal(qp_domain_load(&ctx, "vmm", &d), 0);
    assert_int_equal(d->memory_kib, 65536);
    qp_domain_free(d);
    /* gone for the later tests (which count the definitions) */
    assert_int_equal(qp_domain_undefine(&ctx, "vmm"), 0);
    assert_int_equal(qp_domain_undefine(&ctx, "vmo"), 0);
    free(bigger);
    free(changed);
    free(stored);
    free(ostored);
    free(file);
    free(ofile);
    free(xml);
    free(other);
}

/* A parse is remembered by the document's bytes (domain.c, "what a parse
 * made"): the same bytes are answered with a copy of their own without a
 * parse, other bytes (one byte changed) are parsed, a refused document is
 * parsed and refused each time with its message, and the broker's reader
 * is asked before the first parse of a document whenever there is one.
 * The host here is a stand-in that only counts the questions: the test
 * needs to see how often the reader is asked, which the real broker does
 * not tell. */
static int gate_asked;

static int counting_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    (void)h;
    *out = NULL;
    gate_asked++;
    return strstr(xml, "refused-by-gate") ? -SB_ERR_XML_ERROR : 0;
}

static int refusing_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    (void)h;
    (void)xml;
    *out = NULL;
    gate_asked++;
    return -SB_ERR_XML_ERROR;
}

static void domain_parse_remembered(void **state)
{
    (void)state;
    /* static: what the plugin keeps may outlive the test */
    static const struct sb_host_api counting = {.domain_view = counting_domain_view};
    qp_ctx gated = ctx;
    gated.api = &counting;
    char *disk = path("parsed.qcow2");
    char *xml = dom_xml("vmp", disk, NULL), *xml2 = dom_xml("vmq", disk, NULL);
    qp_domain *a = NULL, *b = NULL, *c = NULL;
    gate_asked = 0;
    assert_int_equal(qp_domain_parse(&gated, xml, &a), 0);
    assert_int_equal(gate_asked, 1);
    assert_int_equal(qp_domain_parse(&gated, xml, &b), 0);
    assert_int_equal(gate_asked, 1); /* remembered */
    assert_true(a != b && a->xml != b->xml && a->disks != b->disks);
    assert_string_equal(a->xml, b->xml);
    assert_string_equal(b->name, "vmp");
    assert_string_equal(b->disks[0].source, disk);
    qp_domain_free(a); /* each copy is the caller's own (ASan) */
    assert_string_equal(b->disks[0].target, "vda");
    /* other bytes: parsed */
    assert_int_equal(qp_domain_parse(&gated, xml2, &c), 0);
    assert_int_equal(gate_asked, 2);
    assert_string_equal(c->name, "vmq");
    qp_domain_free(c);
    /* the same bytes without a reader to ask, or with another reader, are
     * not the same question */
    assert_int_equal(qp_domain_parse(&ctx, xml, &a), 0);
    assert_string_equal(a->name, "vmp");
    qp_domain_free(a);
    assert_int_equal(gate_asked, 2);
    static const struct sb_host_api refusing = {.domain_view = refusing_domain_view};
    qp_ctx other = ctx;
    other.api = &refusing;
    assert_int_equal(qp_domain_parse(&other, xml, &a), -SB_ERR_XML_ERROR);
    assert_int_equal(gate_asked, 3);
    /* refusals are never remembered: the message each time */
    char *bad = dom_xml("vmp", disk, "<serial type='tcp'/>");
    char *gate_bad = dom_xml("vmp", disk, "<!-- refused-by-gate -->");
    for (int i = 0; i < 2; i++) {
        ctx.err_msg[0] = gated.err_msg[0] = '\0';
        assert_int_equal(qp_domain_parse(&gated, bad, &a), -SB_ERR_CONFIG_UNSUPPORTED);
        assert_non_null(strstr(gated.err_msg, "serial"));
        assert_int_equal(qp_domain_parse(&gated, gate_bad, &a), -SB_ERR_XML_ERROR);
        assert_non_null(strstr(gated.err_msg, "hardened reader"));
    }
    assert_int_equal(gate_asked, 7);
    qp_domain_free(b);
    free(bad);
    free(gate_bad);
    free(xml);
    free(xml2);
}

/* The broker's views of snapshot documents are shared by document
 * (snapshot_view.c): the same bytes give the same view without asking the
 * broker again, for as long as it is kept; a view somebody holds is never
 * given up, however many other documents come; one nobody holds goes
 * when its slot is needed; a document too large to keep is the caller's
 * own.  The broker here is a stand-in that counts the views it makes and
 * frees: the test needs those counts, which the real broker does not
 * tell. */
static int views_made, views_freed;

static int counting_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    (void)h;
    struct sb_snapshot_view *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->struct_size = sizeof *v;
    v->name = strndup(xml, 64);
    views_made++;
    *out = v;
    return 0;
}

static void counting_snapshot_view_free(struct sb_snapshot_view *v)
{
    free((char *)v->name);
    free(v);
    views_freed++;
}

static void snapshot_views_shared_by_document(void **state)
{
    (void)state;
    /* static: the views kept name the host that frees them */
    static const struct sb_host_api counting = {
        .snapshot_view = counting_snapshot_view,
        .snapshot_view_free = counting_snapshot_view_free};
    qp_ctx c = ctx;
    c.api = &counting;
    struct sb_snapshot_view *a, *b, *held;
    assert_int_equal(qp_view(&c, "<domainsnapshot>held</domainsnapshot>", &a), 0);
    assert_int_equal(qp_view(&c, "<domainsnapshot>held</domainsnapshot>", &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(views_made, 1);
    qp_view_free(&c, a);
    qp_view_free(&c, b);
    assert_int_equal(views_freed, 0); /* kept */
    assert_int_equal(qp_view(&c, "<domainsnapshot>held</domainsnapshot>", &held), 0);
    assert_ptr_equal(held, a);
    assert_int_equal(views_made, 1);
    /* many other documents: the held view stays whole */
    char doc[128];
    for (int i = 0; i < 100; i++) {
        snprintf(doc, sizeof doc, "<domainsnapshot>doc %d</domainsnapshot>", i);
        assert_int_equal(qp_view(&c, doc, &a), 0);
        assert_string_equal(a->name, doc);
        qp_view_free(&c, a);
    }
    assert_int_equal(views_made, 101);
    assert_true(views_freed >= 101 - 32); /* kept: a bounded number */
    assert_string_equal(held->name, "<domainsnapshot>held</domainsnapshot>");
    assert_int_equal(qp_view(&c, "<domainsnapshot>held</domainsnapshot>", &b), 0);
    assert_ptr_equal(b, held);
    qp_view_free(&c, b);
    qp_view_free(&c, held);
    /* held by nobody now: it goes when its slot is needed */
    for (int i = 100; i < 200; i++) {
        snprintf(doc, sizeof doc, "<domainsnapshot>doc %d</domainsnapshot>", i);
        assert_int_equal(qp_view(&c, doc, &a), 0);
        qp_view_free(&c, a);
    }
    int made = views_made;
    assert_int_equal(qp_view(&c, "<domainsnapshot>held</domainsnapshot>", &a), 0);
    assert_int_equal(views_made, made + 1);
    qp_view_free(&c, a);
    /* too large to keep: the caller's own, freed when it is given back */
    size_t big = 300 * 1024;
    char *large = malloc(big + 1);
    assert_non_null(large);
    memset(large, ' ', big);
    memcpy(large, "<domainsnapshot/>", 17);
    large[big] = '\0';
    int freed = views_freed;
    assert_int_equal(qp_view(&c, large, &a), 0);
    assert_int_equal(qp_view(&c, large, &b), 0);
    assert_ptr_not_equal(a, b);
    qp_view_free(&c, a);
    qp_view_free(&c, b);
    assert_int_equal(views_freed, freed + 2);
    free(large);
}

/* qp_mkdir_p tries the directory itself first: the answers stay those of
 * the walk over every component (missing parents made, an existing
 * directory or file at the end accepted, a file in the middle refused). */
static void mkdir_p_answers(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(qp_mkdir_p(path("mk/a/b"), 0700), 0);
    assert_int_equal(stat(path("mk/a/b"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(qp_mkdir_p(path("mk/a/b"), 0700), 0); /* exists */
    assert_int_equal(qp_mkdir_p(path("mk/a/c"), 0700), 0); /* only the leaf missing */
    assert_int_equal(stat(path("mk/a/c"), &st), 0);
    FILE *f = fopen(path("mk/file"), "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(qp_mkdir_p(path("mk/file"), 0700), 0); /* as the walk: EEXIST */
    assert_int_equal(qp_mkdir_p(path("mk/file/x/y"), 0700), -ENOTDIR);
    assert_int_equal(stat(path("mk/file/x"), &st), -1);
}

/* domain_file.c: a stat() stands in for reading the domain file only when
 * it must show any change.  A same-size rewrite in place is seen right
 * after a read (in the same clock tick, the ctime may not move); once the
 * read is settled, a rewrite is seen with the modification time put back,
 * and so is a file renamed over it or removed. */
static void domain_file_changes(void **state)
{
    (void)state;
    char *file = qp_domain_path(&ctx, "df");
    assert_int_equal(qp_mkdir_p(path("state/domains"), 0700), 0);
    put_in_place(file, "<domain>aaaa</domain>");
    qp_domain_file f = {0};
    bool changed;
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
    assert_true(changed);
    assert_string_equal(f.text, "<domain>aaaa</domain>");
    put_in_place(file, "<domain>bbbb</domain>");
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
    assert_true(changed);
    assert_string_equal(f.text, "<domain>bbbb</domain>");

    /* read until the read is settled (the file's tick has passed) */
    double deadline = qp_now_ms() + TEST_HANG_MS;
    while (!f.settled) {
        assert_true(qp_now_ms() < deadline);
        qp_sleep_ms(10);
        assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
        assert_false(changed);
    }
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
    assert_false(changed);
    struct stat before;
    assert_int_equal(stat(file, &before), 0);
    put_in_place(file, "<domain>cccc</domain>");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, file, times, 0), 0);
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
    assert_true(changed);
    assert_string_equal(f.text, "<domain>cccc</domain>");

    char *other = path("state/domains/df.new");
    put_in_place(other, "<domain>dddd</domain>");
    assert_int_equal(rename(other, file), 0);
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), 0);
    assert_true(changed);
    assert_string_equal(f.text, "<domain>dddd</domain>");

    assert_int_equal(unlink(file), 0);
    assert_int_equal(qp_domain_file_get(&ctx, "df", &f, &changed), -SB_ERR_NO_DOMAIN);
    assert_null(f.name);
    assert_null(f.text);
    qp_domain_file_clear(&f);
    free(file);
}

static void lifecycle_and_stale(void **state)
{
    (void)state;
    qp_domain *d = NULL;
    assert_int_equal(qp_domain_load(&ctx, "vm1", &d), 0);
    double t0 = qp_now_ms();
    assert_int_equal(qp_proc_start(&ctx, d, 0, 0, NULL), 0);
    double t_start = qp_now_ms() - t0;
    int st = 0;
    assert_int_equal(qp_proc_state(&ctx, "vm1", &st), 0);
    assert_int_equal(st, SB_DOMAIN_RUNNING);
    assert_int_equal(qp_proc_start(&ctx, d, 0, 0, NULL), -SB_ERR_OPERATION_INVALID);
    t0 = qp_now_ms();
    assert_int_equal(qp_proc_destroy(&ctx, "vm1"), 0);
    double t_destroy = qp_now_ms() - t0;
    print_message("# start %.1f ms, destroy %.1f ms\n", t_start, t_destroy);
    assert_int_equal(qp_proc_state(&ctx, "vm1", &st), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    /* crash: SIGKILL leaves pid file and socket behind */
    assert_int_equal(qp_proc_start(&ctx, d, 1, 0, NULL), 0);
    pid_t pid = 0;
    assert_int_equal(qp_proc_pid(&ctx, "vm1", &pid), 0);
    assert_true(pid > 0);
    kill(pid, SIGKILL);
    assert_int_equal(qp_proc_wait_gone(pid, TEST_HANG_MS), 0);
    char *pf = qp_printf("%s/run/vm1/qemu.pid", ctx.state_dir);
    char *sock = qp_printf("%s/run/vm1/qmp.sock", ctx.state_dir);
    assert_true(qp_file_exists(pf));
    assert_int_equal(qp_proc_state(&ctx, "vm1", &st), 0);
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    assert_false(qp_file_exists(pf));
    assert_false(qp_file_exists(sock));
    /* a pid file naming someone else's live process (ours: pid 1 / self) */
    FILE *f = fopen(pf, "w");
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    assert_int_equal(qp_proc_pid(&ctx, "vm1", &pid), 0);
    assert_int_equal(pid, 0);
    assert_false(qp_file_exists(pf));
    free(pf);
    free(sock);
    /* a missing disk is named */
    free(d->disks[0].source);
    d->disks[0].source = qp_strdup(path("gone.qcow2"));
    assert_int_equal(qp_proc_start(&ctx, d, 0, 0, NULL), -SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(ctx.err_msg, "gone.qcow2"));
    qp_domain_free(d);
}

/* The stall rule: only a stop of the progress counts, never the time in
 * all (clock values given, nothing waits). */
static void job_stall_rule(void **state)
{
    (void)state;
    qp_job j;
    memset(&j, 0, sizeof j);
    j.moved_ms = 0;
    assert_false(qp_job_stalled(&j, 1000, 1000));
    assert_true(qp_job_stalled(&j, 1001, 1000));
    /* moving every 900 ms keeps a job alive for as long as it runs */
    for (int t = 1; t <= 100; t++) {
        assert_int_equal(qp_job_note(&j, (unsigned long long)t, 100, t * 900.0), 1);
        assert_false(qp_job_stalled(&j, t * 900.0 + 999, 1000));
    }
    /* the same numbers again are no move */
    assert_int_equal(qp_job_note(&j, 100, 100, 200000), 0);
    assert_true(qp_job_stalled(&j, 200000, 1000));
}

/* The job record another process reads: live while its writer holds the
 * domain lock, gone at the end, stale (no job) when nobody holds the lock;
 * an abort request becomes the stop at the next tick. */
static void job_record(void **state)
{
    (void)state;
    struct sb_job_info ji;
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 0);
    assert_int_equal(qp_job_abort(&ctx, "rec"), -SB_ERR_OPERATION_INVALID);

    int fd = qp_lock_domain(&ctx, "rec");
    assert_true(fd >= 0);
    qp_job j;
    char *rec = qp_printf("%s/jobs/rec.json", ctx.state_dir);
    /* a step shorter than 100 ms is never shown: nothing written, even
     * at its end, and nothing left to remove (its start moved ahead, so
     * a slow machine cannot make it 100 ms old) */
    qp_job_begin(&ctx, &j, "rec", "block-commit", "s0");
    j.written_ms += 600000;
    assert_ptr_equal(ctx.job, &j);
    assert_int_equal(qp_job_tick(&j, 100, 1000), 0);
    assert_int_equal(qp_job_tick(&j, 1000, 1000), 0);
    assert_false(qp_file_exists(rec));
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 0);
    qp_job_end(&j);
    assert_null(ctx.job);

    /* one that runs on is shown from the first tick 100 ms after its
     * start (the start moved back instead of waiting), then every move
     * at most 100 ms late, and its end at once */
    qp_job_begin(&ctx, &j, "rec", "block-commit", "s1");
    j.written_ms -= 100;
    assert_int_equal(qp_job_tick(&j, 100, 1000), 0);
    assert_true(qp_file_exists(rec));
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_true(ji.active == 1 && ji.processed == 100);
    assert_int_equal(qp_job_tick(&j, 1000, 1000), 0); /* a shown job's end is written */
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 1);
    assert_string_equal(ji.operation, "block-commit");
    assert_string_equal(ji.snapshot, "s1");
    assert_true(ji.processed == 1000 && ji.total == 1000);
    /* the request another process leaves (qp_job_abort writes it, then
     * waits for the job to end: here the job is ours, so write it as it
     * does) */
    char *req = qp_printf("%s/jobs/rec.abort", ctx.state_dir);
    int rfd = open(req, O_WRONLY | O_CREAT, 0600);
    assert_true(rfd >= 0);
    close(rfd);
    assert_int_equal(qp_job_tick(&j, 1000, 1000), -SB_ERR_OPERATION_FAILED);
    assert_non_null(strstr(ctx.err_msg, "'block-commit' was cancelled (domjobabort)"));
    assert_int_equal(qp_job_tick(&j, 1000, 1000), 0); /* said once */
    qp_job_end(&j);
    assert_null(ctx.job);
    assert_false(qp_file_exists(req));
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 0);
    assert_false(qp_file_exists(rec));

    /* a record left by a process that died: nobody holds the lock */
    qp_job_begin(&ctx, &j, "rec", "block-commit", "s1");
    j.written_ms -= 100;
    assert_int_equal(qp_job_tick(&j, 1, 1000), 0);
    assert_true(qp_file_exists(rec));
    ctx.job = NULL; /* "dies" without ending it */
    qp_unlock(&ctx, fd);
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 0);
    assert_int_equal(qp_job_abort(&ctx, "rec"), -SB_ERR_OPERATION_INVALID);
    j.shown = 0; /* the dead process never ends it: only our copy is freed */
    qp_job_end(&j);

    /* that record is still there; the next job, however short, removes
     * it at its start: it is never shown as the job running now */
    assert_true(qp_file_exists(rec));
    fd = qp_lock_domain(&ctx, "rec");
    assert_true(fd >= 0);
    qp_job_begin(&ctx, &j, "rec", "block-commit", "s2");
    j.written_ms += 600000;
    assert_false(qp_file_exists(rec));
    memset(&ji, 0, sizeof ji);
    assert_int_equal(qp_job_info(&ctx, "rec", &ji), 0);
    assert_int_equal(ji.active, 0);
    assert_int_equal(qp_job_tick(&j, 1000, 1000), 0);
    qp_job_end(&j);
    assert_false(qp_file_exists(rec));
    qp_unlock(&ctx, fd);
    free(req);
    free(rec);
}

/* qp_run's child (plugins/qemu/run.c): the domain lock inherited and no
 * other descriptor of ours, stdin on /dev/null, its own process group, no
 * blocked signals, SIGPIPE at its default even when the caller blocks or
 * ignores signals, and stdout and stderr given back apart. */
static void run_child_state(void **state)
{
    (void)state;
    char *lock = path("run.lock"), *other = path("run.other");
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int ofd = open(other, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(lfd >= 0 && ofd >= 0);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    int saved_lock = ctx.lock_fd;
    ctx.lock_fd = lfd;
    /* each a program of its own reading /proc/self: a shell would block
     * SIGCHLD itself while it waits for a command */
    char fdl[64], fdo[64];
    snprintf(fdl, sizeof fdl, "/proc/self/fd/%d", lfd);
    snprintf(fdo, sizeof fdo, "/proc/self/fd/%d", ofd);
    char *links[] = {(char *)"readlink", (char *)"/proc/self/fd/0", fdl, fdo, NULL};
    char *stat[] = {(char *)"cat", (char *)"/proc/self/stat", NULL};
    char *sigs[] = {(char *)"grep", (char *)"^Sig", (char *)"/proc/self/status", NULL};
    char *say[] = {(char *)"sh", (char *)"-c", (char *)"echo to-stdout; echo to-stderr >&2", NULL};
    char *lout = NULL, *pout = NULL, *out = NULL, *err = NULL, *sout = NULL;
    /* readlink answers 1: the other descriptor is not there */
    int st_links = qp_run(&ctx, links, &lout, NULL);
    int st_stat = qp_run(&ctx, stat, &pout, NULL);
    int st_sigs = qp_run(&ctx, sigs, &out, NULL);
    int st_say = qp_run(&ctx, say, &sout, &err);
    ctx.lock_fd = saved_lock;
    signal(SIGPIPE, old_pipe);
    sigprocmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(st_links, 1);
    char *want = qp_printf("/dev/null\n%s\n", lock);
    assert_string_equal(lout, want);
    free(want);
    assert_int_equal(st_stat, 0);
    long pid = 0, pgrp = -1;
    assert_int_equal(sscanf(pout, "%ld (cat) %*c %*d %ld", &pid, &pgrp), 2);
    assert_true(pid > 1);
    assert_int_equal(pgrp, pid); /* a group of its own */
    assert_int_equal(st_sigs, 0);
    const char *p;
    assert_non_null(p = strstr(out, "SigBlk:"));
    assert_int_equal(strtoull(p + 7, NULL, 16), 0);
    assert_non_null(p = strstr(out, "SigIgn:"));
    assert_int_equal(strtoull(p + 7, NULL, 16) & (1ULL << (SIGPIPE - 1)), 0);
    assert_int_equal(st_say, 0);
    assert_string_equal(sout, "to-stdout\n");
    assert_string_equal(err, "to-stderr");
    free(lout);
    free(pout);
    free(sout);
    free(out);
    free(err);
    close(lfd);
    close(ofd);
}

/* qp_run's answers: the exit status as is, a program that cannot be
 * executed as a system error naming it, a child killed by a signal as a
 * hypervisor error naming the signal. */
static void run_failures(void **state)
{
    (void)state;
    char *exit3[] = {(char *)"sh", (char *)"-c", (char *)"echo partial; exit 3", NULL};
    char *out = NULL;
    assert_int_equal(qp_run(&ctx, exit3, &out, NULL), 3);
    assert_string_equal(out, "partial\n");
    free(out);
    char *missing[] = {(char *)"sb-no-such-program", NULL};
    assert_int_equal(qp_run(&ctx, missing, NULL, NULL), -SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(ctx.err_msg, "sb-no-such-program"));
    char *killed[] = {(char *)"sh", (char *)"-c", (char *)"kill -9 $$", NULL};
    assert_int_equal(qp_run(&ctx, killed, NULL, NULL), -SB_ERR_HYPERVISOR);
    assert_non_null(strstr(ctx.err_msg, "signal 9"));
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_child_state),
        cmocka_unit_test(run_failures),
        cmocka_unit_test(job_stall_rule),
        cmocka_unit_test(job_record),
        cmocka_unit_test(mkdir_p_answers),
        cmocka_unit_test(domain_file_changes),
        cmocka_unit_test(domain_memo_in_locked_call),
        cmocka_unit_test(domain_parse_remembered),
        cmocka_unit_test(snapshot_views_shared_by_document),
        cmocka_unit_test(qmp_machine_none),
        cmocka_unit_test(qmp_first_command_rides_with_negotiation),
        cmocka_unit_test(qemu_img_wrappers),
        cmocka_unit_test(domain_define_refusals),
        cmocka_unit_test(lifecycle_and_stale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
