#ifndef SLIPWAY_CDEFLATE_SHIM_H
#define SLIPWAY_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
