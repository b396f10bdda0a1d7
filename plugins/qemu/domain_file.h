/* The live definition's file as a connection last read it (domain_file.c). */
#ifndef QP_DOMAIN_FILE_H
#define QP_DOMAIN_FILE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "qp.h"

typedef struct qp_domain_file {
    char *name;     /* the domain; NULL: nothing read yet */
    char *text;     /* the file's bytes as read */
    struct stat st; /* the file they were read from */
    bool settled;   /* st's change time was already past when the read began */
} qp_domain_file;

/* Make f->text the current bytes of domain name's file.  A stat() that
 * shows the file as it was read, settled, keeps them (*changed false);
 * otherwise the file is read again and *changed says whether its bytes
 * differ from the ones kept.  On error (NO_DOMAIN when there is no file)
 * f is emptied. */
int qp_domain_file_get(qp_ctx *ctx, const char *name, qp_domain_file *f, bool *changed);
void qp_domain_file_clear(qp_domain_file *f);

#endif
