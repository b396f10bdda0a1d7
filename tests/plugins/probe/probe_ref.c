/* "probe" (probe:///default): the reference plugin (broker-owned
 * metadata) calling the tree host services where the broker must refuse
 * them without crashing, chosen by SB_PROBE (meson.build):
 *   create_other   tree_list of another domain during snapshot_create
 *   revert_other   ... during snapshot_revert
 *   delete_other   ... during snapshot_delete
 *   undefine_other ... during domain_undefine (the broker holds the store)
 *   update_other   tree_update_xml of another domain during a create
 *   state_tree     tree_list of the domain asked, from domain_get_state
 *   open_tree      tree_list from open
 *   close_tree     tree_list from close
 *   create_garbage snapshot_create takes the snapshot and answers text that
 *                  is not XML
 *   create_renamed ... answers the definition under another name
 *   revert_garbage snapshot_revert reverts and answers text that is not XML
 * A refused service fails the callback with the service's error, as a
 * careful plugin does (the tests read the broker's message); each result
 * also goes to stderr ("probe: WHERE: tree_list(DOM) -> RC"). */
#include "ref.h"
#include "fixture_file.h"
#include "probe_common.h"

#include <stdio.h>
#include <string.h>

const struct sb_host_api *ref_host;

/* ref_snapshot_create & co. log calls through this (ref.c); not here. */
void ref_call_log(const char *callback)
{
    (void)callback;
}

/* The domain the *_other probes ask about: one the store of the running
 * operation is not (and the plugin does not know: a store for it would be
 * opened only after the cached one had been closed). */
#define OTHER "ghost"

static int probe_list(sb_conn *c, const char *domain, const char *where)
{
    char **names = NULL;
    size_t n = 0;
    int rc = ref_host->tree_list(c->h, domain, &names, &n);

    fprintf(stderr, "probe: %s: tree_list(%s) -> %d\n", where, domain, rc);
    for (size_t i = 0; i < n; i++)
        ref_host->free(names[i]);
    ref_host->free(names);
    return rc < 0 ? rc : 0;
}

static int p_create(char **out, sb_conn *c, const char *d, const char *xml, unsigned f)
{
    int rc = 0;

    if (probe_is("create_other"))
        rc = probe_list(c, OTHER, "snapshot_create");
    if (probe_is("update_other")) {
        rc = ref_host->tree_update_xml(c->h, OTHER, "s",
                                     "<domainsnapshot><name>s</name><state>shutoff</state>"
                                     "<creationTime>1</creationTime></domainsnapshot>");
        fprintf(stderr, "probe: tree_update_xml(%s) -> %d\n", OTHER, rc);
    }
    if (rc < 0 || (rc = ref_snapshot_create(out, c, d, xml, f)) < 0)
        return rc;
    if (probe_is("create_renamed")) {
        /* the definition it was given, under another snapshot's name */
        ref_host->free(*out);
        char *name = (*out = ref_host->strdup(xml)) ? strstr(*out, "<name>") : NULL;
        if (name)
            name[6] = 'Z';
    }
    return probe_garbage_answer(0, "create_garbage", ref_host, out);
}

static int p_revert(char **out, sb_conn *c, const char *d, const char *xml, unsigned f)
{
    int rc = probe_is("revert_other") ? probe_list(c, OTHER, "snapshot_revert") : 0;
    if (rc < 0)
        return rc;
    if ((rc = ref_snapshot_revert(out, c, d, xml, f)) < 0)
        return rc;
    return probe_garbage_answer(0, "revert_garbage", ref_host, out);
}

static int p_delete(sb_conn *c, const char *d, const char *xml, unsigned f)
{
    int rc = probe_is("delete_other") ? probe_list(c, OTHER, "snapshot_delete") : 0;
    if (rc < 0)
        return rc;
    return ref_snapshot_delete(c, d, xml, f);
}

static int p_state(int *out, sb_conn *c, const char *d)
{
    int rc = probe_is("state_tree") ? probe_list(c, d, "domain_get_state") : 0;
    if (rc < 0)
        return rc;
    return ref_domain_get_state(out, c, d);
}

static int p_undefine(sb_conn *c, const char *d, unsigned f)
{
    int rc = probe_is("undefine_other") ? probe_list(c, OTHER, "domain_undefine") : 0;
    if (rc < 0)
        return rc;
    return ref_domain_undefine(c, d, f);
}

static void p_close(sb_conn *c)
{
    if (!c)
        return;
    if (probe_is("close_tree"))
        (void)probe_list(c, "test", "close"); /* nothing to fail */
    ref_host->free(c->file);
    ref_host->free(c->lock_file);
    ref_host->free(c);
}

static int p_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;
    int rc;

    (void)uri;
    *out = NULL;
    if (!(c = ref_host->alloc(sizeof(*c))))
        return ref_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    if ((rc = probe_is("open_tree") ? probe_list(c, "test", "open") : 0) < 0 ||
        (rc = fx_state_files(ref_host, h, "domains", &c->file, &c->lock_file)) < 0) {
        p_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ref's capabilities for the verbs the tests use. */
static const struct sb_plugin_caps caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_DISK_ONLY,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY |
                    SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .names_unique = 1,
};

static const struct sb_plugin table = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "probe",
    .version = "1",
    .description = "reference plugin calling tree services at odd times (tests)",
    .caps = &caps,
    .open = p_open,
    .close = p_close,
    .domain_list = ref_domain_list,
    .domain_get_xml = ref_domain_get_xml,
    .domain_get_state = p_state,
    .snapshot_create = p_create,
    .snapshot_revert = p_revert,
    .snapshot_delete = p_delete,
    .domain_define = ref_domain_define,
    .domain_undefine = p_undefine,
    .domain_start = ref_domain_start,
    .domain_destroy = ref_domain_destroy,
    .domain_shutdown = ref_domain_shutdown,
    .domain_suspend = ref_domain_suspend,
    .domain_resume = ref_domain_resume,
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t major,
                                        uint32_t minor);
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t major,
                                        uint32_t minor)
{
    (void)major;
    (void)minor;
    ref_host = host;
    *out = &table;
    return 0;
}
