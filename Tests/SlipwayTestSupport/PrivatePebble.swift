import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private ACME CA on loopback: Debian's `pebble` (Let's Encrypt's test CA), with `pebble-challtestsrv` as its DNS
/// server, which answers every name with 127.0.0.1 (so `shop.test` points at the router under test) unless told
/// otherwise (``point(_:at:)``). Pebble validates each order for real, over the router's HTTP port (http-01) or its
/// HTTPS port (tls-alpn-01), as Let's Encrypt would.
///
/// Pebble's own HTTPS uses a certificate this harness makes (``listenerRoot``, which the router's Caddy is told to
/// trust); the certificates it issues chain to a root it makes at start (``issuingRoot()``), which only the test's
/// client trusts. Everything it starts is stopped by ``stop()`` (call it in a `defer`), and by `deinit`.
public final class PrivatePebble: @unchecked Sendable {
    /// The ACME directory URL (`https://127.0.0.1:<port>/dir`).
    public let directory: String
    /// The PEM file of pebble's own HTTPS certificate (self-signed): what the router trusts the CA's HTTPS with.
    public let listenerRoot: String
    private let folder: String
    private let managementPort: UInt16
    private let dnsManagementPort: UInt16
    private var pebble: TestProcess?
    private var dns: TestProcess?

    /// Starts the CA, validating on the router's `httpPort` and `tlsPort`, in `folder` (made if missing), and waits
    /// until its directory answers. `environment` adds pebble settings (`PEBBLE_…`).
    public init(folder: String, httpPort: UInt16, tlsPort: UInt16, environment: [String: String] = [:]) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        listenerRoot = "\(folder)/pebble-cert.pem"
        let key = "\(folder)/pebble-key.pem"
        let made = try runTool([
            try tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", listenerRoot, "-days", "2", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard made.status == 0 else { throw PebbleError(description: "openssl: \(made.stderr)") }
        let acmePort = try freeLoopbackPort()
        managementPort = try freeLoopbackPort()
        let dnsPort = try freeLoopbackPort()
        dnsManagementPort = try freeLoopbackPort()
        directory = "https://127.0.0.1:\(acmePort)/dir"
        let config: [String: Any] = [
            "pebble": [
                "listenAddress": "127.0.0.1:\(acmePort)", "managementListenAddress": "127.0.0.1:\(managementPort)",
                "certificate": listenerRoot, "privateKey": key, "httpPort": Int(httpPort), "tlsPort": Int(tlsPort),
                "ocspResponderURL": "", "externalAccountBindingRequired": false,
            ]
        ]
        let configPath = "\(folder)/pebble.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))

        dns = try TestProcess(
            [
                try tool("pebble-challtestsrv"), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01",
                "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "", "-tlsalpn01", "", "-management",
                "127.0.0.1:\(dnsManagementPort)",
            ], stdout: .file("\(folder)/challtestsrv.log"), stderr: .file("\(folder)/challtestsrv.log"),
            newSession: true)
        var env = ProcessInfo.processInfo.environment
        env["PEBBLE_VA_NOSLEEP"] = "1"
        env["PEBBLE_WFE_NONCEREJECT"] = "0"
        for (name, value) in environment { env[name] = value }
        pebble = try TestProcess(
            [try tool("pebble"), "-config", configPath, "-dnsserver", "127.0.0.1:\(dnsPort)"], environment: env,
            directory: folder, stdout: .file("\(folder)/pebble.log"), stderr: .file("\(folder)/pebble.log"),
            newSession: true)
        guard
            waitUntil(
                seconds: 60,
                {
                    loopbackPortAcceptsConnections(acmePort) && loopbackPortAcceptsConnections(dnsManagementPort)
                        && loopbackPortAcceptsConnections(managementPort)
                })
        else {
            stop()
            throw PebbleError(description: "pebble did not start: \(log)")
        }
    }

    deinit { stop() }

    /// Stops pebble and its DNS server.
    public func stop() {
        pebble?.terminate(grace: 2)
        dns?.terminate(grace: 2)
        pebble = nil
        dns = nil
    }

    /// What pebble printed.
    public var log: String { (try? String(contentsOfFile: "\(folder)/pebble.log", encoding: .utf8)) ?? "" }

    /// How many orders pebble was sent (`POST /order-plz`).
    public var orders: Int { log.components(separatedBy: "POST /order-plz").count - 1 }

    /// The root the certificates pebble issues chain to, as a PEM file (fetched from its management API).
    public func issuingRoot() throws -> String {
        let path = "\(folder)/issuing-root.pem"
        let fetched = try runTool([
            try tool("curl"), "-sf", "--cacert", listenerRoot, "-o", path,
            "https://127.0.0.1:\(managementPort)/roots/0",
        ])
        guard fetched.status == 0 else { throw PebbleError(description: "pebble's root: \(fetched.stderr)") }
        return path
    }

    /// Has the DNS server answer `host` with `address` (a name that does not point at the router, so that pebble
    /// refuses its order).
    public func point(_ host: String, at address: String) throws {
        let body = #"{"host": "\#(host).", "addresses": ["\#(address)"]}"#
        let set = try runTool([
            try tool("curl"), "-sf", "-d", body, "http://127.0.0.1:\(dnsManagementPort)/add-a",
        ])
        guard set.status == 0 else { throw PebbleError(description: "challtestsrv add-a: \(set.stderr)") }
    }
}

/// Pebble could not be set up.
public struct PebbleError: Error, CustomStringConvertible {
    public var description: String
}
