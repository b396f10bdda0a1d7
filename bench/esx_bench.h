/* esx_roundtrip - what its targets share (esx_roundtrip.c says what it
 * measures).  Each target does one round trip (create a snapshot, revert
 * to it, remove it) per call on its own VM of the same simulator. */
#ifndef ESX_BENCH_H
#define ESX_BENCH_H

/* The floor: a minimal SOAP client (libcurl keep-alive + libxml2), who
 * knows the VM's reference and asks nothing else (esx_raw.c).  poll_vm
 * (NULL for the floor): a VM <propSet> each task poll also reads, to
 * measure what bigger answers cost the simulator (a diagnostic). */
typedef struct esx_raw esx_raw;
esx_raw *esx_raw_open(const char *url, const char *user, const char *password,
                      const char *vm_moref, const char *poll_vm);
void esx_raw_roundtrip(esx_raw *r, const char *name);
void esx_raw_close(esx_raw *r);

/* libvirt's ESX driver (esx_lv.c); NULL when libvirt is not built in. */
typedef struct esx_lv esx_lv;
esx_lv *esx_lv_open(const char *uri, const char *vm);
void esx_lv_roundtrip(esx_lv *l, const char *name);
void esx_lv_close(esx_lv *l);

#endif
