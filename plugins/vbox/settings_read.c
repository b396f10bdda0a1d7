/* vbox plugin - reading a settings file (<name>.vbox, or the global
 * VirtualBox.xml) into the machine model (vb.h).
 *
 * One streaming (SAX) pass: the model keeps only what the plugin acts on
 * (the snapshot tree, the media registry, per state the memory, CPUs and
 * storage attachments), so a machine with a thousand snapshots, each with
 * a full copy of the hardware, reads in a few milliseconds.  Writes edit
 * the document itself (settings_edit.c), keeping everything else as it
 * was.  Settings files hold no DTD: a DOCTYPE is refused, so no entity is
 * ever expanded.  Snapshot trees nest deeply (VirtualBox allows 250
 * levels), hence XML_PARSE_HUGE; the file size is bounded instead. */
#include "vb.h"
#include "settings.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

enum frame_kind {
    F_OTHER, F_ROOT, F_MACHINE, F_GLOBAL, F_MACHINE_REG, F_MEDIA_REG, F_HARDDISKS, F_HARDDISK,
    F_IMAGES, F_SNAPSHOT, F_SNAPSHOTS, F_HARDWARE, F_CONTROLLERS, F_CONTROLLER, F_ATTACHED,
    F_DESCRIPTION, F_PLATFORM
};

typedef struct frame {
    int kind;
    int empty;     /* <x/>: no end tag */
    size_t at;     /* offset of its '<' */
    long index; /* F_HARDDISK: medium; F_SNAPSHOT, F_SNAPSHOTS, F_DESCRIPTION: snapshot;
                   F_HARDWARE...F_ATTACHED: owner snapshot (-1: the machine);
                   F_IMAGES: medium kind */
} frame;

typedef struct reader {
    vb_ctx *ctx;
    xmlParserCtxtPtr px;
    const char *source;
    vb_machine *m;
    vb_entries *entries; /* VirtualBox.xml: the machine registry */
    int peek;            /* stop at the Machine element */
    int rc;              /* first error */
    frame *stack;
    size_t depth, cap;
    int seen_machine;
    int ctl_bus;         /* bus of the open StorageController */
    char *ctl_name;
    char *text;          /* Description being read */
    size_t text_len;
    const char *buf;     /* the file, for byte offsets */
    size_t len;
} reader;

static long line_of(const reader *rd)
{
    return rd->px ? xmlSAX2GetLineNumber(rd->px) : 0;
}

static int fail(reader *rd, int code, const char *fmt, ...) SB_PRINTF(3, 4);
static int fail(reader *rd, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    if (rd->rc)
        return rd->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rd->rc = vb_error(rd->ctx, code, "settings file '%s' line %ld: %s", rd->source, line_of(rd),
                      msg);
    if (rd->px)
        xmlStopParser(rd->px);
    return rd->rc;
}

static int oom(reader *rd)
{
    if (!rd->rc)
        rd->rc = vb_oom(rd->ctx);
    if (rd->px)
        xmlStopParser(rd->px);
    return rd->rc;
}

/* ---- attributes --------------------------------------------------------- */

typedef struct attrs {
    const xmlChar **v; /* localname, prefix, URI, value, end: 5 per attribute */
    int n;
} attrs;

/* A malloc'ed copy of attribute name's value (entities decoded by the
 * parser), or NULL when absent; *present tells the two apart. */
static char *attr(reader *rd, const attrs *a, const char *name, int *present)
{
    if (present)
        *present = 0;
    for (int i = 0; i < a->n; i++) {
        const xmlChar **x = a->v + 5 * i;
        if (strcmp((const char *)x[0], name) != 0 || x[2])
            continue;
        if (present)
            *present = 1;
        char *s = strndup((const char *)x[3], (size_t)(x[4] - x[3]));
        if (!s) {
            oom(rd);
            return NULL;
        }
        /* libxml2 hands '&' on as "&#38;" for SAX2 callers to decode (no
         * other entity can occur: a DOCTYPE is refused) */
        for (char *p = strstr(s, "&#38;"); p; p = strstr(p + 1, "&#38;"))
            memmove(p + 1, p + 5, strlen(p + 5) + 1);
        return s;
    }
    return NULL;
}

