/* tests/esx - starting and stopping VMware's vSphere simulator (the
 * esxsim program built from tests/esx-sim/) for one test program, and
 * driving its control endpoints (tests/esx-sim/control.go).
 *
 * The simulator is a child of the test: it exits when its standard
 * input closes (so a test that dies never leaves one behind), and
 * esxsim_stop() waits for it.  Every test gets a fresh VM
 * (esxsim_new_vm): the simulator has state-corrupting bugs. */
#ifndef ESX_TEST_ESXSIM_H
#define ESX_TEST_ESXSIM_H

#include <stddef.h>
#include <sys/types.h>

typedef struct esxsim {
    pid_t pid;
    int stdin_fd;
    char dir[256];          /* scratch: datastore (TMPDIR), certificates, config */
    char url[256];          /* http(s)://127.0.0.1:PORT/sdk */
    char hostport[64];      /* 127.0.0.1:PORT */
    char ctl[256];
    char thumbprint[128];   /* -tls: SHA-256, AB:CD:... */
    char thumbprint_sha1[80];
    char ca[512];           /* -tls: the CA's certificate */
    char libvirt_url[256];  /* -libvirt-fix */
} esxsim;

/* Start the simulator with these extra arguments (NULL-terminated, may
 * be NULL); 0 on success, -1 with a message on stderr. */
int esxsim_start(esxsim *s, const char *const *args);
void esxsim_stop(esxsim *s);

/* GET CTL/<path formatted>; the answer (malloc'ed, trailing newline
 * removed) or NULL when the control call failed (message on stderr). */
char *esxsim_ctl(esxsim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A fresh VM: name, query (e.g. "disks=persistent,independent_persistent
 * &power=on"); *moref (32 bytes) gets its reference.  0 or -1. */
int esxsim_new_vm(esxsim *s, const char *name, const char *query, char *moref);

/* The SOAP requests logged since the last call (the log is emptied):
 * "METHOD\tBODY" entries separated by "\n----\n".  Malloc'ed. */
char *esxsim_requests(esxsim *s);
/* How many requests of this method the text holds. */
int esxsim_count(const char *requests, const char *method);

/* Write a snapbroker configuration with one host "sim" (plugin esx, the
 * simulator's URI) whose esx group is `group` (libconfig text), into
 * s->dir/name; path (512 bytes) gets its path. */
int esxsim_write_config(esxsim *s, const char *name, const char *uri, const char *group,
                        char *path);

/* A unique name for a test's VM. */
const char *esxsim_unique(const char *prefix);

#endif
