#ifndef SLIPWAY_CARCHIVE_SHIM_H
#define SLIPWAY_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

// AE_IF* are macros with casts, which Swift cannot import; expose them as constants.
static const unsigned int SLIPWAY_AE_IFREG = AE_IFREG;
static const unsigned int SLIPWAY_AE_IFDIR = AE_IFDIR;
static const unsigned int SLIPWAY_AE_IFLNK = AE_IFLNK;

// archive_set_error is variadic, which Swift cannot call; this fixed-argument form sets a plain message.
static inline void slipway_archive_set_error(struct archive *a, int error_number, const char *message) {
    archive_set_error(a, error_number, "%s", message);
}
#endif
