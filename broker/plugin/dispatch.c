/* Dispatch checks around plugin callbacks (see dispatch.h). */
#include "plugin/dispatch.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "plugin/flag_names.h"
#include "plugin/log.h"

static const char *const verb_names[] = {
    [SB_VERB_CREATE] = "snapshot_create", [SB_VERB_REVERT] = "snapshot_revert",
    [SB_VERB_DELETE] = "snapshot_delete", [SB_VERB_LIST] = "snapshot_list",
    [SB_VERB_XML] = "snapshot_get_xml", [SB_VERB_LIST_CHILDREN] = "snapshot_list",
};

/* The flag family (flag_names.h) of each verb's flags. */
static const int verb_families[] = {
    [SB_VERB_CREATE] = SB_FLAGS_CREATE, [SB_VERB_REVERT] = SB_FLAGS_REVERT,
    [SB_VERB_DELETE] = SB_FLAGS_DELETE, [SB_VERB_LIST] = SB_FLAGS_LIST,
    [SB_VERB_XML] = SB_FLAGS_XML, [SB_VERB_LIST_CHILDREN] = SB_FLAGS_LIST_CHILDREN,
};

const char *sb_verb_name(enum sb_verb verb)
{
    if ((unsigned)verb >= sizeof(verb_names) / sizeof(verb_names[0]))
        return NULL;
    return verb_names[verb];
}

static int verb_mask(const struct sb_plugin_caps *caps, enum sb_verb verb, uint32_t *mask)
{
    switch (verb) {
    case SB_VERB_CREATE: *mask = caps->create_flags; return 0;
    case SB_VERB_REVERT: *mask = caps->revert_flags; return 0;
    case SB_VERB_DELETE: *mask = caps->delete_flags; return 0;
    case SB_VERB_LIST:
    case SB_VERB_LIST_CHILDREN: *mask = caps->list_flags; return 0;
    case SB_VERB_XML: *mask = caps->xml_flags; return 0;
    }
    return -1;
}

int sb_dispatch_check_flags(const sb_loaded_plugin *p, const struct sb_plugin_caps *caps,
                            enum sb_verb verb, unsigned flags)
{
    uint32_t mask;
    char names[512];

    if (verb_mask(caps ? caps : &p->caps, verb, &mask) < 0)
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "unknown verb %d for plugin '%s'", (int)verb,
                            p->name);
    if (flags & ~mask)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags %s for %s in plugin '%s'",
                            sb_flags_describe(names, sizeof(names), verb_families[verb],
                                              flags & ~mask),
                            sb_verb_name(verb), p->name);
    return 0;
}

int sb_dispatch_missing(const sb_loaded_plugin *p, const char *operation)
{
    return sb_error_set(SB_ERR_NO_SUPPORT, "plugin '%s' does not support %s", p->name, operation);
}

int sb_dispatch_has(const sb_loaded_plugin *p, enum sb_plugin_op op)
{
    return sb_plugin_op_fn(&p->ops, op) != NULL;
}

void sb_dispatch_begin(void)
{
    sb_error_clear();
}

static int known_class(int code)
{
    return code > 0 && strcmp(sb_error_class_name(code), "UNKNOWN") != 0;
}

/* The callbacks whose success may be a positive value (plugin.h): every
 * other one returns 0, and a positive return is no answer the broker can
 * read (it did not say whether the work was done). */
static bool may_return_positive(const char *operation)
{
    static const char *const counting[] = { "snapshot_exists" };

    for (size_t i = 0; i < sizeof(counting) / sizeof(counting[0]); i++)
        if (strcmp(operation, counting[i]) == 0)
            return true;
    return false;
}

int sb_dispatch_end(const sb_loaded_plugin *p, const char *operation, int rc)
{
    char msg[sizeof(sb_error_last()->message)];
    int set = sb_error_is_set();

    if (rc > 0 && !may_return_positive(operation))
        return sb_error_set(SB_ERR_INTERNAL_ERROR,
                            "plugin '%s' returned %d from %s, which returns 0 or a negative "
                            "error class", p->name, rc, operation);
    if (rc >= 0) {
        if (set) {
            sb_log_write(SB_LOG_WARN, "dispatch",
                         "plugin '%s' succeeded in %s but reported an error (ignored): %s",
                         p->name, operation, sb_error_last()->message);
            sb_error_clear();
        }
        return rc;
    }
    if (!set)
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "plugin '%s' failed in %s without a message",
                            p->name, operation);
    memcpy(msg, sb_error_last()->message, sizeof(msg));
    if (rc == INT_MIN || !known_class(-rc))
        return sb_error_set(SB_ERR_INTERNAL_ERROR,
                            "plugin '%s' failed in %s with unknown error class %d: %s", p->name,
                            operation, rc, msg);
    if (sb_error_last()->code != -rc)
        sb_error_set(-rc, "%s", msg);
    return rc;
}

int sb_dispatch_out_str(const sb_loaded_plugin *p, const char *operation, const char *what,
                        int rc, char **out)
{
    if (rc < 0 || *out)
        return rc;
    return sb_error_set(SB_ERR_INTERNAL_ERROR, "plugin '%s' returned success but no %s from %s",
                        p->name, what, operation);
}

int sb_dispatch_out_names(const sb_loaded_plugin *p, const char *operation, int rc,
                          char ***names, size_t *n)
{
    size_t i = 0;

    if (rc < 0)
        return rc;
    if (*n && !*names) { /* nothing to free: the count is the lie */
        rc = sb_error_set(SB_ERR_INTERNAL_ERROR,
                          "plugin '%s' returned success but no array for its %zu names from %s",
                          p->name, *n, operation);
        *n = 0;
        return rc;
    }
    while (i < *n && (*names)[i])
        i++;
    if (i == *n)
        return rc;
    rc = sb_error_set(SB_ERR_INTERNAL_ERROR,
                      "plugin '%s' returned success but a NULL name (entry %zu of %zu) from %s",
                      p->name, i + 1, *n, operation);
    for (i = 0; i < *n; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
    return rc;
}
