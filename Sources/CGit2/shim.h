#ifndef SLIPWAY_CGIT2_SHIM_H
#define SLIPWAY_CGIT2_SHIM_H
#include <git2.h>
#endif
