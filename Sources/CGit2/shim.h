#ifndef SLIPWAY_CGIT2_SHIM_H
#define SLIPWAY_CGIT2_SHIM_H
#include <git2.h>

// git_libgit2_opts is variadic, which Swift cannot call; these fixed-argument forms set the options Slipway uses.
static inline int slipway_git_set_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}
#endif
