/* snapbroker CLI - a domain given by ID or UUID, as virsh accepts it.
 *
 * The library names domains; the plugins' domain XML carries the rest:
 * <uuid> always, id='N' on a running domain where the hypervisor numbers
 * them (libvirt).  virsh's order is kept: a number is tried as an ID, a
 * UUID as a UUID, and whatever matches nothing is a name, so a domain
 * really named "7" is still found.  Only a word that looks like an ID or
 * a UUID costs a listing (one XML read per domain). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xpath.h"

static int looks_like_id(const char *s)
{
    if (!*s || strlen(s) > 9)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* 8-4-4-4-12 hexadecimal digits, either case (libvirt prints lower). */
static int looks_like_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int cli_domain_field(char **out, sb_cli *cli, const char *domain, const char *expr)
{
    char *xml = NULL;

    *out = NULL;
    if (sb_domain_get_xml(&xml, cli->conn, domain, 0) < 0)
        return -1;
    *out = sb_xpath_string(xml, expr);
    free(xml);
    return *out ? 0 : -1;
}

/* The name of the domain whose expr field equals word, or NULL. */
static char *find_by(sb_cli *cli, unsigned list_flags, const char *expr, const char *word)
{
    char **names = NULL, *found = NULL;
    size_t n = 0;

    if (sb_domain_list(&names, &n, cli->conn, list_flags) < 0)
        return NULL; /* the command then reports the word as a name */
    for (size_t i = 0; i < n && !found; i++) {
        char *v = NULL;
        if (cli_domain_field(&v, cli, names[i], expr) == 0 && *v && strcasecmp(v, word) == 0)
            found = strdup(names[i]);
        free(v);
    }
    sb_names_free(names, n);
    return found;
}

void cli_resolve_domain(sb_cli *cli)
{
    const sb_args *a = cli->args;
    char *name = NULL;

    if (!a)
        return;
    for (size_t i = 0; i < a->ndefs; i++) {
        const char *w = a->vals[i].str;
        if (!(a->defs[i].flags & SB_OPTF_DOMAIN) || !w)
            continue;
        if (looks_like_id(w))
            name = find_by(cli, SB_DOMAIN_LIST_ACTIVE, "string(/domain/@id)", w);
        if (!name && looks_like_uuid(w))
            name = find_by(cli, 0, "string(/domain/uuid)", w);
        if (name) {
            free(cli->resolved_domain);
            cli->resolved_domain = name;
            a->vals[i].str = name;
        }
        return;
    }
}
