/* vbox plugin - a growing text buffer for the XML the plugin writes
 * (libvirt's canonical style: two-space indent, single-quoted attributes). */
#ifndef VB_BUF_H
#define VB_BUF_H

#include <stddef.h>

#include "snapbroker/plugin.h"

typedef struct vb_buf {
    char *p;
    size_t len, cap;
    int oom;
} vb_buf;

void vb_buf_add(vb_buf *b, const char *s);
void vb_buf_addf(vb_buf *b, const char *fmt, ...) SB_PRINTF(2, 3);
/* s with &, <, >, ' and " escaped (text and attribute values alike). */
void vb_buf_esc(vb_buf *b, const char *s);
/* indent + <tag>escaped text</tag> + newline */
void vb_buf_elem(vb_buf *b, const char *indent, const char *tag, const char *text);
/* The text (malloc'ed, the buffer's) or NULL after a failed allocation. */
char *vb_buf_take(vb_buf *b);
void vb_buf_free(vb_buf *b);

#endif
