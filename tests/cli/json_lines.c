/* json_lines: every line of stdin is one JSON object, read back with
 * json-c's strict parser (nothing before or after it).  Exit 0, or 1
 * naming the first line that is not.  run-expected.sh feeds it what the
 * CLI printed with --json (stdout: the document; stderr: error and
 * warning objects). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0;

    while ((len = getline(&line, &cap, stdin)) > 0) {
        n++;
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
        int bad = !o || json_tokener_get_error(tok) != json_tokener_success ||
                  json_tokener_get_parse_end(tok) != (size_t)len ||
                  !json_object_is_type(o, json_type_object);
        json_object_put(o);
        json_tokener_free(tok);
        if (bad) {
            printf("line %d is not one JSON object: %s\n", n, line);
            free(line);
            return 1;
        }
    }
    free(line);
    return 0;
}
