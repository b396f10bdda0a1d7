/* vbox plugin - settings files: reading (settings_read.c) and editing
 * (settings_edit.c, settings_write.c). */
#ifndef VB_SETTINGS_H
#define VB_SETTINGS_H

#include "vb.h"

#define VB_SETTINGS_NS "http://www.virtualbox.org/"
/* Settings written before VirtualBox 2.1 (read, never written by us). */
#define VB_SETTINGS_NS_OLD "http://www.innotek.de/VirtualBox-settings"
/* A settings file larger than this is refused (a thousand snapshots with
 * full hardware copies take a few MiB). */
#define VB_SETTINGS_MAX (256u << 20)

/* The streaming reader behind vb_machine_parse (and the global registry:
 * entries non-NULL collects its MachineEntry elements).  peek: stop after
 * the Machine element's attributes. */
int vb_settings_sax(vb_ctx *ctx, const char *buf, size_t len, const char *source,
                    vb_machine *m, vb_entries *entries, int peek);

void vb_hw_clear(vb_hw *hw);
void vb_snap_clear(vb_snap *s);
void vb_medium_clear(vb_medium *md);
void vb_machine_clear(vb_machine *m);


/* ---- a settings file open for editing (settings_write.c) ---------------- */

#include <libxml/tree.h>

typedef struct vb_doc {
    char *path;
    char *old;         /* the bytes as read (become <file>-prev) */
    size_t old_len;
    struct stat st;    /* of the file as read: a change since is refused */
    xmlDoc *doc;       /* NULL until vb_doc_dom */
    xmlNode *machine;
    vb_machine *m;     /* the model of the same bytes (with global media) */
} vb_doc;

/* Read path once: the model (the connection's copy when the file has not
 * changed since: vb_ctx.pre_*), the document only on demand. */
int vb_doc_open(vb_ctx *ctx, const char *path, vb_doc *d);
/* Build the document (edits through settings_edit.c). */
int vb_doc_dom(vb_ctx *ctx, vb_doc *d);
void vb_doc_close(vb_doc *d);
/* Write text as the new settings file, as vb_doc_save does. */
int vb_doc_save_text(vb_ctx *ctx, vb_doc *d, const char *text, size_t len);

/* ---- text edits (settings_splice.c) ---------------------------------------- */

typedef struct vb_new_disk {
    size_t att;            /* attachment index in the machine's state */
    long parent;           /* the medium the new image grows from */
    const char *uuid;      /* the new image */
    const char *location;  /* as the registry will hold it */
} vb_new_disk;

/* The settings text with a new snapshot taken (as snap_create.c makes it
 * through the document): 0 and *out, 1 when the file's shape does not
 * allow a text edit (use the document), negative on error. */
int vb_splice_snapshot(vb_ctx *ctx, const vb_machine *m, const char *buf, size_t len,
                       const char *uuid, const char *name, const char *desc, long long now,
                       const vb_new_disk *disks, size_t ndisks, char **out, size_t *out_len);
/* Write the edited document as VirtualBox does: the new file complete and
 * flushed first (<file>-tmp), the old one kept as <file>-prev, then the
 * new one renamed in place; the file is never missing or partial.
 * Refused when the file changed since vb_doc_open. */
int vb_doc_save(vb_ctx *ctx, vb_doc *d);

/* ---- editing (settings_edit.c); negative on failure ---------------------- */

xmlNode *vb_el_child(xmlNode *n, const char *name);
xmlNode *vb_el_new(xmlNode *parent, const char *name);
int vb_el_set(xmlNode *n, const char *attr, const char *value);
xmlNode *vb_doc_snapshot(xmlNode *machine, const char *uuid);
xmlNode *vb_doc_harddisk(xmlNode *machine, const char *uuid);
/* Point attachment a (controller, port, device) of a state at a medium. */
int vb_doc_set_image(xmlNode *state, const vb_attach *a, const char *uuid);
int vb_doc_copy_state(xmlNode *from, xmlNode *to);
int vb_doc_restore_state(xmlNode *machine, xmlNode *snapshot);
/* A new <Snapshot> under parent's <Snapshots> (the machine's root when
 * parent is NULL), without state yet. */
xmlNode *vb_doc_new_snapshot(xmlNode *machine, xmlNode *parent, const char *uuid,
                             const char *name, const char *desc, long long ctime);
int vb_doc_remove_snapshot(xmlNode *s);
int vb_doc_add_diff(xmlNode *machine, const char *parent_uuid, const char *uuid,
                    const char *location);
int vb_doc_remove_disk(xmlNode *machine, const char *uuid);
int vb_doc_move_disk(xmlNode *machine, const char *uuid, const char *new_parent);
int vb_doc_replace_image(xmlNode *n, const char *from, const char *to);
/* currentSnapshot (NULL/"": none), currentStateModified (-1: unchanged),
 * lastStateChange (now < 0: unchanged). */
int vb_doc_set_current(xmlNode *machine, const char *uuid, int modified, long long now);

#endif
