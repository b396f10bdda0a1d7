/* snapbroker - JSON documents on json-c (see jsonout.h). */
#include "jsonout.h"

#include <stdlib.h>
#include <string.h>

json_object *sb_jdoc_init(sb_jdoc *d, int array)
{
    d->root = array ? json_object_new_array() : json_object_new_object();
    d->oom = d->root == NULL;
    return d->root;
}

/* Put value under key of parent (or append it); on failure value is
 * released and the failure remembered.  A NULL value is json null unless
 * it stands for a failed allocation (failed set). */
static void put(sb_jdoc *d, json_object *parent, const char *key, json_object *value, int failed)
{
    int rc = -1;

    if (failed || !parent) {
        d->oom = 1;
        json_object_put(value);
        return;
    }
    if (json_object_is_type(parent, json_type_array))
        rc = key ? -1 : json_object_array_add(parent, value);
    else if (json_object_is_type(parent, json_type_object))
        rc = key ? json_object_object_add(parent, key, value) : -1;
    if (rc < 0) {
        /* json-c leaves value with us when it cannot add it */
        d->oom = 1;
        json_object_put(value);
    }
}

json_object *sb_jdoc_object(sb_jdoc *d, json_object *parent, const char *key)
{
    json_object *o = json_object_new_object();
    put(d, parent, key, o, o == NULL);
    return d->oom ? NULL : o;
}

json_object *sb_jdoc_array(sb_jdoc *d, json_object *parent, const char *key)
{
    json_object *a = json_object_new_array();
    put(d, parent, key, a, a == NULL);
    return d->oom ? NULL : a;
}

void sb_jdoc_str(sb_jdoc *d, json_object *parent, const char *key, const char *value)
{
    json_object *v = value ? json_object_new_string(value) : NULL;
    put(d, parent, key, v, value && !v);
}

void sb_jdoc_int(sb_jdoc *d, json_object *parent, const char *key, long long value)
{
    json_object *v = json_object_new_int64(value);
    put(d, parent, key, v, !v);
}

void sb_jdoc_uint(sb_jdoc *d, json_object *parent, const char *key, unsigned long long value)
{
    json_object *v = json_object_new_uint64(value);
    put(d, parent, key, v, !v);
}

void sb_jdoc_bool(sb_jdoc *d, json_object *parent, const char *key, int value)
{
    json_object *v = json_object_new_boolean(value != 0);
    put(d, parent, key, v, !v);
}

void sb_jdoc_null(sb_jdoc *d, json_object *parent, const char *key)
{
    put(d, parent, key, NULL, 0);
}

void sb_jdoc_add(sb_jdoc *d, json_object *parent, const char *key, json_object *value)
{
    put(d, parent, key, value, !value);
}

void sb_jdoc_free(sb_jdoc *d)
{
    json_object_put(d->root);
    d->root = NULL;
}

char *sb_jdoc_text(sb_jdoc *d)
{
    char *out = NULL;

    if (!d->oom && d->root) {
        size_t len;
        const char *text = json_object_to_json_string_length(
            d->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (text && (out = malloc(len + 2)) != NULL) {
            memcpy(out, text, len);
            out[len] = '\n';
            out[len + 1] = '\0';
        }
    }
    sb_jdoc_free(d);
    return out;
}

int sb_jdoc_print(sb_jdoc *d, FILE *out)
{
    char *text = sb_jdoc_text(d);
    int rc = text && fputs(text, out) >= 0 ? 0 : -1;

    free(text);
    return rc;
}