static int attr_uuid(reader *rd, const attrs *a, const char *name, const char *elem,
                     int required, char out[VB_UUID_LEN])
{
    int present;
    char *v = attr(rd, a, name, &present);
    out[0] = '\0';
    if (!present) {
        if (required)
            return fail(rd, SB_ERR_XML_ERROR, "<%s> lacks attribute '%s'", elem, name);
        return 0;
    }
    if (!v)
        return rd->rc;
    int bad = vb_uuid_parse(v, out) < 0 || vb_uuid_is_null(out);
    if (bad)
        fail(rd, SB_ERR_XML_ERROR, "<%s %s='%s'> is not a UUID", elem, name, v);
    free(v);
    return bad ? rd->rc : 0;
}

static int attr_uint(reader *rd, const attrs *a, const char *name, const char *elem,
                     unsigned def, unsigned *out)
{
    int present;
    char *v = attr(rd, a, name, &present), *end = NULL;
    *out = def;
    if (!present)
        return 0;
    if (!v)
        return rd->rc;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    int bad = !*v || *end || errno || x > 0xffffffffUL || v[0] == '-';
    if (bad)
        fail(rd, SB_ERR_XML_ERROR, "<%s %s='%s'> is not a number", elem, name, v);
    else
        *out = (unsigned)x;
    free(v);
    return bad ? rd->rc : 0;
}

static int attr_bool(reader *rd, const attrs *a, const char *name, int def)
{
    char *v = attr(rd, a, name, NULL);
    int r = def;
    if (v)
        r = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    free(v);
    return r;
}

/* ---- the model ----------------------------------------------------------- */

static vb_hw *hw_of(reader *rd, long owner)
{
    return owner < 0 ? &rd->m->hw : &rd->m->snaps[owner].hw;
}

static int bus_of(const char *type)
{
    static const struct { const char *type; int bus; } map[] = {
        { "PIIX3", VB_BUS_IDE }, { "PIIX4", VB_BUS_IDE }, { "ICH6", VB_BUS_IDE },
        { "AHCI", VB_BUS_SATA }, { "LsiLogic", VB_BUS_SCSI }, { "BusLogic", VB_BUS_SCSI },
        { "LsiLogicSas", VB_BUS_SAS }, { "I82078", VB_BUS_FLOPPY }, { "USB", VB_BUS_USB },
        { "NVMe", VB_BUS_NVME }, { "VirtioSCSI", VB_BUS_VIRTIO },
    };
    for (size_t i = 0; type && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].type, type) == 0)
            return map[i].bus;
    return 0;
}

static int dev_of(const char *type)
{
    if (!type || strcmp(type, "HardDisk") == 0)
        return VB_DEV_HDD;
    if (strcmp(type, "DVD") == 0)
        return VB_DEV_DVD;
    if (strcmp(type, "Floppy") == 0)
        return VB_DEV_FLOPPY;
    return VB_DEV_OTHER;
}

static int add_medium(reader *rd, const attrs *a, int kind, long parent, const char *elem)
{
    vb_machine *m = rd->m;
    vb_medium md;
    memset(&md, 0, sizeof md);
    md.kind = kind;
    md.parent = parent;
    if (attr_uuid(rd, a, "uuid", elem, 1, md.uuid) < 0)
        return rd->rc;
    md.location = attr(rd, a, "location", NULL);
    md.format = attr(rd, a, "format", NULL);
    if (parent < 0)
        md.type = attr(rd, a, "type", NULL);
    md.autoreset = attr_bool(rd, a, "autoReset", 0);
    if (!rd->rc && !md.location)
        fail(rd, SB_ERR_XML_ERROR, "<%s uuid='{%s}'> lacks attribute 'location'", elem, md.uuid);
    if (!rd->rc && !(md.path = vb_path_join(m->dir, md.location)))
        oom(rd);
    if (!rd->rc && m->nmedia == m->cmedia) {
        size_t cap = m->cmedia ? m->cmedia * 2 : 16;
        vb_medium *v = realloc(m->media, cap * sizeof *v);
        if (!v)
            oom(rd);
        else {
            m->media = v;
            m->cmedia = cap;
        }
    }
    if (rd->rc) {
        vb_medium_clear(&md);
        return rd->rc;
    }
    m->media[m->nmedia++] = md;
    return 0;
}

