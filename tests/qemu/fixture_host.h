/* tests/qemu - a FIXTURE host-services table standing in for the broker.
 *
 * It is not the broker: it implements just enough of struct sb_host_api
 * (errors, memory, a state dir, a minimal snapshot/domain XML view and
 * formatter with libxml2, and an in-memory snapshot tree) to drive the
 * qemu plugin .so through its ABI in tests.  The real broker's services
 * are tested by the broker's own suites.
 */
#ifndef QEMU_FIXTURE_HOST_H
#define QEMU_FIXTURE_HOST_H

#include "snapbroker/plugin.h"

struct fx_snap {
    char *name;
    char *parent;
    char *xml;
};

struct fx_host {
    char state_dir[512];
    int last_code;
    char last_msg[1024];
    struct fx_snap snaps[64];
    int nsnaps;
    int current; /* index or -1 */
};

extern struct fx_host fx;
extern const struct sb_host_api fx_api;

void fx_reset(const char *state_dir);
/* store (or replace) a snapshot in the fixture tree; parent = current */
void fx_tree_add(const char *name, const char *xml);
void fx_tree_remove(const char *name); /* children re-parented */
const char *fx_tree_xml(const char *name);
/* value of an element/attribute in XML: tiny helper for asserts */
int fx_xml_count(const char *xml, const char *needle);

#endif
