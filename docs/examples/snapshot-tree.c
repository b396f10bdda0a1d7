/* Example: the library API in a dozen calls.  Connects to a host (the
 * default one, or argv[1]), takes a snapshot of a domain, and prints the
 * domain's snapshots parents-first with their parent and state.
 *
 *   cc snapshot-tree.c $(pkg-config --cflags --libs snapbroker)
 *   ./a.out ref:///default test [SNAPSHOT-NAME]
 *
 * Built and run by the test suite (tests/api) on the reference plugin. */
#include <stdio.h>
#include <stdlib.h>

#include <snapbroker/snapbroker.h>

static int fail(const char *what)
{
    const sb_error *e = sb_error_last();
    fprintf(stderr, "%s: %s: %s\n", what, sb_error_class_name(e->code), e->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : NULL; /* NULL: the default host */
    const char *domain = argc > 2 ? argv[2] : "test";
    char xml[512] = "<domainsnapshot/>";
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    char **names = NULL, *name = NULL;
    size_t n = 0;
    int rc = 1;

    if (sb_broker_new(&b, NULL) < 0)
        return fail("configuration");
    if (sb_connect(&c, b, host, 0) < 0) {
        rc = fail("connect");
        goto out;
    }
    /* A minimal document: the broker fills in time, state, memory, disks
     * and the domain definition as libvirt does, and without a name the
     * time in seconds (so two in one second collide, as in libvirt). */
    if (argc > 3)
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", argv[3]);
    if (sb_snapshot_create_xml(&name, c, domain, xml, 0) < 0) {
        rc = fail("snapshot");
        goto out;
    }
    printf("created %s\n", name);
    if (sb_snapshot_list(&names, &n, c, domain, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL) < 0) {
        rc = fail("list");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sb_snapshot_info info;
        if (sb_snapshot_info_get(&info, c, domain, names[i]) < 0) {
            rc = fail("info");
            goto out;
        }
        printf("%-12s parent=%-12s state=%s%s\n", names[i], info.parent[0] ? info.parent : "-",
               sb_snapshot_state_name(info.state), info.is_current ? " (current)" : "");
    }
    rc = 0;
out:
    sb_names_free(names, n);
    free(name);
    sb_disconnect(c);
    sb_broker_free(b);
    return rc;
}