static int add_snapshot(reader *rd, const attrs *a, long parent)
{
    vb_machine *m = rd->m;
    vb_snap s;
    int present;
    memset(&s, 0, sizeof s);
    s.parent = parent;
    s.depth = parent < 0 ? 1 : m->snaps[parent].depth + 1;
    s.line = line_of(rd);
    s.hw.cpus = 1;
    if (attr_uuid(rd, a, "uuid", "Snapshot", 1, s.uuid) < 0)
        return rd->rc;
    s.name = attr(rd, a, "name", &present);
    if (!rd->rc && !present)
        return fail(rd, SB_ERR_XML_ERROR, "<Snapshot uuid='{%s}'> lacks attribute 'name'",
                    s.uuid);
    char *ts = attr(rd, a, "timeStamp", &present);
    if (!rd->rc && (!present || (s.ctime = vb_time_parse(ts)) < 0))
        fail(rd, SB_ERR_XML_ERROR, "<Snapshot name='%s'> has %s timeStamp%s%s%s", s.name,
             present ? "an invalid" : "no", present ? " '" : "", present ? ts : "",
             present ? "'" : "");
    free(ts);
    if (!rd->rc)
        s.state_file = attr(rd, a, "stateFile", NULL);
    if (!rd->rc && m->nsnaps == m->csnaps) {
        size_t cap = m->csnaps ? m->csnaps * 2 : 16;
        vb_snap *v = realloc(m->snaps, cap * sizeof *v);
        if (!v)
            oom(rd);
        else {
            m->snaps = v;
            m->csnaps = cap;
        }
    }
    if (rd->rc) {
        vb_snap_clear(&s);
        return rd->rc;
    }
    if (parent >= 0)
        m->snaps[parent].nchildren++;
    m->snaps[m->nsnaps++] = s;
    return 0;
}

static int add_attachment(reader *rd, const attrs *a, long owner)
{
    vb_hw *hw = hw_of(rd, owner);
    vb_attach at;
    memset(&at, 0, sizeof at);
    char *type = attr(rd, a, "type", NULL);
    at.dev = dev_of(type);
    free(type);
    at.bus = rd->ctl_bus;
    if (attr_uint(rd, a, "port", "AttachedDevice", 0, &at.port) < 0 ||
        attr_uint(rd, a, "device", "AttachedDevice", 0, &at.device) < 0)
        return rd->rc;
    if (!(at.controller = vb_strdup(rd->ctl_name ? rd->ctl_name : "")))
        return oom(rd);
    if (hw->natt == hw->catt) {
        size_t cap = hw->catt ? hw->catt * 2 : 4;
        vb_attach *v = realloc(hw->att, cap * sizeof *v);
        if (!v) {
            free(at.controller);
            return oom(rd);
        }
        hw->att = v;
        hw->catt = cap;
    }
    hw->att[hw->natt++] = at;
    return 0;
}

/* ---- byte offsets ----------------------------------------------------------- */

/* Where the parser is in the file; -1 when it cannot be trusted. */
static long here(reader *rd)
{
    long pos = rd->px ? xmlByteConsumed(rd->px) : -1;
    return pos < 0 || (size_t)pos > rd->len ? -1 : pos;
}

/* In a start tag callback the parser stands on its '>' or "/>": the
 * offset of that, of the tag's '<', and whether the element is empty. */
static int start_tag(reader *rd, size_t *at, size_t *tag_end, int *empty)
{
    long pos = here(rd);
    if (pos < 0 || (size_t)pos >= rd->len)
        return -1;
    if (rd->buf[pos] == '>')
        *empty = 0;
    else if (rd->buf[pos] == '/' && (size_t)pos + 1 < rd->len && rd->buf[pos + 1] == '>')
        *empty = 1;
    else
        return -1;
    *tag_end = (size_t)pos;
    /* no '<' inside a start tag (attribute values cannot hold one) */
    long p = pos;
    while (p > 0 && rd->buf[p] != '<')
        p--;
    if (rd->buf[p] != '<')
        return -1;
    *at = (size_t)p;
    return 0;
}

/* In an end tag callback the parser stands right after its '>': the
 * offset of its "</". */
static int end_tag(reader *rd, size_t *close_at)
{
    long pos = here(rd);
    if (pos < 2 || rd->buf[pos - 1] != '>')
        return -1;
    long p = pos - 1;
    while (p > 0 && rd->buf[p] != '<')
        p--;
    if (rd->buf[p] != '<' || rd->buf[p + 1] != '/')
        return -1;
    *close_at = (size_t)p;
    return 0;
}

