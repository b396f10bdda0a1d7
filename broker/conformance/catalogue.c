/* The catalogue: every family's scenarios in one stable order, and what
 * each needs in words (for --list and docs/conformance.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

static const struct k_family *const families[] = {
    &k_family_flags,  &k_family_xml,    &k_family_tree,   &k_family_list,
    &k_family_errors, &k_family_revert, &k_family_meta,   &k_family_limits,
    &k_family_concurrency, &k_family_data,
};

size_t k_catalogue(const struct k_scenario *const **out)
{
    static const struct k_scenario **all;
    static size_t n;

    if (!all) {
        size_t total = 0, i = 0;
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
            total += families[f]->n;
        if (!(all = malloc(total * sizeof(*all)))) {
            *out = NULL;
            return 0;
        }
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
            for (size_t s = 0; s < families[f]->n; s++)
                all[i++] = &families[f]->v[s];
        n = total;
    }
    *out = all;
    return n;
}

int k_id_selected(const char *id, const char *const *only, size_t nonly)
{
    if (!nonly)
        return 1;
    for (size_t i = 0; i < nonly; i++) {
        size_t len = strlen(only[i]);
        if (len && only[i][len - 1] == '*') {
            if (strncmp(id, only[i], len - 1) == 0)
                return 1;
        } else if (strcmp(id, only[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void add(char *buf, size_t len, const char *word)
{
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", word);
}

static void add_flags(char *buf, size_t len, unsigned mask, int family)
{
    const char *prefix = "VIR_DOMAIN_SNAPSHOT_";
    for (unsigned bit = 1; bit; bit <<= 1) {
        const char *name = (mask & bit) ? sb_flag_name(family, bit) : NULL;
        if (name)
            add(buf, len, strncmp(name, prefix, strlen(prefix)) == 0 ? name + strlen(prefix)
                                                                     : name);
    }
}

const char *k_needs_words(const struct k_needs *n, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *word;
    } ops[] = { { K_OP_START, "domain_start" },
                { K_OP_DESTROY, "domain_destroy" },
                { K_OP_SUSPEND, "domain_suspend" },
                { K_OP_RESUME, "domain_resume" },
                { K_OP_DEFINE, "domain_define" },
                { K_OP_IS_ACTIVE, "domain_is_active" } },
      traits[] = { { K_T_BROKER_META, "broker-owned metadata" },
                   { K_T_HV_META, "hypervisor-owned metadata" },
                   { K_T_UNIQUE, "unique names" },
                   { K_T_NOT_UNIQUE, "names not unique" },
                   { K_T_PARSE_CREATE, "create parse" },
                   { K_T_OVERRIDE_NONE, "disk override none" },
                   { K_T_OVERRIDE_MATCH, "disk override match" },
                   { K_T_OVERRIDE_ALLOWED, "disk override allowed" },
                   { K_T_MAX_DEPTH, "max_depth" },
                   { K_T_MAX_SNAPSHOTS, "max_snapshots" },
                   { K_T_NAME_MAX, "name_max < 255" },
                   { K_T_GUEST_DATA, "guest data" },
                   { K_T_DISKS, "reported disks" } };

    buf[0] = '\0';
    add_flags(buf, len, n->create, SB_FLAGS_CREATE);
    add_flags(buf, len, n->revert, SB_FLAGS_REVERT);
    add_flags(buf, len, n->del, SB_FLAGS_DELETE);
    add_flags(buf, len, n->list, SB_FLAGS_LIST);
    add_flags(buf, len, n->xml, SB_FLAGS_XML);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (n->ops & ops[i].bit)
            add(buf, len, ops[i].word);
    for (size_t i = 0; i < sizeof(traits) / sizeof(traits[0]); i++)
        if (n->traits & traits[i].bit)
            add(buf, len, traits[i].word);
    if (!buf[0])
        snprintf(buf, len, "-");
    return buf;
}
