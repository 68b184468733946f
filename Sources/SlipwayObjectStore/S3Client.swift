import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SlipwayHTTP

/// A small S3 client over async-http-client: every request signed with ``SigV4``, transient failures retried with
/// bounded backoff, bodies streamed so that memory stays flat whatever an object's size.
///
/// Only what the spool needs: create-only and plain `PUT`, `HEAD`, `GET` (whole or streamed to a file with its
/// SHA-256 checked), `DELETE`, `ListObjectsV2` and multipart uploads.
public final class S3Client: Sendable {
    public let location: S3Location
    let signer: SigV4
    let http: HTTPClient
    /// Attempts per request (the first and the retries).
    public let attempts: Int
    /// The delay before the first retry; it doubles after each.
    public let firstDelay: Duration

    public init(
        location: S3Location, credentials: S3Credentials, attempts: Int = 4, firstDelay: Duration = .milliseconds(250)
    ) {
        self.location = location
        self.signer = SigV4(credentials: credentials, region: location.region)
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
        // The process's shared client: HTTP/1.1, no retry of a refused connection (retries are ours, bounded, in
        // `retrying`: the pool's own would retry until the request's deadline, holding a failed push for minutes).
        self.http = SharedHTTPClient.client
    }

    // MARK: - Requests

    /// One response, its body read whole (error bodies and small objects only).
    struct Response: Sendable {
        var status: UInt
        var headers: HTTPHeaders
        var body: Data
    }

    /// Sends `method` on `key` (nil: the bucket itself), signs it, retries transient failures, and maps error statuses
    /// (except those in `accept`) to ``ObjectStoreError``.
    func send(
        _ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
        headers extra: [(name: String, value: String)] = [], body: ByteBuffer = ByteBuffer(), accept: Set<UInt> = [],
        limit: Int = 16 << 20
    ) async throws -> Response {
        try await retrying("\(method.rawValue) \(key.map { location.key($0) } ?? location.bucket)") {
            let request = try self.signedRequest(method, key: key, query: query, headers: extra, body: body)
            let response = try await self.http.execute(request, timeout: .seconds(120))
            let data = Data(buffer: try await response.body.collect(upTo: limit))
            let status = response.status.code
            if (200..<300).contains(status) || accept.contains(status) {
                return Response(status: status, headers: response.headers, body: data)
            }
            throw self.error(status: status, body: data, key: key)
        }
    }

    /// A signed request; the payload hash is the body's SHA-256 so the server checks what it received.
    func signedRequest(
        _ method: HTTPMethod, key: String?, query: [(name: String, value: String)],
        headers extra: [(name: String, value: String)], body: ByteBuffer
    ) throws -> HTTPClientRequest {
        let (base, host, path) = location.address(key: key)
        let payloadHash = SigV4.hex(Array(SHA256.hash(data: body.readableBytesView)))
        let timestamp = SigV4.timestamp(Date())
        var signed: [(name: String, value: String)] = [
            ("host", host), ("x-amz-date", timestamp), ("x-amz-content-sha256", payloadHash),
        ]
        signed += extra
        let toSign = SigV4.Request(
            method: method.rawValue, path: path, query: query, headers: signed, payloadHash: payloadHash)
        let queryString = SigV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: base + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        for (name, value) in signed { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.add(name: "authorization", value: signer.authorization(toSign, timestamp: timestamp))
        if body.readableBytes > 0 || method == .PUT || method == .POST {
            request.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            request.body = .bytes(body)
        }
        return request
    }

    /// Runs `body` up to ``attempts`` times while it fails transiently (no answer, 5xx, 429, `SlowDown`),
    /// waiting ``firstDelay``, then twice as long each time.
    func retrying<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var delay = firstDelay
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as ObjectStoreError {
                guard error.isTransient, attempt < attempts else { throw error }
            } catch {
                if attempt >= attempts {
                    throw ObjectStoreError(
                        .unreachable,
                        "cannot reach the S3 server \(location.endpoint) (\(what), \(attempts) attempts): \(error)")
                }
            }
            try await Task.sleep(for: delay)
            delay = delay * 2
            attempt += 1
        }
    }

    /// An error status as an ``ObjectStoreError`` naming the S3 error code and what to do.
    func error(status: UInt, body: Data, key: String?) -> ObjectStoreError {
        let text = String(decoding: body, as: UTF8.self)
        let code = XMLText.first("Code", in: text) ?? ""
        let target = key.map { "\(location.bucket)/\(location.key($0))" } ?? location.bucket
        switch (status, code) {
        case (_, "NoSuchBucket"):
            return ObjectStoreError(
                .noSuchBucket, "the bucket \(location.bucket) does not exist on \(location.endpoint): create it first")
        case (403, _), (_, "SignatureDoesNotMatch"), (_, "InvalidAccessKeyId"), (_, "AccessDenied"):
            return ObjectStoreError(
                .accessDenied,
                "the S3 server refused the credentials for \(target) (\(code.isEmpty ? "HTTP \(status)" : code)): "
                    + "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        case (404, _), (_, "NoSuchKey"):
            return ObjectStoreError(.notFound, "\(target) does not exist")
        case (412, _):
            return ObjectStoreError(.alreadyExists, "\(target) already exists")
        case (500..., _), (429, _), (_, "SlowDown"):
            return ObjectStoreError(
                .server, "the S3 server failed on \(target) (HTTP \(status)\(code.isEmpty ? "" : ", \(code)"))",
                transient: true)
        default:
            return ObjectStoreError(
                .server, "the S3 server failed on \(target) (HTTP \(status)\(code.isEmpty ? "" : ", \(code)"))")
        }
    }
}

/// The few XML elements S3 answers with, found by tag (S3's XML has no attributes or nesting that matters here).
enum XMLText {
    /// The text of the first `<tag>…</tag>`.
    static func first(_ tag: String, in text: String) -> String? { all(tag, in: text).first }

    /// The texts of every `<tag>…</tag>`, in order, with the five XML entities decoded.
    static func all(_ tag: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            found.append(decode(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// The elements `<tag>…</tag>` themselves (for `<Contents>` blocks).
    static func blocks(_ tag: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func encode(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
