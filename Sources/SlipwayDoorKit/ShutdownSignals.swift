import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for SIGTERM or SIGINT, which are blocked for normal delivery once this exists.
public final class ShutdownSignals {
    private let semaphore = DispatchSemaphore(value: 0)
    private let sources: [DispatchSourceSignal]
    private let received = ReceivedSignal()

    public init() {
        var list: [DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [semaphore, received] in
                received.set(number)
                semaphore.signal()
            }
            source.resume()
            list.append(source)
        }
        sources = list
    }

    /// Blocks until a signal arrives; returns it.
    public func wait() -> Int32 {
        semaphore.wait()
        for source in sources { source.cancel() }
        return received.get()
    }
}

/// The signal number, shared between the dispatch handler and the waiting thread.
private final class ReceivedSignal: Sendable {
    private let value = NIOLockedValueBox<Int32>(SIGTERM)
    func set(_ number: Int32) { value.withLockedValue { $0 = number } }
    func get() -> Int32 { value.withLockedValue { $0 } }
}
