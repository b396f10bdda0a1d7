/* The golden corpus tests/data/xml/: case discovery, .args parsing, the
 * @DATA@ placeholder and the files it stands for.  Shared by the corpus
 * runner and the libvirt differential test. */
#ifndef SB_TEST_CORPUS_H
#define SB_TEST_CORPUS_H

#include <stdbool.h>
#include <stddef.h>

#include "snapbroker/xml.h"

typedef struct corpus_case {
    char *name;         /* "create-minimal" */
    char *input;        /* .in.xml, @DATA@ substituted */
    size_t input_len;
    char *expected_out; /* .out.xml substituted, or NULL */
    char *err_class;    /* .err line 1, or NULL */
    char *err_fragment; /* .err line 2 (substituted), or NULL */
    char *domain_xml;   /* --domain file, substituted, or NULL */
    sb_normalize_opts opts;
    bool input_schema_invalid; /* --input-schema-invalid */
    bool schema_invalid;       /* --schema-invalid: input and output too */
    char *arg_error;    /* bad .args line: the case fails with this */
} corpus_case;

/* Directory of the corpus: $SB_SOURCE_ROOT/tests/data/xml. */
const char *corpus_dir(void);

/* A fresh temp dir that @DATA@ stands for (removed by corpus_cleanup). */
const char *corpus_tmpdir(void);
void corpus_cleanup(void);

/* Sorted case names (NAME of NAME.in.xml); *n set.  Free with
 * corpus_free_names. */
char **corpus_list(size_t *n);
void corpus_free_names(char **names, size_t n);

/* Load one case; creates the files its @DATA@ paths name (see README). */
int corpus_load(const char *name, corpus_case *c);
void corpus_case_free(corpus_case *c);

/* Read a whole file (NUL-terminated, *len without the NUL); NULL if absent. */
char *corpus_read_file(const char *path, size_t *len);
/* Replace every @DATA@ with the temp dir. */
char *corpus_subst(const char *text);

#endif
