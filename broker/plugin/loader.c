/* dlopen-based plugin loader and registry (see loader.h). */
#include "plugin/loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "plugin/host.h"
#include "plugin/validate.h"
#include "store/safe_path.h"

struct sb_plugin_registry {
    pthread_mutex_t lock;
    sb_loaded_plugin **items; /* stable addresses: records are handed out */
    size_t n, cap;
};

int sb_registry_new(sb_plugin_registry **out)
{
    sb_plugin_registry *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (!r)
        return sb_error_oom();
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void sb_registry_free(sb_plugin_registry *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++) {
        sb_plugin_record_clear(r->items[i]);
        free(r->items[i]);
    }
    free(r->items);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static sb_loaded_plugin *find_locked(sb_plugin_registry *r, const char *name, void *dl)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if ((name && strcmp(r->items[i]->name, name) == 0) || (dl && r->items[i]->dl == dl))
            return r->items[i];
    return NULL;
}

static int append_locked(sb_plugin_registry *r, sb_loaded_plugin *rec)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        sb_loaded_plugin **items = realloc(r->items, cap * sizeof(*items));
        if (!items)
            return sb_error_oom();
        r->items = items;
        r->cap = cap;
    }
    r->items[r->n++] = rec;
    return 0;
}

/* Run the entry and turn its refusal into a message naming the file.  The
 * class stays PLUGIN_ABI when the plugin said so (it refuses our ABI),
 * anything else becomes PLUGIN_LOAD with the plugin's message kept. */
static int run_entry(const struct sb_plugin **table, sb_plugin_entry_fn entry, const char *path)
{
    int rc;

    *table = NULL;
    sb_error_clear();
    rc = entry(table, sb_host_api_table(), SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR);
    if (rc == 0) {
        sb_error_clear(); /* a stray message on success is not an error */
        return 0;
    }
    /* INT_MIN is no class either, and -INT_MIN (below) is undefined */
    if (rc > 0 || rc == INT_MIN)
        return sb_error_set(SB_ERR_PLUGIN_LOAD,
                            "plugin file '%s': entry %s returned %d (expected 0 or a negative "
                            "error class)",
                            path, SB_PLUGIN_ENTRY_SYMBOL, rc);
    if (!sb_error_is_set())
        return sb_error_set(SB_ERR_PLUGIN_LOAD,
                            "plugin file '%s': entry %s failed (%s) without a message", path,
                            SB_PLUGIN_ENTRY_SYMBOL, sb_error_class_name(-rc));
    {
        int code = -rc == SB_ERR_PLUGIN_ABI ? SB_ERR_PLUGIN_ABI : SB_ERR_PLUGIN_LOAD;
        char msg[sizeof(sb_error_last()->message)];
        memcpy(msg, sb_error_last()->message, sizeof(msg));
        return sb_error_set(code, "plugin file '%s': entry refused to load: %s", path, msg);
    }
}

static int check_plugin_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return sb_error_oom();
    int rc = sb_safe_path_check(dirname(copy), SB_ERR_PLUGIN_LOAD, "plugin directory", NULL);
    free(copy);
    if (rc < 0)
        sb_error_prefix("plugin file '%s'", path);
    return rc;
}

/* A plugin found by name must declare that name: <dir>/qemu.so that calls
 * itself "kvm" would make "qemu" load a different plugin than the
 * configuration asked for.  expect NULL: a file named by path, any name. */
static int check_expected_name(const char *path, const char *name, const char *expect)
{
    if (!expect || strcmp(name, expect) == 0)
        return 0;
    return sb_error_set(SB_ERR_PLUGIN_LOAD,
                        "plugin file '%s': declares the name '%s', expected '%s' from its "
                        "file name",
                        path, name, expect);
}

