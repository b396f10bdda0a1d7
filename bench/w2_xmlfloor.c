/* w2_xmlfloor: a floor of W2 (w2_cold.c) - a C program linked with
 * libxml2 and nothing else of ours, which prints a line and exits.
 *
 * Every process that uses libsnapbroker loads libxml2, and Debian's
 * libxml2 pulls in ICU and the C++ runtime: their relocations and
 * constructors run before main.  This row shows what that costs a new
 * process on the machine at that moment, next to /bin/echo (any process
 * at all) and the snapbroker rows.  It calls xmlStrlen, which needs no
 * initialisation (no xmlInitParser, unlike LIBXML_TEST_VERSION): the
 * reference only keeps the library linked under --as-needed. */
#include <stdio.h>

#include <libxml/xmlstring.h>

int main(void)
{
    printf("%d\n", xmlStrlen((const xmlChar *)"x"));
    return 0;
}