/* The value of attribute name inside the start tag [at, tag_end). */
static int attr_value_at(const reader *rd, size_t at, size_t tag_end, const char *name,
                         size_t *val, size_t *val_len)
{
    size_t n = strlen(name);
    for (size_t i = at; i + n + 2 < tag_end; i++) {
        const char *p = rd->buf + i;
        if ((p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n' && p[-1] != '\r') ||
            strncmp(p, name, n) != 0)
            continue;
        size_t k = i + n;
        while (k < tag_end && (rd->buf[k] == ' ' || rd->buf[k] == '\t' || rd->buf[k] == '\n' ||
                               rd->buf[k] == '\r'))
            k++;
        if (k >= tag_end || rd->buf[k] != '=')
            continue;
        k++;
        while (k < tag_end && (rd->buf[k] == ' ' || rd->buf[k] == '\t' || rd->buf[k] == '\n' ||
                               rd->buf[k] == '\r'))
            k++;
        if (k >= tag_end || (rd->buf[k] != '"' && rd->buf[k] != '\''))
            return -1;
        const char *q = memchr(rd->buf + k + 1, rd->buf[k], tag_end - k - 1);
        if (!q)
            return -1;
        *val = k + 1;
        *val_len = (size_t)(q - (rd->buf + k + 1));
        return 0;
    }
    return -1;
}

/* ---- SAX callbacks -------------------------------------------------------- */

static int push(reader *rd, int kind, long index)
{
    if (rd->depth == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 64;
        frame *v = realloc(rd->stack, cap * sizeof *v);
        if (!v)
            return oom(rd);
        rd->stack = v;
        rd->cap = cap;
    }
    rd->stack[rd->depth].kind = kind;
    rd->stack[rd->depth].index = index;
    rd->depth++;
    return 0;
}

static int machine_attrs(reader *rd, const attrs *a)
{
    vb_machine *m = rd->m;
    int present;
    if (rd->seen_machine++)
        return fail(rd, SB_ERR_XML_ERROR, "more than one <Machine>");
    if (attr_uuid(rd, a, "uuid", "Machine", 1, m->uuid) < 0)
        return rd->rc;
    m->name = attr(rd, a, "name", &present);
    if (!rd->rc && (!present || !*m->name))
        return fail(rd, SB_ERR_XML_ERROR, "<Machine uuid='{%s}'> has no name", m->uuid);
    if (rd->peek) {
        xmlStopParser(rd->px);
        return 0;
    }
    if (attr_uuid(rd, a, "currentSnapshot", "Machine", 0, m->current) < 0)
        return rd->rc;
    m->current_modified = attr_bool(rd, a, "currentStateModified", 1);
    m->state_file = attr(rd, a, "stateFile", NULL);
    char *folder = attr(rd, a, "snapshotFolder", NULL);
    if (!rd->rc)
        m->snapshot_folder = vb_path_join(m->dir, folder && *folder ? folder : "Snapshots");
    free(folder);
    if (!rd->rc && !m->snapshot_folder)
        oom(rd);
    return rd->rc;
}

static int machine_entry(reader *rd, const attrs *a)
{
    vb_entries *e = rd->entries;
    vb_entry x;
    memset(&x, 0, sizeof x);
    if (!e)
        return 0;
    if (attr_uuid(rd, a, "uuid", "MachineEntry", 1, x.uuid) < 0)
        return rd->rc;
    char *src = attr(rd, a, "src", NULL);
    if (!rd->rc && !src)
        return fail(rd, SB_ERR_XML_ERROR, "<MachineEntry uuid='{%s}'> has no src", x.uuid);
    x.path = src ? vb_path_join(rd->m->dir, src) : NULL;
    free(src);
    if (rd->rc || !x.path) {
        free(x.path);
        return rd->rc ? rd->rc : oom(rd);
    }
    vb_entry *v = realloc(e->v, (e->n + 1) * sizeof *v);
    if (!v) {
        free(x.path);
        return oom(rd);
    }
    e->v = v;
    e->v[e->n++] = x;
    return 0;
}

/* The kind of a new element, from its parent's kind; acts on attributes. */
static int open_element(reader *rd, const char *name, const attrs *a, frame *up, frame *out)
{
    int pk = up ? up->kind : -1;
    long pi = up ? up->index : -1;
    out->kind = F_OTHER;
    out->index = pi;
#define IS(x) (strcmp(name, (x)) == 0)
    switch (pk) {
    case -1:
        if (!IS("VirtualBox"))
            return fail(rd, SB_ERR_XML_ERROR, "the root element is <%s>, not <VirtualBox>", name);
        out->kind = F_ROOT;
        return 0;
    case F_ROOT:
        if (IS("Machine")) {
            out->kind = F_MACHINE;
            return machine_attrs(rd, a);
        }
        if (IS("Global"))
            out->kind = F_GLOBAL;
        return 0;
    case F_GLOBAL:
        if (IS("MachineRegistry"))
            out->kind = F_MACHINE_REG;
        else if (IS("MediaRegistry"))
            out->kind = F_MEDIA_REG;
        return 0;
    case F_MACHINE_REG:
        return IS("MachineEntry") ? machine_entry(rd, a) : 0;
    case F_MACHINE:
        if (IS("MediaRegistry"))
            out->kind = F_MEDIA_REG;
        else if (IS("Platform"))
            out->kind = F_PLATFORM;
        else if (IS("Hardware"))
            out->kind = F_HARDWARE;
        else if (IS("StorageControllers"))
            out->kind = F_CONTROLLERS;
        else if (IS("Snapshot")) {
            if (rd->m->nsnaps)
                return fail(rd, SB_ERR_XML_ERROR, "more than one root <Snapshot>");
            out->kind = F_SNAPSHOT;
            out->index = (long)rd->m->nsnaps;
            return add_snapshot(rd, a, -1);
        }
        out->index = -1;
        return 0;
    case F_MEDIA_REG:
        if (IS("HardDisks"))
            out->kind = F_HARDDISKS;
        else if (IS("DVDImages") || IS("FloppyImages")) {
            out->kind = F_IMAGES;
            out->index = IS("DVDImages") ? VB_MEDIUM_DVD : VB_MEDIUM_FLOPPY;
        }
        return 0;
    case F_HARDDISKS:
    case F_HARDDISK:
        if (!IS("HardDisk"))
            return 0;
        out->kind = F_HARDDISK;
        out->index = (long)rd->m->nmedia;
        return add_medium(rd, a, VB_MEDIUM_HDD, pk == F_HARDDISK ? pi : -1, "HardDisk");
    case F_IMAGES:
        return IS("Image") ? add_medium(rd, a, (int)pi, -1, "Image") : 0;
    case F_SNAPSHOT:
        if (IS("Description"))
            out->kind = F_DESCRIPTION;
        else if (IS("Hardware"))
            out->kind = F_HARDWARE;
        else if (IS("StorageControllers"))
            out->kind = F_CONTROLLERS;
        else if (IS("Snapshots"))
            out->kind = F_SNAPSHOTS;
        return 0;
    case F_SNAPSHOTS:
        if (!IS("Snapshot"))
            return 0;
        out->kind = F_SNAPSHOT;
        out->index = (long)rd->m->nsnaps;
        return add_snapshot(rd, a, pi);
    case F_HARDWARE:
        if (IS("Memory"))
            return attr_uint(rd, a, "RAMSize", "Memory", 0, &hw_of(rd, pi)->ram_mib);
        if (IS("CPU"))
            return attr_uint(rd, a, "count", "CPU", 1, &hw_of(rd, pi)->cpus);
        if (IS("StorageControllers"))
            out->kind = F_CONTROLLERS;
        return 0;
    case F_CONTROLLERS:
        if (IS("StorageController")) {
            out->kind = F_CONTROLLER;
            char *type = attr(rd, a, "type", NULL);
            free(rd->ctl_name);
            rd->ctl_name = attr(rd, a, "name", NULL);
            rd->ctl_bus = bus_of(type);
            free(type);
        }
        return rd->rc;
    case F_CONTROLLER:
        if (!IS("AttachedDevice"))
            return 0;
        out->kind = F_ATTACHED;
        return add_attachment(rd, a, pi);
    case F_ATTACHED: {
        vb_hw *hw = hw_of(rd, pi);
        vb_attach *at = &hw->att[hw->natt - 1];
        if (IS("Image"))
            return attr_uuid(rd, a, "uuid", "Image", 1, at->image);
        if (IS("HostDrive"))
            at->host_drive = attr(rd, a, "src", NULL);
        return rd->rc;
    }
    default:
        return 0;
    }
#undef IS
}

/* Offsets the text edits need (settings_splice.c). */
static void note_start(reader *rd, const frame *f, const frame *up, const char *name, size_t at,
                       size_t tag_end, int empty)
{
    vb_machine *m = rd->m;
    switch (f->kind) {
    case F_MACHINE:
        m->machine_at = at;
        m->machine_open_end = tag_end + (empty ? 2 : 1);
        break;
    case F_SNAPSHOT:
        m->snaps[f->index].open_end = tag_end + (empty ? 2 : 1);
        if (empty)
            m->spliceable = 0;
        break;
    case F_HARDDISK:
        m->media[f->index].tag_end = tag_end;
        m->media[f->index].empty = empty;
        break;
    default:
        break;
    }
    if (up && up->kind == F_ATTACHED && strcmp(name, "Image") == 0) {
        vb_hw *hw = hw_of(rd, up->index);
        vb_attach *a = &hw->att[hw->natt - 1];
        if (attr_value_at(rd, at, tag_end, "uuid", &a->image_at, &a->image_len) < 0)
            m->spliceable = 0;
    }
}

static void note_end(reader *rd, const frame *f, const frame *up)
{
    vb_machine *m = rd->m;
    size_t close_at = 0;
    if (!f->empty && end_tag(rd, &close_at) < 0) {
        m->spliceable = 0;
        return;
    }
    long pos = here(rd);
    if (f->kind == F_MACHINE) {
        m->machine_close_at = close_at;
    } else if (f->kind == F_SNAPSHOT) {
        m->snaps[f->index].close_at = close_at;
    } else if (f->kind == F_SNAPSHOTS) {
        m->snaps[f->index].kids_close_at = close_at;
    } else if (f->kind == F_HARDDISK) {
        m->media[f->index].close_at = f->empty ? 0 : close_at;
    } else if (up && up->kind == F_MACHINE && m->nstate < 3 &&
               (f->kind == F_HARDWARE || f->kind == F_CONTROLLERS || f->kind == F_PLATFORM)) {
        m->state_at[m->nstate] = f->at;
        m->state_end[m->nstate++] = (size_t)pos;
    }
}

static int known_ns(const xmlChar *uri)
{
    return uri && (strcmp((const char *)uri, VB_SETTINGS_NS) == 0 ||
                   strcmp((const char *)uri, VB_SETTINGS_NS_OLD) == 0);
}

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
                     const xmlChar **av)
{
    reader *rd = user;
    frame f = { .kind = F_OTHER, .index = -1 };
    (void)prefix;
    (void)nns;
    (void)ns;
    (void)ndef;
    if (rd->rc)
        return;
    frame *up = rd->depth ? &rd->stack[rd->depth - 1] : NULL;
    attrs a = { av, nattr };
    if (!up && !known_ns(uri)) {
        fail(rd, SB_ERR_XML_ERROR, "<%s> is not in VirtualBox's namespace (%s)",
             (const char *)localname, VB_SETTINGS_NS);
        return;
    }
    if (up && up->kind == F_OTHER)
        f.kind = F_OTHER; /* nothing below an unknown element matters */
    else if (known_ns(uri) && open_element(rd, (const char *)localname, &a, up, &f) < 0)
        return;
    if (f.kind == F_DESCRIPTION) {
        free(rd->text);
        rd->text = NULL;
        rd->text_len = 0;
    }
    size_t at = 0, tag_end = 0;
    int empty = 0;
    if (rd->m->spliceable && !rd->entries && start_tag(rd, &at, &tag_end, &empty) < 0)
        rd->m->spliceable = 0;
    if (rd->m->spliceable && !rd->entries)
        note_start(rd, &f, up, (const char *)localname, at, tag_end, empty);
    if (push(rd, f.kind, f.index) == 0) {
        rd->stack[rd->depth - 1].at = at;
        rd->stack[rd->depth - 1].empty = empty;
    }
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri)
{
    reader *rd = user;
    (void)localname;
    (void)prefix;
    (void)uri;
    if (rd->rc || !rd->depth)
        return;
    frame *f = &rd->stack[--rd->depth];
    if (rd->m->spliceable && !rd->entries)
        note_end(rd, f, rd->depth ? &rd->stack[rd->depth - 1] : NULL);
    if (f->kind == F_DESCRIPTION) {
        vb_snap *s = &rd->m->snaps[f->index];
        free(s->desc);
        s->desc = rd->text ? rd->text : strdup("");
        rd->text = NULL;
        if (!s->desc)
            oom(rd);
    } else if (f->kind == F_CONTROLLER) {
        free(rd->ctl_name);
        rd->ctl_name = NULL;
        rd->ctl_bus = 0;
    }
}

