import Foundation

/// The one bridge from synchronous code (the push's hooks, the runner's loop and worker threads, tests) to async
/// HTTP work: it blocks the calling thread until the work ends.
///
/// The work runs on a thread of its own (``BlockingExecutor``), never on the concurrency pool: a caller that blocks
/// one of the pool's few threads (a synchronous test, say) while the work waits for another could otherwise take the
/// last one and wait forever.
public enum Blocking {
    /// The result of `body`, or what it threw.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: BlockingExecutor.shared) {
            do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get()
    }
}

/// A task executor with one thread of its own, which runs the jobs of ``Blocking``'s work in turn (the work mostly
/// waits for the network, which async-http-client's own event loops serve).
final class BlockingExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = BlockingExecutor()

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        thread.name = "slipway-http"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }
}

/// One result handed from a task to the thread that waits for it.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) { lock.withLock { result = value } }

    func get() throws -> T {
        guard let result = lock.withLock({ result }) else {
            throw HTTPLayerError("an HTTP request ended without a result")
        }
        return try result.get()
    }
}
