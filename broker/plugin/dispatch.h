/* Calling into a loaded plugin: the checks the API layer makes around every
 * callback (the broker side of libvirt's virCheckFlags and
 * virReportUnsupportedError).
 *
 * Order for one verb (e.g. snapshot create):
 *     if ((rc = sb_dispatch_check_flags(p, caps, SB_VERB_CREATE, flags)) < 0) return rc;
 *     SB_DISPATCH(rc, p, snapshot_create, &xml, conn, dom, snap_xml, flags);
 * SB_DISPATCH reports a NULL (or since-minor gated) callback as NO_SUPPORT,
 * clears the thread error before the call and makes sure a failure always
 * carries a message afterwards.
 */
#ifndef SB_PLUGIN_DISPATCH_H
#define SB_PLUGIN_DISPATCH_H

#include "plugin/ops.h"
#include "plugin/record.h"

/* The verbs that have a flag mask in struct sb_plugin_caps. */
enum sb_verb {
    SB_VERB_CREATE, /* caps.create_flags */
    SB_VERB_REVERT, /* caps.revert_flags */
    SB_VERB_DELETE, /* caps.delete_flags */
    SB_VERB_LIST,   /* caps.list_flags, listing of a domain */
    SB_VERB_XML,    /* caps.xml_flags */
    SB_VERB_LIST_CHILDREN /* caps.list_flags, listing from a snapshot */
};

/* "snapshot_create", ...; NULL for an unknown verb. */
const char *sb_verb_name(enum sb_verb verb);

/* flags outside caps' mask for verb (caps: the
 * connection's capabilities; NULL = the plugin's own): SB_ERR_INVALID_ARG
 * "unsupported flags VIR_..._DISK_ONLY (0x10) for snapshot_create in
 * plugin 'NAME'" (only the offending bits are shown, as virCheckFlags
 * does, by their libvirt names: flag_names.h). */
int sb_dispatch_check_flags(const sb_loaded_plugin *p, const struct sb_plugin_caps *caps,
                            enum sb_verb verb, unsigned flags);

/* SB_ERR_NO_SUPPORT "plugin 'NAME' does not support OPERATION". */
int sb_dispatch_missing(const sb_loaded_plugin *p, const char *operation);

/* 1 when the plugin has the callback (non-NULL after since-minor gating). */
int sb_dispatch_has(const sb_loaded_plugin *p, enum sb_plugin_op op);

/* Before a plugin call: clear the thread error, so that afterwards we know
 * whether the plugin reported one. */
void sb_dispatch_begin(void);

/* After a plugin call that returned rc.  Returns the value the caller
 * should use:
 *   rc >= 0, no error set      -> rc;
 *   rc >= 0, an error set      -> rc; the stray error is cleared and
 *                                 logged as a warning (the operation did
 *                                 happen: turning it into a failure would
 *                                 make the broker forget a real snapshot);
 *   rc < 0, no error set       -> -INTERNAL_ERROR "plugin 'NAME' failed in
 *                                 OPERATION without a message";
 *   rc < 0, class not an SB_ERR_* value
 *                              -> -INTERNAL_ERROR "plugin 'NAME' failed in
 *                                 OPERATION with unknown error class N: MSG";
 *   rc < 0, error set with another class than -rc
 *                              -> rc; the message is kept, its class
 *                                 becomes -rc (return value and
 *                                 sb_error_last() must agree);
 *   rc < 0, consistent         -> rc, untouched;
 *   rc > 0 from a callback whose success is 0 (all but snapshot_exists,
 *   whose 1 and 0 are answers)
 *                              -> -INTERNAL_ERROR "plugin 'NAME' returned
 *                                 N from OPERATION, which returns 0 or a
 *                                 negative error class". */
int sb_dispatch_end(const sb_loaded_plugin *p, const char *operation, int rc);

/* After a callback that returned rc with an out-parameter the contract
 * fills on success: a NULL there (or in a listing's array) is the
 * plugin's bug, which would otherwise reach strlen, strcmp or printf.
 * Return rc when it is a failure or the out-parameter is filled, else
 * -INTERNAL_ERROR "plugin 'NAME' returned success but no WHAT from
 * OPERATION" ("... a NULL name (entry I of N) ..." for a listing, whose
 * array is then freed and *names, *n reset).  WHAT: "XML",
 * "snapshot name", ... */
int sb_dispatch_out_str(const sb_loaded_plugin *p, const char *operation, const char *what,
                        int rc, char **out);
int sb_dispatch_out_names(const sb_loaded_plugin *p, const char *operation, int rc,
                          char ***names, size_t *n);

/* Call p->ops.member(args...) with the checks above; rc receives the
 * result.  For the int-returning callbacks (not close). */
#define SB_DISPATCH(rc, p, member, ...)                                           \
    do {                                                                          \
        if (!(p)->ops.member) {                                                   \
            (rc) = sb_dispatch_missing((p), #member);                             \
        } else {                                                                  \
            sb_dispatch_begin();                                                  \
            (rc) = sb_dispatch_end((p), #member, (p)->ops.member(__VA_ARGS__));   \
        }                                                                         \
    } while (0)

#endif
