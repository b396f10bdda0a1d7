/* minimal-plugin.c - the smallest complete snapbroker plugin.
 *
 * Build (out of tree, against the installed SDK alone):
 *   cc -std=c99 $(pkg-config --cflags snapbroker-plugin) -o minimal.so \
 *      minimal-plugin.c $(pkg-config --libs snapbroker-plugin)
 * (the flags build a module that exports only sb_plugin_entry_v1;
 * docs/plugin-guide.md walks through it, examples/plugin-skeleton/ is a
 * fuller starting point).
 *
 * It knows one domain, "demo", always shut off, and lets the broker keep
 * the snapshot metadata (SB_META_BROKER): create/revert/delete only have
 * to check the domain, because there is no disk to touch.
 */
#include <string.h>

#include <snapbroker/plugin.h>

static const struct sb_host_api *host; /* saved by the entry */

struct sb_conn {
    sb_host *h; /* for error messages */
};

static int check_domain(sb_conn *c, const char *domain)
{
    if (domain && strcmp(domain, "demo") == 0)
        return 0;
    /* set_error returns -code: report and fail in one statement */
    return host->set_error(c->h, SB_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                           domain ? domain : "");
}

static int mp_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;

    *out = NULL;
    if (!uri || strcmp(uri, "minimal:///") != 0)
        return host->set_error(h, SB_ERR_INVALID_ARG, "unsupported URI '%s'", uri ? uri : "");
    if (!(c = host->alloc(sizeof(*c))))
        return host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    *out = c;
    return 0;
}

static void mp_close(sb_conn *c)
{
    host->free(c); /* free(NULL) is fine: close must accept NULL */
}

static int mp_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    char **names;

    *out_names = NULL;
    *out_n = 0;
    if (flags == SB_DOMAIN_LIST_ACTIVE) /* "demo" is never running */
        return 0;
    /* everything returned is allocated with the host's allocator */
    if (!(names = host->alloc(sizeof(*names))) || !(names[0] = host->strdup("demo"))) {
        host->free(names);
        return host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    }
    *out_names = names;
    *out_n = 1;
    return 0;
}

static int mp_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    int rc;

    (void)flags;
    *out_xml = NULL;
    if ((rc = check_domain(c, domain)) < 0)
        return rc;
    *out_xml = host->strdup("<domain type='minimal'>\n"
                            "  <name>demo</name>\n"
                            "  <devices>\n"
                            "    <disk type='file' device='disk'>\n"
                            "      <source file='/var/lib/minimal/demo.img'/>\n"
                            "      <target dev='vda' bus='virtio'/>\n"
                            "    </disk>\n"
                            "  </devices>\n"
                            "</domain>\n");
    if (!*out_xml)
        return host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

static int mp_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    *out_state = SB_DOMAIN_SHUTOFF;
    return check_domain(c, domain);
}

static int mp_snapshot_create(char **out_xml, sb_conn *c, const char *domain,
                              const char *snapshot_xml, unsigned flags)
{
    (void)snapshot_xml;
    (void)flags; /* the broker already refused flags outside caps.create_flags */
    *out_xml = NULL; /* keep the broker's definition as it is */
    return check_domain(c, domain);
}

static int mp_snapshot_revert(char **out_xml, sb_conn *c, const char *domain,
                              const char *snapshot_xml, unsigned flags)
{
    (void)snapshot_xml;
    (void)flags;
    *out_xml = NULL;
    return check_domain(c, domain);
}

static int mp_snapshot_delete(sb_conn *c, const char *domain, const char *snapshot_xml,
                              unsigned flags)
{
    (void)snapshot_xml;
    (void)flags;
    return check_domain(c, domain);
}

static const struct sb_plugin_caps mp_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT,
    .revert_flags = 0,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY |
                    SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = 0,
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_NONE,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
};

static const struct sb_plugin mp_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "minimal",
    .version = "1.0",
    .description = "the plugin author's guide example",
    .caps = &mp_caps,
    .open = mp_open,
    .close = mp_close,
    .domain_list = mp_domain_list,
    .domain_get_xml = mp_domain_get_xml,
    .domain_get_state = mp_domain_get_state,
    .snapshot_create = mp_snapshot_create,
    .snapshot_revert = mp_snapshot_revert,
    .snapshot_delete = mp_snapshot_delete,
    /* every optional member left out is NULL: "not supported" */
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *h, uint32_t host_major,
                                        uint32_t host_minor);

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *h, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_major; /* the broker calls only entries of its own major */
    (void)host_minor; /* we use nothing newer than 1.0 */
    host = h;
    *out = &mp_plugin;
    return 0;
}
