/* snapbroker - JSON documents on json-c: every --json output of the CLI
 * and the library's plugin description (sb_plugin_describe) are built and
 * printed here, so there is one way JSON text is written.
 *
 * A document is a tree of json-c objects.  The helpers remember an
 * allocation failure in the document instead of making every caller check
 * each step (a NULL parent is one that could not be made): sb_jdoc_text()
 * and sb_jdoc_print() then give nothing and fail.  Keys keep the order in
 * which they were added; the text is compact, on one line, with UTF-8
 * passed through and '/' unescaped. */
#ifndef SB_JSONOUT_H
#define SB_JSONOUT_H

#include <stdio.h>

#include <json-c/json.h>

typedef struct sb_jdoc {
    json_object *root;
    int oom;            /* something could not be allocated or added */
} sb_jdoc;

/* Start a document whose root is an object (array 0) or an array;
 * returns the root (NULL when out of memory, remembered in d). */
json_object *sb_jdoc_init(sb_jdoc *d, int array);

/* A new object / array added to parent: under key when parent is an
 * object, appended (key NULL) when it is an array.  Returns it, or NULL. */
json_object *sb_jdoc_object(sb_jdoc *d, json_object *parent, const char *key);
json_object *sb_jdoc_array(sb_jdoc *d, json_object *parent, const char *key);

/* Scalars, added the same way.  A NULL string is null. */
void sb_jdoc_str(sb_jdoc *d, json_object *parent, const char *key, const char *value);
void sb_jdoc_int(sb_jdoc *d, json_object *parent, const char *key, long long value);
void sb_jdoc_uint(sb_jdoc *d, json_object *parent, const char *key, unsigned long long value);
void sb_jdoc_bool(sb_jdoc *d, json_object *parent, const char *key, int value);
void sb_jdoc_null(sb_jdoc *d, json_object *parent, const char *key);
/* Add an object made elsewhere (ownership passes to the document, also
 * on failure; NULL is remembered as a failure). */
void sb_jdoc_add(sb_jdoc *d, json_object *parent, const char *key, json_object *value);

/* The document as text ending with a newline (malloc'd), or NULL when
 * anything failed.  The document is freed either way. */
char *sb_jdoc_text(sb_jdoc *d);

/* Write the document and a newline to out; free it.  0, or -1 when it
 * could not be built (nothing written) or written. */
int sb_jdoc_print(sb_jdoc *d, FILE *out);

/* Free the document without printing it (accepts a freed one). */
void sb_jdoc_free(sb_jdoc *d);

#endif
