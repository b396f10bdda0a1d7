/* tests/esx - what the esx suite's programs share: one simulator per
 * program, a broker connected to it, a fresh VM per test, and checks on
 * errors and on the SOAP requests the plugin sent. */
#ifndef ESX_TEST_H
#define ESX_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "esxsim.h"
#include "snapbroker/snapbroker.h"

struct esx_fx {
    esxsim sim;
    char state_dir[512];
    char config[512];
    sb_broker *b;
    sb_connection *c;
    char vm[64];     /* the test's VM (its domain name) */
    char moref[32];  /* and its reference */
};

extern struct esx_fx fx;

/* Start the simulator (extra arguments may be NULL) and connect a broker
 * with this esx group (NULL: root/secret, no caching). */
int esx_fx_start(const char *const *sim_args, const char *group);
void esx_fx_stop(void);
/* (Re)connect with another esx group and/or URI (NULL: the default). */
int esx_fx_connect(const char *uri, const char *group);
/* A fresh VM for the test (query: see esxsim_new_vm). */
void esx_fx_vm(const char *query);

void expect_error(int rc, int code, const char *fragment);
/* Create a snapshot <name> with optional extra XML inside. */
int try_create(const char *name, const char *inner, unsigned flags);
void create_ok(const char *name, const char *inner, unsigned flags);
/* Names of a listing joined with ','. */
char *list_str(const char *from, unsigned flags);
/* The requests since the last call; fails the test if unreadable. */
char *requests(void);
/* How many requests of this method contain needle (and needle2, unless
 * NULL). */
int requests_with(const char *reqs, const char *method, const char *needle, const char *needle2);
/* The last request of this method contains needle. */
int request_has(const char *reqs, const char *method, const char *needle);
/* Drain the broker's log; the lines joined (caller frees). */
char *drain_log(void);

#endif
