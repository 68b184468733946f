import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP request with async-http-client, waited for on the calling thread: the router's Caddy admin
/// API and the swarm's Engine API, both called from the watcher's loop.
///
/// The future's `wait()` rather than async/await: the work runs on async-http-client's event loops, so a caller that
/// blocks (the watcher, a test on the concurrency pool) never waits for a thread it holds itself.
enum BlockingHTTP {
    /// A client for the process's life. A refused or missing socket fails at once: async-http-client's own retries
    /// would hold the watcher until the request's deadline (30 s for a Docker engine that is not running).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// `method` on `url` (a unix socket's URL from `URL(httpURLWithSocketPath:uri:)`, or a TCP one); throws when no
    /// answer came within `timeout`.
    static func send(
        _ method: HTTPMethod, _ url: URL, headers: HTTPHeaders, body: Data?, timeout: Duration
    ) throws -> (status: Int, body: Data) {
        let request = try HTTPClient.Request(
            url: url, method: method, headers: headers, body: body.map { .data($0) }, tlsConfiguration: nil)
        let response = try client.execute(
            request: request, deadline: .now() + .milliseconds(timeout.milliseconds)
        ).wait()
        return (Int(response.status.code), response.body.map { Data(buffer: $0) } ?? Data())
    }
}
