/* bench - libvirt helpers (see lv.h). */
#include "lv.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static void *loop(void *arg)
{
    (void)arg;
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

void lv_event_loop(void)
{
    static int done;
    pthread_t t;
    if (done)
        return;
    done = 1;
    virEventRegisterDefaultImpl();
    pthread_create(&t, NULL, loop, NULL);
    pthread_detach(t);
}

const char *lv_err(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "";
}

/* stdio_handler: no virtlogd; security none + no namespaces: no daemon
 * helpers; root user so images in our scratch dirs need no chown. */
static const char qemu_conf[] =
    "stdio_handler = \"file\"\n"
    "security_driver = \"none\"\n"
    "namespaces = []\n"
    "user = \"root\"\n"
    "group = \"root\"\n";

static void write_conf(const char *root)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/etc", root);
    mkdir(root, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/etc/qemu.conf", root);
    FILE *f = fopen(p, "w");
    if (!f || fputs(qemu_conf, f) < 0 || fclose(f) != 0)
        bench_die("cannot write %s", p);
}

virConnectPtr lv_embed_open(const char *root)
{
    char uri[1100];
    lv_event_loop();
    snprintf(uri, sizeof uri, "qemu:///embed?root=%s", root);
    bench_pin(0);
    virConnectPtr c = virConnectOpen(uri);
    bench_pin(-1);
    if (!c)
        bench_die("open %s: %s", uri, lv_err());
    return c;
}

char *lv_embed_root(const char *tmpl, const char *base)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/etc/qemu.conf", tmpl);
    if (access(p, F_OK) != 0) {
        /* probe once in a child: the parent stays free of libvirt state */
        pid_t pid = fork();
        if (pid == 0) {
            write_conf(tmpl);
            virConnectPtr c = lv_embed_open(tmpl);
            virConnectClose(c);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (access(p, F_OK) != 0)
            bench_die("embed template %s failed", tmpl);
    }
    char *root = bench_tmpdir(base, "embed-");
    char src[1100];
    snprintf(src, sizeof src, "%s/.", tmpl);
    char *argv[] = {(char *)"cp", (char *)"-a", src, root, NULL};
    if (bench_run(argv, 1) != 0)
        bench_die("cp -a %s %s failed", tmpl, root);
    return root;
}

char *lv_domain_xml(virDomainPtr d)
{
    char *x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    if (!x)
        bench_die("GetXMLDesc: %s", lv_err());
    /* indent every line after the first by two spaces, like libvirt */
    size_t lines = 1;
    for (const char *s = x; *s; s++)
        lines += *s == '\n';
    char *out = malloc(strlen(x) + 2 * lines + 1), *o = out;
    for (const char *s = x; *s; s++) {
        *o++ = *s;
        if (*s == '\n' && s[1]) {
            *o++ = ' ';
            *o++ = ' ';
        }
    }
    *o = 0;
    free(x);
    return out;
}
