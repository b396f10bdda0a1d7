/* libvirt plugin - credentials for libvirt's auth callback.
 *
 * Answered, never interactively, from (in this order) the host's config
 * group ('username', 'password') and an auth file in libvirt's auth.conf
 * format: the group's 'auth_file', else LIBVIRT_AUTH_FILE, else
 * $XDG_CONFIG_HOME/libvirt/auth.conf (~/.config/...), else
 * /etc/libvirt/auth.conf.  A credential we cannot answer fails the
 * connection with a message naming it.  Secrets are never logged and are
 * wiped from memory when the connection closes. */
#include "lvp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void lvp_auth_free(struct lvp_auth *a)
{
    free(a->username);
    wipe_free(a->password);
    free(a->auth_file);
    memset(a, 0, sizeof(*a));
}

static int config_copy(sb_conn *c, const char *key, char **dst)
{
    const char *v = NULL;
    int r = lvp_host->config_string(c->h, key, &v);

    if (r == 1 && v && !(*dst = strdup(v)))
        return lvp_host->set_error(c->h, SB_ERR_NO_MEMORY, "out of memory");
    return r < 0 ? r : 0;
}

/* The auth file section names libvirt uses: the remote driver asks as
 * "libvirt", client-side drivers under their own name. */
static const char *service_of(const char *uri)
{
    static const char *const own[] = { "test", "esx", "vpx", "gsx", "hyperv" };
    size_t n = strcspn(uri, ":+");

    if (uri[n] == '+')
        return "libvirt"; /* a transport: the remote driver */
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strlen(own[i]) == n && strncmp(uri, own[i], n) == 0)
            return own[i];
    return "libvirt";
}

int lvp_auth_load(sb_conn *c)
{
    struct lvp_auth *a = &c->auth;
    int rc;

    if ((rc = config_copy(c, "username", &a->username)) < 0 ||
        (rc = config_copy(c, "password", &a->password)) < 0 ||
        (rc = config_copy(c, "auth_file", &a->auth_file)) < 0)
        return rc;
    a->service = service_of(c->uri);
    a->host = c->host;
    return 0;
}

/* ---- libvirt's auth.conf: [credentials-NAME] authname=/password=,
 * [auth-SERVICE-HOST] credentials=NAME ---------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

char *lvp_auth_file_lookup(const char *path, const char *section, const char *key)
{
    FILE *f = fopen(path, "re");
    char line[1024], *found = NULL;
    int in_section = 0;

    if (!f)
        return NULL;
    while (!found && fgets(line, sizeof(line), f)) {
        char *s = trim(line);
        if (*s == '#' || *s == ';' || !*s)
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            in_section = end && (size_t)(end - s - 1) == strlen(section) &&
                         strncmp(s + 1, section, strlen(section)) == 0;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in_section || !eq)
            continue;
        *eq = '\0';
        if (strcmp(trim(s), key) == 0)
            found = strdup(trim(eq + 1));
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return found;
}

/* The auth file to read: the first that exists. */
static char *auth_file_path(const struct lvp_auth *a)
{
    const char *env = getenv("LIBVIRT_AUTH_FILE"), *xdg = getenv("XDG_CONFIG_HOME"),
               *home = getenv("HOME");
    char *p;

    if (a->auth_file)
        return strdup(a->auth_file);
    if (env && *env)
        return strdup(env);
    if (xdg && *xdg)
        p = lvp_printf("%s/libvirt/auth.conf", xdg);
    else
        p = home ? lvp_printf("%s/.config/libvirt/auth.conf", home) : NULL;
    if (p && access(p, R_OK) == 0)
        return p;
    free(p);
    return access("/etc/libvirt/auth.conf", R_OK) == 0 ? strdup("/etc/libvirt/auth.conf") : NULL;
}

/* key ("authname", "password") of the credentials the auth file gives
 * this service and host (or the service's "default" host). */
static char *from_auth_file(const struct lvp_auth *a, const char *key)
{
    char *path = auth_file_path(a), *creds = NULL, *value = NULL, *section;

    if (!path)
        return NULL;
    const char *hosts[] = { a->host, "default" };
    for (size_t i = 0; i < 2 && !creds; i++) {
        if ((section = lvp_printf("auth-%s-%s", a->service, hosts[i]))) {
            creds = lvp_auth_file_lookup(path, section, "credentials");
            free(section);
        }
    }
    if (creds && (section = lvp_printf("credentials-%s", creds))) {
        value = lvp_auth_file_lookup(path, section, key);
        free(section);
    }
    free(creds);
    free(path);
    return value;
}

static int answer(virConnectCredentialPtr cred, char *value)
{
    cred->result = value; /* libvirt frees it */
    cred->resultlen = value ? (unsigned)strlen(value) : 0;
    return value ? 0 : -1;
}

static int auth_cb(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
    sb_conn *c = cbdata;
    struct lvp_auth *a = &c->auth;

    for (unsigned int i = 0; i < ncred; i++) {
        char *v = NULL;
        const char *what = NULL;
        switch (cred[i].type) {
        case VIR_CRED_USERNAME:
        case VIR_CRED_AUTHNAME:
            /* libvirt's own readers of the file use both keys (SASL's
             * authname, the client-side drivers' username) */
            v = a->username ? strdup(a->username) : from_auth_file(a, "authname");
            if (!v)
                v = from_auth_file(a, "username");
            if (!v && cred[i].defresult && *cred[i].defresult)
                v = strdup(cred[i].defresult);
            what = "user name";
            break;
        case VIR_CRED_PASSPHRASE:
            v = a->password ? strdup(a->password) : from_auth_file(a, "password");
            what = "password";
            break;
        case VIR_CRED_REALM:
            v = strdup(cred[i].defresult ? cred[i].defresult : "");
            break;
        default: /* free-form prompts (ECHOPROMPT...) would need a person */
            what = "answer to an interactive prompt";
            break;
        }
        if (answer(&cred[i], v) < 0) {
            snprintf(a->missing, sizeof(a->missing), "%s", what ? what : "credential");
            return -1;
        }
    }
    return 0;
}

void lvp_auth_fill(sb_conn *c, virConnectAuth *out)
{
    static int types[] = { VIR_CRED_AUTHNAME, VIR_CRED_USERNAME, VIR_CRED_PASSPHRASE,
                           VIR_CRED_REALM };
    out->credtype = types;
    out->ncredtype = sizeof(types) / sizeof(types[0]);
    out->cb = auth_cb;
    out->cbdata = c;
}
