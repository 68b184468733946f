import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's rsyslogd, started by a test in a folder of its own on a free loopback port: a TCP input (TLS with the
/// test's certificates, or plain), octet-counted frames, each message's RFC 5424 fields written as one line of
/// `received.log`: `HOSTNAME|APP-NAME|PROCID|STRUCTURED-DATA|MSG`. It can be stopped and started again on the same
/// port, as a drain that goes down and comes back.
public final class PrivateRsyslog: @unchecked Sendable {
    public let port: UInt16
    public let folder: String
    public let received: String
    private let configuration: String
    private let lock = NSLock()
    private var process: TestProcess?

    /// One message as rsyslog parsed it.
    public struct Message: Equatable, Sendable {
        public var hostname: String
        public var appName: String
        public var procID: String
        public var structuredData: String
        public var text: String
    }

    /// Starts rsyslogd; with `certificates`, its input takes TLS (GnuTLS) only.
    public init(folder: String, certificates: TestCertificates?) throws {
        self.folder = folder
        received = "\(folder)/received.log"
        port = try freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: "\(folder)/work", withIntermediateDirectories: true)
        var lines: [String] = []
        if let certificates {
            lines.append(
                """
                global(workDirectory="\(folder)/work" defaultNetstreamDriver="gtls"
                       defaultNetstreamDriverCAFile="\(certificates.caFile)"
                       defaultNetstreamDriverCertFile="\(certificates.certificateFile)"
                       defaultNetstreamDriverKeyFile="\(certificates.keyFile)")
                module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
                """)
        } else {
            lines.append(
                """
                global(workDirectory="\(folder)/work")
                module(load="imtcp")
                """)
        }
        lines.append(
            """
            template(name="fields" type="string" string="%hostname%|%app-name%|%procid%|%structured-data%|%msg%\\n")
            ruleset(name="drain") {
                action(type="omfile" file="\(received)" template="fields" flushOnTXEnd="on" asyncWriting="off")
            }
            input(type="imtcp" port="\(port)" address="127.0.0.1" ruleset="drain")
            """)
        configuration = "\(folder)/rsyslog.conf"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: configuration))
        try start()
    }

    deinit { stop() }

    /// Starts rsyslogd (again) and waits until it accepts connections.
    public func start() throws {
        let rsyslogd = try tool("rsyslogd")
        let started = try TestProcess(
            [rsyslogd, "-n", "-f", configuration, "-i", "\(folder)/rsyslogd.pid"], stdout: .file("\(folder)/out.log"),
            stderr: .file("\(folder)/out.log"), newSession: true)
        lock.withLock { process = started }
        guard waitUntil(seconds: 30, { loopbackPortAcceptsConnections(port) || !started.isRunning }),
            started.isRunning
        else {
            let output = (try? String(contentsOfFile: "\(folder)/out.log", encoding: .utf8)) ?? ""
            stop()
            throw ToolError.launchFailed([rsyslogd], "rsyslogd did not listen on \(port): \(output)")
        }
    }

    /// Stops rsyslogd (SIGTERM, which writes what it holds), and waits for it.
    public func stop() {
        guard let running = lock.withLock({ process }) else { return }
        running.terminate(grace: 10)
        lock.withLock { process = nil }
    }

    /// The messages received so far, in order.
    public func messages() -> [Message] {
        guard let data = FileManager.default.contents(atPath: received) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else { return nil }
            var text = fields[4]
            if text.hasPrefix(" ") { text.removeFirst() }
            return Message(
                hostname: fields[0], appName: fields[1], procID: fields[2], structuredData: fields[3], text: text)
        }
    }
}