static void on_text(void *user, const xmlChar *ch, int len)
{
    reader *rd = user;
    if (rd->rc || !rd->depth || rd->stack[rd->depth - 1].kind != F_DESCRIPTION)
        return;
    char *t = realloc(rd->text, rd->text_len + (size_t)len + 1);
    if (!t) {
        oom(rd);
        return;
    }
    memcpy(t + rd->text_len, ch, (size_t)len);
    rd->text_len += (size_t)len;
    t[rd->text_len] = '\0';
    rd->text = t;
}

static void on_doctype(void *user, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name;
    (void)ext;
    (void)sys;
    fail(user, SB_ERR_XML_ERROR, "a DOCTYPE is not allowed in a settings file");
}

static void on_error(void *user, xmlErrorPtr err)
{
    reader *rd = user;
    char msg[512];
    if (rd->rc || !err || err->level < XML_ERR_ERROR)
        return;
    snprintf(msg, sizeof msg, "%s", err->message ? err->message : "malformed XML");
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    rd->rc = vb_error(rd->ctx, SB_ERR_XML_ERROR, "settings file '%s' line %d: %s", rd->source,
                      err->line, msg);
}

/* ---- entry points ----------------------------------------------------------- */

int vb_settings_sax(vb_ctx *ctx, const char *buf, size_t len, const char *source, vb_machine *m,
                    vb_entries *entries, int peek)
{
    reader rd;
    xmlSAXHandler h;

    memset(&rd, 0, sizeof rd);
    memset(&h, 0, sizeof h);
    rd.ctx = ctx;
    rd.source = source;
    rd.m = m;
    rd.buf = buf;
    rd.len = len;
    m->spliceable = !peek && !entries;
    rd.entries = entries;
    rd.peek = peek;
    h.initialized = XML_SAX2_MAGIC;
    h.startElementNs = on_start;
    h.endElementNs = on_end;
    h.characters = on_text;
    h.cdataBlock = on_text;
    h.internalSubset = on_doctype;
    h.serror = on_error;
    if (len > INT32_MAX)
        return vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s' is too large", source);
    rd.px = xmlCreatePushParserCtxt(&h, &rd, NULL, 0, source);
    if (!rd.px)
        return vb_oom(ctx);
    xmlCtxtUseOptions(rd.px, XML_PARSE_NONET | XML_PARSE_HUGE);
    int perr = xmlParseChunk(rd.px, buf, (int)len, 1);
    if (!rd.rc && !peek && (perr || !rd.px->wellFormed))
        rd.rc = vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s' is not well-formed XML",
                         source);
    if (!rd.rc && !rd.seen_machine && !entries)
        rd.rc = vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s' has no <Machine>", source);
    xmlFreeParserCtxt(rd.px);
    free(rd.stack);
    free(rd.ctl_name);
    free(rd.text);
    return rd.rc;
}

