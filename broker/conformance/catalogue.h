/* The catalogue of scenarios (catalogue.c). */
#ifndef SB_CONFORMANCE_CATALOGUE_H
#define SB_CONFORMANCE_CATALOGUE_H

#include "kit_internal.h"

/* 1 when id is selected by --only (none given: every id); an entry ending
 * in '*' selects every id it prefixes. */
int k_id_selected(const char *id, const char *const *only, size_t nonly);

/* What a scenario needs, in words ("CREATE_REDEFINE, domain_start, ...",
 * "-" for nothing), into buf. */
const char *k_needs_words(const struct k_needs *n, char *buf, size_t len);

#endif
