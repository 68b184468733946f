#define _GNU_SOURCE
#include "CProcessShims.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int slipway_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int slipway_signalfd(const sigset_t *mask) { return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK); }

int slipway_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}

int slipway_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int slipway_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

int slipway_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int slipway_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int slipway_is_child_subreaper(void) {
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) != 0) return 0;
    return value;
}

int slipway_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
    int fd = (int)syscall(434, pid, 0);  // __NR_pidfd_open, the same on every architecture (Linux 5.3)
#endif
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

int slipway_set_parent_death_signal(int sig, pid_t expected_parent) {
    if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0) return -1;
    return getppid() != expected_parent ? 1 : 0;
}

int slipway_accept_cloexec(int sock) { return accept4(sock, NULL, NULL, SOCK_CLOEXEC); }

// At most this many descriptors travel with one message (the door sends three).
#define SLIPWAY_MAX_PASSED_FDS 16

long slipway_send_with_descriptors(int sock, const void *bytes, unsigned long length, const int *fds, int count) {
    if (count < 0 || count > SLIPWAY_MAX_PASSED_FDS || length == 0) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)bytes, .iov_len = length};
    union {
        char buffer[CMSG_SPACE(sizeof(int) * SLIPWAY_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    if (count > 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do {
        sent = sendmsg(sock, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return (long)sent;
}

long slipway_receive_with_descriptors(int sock, void *bytes, unsigned long capacity, int *fds, int maximum,
                                      int *received) {
    *received = 0;
    struct iovec iov = {.iov_base = bytes, .iov_len = capacity};
    union {
        char buffer[CMSG_SPACE(sizeof(int) * SLIPWAY_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    ssize_t got;
    do {
        got = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return -1;
    int count = 0;
    int overflow = (message.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *data = (int *)CMSG_DATA(header);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, data + i, sizeof fd);
            if (count < maximum) {
                fds[count++] = fd;
            } else {
                close(fd);
                overflow = 1;
            }
        }
    }
    if (overflow) {
        for (int i = 0; i < count; i++) close(fds[i]);
        errno = EMSGSIZE;
        return -1;
    }
    *received = count;
    return (long)got;
}

long slipway_copy_file_range(int in, int out, unsigned long length) {
    return (long)copy_file_range(in, NULL, out, NULL, length, 0);
}

// Closes every descriptor from `from` to `to` (inclusive): close_range (Linux 5.9+), else one by one.
static void slipway_close_span(int from, unsigned to) {
    if (from < 0 || (unsigned)from > to) return;
    if (syscall(SYS_close_range, (unsigned)from, to, 0) == 0) return;
    for (unsigned fd = (unsigned)from; fd <= to && fd < 65536; fd++) close((int)fd);
}

// The child's side of slipway_fork_exec: only async-signal-safe calls (the parent may have other threads holding
// locks). Reports errno through `report` and exits 127 on any failure.
static void slipway_child(const char *path, char *const argv[], char *const envp[],
                          const struct slipway_fork_plan *plan, int report) {
    int failure = 0;
    int first = 3 + plan->extra_count;
    // The report pipe moves above the numbers the child's streams take.
    if (report < first) report = fcntl(report, F_DUPFD_CLOEXEC, first);
    if (report < 0) _exit(127);
    for (int i = 0; i < plan->join_count && failure == 0; i++) {
        if (write(plan->join_fds[i], "0", 1) != 1) failure = errno;
    }
    if (failure == 0 && plan->group == 2 && setsid() < 0) failure = errno;
    if (failure == 0 && plan->group == 1 && setpgid(0, 0) != 0) failure = errno;
    if (failure == 0) {
        struct sigaction action;
        for (size_t i = 0; i < sizeof action; i++) ((char *)&action)[i] = 0;
        action.sa_handler = SIG_DFL;
        for (int i = 0; i < plan->default_count; i++) sigaction(plan->default_signals[i], &action, NULL);
        sigset_t empty;
        sigemptyset(&empty);
        sigprocmask(SIG_SETMASK, &empty, NULL);
    }
    if (failure == 0 && plan->directory != NULL && chdir(plan->directory) != 0) failure = errno;
    for (int i = 0; i < 3 && failure == 0; i++) {
        if (plan->stdio[i] >= 0 && dup2(plan->stdio[i], i) < 0) failure = errno;
    }
    for (int i = 0; i < plan->extra_count && failure == 0; i++) {
        if (dup2(plan->extra_fds[i], 3 + i) < 0) failure = errno;
    }
    if (failure == 0) {
        // Nothing else is inherited; the report pipe closes itself at exec.
        slipway_close_span(first, (unsigned)report - 1);
        slipway_close_span(report + 1, ~0U);
        execve(path, argv, envp);
        failure = errno;
    }
    while (write(report, &failure, sizeof failure) < 0 && errno == EINTR) {}
    _exit(127);
}

pid_t slipway_fork_exec(const char *path, char *const argv[], char *const envp[], const struct slipway_fork_plan *plan) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    // No signal handler of the parent may run in the child before its dispositions are reset.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = _Fork();
    if (pid == 0) {
        close(report[0]);
        slipway_child(path, argv, envp, plan, report[1]);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        errno = saved;
        return -1;
    }
    int failure = 0;
    ssize_t n;
    do { n = read(report[0], &failure, sizeof failure); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = failure;
        return -1;
    }
    return pid;
}