static int cmp_uuid(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first UUID that occurs twice in n entries of size stride, or NULL
 * (sorted copies of the pointers: large trees stay O(n log n)). */
static const char *repeated(const char *first, size_t n, size_t stride, int *oom)
{
    const char **v = malloc((n + 1) * sizeof *v), *hit = NULL;
    *oom = !v;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = first + i * stride;
    qsort(v, n, sizeof *v, cmp_uuid);
    for (size_t i = 1; i < n && !hit; i++)
        if (strcmp(v[i - 1], v[i]) == 0)
            hit = v[i];
    free(v);
    return hit;
}

/* Checks across the whole tree, once it is read. */
static int finish(vb_ctx *ctx, vb_machine *m, const char *source)
{
    int oom = 0;
    const char *dup = m->nsnaps ? repeated(m->snaps[0].uuid, m->nsnaps, sizeof *m->snaps, &oom)
                                : NULL;
    if (oom)
        return vb_oom(ctx);
    if (dup)
        return vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s': snapshot {%s} appears twice",
                        source, dup);
    dup = m->nmedia ? repeated(m->media[0].uuid, m->nmedia, sizeof *m->media, &oom) : NULL;
    if (oom)
        return vb_oom(ctx);
    if (dup)
        return vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s': medium {%s} is registered "
                        "twice", source, dup);
    /* document order is depth-first: a snapshot's descendants follow it
     * in one run, which listings walk instead of searching */
    for (size_t i = m->nsnaps; i-- > 0;)
        if (m->snaps[i].parent >= 0)
            m->snaps[m->snaps[i].parent].nbelow += m->snaps[i].nbelow + 1;
    if (m->current[0] && vb_snap_index(m, m->current) < 0)
        return vb_error(ctx, SB_ERR_XML_ERROR,
                        "settings file '%s': currentSnapshot {%s} is not a snapshot of machine "
                        "'%s'", source, m->current, m->name);
    if (!m->current[0] && m->nsnaps)
        return vb_error(ctx, SB_ERR_XML_ERROR,
                        "settings file '%s': machine '%s' has snapshots but no currentSnapshot",
                        source, m->name);
    return 0;
}

