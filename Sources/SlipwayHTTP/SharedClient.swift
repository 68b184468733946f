public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOFoundationCompat
public import NIOHTTP1
import SlipwaySystem

/// The process's one HTTP client, for every user of HTTP in Slipway: the object store, the router's Caddy admin API,
/// the swarm's Docker Engine API, web dynos' health checks and the forges' commit statuses (and the drains and
/// webhooks to come). One connection pool and async-http-client's singleton event loops, for the process's life;
/// it is never shut down, as `HTTPClient.shared` is not.
///
/// Set up for talking to servers Slipway knows: HTTP/1.1, no redirects followed (a health check's 3xx is an answer),
/// and no retry of a refused connection (the callers retry what is worth retrying, within their own bounds: a pool
/// that retried until the deadline held a failed push, or the runner's loop, for the whole of it). Each request gives
/// its own deadline.
public enum SharedHTTPClient {
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.httpVersion = .http1Only
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// A response read whole (small bodies: JSON answers, error documents).
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data
    }

    /// `method` on `url` (a TCP URL, or a unix socket's from `URL(httpURLWithSocketPath:uri:)`) with `headers` and
    /// `body`, its answer read whole up to `limit` bytes; throws when no answer came within `timeout`.
    public static func send(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders = [:], body: Data? = nil, timeout: Duration,
        limit: Int = 16 << 20
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response = try await client.execute(request, timeout: .milliseconds(timeout.wholeMilliseconds))
        let collected = try await response.body.collect(upTo: limit)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer: collected))
    }

    /// ``send(_:_:headers:body:timeout:limit:)`` from synchronous code, through ``Blocking``.
    public static func sendWaiting(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders = [:], body: Data? = nil, timeout: Duration,
        limit: Int = 16 << 20
    ) throws -> Response {
        try Blocking.run { try await send(method, url, headers: headers, body: body, timeout: timeout, limit: limit) }
    }
}

/// A failure of the HTTP layer itself (the transport's own errors are async-http-client's `HTTPClientError`).
public struct HTTPLayerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
