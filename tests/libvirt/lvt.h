/* Helpers shared by the libvirt plugin's tests: a scratch state directory
 * and broker per test, error checks, the CLI, and libvirt used directly
 * (the reference the plugin's results are compared with). */
#ifndef LVT_H
#define LVT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>

#include "core/api.h"
#include "snapbroker/snapbroker.h"

struct lvt {
    struct lvt *next;    /* every lvt not freed yet (lvt_cleanup_all) */
    char dir[64];        /* scratch: state dir, config file */
    char config[128];    /* DIR/snapbroker.conf when the test wrote one */
    char node[128];      /* DIR/node.xml: a test driver node of its own */
    char uri[160];       /* test://NODE (libvirt's URI) */
    sb_broker *b;
    sb_connection *c;
};

/* A broker on a scratch state dir; config_text (may be NULL) becomes its
 * configuration file.  Connects to host (a configured name or a URI)
 * unless host is NULL.  Fails the test on error. */
struct lvt *lvt_new(const char *config_text, const char *host);
/* The same on a test driver instance of the test's own: a node file with
 * one domain "test" like test:///default's, running, and the broker
 * connected to libvirt+test://NODE.  (test:///default is one instance per
 * process, shared by every connection to it; a node file gives each
 * connection a fresh instance, so two connections can run one scenario
 * side by side.) */
struct lvt *lvt_new_node(void);
void lvt_free(struct lvt *t);
/* After a failed case (cmocka leaves it at the first failed assert):
 * destroy what still runs on every connection not freed, free them. */
void lvt_cleanup_all(void);

/* rc must be -code, the thread's error that class, its message contain
 * fragment. */
void lvt_expect_error(int rc, int code, const char *fragment);
/* rc must be 0; else the test fails with the broker's message. */
void lvt_ok(int rc, const char *what);

/* <domainsnapshot><name>NAME</name></domainsnapshot> through the API. */
int lvt_create(sb_connection *c, const char *domain, const char *name, unsigned flags);

/* The API's listing as one "a,b,c" string, sorted unless topological
 * (the caller frees). */
char *lvt_list(sb_connection *c, const char *domain, const char *from, unsigned flags);
/* The same listing straight from libvirt. */
char *lvt_vir_list(virConnectPtr vc, const char *domain, const char *from, unsigned flags);

/* A shell command's stdout (caller frees) and exit status (may be NULL). */
char *lvt_sh(const char *cmd, int *status);
/* The CLI (BUILD/broker/cli/snapbroker) with args; its stdout+stderr
 * (caller frees) and exit status.  env (may be NULL) is prepended to the
 * shell command ("SNAPBROKER_CONFIG=... "). */
char *lvt_cli(const char *env, const char *args, int *status);

/* libvirt's last error message ("" when none). */
const char *lvt_vir_err(void);

#endif
