import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SlipwayHTTP

/// The HTTP health checks of web dynos (`apps:set <app> healthcheck=/up`), run off the watcher's thread: a dyno
/// passes when `GET <path>` answers 2xx or 3xx within ``timeout``. Redirects are not followed (a 3xx passes).
///
/// The watcher asks for a probe with ``probe(_:port:path:host:)``, and takes the results on its own thread with
/// ``take()``; `wake` tells its loop that a result is waiting.
final class HealthProbes: @unchecked Sendable {
    /// How one probe ended.
    struct Result: Sendable {
        /// The dyno probed (its object's identity: a restarted dyno is a new object, and gets no stale result).
        let dyno: ObjectIdentifier
        let passed: Bool
        /// `200`, `500`, `no answer within 5s`: for the log.
        let detail: String
    }

    /// How long a dyno has to answer.
    let timeout: Duration
    private var stopped = false
    private let wake: @Sendable () -> Void
    private let lock = NSLock()
    private var results: [Result] = []
    private var inFlight: Set<ObjectIdentifier> = []

    init(timeout: Duration = .seconds(5), wake: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.wake = wake
    }

    /// Starts a probe of `dyno` at `address`:`port` unless one is on its way; `host` is the `Host` header (the app's
    /// host name, as the router sends it).
    func probe(_ dyno: ObjectIdentifier, address: String, port: UInt16, path: String, host: String) {
        let started = lock.withLock { !stopped && inFlight.insert(dyno).inserted }
        guard started else { return }
        let deadline = timeout
        Task.detached { [self] in
            let result: Result
            do {
                // The shared client follows no redirect: a 3xx is an answer, and passes.
                let headers = HTTPHeaders([("Host", host), ("User-Agent", "slugrunner-health-check")])
                let response = try await SharedHTTPClient.send(
                    .GET, "http://\(address):\(port)\(path)", headers: headers, timeout: deadline, limit: 1 << 20)
                let code = response.status
                result = Result(dyno: dyno, passed: (200..<400).contains(code), detail: "answered \(code)")
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                result = Result(dyno: dyno, passed: false, detail: "no answer within \(deadline.spoken)")
            } catch {
                result = Result(dyno: dyno, passed: false, detail: "no answer (\(error))")
            }
            self.finish(result)
        }
    }

    /// The results that came in since the last call.
    func take() -> [Result] {
        lock.withLock {
            defer { results.removeAll() }
            return results
        }
    }

    /// No probe starts afterwards (the shared client stays for the process's other users).
    func shutdown() {
        lock.withLock { stopped = true }
    }

    private func finish(_ result: Result) {
        lock.withLock {
            inFlight.remove(result.dyno)
            results.append(result)
        }
        wake()
    }
}
