import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SlipwayHTTP
import SlipwayRunnerKit

/// Caddy's admin API, reached over its unix socket (the Caddy the runner owns) or loopback TCP (`--router-admin`),
/// with async-http-client. Calls block the calling thread (the watcher's) for at most their timeout.
struct CaddyAdmin: Sendable {
    /// Caddy's own form of the address (`unix//run/caddy/admin.sock`, `localhost:2019`): what the configuration
    /// restates as `admin.listen`.
    let address: String
    /// The socket's path, or the URL of the TCP address (`http://127.0.0.1:2019`).
    private let socketPath: String?
    private let base: String

    /// An admin address in Caddy's form. Only a unix socket or a loopback address (`localhost`, `127.x.x.x`,
    /// `[::1]`) is accepted: whoever reaches the admin API controls the router.
    init(address: String) throws {
        let usage = RunnerError(
            .usage,
            "slugrunner: '\(address)' is not a Caddy admin address on this machine: use unix//<socket path> or"
                + " <loopback address>:<port> (for example localhost:2019)")
        if address.hasPrefix("unix/") {
            let path = String(address.dropFirst("unix/".count))
            guard path.hasPrefix("/") else { throw usage }
            socketPath = path
            base = ""
        } else {
            guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]),
                port > 0
            else { throw usage }
            let host = String(address[..<colon])
            let isLoopback =
                host == "localhost" || host == "[::1]"
                || (ListenAddress(ipv4: host) != nil && host.hasPrefix("127."))
            guard isLoopback else { throw usage }
            socketPath = nil
            base = "http://\(host):\(port)"
        }
        self.address = address
    }

    /// Whether the admin API answers (`GET /config/`) within `timeout`.
    func answers(timeout: Duration = .seconds(2)) -> Bool {
        (try? send(.GET, "/config/", body: nil, timeout: timeout).status) == 200
    }

    /// Replaces Caddy's whole configuration with `config`; returns once Caddy runs it. Throws Caddy's own words
    /// when it refuses it (a port in use, an invalid value).
    func load(_ config: Data, timeout: Duration = .seconds(15)) throws {
        let reply: (status: Int, body: Data)
        do {
            reply = try send(.POST, "/load", body: config, timeout: timeout)
        } catch {
            throw RunnerError(.system, "slugrunner: Caddy's admin API at \(address) did not answer: \(error)")
        }
        guard reply.status == 200 else {
            let message =
                ((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])?["error"] as? String
                ?? String(decoding: reply.body.prefix(500), as: UTF8.self)
            throw RunnerError(.refused, "slugrunner: Caddy refused the router's configuration: \(message)")
        }
    }

    /// One request, waited for on the calling thread (``SharedHTTPClient/sendWaiting(_:_:headers:body:timeout:limit:)``).
    private func send(_ method: HTTPMethod, _ path: String, body: Data?, timeout: Duration) throws -> (
        status: Int, body: Data
    ) {
        var headers = HTTPHeaders()
        // Over a unix socket Caddy accepts only an empty Host (no host name in the URI), and async-http-client sends
        // none at all unless told.
        if socketPath != nil { headers.add(name: "Host", value: "") }
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        // Caddy replaces its admin server with every configuration it loads and closes the old one's connections: a
        // connection kept for the next call could be reset under it ("Connection reset by peer"). One per call.
        headers.add(name: "Connection", value: "close")
        guard let url = socketPath.map({ URL(httpURLWithSocketPath: $0, uri: path) }) ?? URL(string: base + path) else {
            throw RunnerError(.usage, "slugrunner: '\(address)' is not a Caddy admin address")
        }
        let reply = try SharedHTTPClient.sendWaiting(
            method, url.absoluteString, headers: headers, body: body, timeout: timeout)
        return (reply.status, reply.body)
    }
}
