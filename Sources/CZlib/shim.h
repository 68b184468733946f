#ifndef SLIPWAY_CZLIB_SHIM_H
#define SLIPWAY_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 is a macro that passes the header's version and struct size; Swift cannot import macros,
// so expose it as a function.
static inline int slipway_deflateInit2(z_streamp strm, int level, int method, int windowBits, int memLevel,
                                       int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}

static inline int slipway_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
