import CProcessShims

#if canImport(Glibc)
    import Glibc
#endif

/// Turns signals into a readable descriptor (Linux `signalfd`), so one poll loop sees a stop request, a child's exit
/// and its processes' output alike, and never runs code inside a signal handler.
///
/// Create it before any thread is started: it blocks the signals in the calling thread, and threads created later
/// inherit the mask. Children are spawned with the default mask and dispositions (``Spawner``).
final class SignalInbox {
    /// The descriptor to poll; readable when one of the signals is pending.
    let fd: Int32

    /// Blocks `signals` and opens a signalfd for them; also ignores SIGPIPE (a closed pipe is an error to handle,
    /// not a reason to die).
    init(_ signals: [Int32]) throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)
        fd = slipway_signalfd(&mask)
        guard fd >= 0 else { throw RunnerError.system("signalfd", "(signals)", errno: errno) }
    }

    deinit { close(fd) }

    /// Every signal pending now, in arrival order; empty when none is.
    func drain() -> [Int32] {
        var signals: [Int32] = []
        while true {
            let signal = slipway_signalfd_read(fd)
            if signal <= 0 { return signals }
            signals.append(signal)
        }
    }
}
