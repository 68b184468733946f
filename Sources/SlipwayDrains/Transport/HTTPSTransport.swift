import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SlipwayHTTP
import SlipwaySpool
import SlipwaySystem

/// An HTTPS drain: each batch one POST of Logplex frames (`application/logplex-1`), with Heroku's headers, through
/// the process's shared HTTP client. A 2xx answer is a delivery; anything else, or no answer, is tried again, with the
/// same frame id, so the receiver can tell a batch sent twice.
final class HTTPSTransport: DrainTransport {
    let url: LogDrainURL
    let token: String
    let tls: TLSConfiguration
    /// How long one POST may take.
    static let timeout: Duration = .seconds(30)
    /// The URL requested: the drain's, without a user and password, which go in `authorization`.
    let target: String
    let authorization: String?
    /// The batch being sent and its frame id, kept while it is retried.
    private var frame: (messages: [String], id: String)?

    init(url: LogDrainURL, token: String, caBundle: String?) {
        self.url = url
        self.token = token
        self.tls = DrainTLS.configuration(caBundle: caBundle)
        var components = URLComponents(string: url.normalized)
        if let user = components?.user {
            let credentials = Data("\(user):\(components?.password ?? "")".utf8).base64EncodedString()
            authorization = "Basic \(credentials)"
            components?.user = nil
            components?.password = nil
        } else {
            authorization = nil
        }
        target = components?.string ?? url.normalized
    }

    func deliver(_ messages: [String]) throws {
        let id = frame.flatMap { $0.messages == messages ? $0.id : nil } ?? UUID().uuidString.lowercased()
        frame = (messages, id)
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.tlsConfiguration = tls
        request.headers = [
            "Content-Type": "application/logplex-1", "Logplex-Msg-Count": "\(messages.count)",
            "Logplex-Frame-Id": id, "Logplex-Drain-Token": token, "User-Agent": "Logplex/v72 (Slipway)",
        ]
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(bytes: SyslogFormat.logplexBody(messages)))
        let status: Int
        do {
            status = try Blocking.run { [request] in
                let response = try await SharedHTTPClient.client.execute(
                    request, timeout: .milliseconds(Self.timeout.wholeMilliseconds))
                _ = try await response.body.collect(upTo: 64 * 1024)
                return Int(response.status.code)
            }
        } catch {
            throw DrainDeliveryError(description: "no answer from \(url.host):\(url.port)")
        }
        guard (200..<300).contains(status) else {
            throw DrainDeliveryError(description: "\(url.host):\(url.port) answered \(status)")
        }
        frame = nil
    }

    func close() {}
}
