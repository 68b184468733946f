import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOFoundationCompat
public import NIOHTTP1
import SlipwayHTTP

/// The Docker Engine API (HTTP and JSON) on the engine's unix socket, with the shared HTTP client (``SharedHTTPClient``): calls
/// block the calling thread (the watcher's) for at most their timeout.
public struct DockerClient: Sendable {
    /// The API version asked for: Docker 20.10's (Debian 12's `docker.io`), the first with Swarm jobs.
    public static let apiVersion = "v1.41"

    /// The address as given (`unix:///var/run/docker.sock`).
    public let host: String
    public let socketPath: String

    /// Only a unix socket is accepted: whoever reaches the Engine API is root on every node of the swarm, and a TCP
    /// address would need TLS client certificates this runner does not handle.
    public init(host: String) throws {
        guard host.hasPrefix("unix:///") else {
            throw DockerError(
                .usage,
                "slugrunner: '\(host)' is not a Docker engine address this runner can use: give the manager's unix "
                    + "socket, for example --docker-host unix:///var/run/docker.sock")
        }
        self.host = host
        self.socketPath = String(host.dropFirst("unix://".count))
    }

    /// An answer of the API: its status and body.
    public struct Reply: Sendable {
        public var status: Int
        public var body: Data

        /// The body as JSON (`.null` when it is not JSON).
        public var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
    }

    /// `GET path`: the JSON answer; throws the engine's message on an error status.
    public func get(_ path: String, query: [(String, String)] = []) throws -> JSONValue {
        try checked(send(.GET, path, query: query), "GET \(path)").json
    }

    /// `POST path` with `body` as JSON: the JSON answer; throws the engine's message on an error status.
    @discardableResult
    public func post(_ path: String, query: [(String, String)] = [], json body: JSONValue? = nil) throws -> JSONValue {
        let data = try body.map { try $0.encoded() }
        return try checked(
            send(.POST, path, query: query, body: data, contentType: data == nil ? nil : "application/json"),
            "POST \(path)"
        ).json
    }

    /// `DELETE path`; a 404 (already gone) is not an error.
    public func delete(_ path: String) throws {
        let reply = try send(.DELETE, path)
        if reply.status != 404 { _ = try checked(reply, "DELETE \(path)") }
    }

    /// One request; `path` is under the API version (`/services`), or absolute from `/` when it starts with `/_`.
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String? = nil, timeout: Duration = .seconds(30)
    ) throws -> Reply {
        var headers = HTTPHeaders()
        // The engine (Go's net/http) wants a Host header; async-http-client sends none over a unix socket.
        headers.add(name: "Host", value: "docker")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        let uri = (path.hasPrefix("/_") ? path : "/\(Self.apiVersion)\(path)") + Self.queryString(query)
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: uri) else {
            throw DockerError(.usage, "slugrunner: '\(host)' is not a usable socket path")
        }
        do {
            let reply = try SharedHTTPClient.sendWaiting(
                method, url.absoluteString, headers: headers, body: body, timeout: timeout, limit: 64 << 20)
            return Reply(status: reply.status, body: reply.body)
        } catch {
            throw DockerError(
                .unreachable,
                "slugrunner: cannot reach the Docker engine at \(host) (\(error)): start dockerd there, or give a "
                    + "swarm manager's socket with --docker-host")
        }
    }

    /// The reply, or the engine's own message as an error.
    private func checked(_ reply: Reply, _ what: String) throws -> Reply {
        guard reply.status >= 300 else { return reply }
        let message = reply.json["message"]?.string ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
        throw DockerError(
            reply.status == 404 ? .notFound : .refused, "slugrunner: Docker refused \(what): \(message)")
    }

    /// `?a=1&b=2`, each part percent-encoded.
    public static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        return "?" + query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