static int load_locked(const sb_loaded_plugin **out, sb_plugin_registry *r, const char *path,
                       const char *expect)
{
    sb_loaded_plugin *rec = NULL, *other;
    const struct sb_plugin *table;
    sb_plugin_entry_fn entry;
    void *dl, *sym;
    char *real;
    int rc;

    /* Its constructors run as whoever runs the broker (often root): only a
     * file that root or this user alone can change, in directories only
     * they can change, is loaded (store/safe_path.h).  The directory it is
     * found in counts too, even when the file is a symbolic link to
     * elsewhere (a sticky one such as /tmp would let others plant links).
     * The resolved path is what gets opened. */
    if ((rc = check_plugin_dir(path)) < 0 ||
        (rc = sb_safe_path_check(path, SB_ERR_PLUGIN_LOAD, "plugin file", &real)) < 0)
        return rc;
    dlerror();
    dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    free(real);
    if (!dl)
        return sb_error_set(SB_ERR_PLUGIN_LOAD, "plugin file '%s': dlopen failed: %s", path,
                            dlerror());
    /* The same file again (also through another path or a symlink): the
     * loader gave us its existing handle, and its entry already ran. */
    if ((other = find_locked(r, NULL, dl)) != NULL) {
        dlclose(dl); /* drops only the reference this dlopen added */
        if ((rc = check_expected_name(path, other->name, expect)) < 0)
            return rc;
        *out = other;
        return 0;
    }
    dlerror();
    sym = dlsym(dl, SB_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(dl); /* nothing of the plugin ran yet */
        return sb_error_set(SB_ERR_PLUGIN_LOAD, "plugin file '%s': no entry point %s", path,
                            SB_PLUGIN_ENTRY_SYMBOL);
    }
    /* POSIX: a dlsym() result converts to a function pointer. */
    memcpy(&entry, &sym, sizeof(entry));

    /* From here on the file stays mapped, refused or not. */
    if ((rc = run_entry(&table, entry, path)) < 0)
        return rc;

    rec = calloc(1, sizeof(*rec));
    if (!rec)
        return sb_error_oom();
    rec->dl = dl;
    /* Checked before the record is registered: a refused file must not
     * leave its plugin findable under the name it declares (alpha.so
     * declaring "good" made a later "good:///" connect without good.so). */
    if ((rc = sb_plugin_validate(rec, table, path)) < 0 ||
        (rc = check_expected_name(path, rec->name, expect)) < 0)
        goto error;
    if ((other = find_locked(r, rec->name, NULL)) != NULL) {
        rc = sb_error_set(SB_ERR_PLUGIN_LOAD,
                          "plugin file '%s': plugin name '%s' is already loaded from '%s'", path,
                          rec->name, other->path);
        goto error;
    }
    if (!(rec->path = strdup(path))) {
        rc = sb_error_oom();
        goto error;
    }
    if ((rc = append_locked(r, rec)) < 0)
        goto error;
    *out = rec;
    return 0;

 error:
    sb_plugin_record_clear(rec);
    free(rec);
    return rc;
}

static int load_file(const sb_loaded_plugin **out, sb_plugin_registry *r, const char *path,
                     const char *expect)
{
    int rc;

    *out = NULL;
    if (!path || !*path)
        return sb_error_set(SB_ERR_PLUGIN_LOAD, "plugin file '': empty path");
    pthread_mutex_lock(&r->lock);
    rc = load_locked(out, r, path, expect);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int sb_registry_load_file(const sb_loaded_plugin **out, sb_plugin_registry *r, const char *path)
{
    return load_file(out, r, path, NULL);
}

int sb_registry_load_name(const sb_loaded_plugin **out, sb_plugin_registry *r,
                          const sb_plugin_path *path, const char *name)
{
    const sb_loaded_plugin *rec;
    char *file = NULL;
    int rc;

    *out = NULL;
    if ((rec = sb_registry_find(r, name)) != NULL) {
        *out = rec;
        return 0;
    }
    if ((rc = sb_plugin_path_find(&file, path, name)) < 0)
        return rc;
    rc = load_file(out, r, file, name);
    free(file);
    return rc;
}

const sb_loaded_plugin *sb_registry_find(sb_plugin_registry *r, const char *name)
{
    const sb_loaded_plugin *rec;

    if (!name)
        return NULL;
    pthread_mutex_lock(&r->lock);
    rec = find_locked(r, name, NULL);
    pthread_mutex_unlock(&r->lock);
    return rec;
}

size_t sb_registry_count(sb_plugin_registry *r)
{
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const sb_loaded_plugin *sb_registry_get(sb_plugin_registry *r, size_t i)
{
    const sb_loaded_plugin *rec = NULL;

    pthread_mutex_lock(&r->lock);
    if (i < r->n)
        rec = r->items[i];
    pthread_mutex_unlock(&r->lock);
    return rec;
}
