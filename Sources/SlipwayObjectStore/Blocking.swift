import Foundation

/// Runs async S3 work from synchronous code (the push's hooks, the runner's worker thread, tests), blocking the
/// calling thread until it ends.
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

    /// Opens a client for `location`, runs `body` with it, and closes it.
    public static func withClient<T: Sendable>(
        _ location: S3Location, _ credentials: S3Credentials, _ body: @escaping @Sendable (S3Client) async throws -> T
    ) throws -> T {
        try run {
            let client = S3Client(location: location, credentials: credentials)
            do {
                let result = try await body(client)
                await client.shutdown()
                return result
            } catch {
                await client.shutdown()
                throw error
            }
        }
    }
}

/// A task executor with one thread of its own, which runs the jobs of ``Blocking``'s work in turn (the work mostly
/// waits for the network, which async-http-client's own threads serve).
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
        thread.name = "slipway-s3"
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
            throw ObjectStoreError(.server, "an S3 request ended without a result")
        }
        return try result.get()
    }
}
