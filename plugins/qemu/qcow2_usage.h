/* qemu plugin - the space one internal snapshot of a qcow2 image holds
 * (qcow2_usage.c says how it is measured). */
#ifndef QP_QCOW2_USAGE_H
#define QP_QCOW2_USAGE_H

#include <stddef.h>
#include <stdint.h>

/* *bytes: what deleting the internal snapshot tag of the image at path
 * would free (its L1 table, and the L2 tables and data clusters only it
 * references, its saved memory state included); *vm_state: the size of
 * that memory state.  0, or a negative errno with a message in err
 * (-ENOENT: no such snapshot; -ENOTSUP: not a qcow2 image, or one with an
 * external data file or extended L2 entries). */
int qp_qcow2_snapshot_bytes(const char *path, const char *tag, uint64_t *bytes,
                            uint64_t *vm_state, char *err, size_t errlen);

#endif
