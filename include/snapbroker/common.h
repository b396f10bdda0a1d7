/* snapbroker - shared macros of the public headers. */
#ifndef SNAPBROKER_COMMON_H
#define SNAPBROKER_COMMON_H

/* Marks a function exported from libsnapbroker.so; everything else in the
 * library is built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define SB_API __attribute__((visibility("default")))
#else
#define SB_API
#endif

#endif
