/* "probe-hv" (probe-hv:///default): refhv (hypervisor-owned metadata,
 * libvirt's ESX rules) answering what the ABI forbids, chosen by SB_PROBE
 * (meson.build):
 *   getxml_null      snapshot_get_xml: success, no XML
 *   getxml_garbage   snapshot_get_xml: success, text that is not XML
 *   getxml_othername snapshot_get_xml: the document of another name
 *   list_null        snapshot_list: success, names NULL with a count of 3
 *   list_null_entry  snapshot_list: success, a NULL name in the array
 *   current_null     snapshot_current: success, no name
 *   parent_null      snapshot_parent: success, no name
 *   dlist_null       domain_list: success, names NULL with a count of 2
 *   dlist_null_entry domain_list: success, a NULL name in the array
 *   dxml_null        domain_get_xml: success, no XML
 *   state_99         domain_get_state: success, state 99
 *   state_negative   domain_get_state: success, state -1
 *   create_intmin    snapshot_create: set_error(INT_MIN)
 *   create_positive  snapshot_create: returns 5, having done nothing
 *   create_garbage   snapshot_create: takes the snapshot, answers text
 *                    that is not XML
 *   revert_garbage   snapshot_revert: reverts, answers text that is not XML
 *   revert_positive  snapshot_revert: returns 1, having done nothing */
#include "refhv.h"
#include "fixture_file.h"
#include "probe_common.h"

#include <limits.h>

const struct sb_host_api *hv_host;

/* Empty the first entry of a successful listing. */
static void drop_first(char **names, size_t n)
{
    if (n > 0) {
        hv_host->free(names[0]);
        names[0] = NULL;
    }
}

static int p_list(char ***out, size_t *n, sb_conn *c, const char *d, const char *from,
                  unsigned f)
{
    if (probe_is("list_null")) {
        *out = NULL;
        *n = 3;
        return 0;
    }
    int rc = hv_snapshot_list(out, n, c, d, from, f);
    if (rc == 0 && probe_is("list_null_entry"))
        drop_first(*out, *n);
    return rc;
}

static int p_get_xml(char **out, sb_conn *c, const char *d, const char *name, unsigned f)
{
    int rc;

    if (probe_is("getxml_null")) {
        *out = NULL;
        return 0;
    }
    if (probe_is("getxml_garbage")) {
        *out = hv_host->strdup("this is not xml <<<");
        return 0;
    }
    rc = hv_snapshot_get_xml(out, c, d, name, f);
    if (rc == 0 && probe_is("getxml_othername")) {
        char *p = strstr(*out, "<name>");
        if (p)
            p[6] = 'Z'; /* a valid document, another snapshot's name */
    }
    return rc;
}

static int p_current(char **out, sb_conn *c, const char *d)
{
    if (probe_is("current_null")) {
        *out = NULL;
        return 0;
    }
    return hv_snapshot_current(out, c, d);
}

static int p_parent(char **out, sb_conn *c, const char *d, const char *name)
{
    if (probe_is("parent_null")) {
        *out = NULL;
        return 0;
    }
    return hv_snapshot_parent(out, c, d, name);
}

static int p_dlist(char ***out, size_t *n, sb_conn *c, unsigned f)
{
    if (probe_is("dlist_null")) {
        *out = NULL;
        *n = 2;
        return 0;
    }
    int rc = hv_domain_list(out, n, c, f);
    if (rc == 0 && probe_is("dlist_null_entry"))
        drop_first(*out, *n);
    return rc;
}

static int p_dxml(char **out, sb_conn *c, const char *d, unsigned f)
{
    if (probe_is("dxml_null")) {
        *out = NULL;
        return 0;
    }
    return hv_domain_get_xml(out, c, d, f);
}

static int p_define(char **out, sb_conn *c, const char *xml, unsigned f)
{
    int rc = hv_domain_define(out, c, xml, f);
    if (rc == 0 && probe_is("define_noname")) {
        hv_host->free(*out);
        *out = NULL;
    }
    return rc;
}

static int p_state(int *out, sb_conn *c, const char *d)
{
    if (probe_is("state_99")) {
        *out = 99;
        return 0;
    }
    if (probe_is("state_negative")) {
        *out = -1;
        return 0;
    }
    return hv_domain_get_state(out, c, d);
}

static int p_create(char **out, sb_conn *c, const char *d, const char *xml, unsigned f)
{
    if (probe_is("create_intmin"))
        return hv_host->set_error(c->h, INT_MIN, "a class no one knows");
    if (probe_is("create_positive"))
        return 5;
    return probe_garbage_answer(hv_snapshot_create(out, c, d, xml, f), "create_garbage", hv_host,
                                out);
}

static int p_revert(char **out, sb_conn *c, const char *d, const char *xml, unsigned f)
{
    if (probe_is("revert_positive"))
        return 1;
    return probe_garbage_answer(hv_snapshot_revert(out, c, d, xml, f), "revert_garbage", hv_host,
                                out);
}

static void p_close(sb_conn *c)
{
    if (!c)
        return;
    hv_host->free(c->file);
    hv_host->free(c->lock_file);
    hv_host->free(c);
}

static int p_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;
    int rc;

    (void)uri;
    *out = NULL;
    if (!(c = hv_host->alloc(sizeof(*c))))
        return hv_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    if ((rc = fx_state_files(hv_host, h, "refhv", &c->file, &c->lock_file)) < 0) {
        p_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* refhv's ESX capabilities (refhv.c). */
static const struct sb_plugin_caps caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_VALIDATE,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA | SB_SNAPSHOT_LIST_LEAVES,
    .meta_owner = SB_META_HYPERVISOR,
    .disk_override = SB_DISK_OVERRIDE_NONE,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
};

static const struct sb_plugin table = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "probe-hv",
    .version = "1",
    .description = "refhv answering what the ABI forbids (tests)",
    .caps = &caps,
    .open = p_open,
    .close = p_close,
    .domain_list = p_dlist,
    .domain_get_xml = p_dxml,
    .domain_get_state = p_state,
    .snapshot_create = p_create,
    .snapshot_revert = p_revert,
    .snapshot_delete = hv_snapshot_delete,
    .domain_define = p_define,
    .domain_undefine = hv_domain_undefine,
    .domain_start = hv_domain_start,
    .domain_destroy = hv_domain_destroy,
    .domain_shutdown = hv_domain_shutdown,
    .domain_suspend = hv_domain_suspend,
    .domain_resume = hv_domain_resume,
    .snapshot_list = p_list,
    .snapshot_get_xml = p_get_xml,
    .snapshot_current = p_current,
    .snapshot_parent = p_parent,
    .snapshot_exists = hv_snapshot_exists,
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
    hv_host = host;
    *out = &table;
    return 0;
}
