import CProcessShims

#if canImport(Glibc)
    import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into a readable file descriptor (Linux `signalfd`), so a build or a push can
/// notice them between two reads, kill its children's process group and clean up, instead of dying with files
/// half-written. (Kept over swift-subprocess and Foundation: neither offers a signalfd to poll beside pipes.)
///
/// Create it before any thread is started: it blocks those signals in the calling thread, and threads created later
/// inherit the mask. Children are spawned with the default mask and dispositions restored.
public final class SignalWatcher: @unchecked Sendable {
    /// The signals that cancel a build.
    public static let cancelling: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The descriptor to poll; readable when one of the signals is pending.
    public let fd: Int32
    /// The first signal received, once one was.
    public private(set) var received: Int32?

    /// Blocks `signals` (by default the cancelling ones) and opens the signalfd; ``fd`` is -1 if that failed.
    public init(_ signals: [Int32] = SignalWatcher.cancelling) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        fd = slipway_signalfd(&mask)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Reads a pending signal without waiting; returns it (and remembers it) if there was one.
    @discardableResult
    public func poll() -> Int32? {
        guard fd >= 0 else { return received }
        let signal = slipway_signalfd_read(fd)
        if signal > 0, received == nil { received = signal }
        return received
    }

    /// Every signal pending now, in arrival order; empty when none is. For a loop that handles each signal (a
    /// runner's SIGCHLD and SIGHUP) rather than stopping at the first.
    public func drain() -> [Int32] {
        guard fd >= 0 else { return [] }
        var signals: [Int32] = []
        while true {
            let signal = slipway_signalfd_read(fd)
            if signal <= 0 { return signals }
            if received == nil { received = signal }
            signals.append(signal)
        }
    }

}

/// Makes a write to a pipe or socket whose reader is gone an error (`EPIPE`) instead of a fatal SIGPIPE: a pusher who
/// hangs up, or a dyno's closed output, is something to handle, not a reason to die. Children get the default back
/// (``Spawn`` resets every signal).
public func ignoreBrokenPipes() {
    signal(SIGPIPE, SIG_IGN)
}

/// `SIGINT`, `SIGTERM`… for messages.
public func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    case SIGKILL: "SIGKILL"
    case SIGPIPE: "SIGPIPE"
    case SIGQUIT: "SIGQUIT"
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    default: "signal \(signal)"
    }
}
