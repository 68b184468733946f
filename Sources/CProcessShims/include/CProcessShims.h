#ifndef SLIPWAY_CPROCESS_SHIMS_H
#define SLIPWAY_CPROCESS_SHIMS_H
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>

// Linux and glibc calls that Swift's Glibc module does not expose (they need _GNU_SOURCE), wrapped as plain functions.

/// pipe2(fds, O_CLOEXEC).
int slipway_pipe_cloexec(int fds[2]);

/// A non-blocking, close-on-exec signalfd for `mask`; -1 with errno on failure.
int slipway_signalfd(const sigset_t *mask);

/// Reads one pending signal from a signalfd; returns its number, or 0 when none is pending.
int slipway_signalfd_read(int fd);

/// posix_spawn_file_actions_addchdir_np (glibc 2.29+).
int slipway_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// pidfd_open(pid, 0) (Linux 5.3+), close-on-exec: a descriptor that poll() reports readable once the process has
/// exited. -1 with errno on failure (ENOSYS on older kernels).
int slipway_pidfd_open(pid_t pid);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process instead of init.
int slipway_set_child_subreaper(void);
#endif
