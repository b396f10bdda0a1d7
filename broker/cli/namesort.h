/* The CLI's listing order: names sorted case-insensitively as strcasecmp()
 * orders them in the user's LC_CTYPE (virsh sorts on the client side),
 * names equal but for case in the order they were given. */
#ifndef SB_CLI_NAMESORT_H
#define SB_CLI_NAMESORT_H

#include <stddef.h>

/* *order (malloc'd, n entries) gets the indexes of names[0..n) in that
 * order.  -1 when out of memory, or for more than UINT32_MAX names (a
 * listing's memory would run out long before). */
int cli_names_order(const char *const *names, size_t n, size_t **order);

#endif
