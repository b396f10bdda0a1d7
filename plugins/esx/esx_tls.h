/* esx plugin - the TLS handshake hook (tls.c). */
#ifndef ESX_TLS_H
#define ESX_TLS_H

#include "esx.h"

/* Install the certificate check on a curl handle (https only). */
int esx_tls_setup(esx_conn *c, void *curl);

#endif
