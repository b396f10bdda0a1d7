/* snapbroker CLI - the words virsh prints for a domain state's reason
 * (`domstate --reason`): libvirt's virDomain<State>Reason values. */
#ifndef SB_CLI_REASON_H
#define SB_CLI_REASON_H

/* "booted", "user", "destroyed", ...; "unknown" for 0 and for a value
 * this table does not know (a newer hypervisor's). */
const char *sb_state_reason_name(int state, int reason);

#endif
