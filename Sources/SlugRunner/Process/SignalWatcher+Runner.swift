import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

extension SignalWatcher {
    /// The runner's signals as a descriptor its one poll loop watches beside its processes' output, so it never runs
    /// code inside a signal handler; SIGPIPE is ignored (a closed pipe is an error to handle, not a reason to die).
    /// Create it before any thread is started: threads created later inherit the blocked mask.
    static func forRunner(_ signals: [Int32]) throws -> SignalWatcher {
        ignoreBrokenPipes()
        let watcher = SignalWatcher(signals)
        guard watcher.fd >= 0 else { throw RunnerError.system("signalfd", "(signals)", errno: errno) }
        return watcher
    }
}
