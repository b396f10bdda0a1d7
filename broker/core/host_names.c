/* Host names of metadata: the derived name of an unconfigured URI, and
 * the warning when the same URI's metadata exists under two names. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/host_names.h"
#include "plugin/log.h"

char *sb_host_name_from_uri(const char *uri)
{
    size_t len = strlen(uri), k = 0;
    char *s = malloc(len + 2);
    if (!s)
        return NULL;
    for (const char *p = uri; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || (*p == '.' && k > 0);
        if (ok)
            s[k++] = *p;
        else if (k > 0 && s[k - 1] != '_')
            s[k++] = '_';
    }
    while (k > 0 && s[k - 1] == '_')
        k--;
    if (k == 0)
        s[k++] = '_';
    s[k] = '\0';
    return s;
}

/* STATE/hosts/<name> exists (as anything: a file there is as surprising). */
static bool host_dir_exists(const char *state_dir, const char *name)
{
    char *p = NULL;
    struct stat st;
    bool found;

    if (asprintf(&p, "%s/hosts/%s", state_dir, name) < 0)
        return false;
    found = lstat(p, &st) == 0;
    free(p);
    return found;
}

void sb_host_names_warn(const sb_config *cfg, const sb_config_host *h)
{
    char origin[96];
    char *derived;

    if (!h->uri || !cfg->state_dir)
        return;
    snprintf(origin, sizeof(origin), "host '%s'", h->name);
    derived = sb_host_name_from_uri(h->uri);
    if (derived && strcmp(derived, h->name) != 0 &&
        sb_config_find_host(cfg, derived) == NULL && host_dir_exists(cfg->state_dir, derived))
        sb_log_write(SB_LOG_WARN, origin,
                     "metadata of %s is also under '%s/hosts/%s' (from before the URI was "
                     "configured) and is not used: this host's is 'hosts/%s' beside it; "
                     "move it there, or name this host '%s' (docs/config.md)",
                     h->uri, cfg->state_dir, derived, h->name, derived);
    free(derived);
    for (size_t i = 0; i < cfg->nhosts; i++) {
        const sb_config_host *o = &cfg->hosts[i];
        if (o == h || !o->uri || strcmp(o->uri, h->uri) != 0 || strcmp(o->name, h->name) == 0)
            continue;
        if (host_dir_exists(cfg->state_dir, o->name))
            sb_log_write(SB_LOG_WARN, origin,
                         "host '%s' has the same URI %s and metadata under '%s/hosts/%s': "
                         "two names keep two separate snapshot trees of one hypervisor "
                         "(docs/config.md)",
                         o->name, h->uri, cfg->state_dir, o->name);
    }
}
