import Foundation
import NIOSSL
import SlipwaySpool

/// How a drain's messages leave: a syslog connection (TCP or TLS) or HTTPS POSTs. Used from the drain's own thread
/// only; each call blocks that thread, never the runner's.
protocol DrainTransport: AnyObject {
    /// Sends `messages` (RFC 5424, unframed) in order; throws when they may not have arrived.
    func deliver(_ messages: [String]) throws
    /// Drops the connection, if any; the next ``deliver(_:)`` makes a new one.
    func close()
}

/// Why a drain could not deliver: one line, without the runner's internals.
struct DrainDeliveryError: Error, CustomStringConvertible {
    var description: String
}

/// The TLS settings of a drain: the server's certificate verified against the system's roots, and against the
/// operator's CA bundle too when one is named (`slugrunner watch --drain-ca`).
enum DrainTLS {
    static func configuration(caBundle: String?) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let caBundle { configuration.additionalTrustRoots = [.file(caBundle)] }
        return configuration
    }
}

/// The transport for `url`.
func makeTransport(_ url: LogDrainURL, token: String, caBundle: String?) throws -> DrainTransport {
    switch url.transport {
    case .syslog: return SyslogTransport(url: url, tls: nil)
    case .syslogTLS:
        return SyslogTransport(
            url: url, tls: try NIOSSLContext(configuration: DrainTLS.configuration(caBundle: caBundle)))
    case .https: return HTTPSTransport(url: url, token: token, caBundle: caBundle)
    }
}