int vb_machine_parse(vb_ctx *ctx, const char *buf, size_t len, const char *source,
                     vb_machine **out)
{
    vb_machine *m = calloc(1, sizeof *m);
    int rc;

    *out = NULL;
    if (!m || !(m->path = strdup(source)) || !(m->dir = vb_dirname(source))) {
        vb_machine_free(m);
        return vb_oom(ctx);
    }
    m->hw.cpus = 1;
    if ((rc = vb_settings_sax(ctx, buf, len, source, m, NULL, 0)) == 0 &&
        (rc = finish(ctx, m, source)) == 0) {
        *out = m;
        return 0;
    }
    vb_machine_free(m);
    return rc;
}

int vb_machine_read(vb_ctx *ctx, const char *path, vb_machine **out)
{
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int rc;

    *out = NULL;
    if (stat(path, &st) < 0)
        return vb_error_errno(ctx, errno == ENOENT ? SB_ERR_NO_DOMAIN : SB_ERR_SYSTEM_ERROR,
                              errno, "cannot read settings file '%s'", path);
    if ((rc = vb_read_file(ctx, path, VB_SETTINGS_MAX, &buf, &len)) < 0)
        return rc;
    rc = vb_machine_parse(ctx, buf, len, path, out);
    free(buf);
    if (rc == 0)
        (*out)->st = st;
    return rc;
}

