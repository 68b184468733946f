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

/// POSIX_SPAWN_SETSID (glibc 2.26+): the child starts a session (and process group) of its own.
int slipway_spawn_setsid_flag(void);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+): the child closes every descriptor from `from` up, so
/// it inherits nothing but its standard streams (no listening socket, no other connection, no lock).
int slipway_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// pidfd_open(pid, 0) (Linux 5.3+), close-on-exec: a descriptor that poll() reports readable once the process has
/// exited. -1 with errno on failure (ENOSYS on older kernels).
int slipway_pidfd_open(pid_t pid);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process instead of init.
int slipway_set_child_subreaper(void);

/// prctl(PR_SET_PDEATHSIG, sig): `sig` arrives when the parent exits. Returns 1 when the parent is already gone
/// (the process was re-parented before the call), 0 when set, -1 on failure.
int slipway_set_parent_death_signal(int sig, pid_t expected_parent);

/// prctl(PR_GET_CHILD_SUBREAPER): 1 when this process adopts orphaned descendants, else 0.
int slipway_is_child_subreaper(void);

/// accept4(sock, NULL, NULL, SOCK_CLOEXEC): the connection is never inherited by a child. -1 with errno on failure.
int slipway_accept_cloexec(int sock);

/// sendmsg(2) of `length` bytes with `count` descriptors attached as SCM_RIGHTS (MSG_NOSIGNAL: a closed peer is
/// EPIPE, not SIGPIPE). Returns the bytes sent, or -1 with errno.
long slipway_send_with_descriptors(int sock, const void *bytes, unsigned long length, const int *fds, int count);

/// recvmsg(2) of up to `capacity` bytes and up to `maximum` descriptors (SCM_RIGHTS, received close-on-exec) into
/// `fds`, their number into `*received`. Returns the bytes read (0: the peer closed), or -1 with errno; EMSGSIZE
/// when more descriptors came than `maximum` (those that did come are closed).
long slipway_receive_with_descriptors(int sock, void *bytes, unsigned long capacity, int *fds, int maximum,
                                      int *received);

/// copy_file_range(in, NULL, out, NULL, length, 0): copies within the kernel (a reflink where the filesystem can).
long slipway_copy_file_range(int in, int out, unsigned long length);

/// What the child of `slipway_fork_exec` does between fork and exec, all of it with async-signal-safe calls.
struct slipway_fork_plan {
    /// Written "0" (the writer itself) each, first: the child is in these control groups before it runs anything.
    const int *join_fds;
    int join_count;
    /// 0: stay in the caller's process group; 1: a new process group; 2: a new session.
    int group;
    /// Descriptors (all >= 3 + extra_count, or -1 to keep the caller's) duplicated onto 0, 1 and 2.
    int stdio[3];
    /// Descriptors (all above every target number) duplicated onto 3, 4, ...
    const int *extra_fds;
    int extra_count;
    /// The working folder, or NULL.
    const char *directory;
    /// Signals whose disposition goes back to the default (the mask is emptied too).
    const int *default_signals;
    int default_count;
};

/// Starts `path` as a child through fork (glibc's _Fork: no atfork handlers run) rather than posix_spawn, so that
/// it can join control groups before exec (posix_spawn cannot, and moving it afterwards would let a process it
/// forks meanwhile escape). Returns the pid, or -1 with errno (a failure of the child's set-up or of its execve is
/// reported through a close-on-exec pipe, and the child reaped).
pid_t slipway_fork_exec(const char *path, char *const argv[], char *const envp[], const struct slipway_fork_plan *plan);
#endif
