/* snapbroker CLI - `--xpath EXPR [--wrap]` of the dumpxml commands.
 *
 * virsh 9.0's behaviour: the document is parsed without blank text nodes,
 * EXPR must select a node set; each node is serialized (indented, double
 * quoted attributes, an attribute as ` name="value"`, a text node as its
 * text) and followed by a newline.  With wrap the nodes are copied under
 * one <nodes> element and that element is serialized instead (attributes
 * become its attributes, an empty set `<nodes/>`).  Pure code on libxml2,
 * so tests/cli/test_cli_units.c checks it without a broker. */
#ifndef SB_CLI_XPATH_H
#define SB_CLI_XPATH_H

#include <stddef.h>

/* The text to print (malloc'd into *out; the caller adds the final empty
 * line as for any XML dump).  -1 with the reason in err: a document that
 * does not parse, an expression libxml2 rejects, or a result that is not
 * a node set ("Incorrect xpath 'count(//disk)': ..."). */
int sb_xpath_format(char **out, const char *xml, const char *expr, int wrap,
                    char *err, size_t errlen);

/* The string value of expr (XPath string()) in xml, malloc'd; NULL when
 * the document does not parse or on ENOMEM.  For reading one field of a
 * document the library will judge anyway (snapshot-edit's new name). */
char *sb_xpath_string(const char *xml, const char *expr);

#endif