int vb_machine_peek(vb_ctx *ctx, const char *path, char uuid[VB_UUID_LEN], char **name)
{
    vb_machine m;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    *name = NULL;
    memset(&m, 0, sizeof m);
    if ((rc = vb_read_file(ctx, path, VB_SETTINGS_MAX, &buf, &len)) < 0)
        return rc;
    m.dir = vb_dirname(path);
    rc = vb_settings_sax(ctx, buf, len, path, &m, NULL, 1);
    free(buf);
    if (rc == 0) {
        memcpy(uuid, m.uuid, VB_UUID_LEN);
        *name = m.name;
        m.name = NULL;
    }
    vb_machine_clear(&m);
    return rc;
}

/* ---- freeing and lookups ------------------------------------------------- */

void vb_hw_clear(vb_hw *hw)
{
    for (size_t i = 0; i < hw->natt; i++) {
        free(hw->att[i].controller);
        free(hw->att[i].host_drive);
    }
    free(hw->att);
    memset(hw, 0, sizeof *hw);
}

void vb_snap_clear(vb_snap *s)
{
    free(s->name);
    free(s->desc);
    free(s->state_file);
    vb_hw_clear(&s->hw);
}

void vb_medium_clear(vb_medium *md)
{
    free(md->location);
    free(md->path);
    free(md->format);
    free(md->type);
}

void vb_machine_clear(vb_machine *m)
{
    free(m->path);
    free(m->dir);
    free(m->name);
    free(m->snapshot_folder);
    free(m->state_file);
    vb_hw_clear(&m->hw);
    for (size_t i = 0; i < m->nsnaps; i++)
        vb_snap_clear(&m->snaps[i]);
    free(m->snaps);
    for (size_t i = 0; i < m->nmedia; i++)
        vb_medium_clear(&m->media[i]);
    free(m->media);
    memset(m, 0, sizeof *m);
}

void vb_machine_free(vb_machine *m)
{
    if (!m)
        return;
    vb_machine_clear(m);
    free(m);
}

long vb_snap_index(const vb_machine *m, const char *uuid)
{
    for (size_t i = 0; uuid && uuid[0] && i < m->nsnaps; i++)
        if (strcmp(m->snaps[i].uuid, uuid) == 0)
            return (long)i;
    return -1;
}

long vb_medium_index(const vb_machine *m, const char *uuid)
{
    for (size_t i = 0; uuid && uuid[0] && i < m->nmedia; i++)
        if (strcmp(m->media[i].uuid, uuid) == 0)
            return (long)i;
    return -1;
}

const vb_snap *vb_current(const vb_machine *m)
{
    long i = vb_snap_index(m, m->current);
    return i < 0 ? NULL : &m->snaps[i];
}

size_t vb_medium_children(const vb_machine *m, long idx, long *first)
{
    size_t n = 0;
    if (first)
        *first = -1;
    for (size_t i = 0; i < m->nmedia; i++) {
        if (m->media[i].parent == idx && idx >= 0) {
            if (first && *first < 0)
                *first = (long)i;
            n++;
        }
    }
    return n;
}

long vb_medium_base(const vb_machine *m, long idx)
{
    for (size_t hops = 0; idx >= 0 && m->media[idx].parent >= 0 && hops <= m->nmedia; hops++)
        idx = m->media[idx].parent;
    return idx;
}
