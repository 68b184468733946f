import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private SeaweedFS cluster for one test: `weed server` (master, one volume server, filer and S3 gateway) plus
/// `extraVolumes` volume servers of their own, every file stored twice on two servers (replication `001`), on free
/// loopback ports. Each volume server can be killed alone, as a failed disk or machine would be.
public final class PrivateSeaweedCluster: @unchecked Sendable {
    public let endpoint: String
    public let accessKey = "slipway-test"
    public let secretKey = "secret-\(UInt64.random(in: 0...UInt64.max))"
    /// The separate volume servers and their data folders.
    public private(set) var volumes: [(process: TestProcess, directory: String)] = []
    public let logPath: String

    private let server: TestProcess
    /// Every port given to its processes (weed names its local sockets in /tmp after them).
    private var ports: [UInt16] = []
    private let lock = NSLock()
    private var stopped = false

    /// Starts the cluster; returns once S3 accepts connections. It has no bucket yet: create one with an S3 call.
    public init(directory: String, extraVolumes: Int) throws {
        let weed = try PrivateSeaweedFS.executable()
        let logPath = "\(directory)/weed-server.log"
        self.logPath = logPath
        let config = "\(directory)/s3.json"
        let identities = """
            {"identities":[{"name":"admin","credentials":[{"accessKey":"\(accessKey)","secretKey":"\(secretKey)"}],\
            "actions":["Admin","Read","Write","List","Tagging"]}]}
            """
        try identities.write(toFile: config, atomically: true, encoding: .utf8)
        let names = [
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
            "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "debug.port", "webdav.port", "iam.port",
            "sftp.port", "mq.broker.port", "mq.agent.port",
        ]
        var ports: [String: UInt16] = [:]
        for name in names { ports[name] = try PrivateSeaweedFS.distinctFreePort(not: Set(ports.values)) }
        let data = "\(directory)/server"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var argv = [
            weed, "-logdir=\(directory)", "server", "-dir=\(data)", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
            "-s3.config=\(config)",
            "-s3.autoCreateBucket=false", "-master.defaultReplication=001", "-master.volumeSizeLimitMB=64",
            "-volume.max=20",
        ]
        argv += names.sorted().map { "-\($0)=\(ports[$0] ?? 0)" }
        server = try TestProcess(
            argv, directory: directory, stdout: .file(logPath), stderr: .file(logPath), newSession: true)
        let s3Port = ports["s3.port"] ?? 0
        endpoint = "http://127.0.0.1:\(s3Port)"
        let master = "127.0.0.1:\(ports["master.port"] ?? 0).\(ports["master.port.grpc"] ?? 0)"
        for index in 1...max(1, extraVolumes) {
            let folder = "\(directory)/volume-\(index)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let port = try PrivateSeaweedFS.distinctFreePort(not: Set(ports.values))
            let grpc = try PrivateSeaweedFS.distinctFreePort(not: Set(ports.values).union([port]))
            ports["volume-\(index)"] = port
            ports["volume-\(index).grpc"] = grpc
            let process = try TestProcess(
                [
                    weed, "-logdir=\(folder)", "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=\(port)",
                    "-port.grpc=\(grpc)",
                    "-dir=\(folder)", "-max=20", "-mserver=\(master)",
                ], directory: directory, stdout: .file("\(folder).log"), stderr: .file("\(folder).log"),
                newSession: true)
            volumes.append((process, folder))
        }
        self.ports = Array(ports.values)
        let server = self.server
        guard waitUntil(seconds: 60, { !server.isRunning || loopbackPortAcceptsConnections(s3Port) }), server.isRunning
        else {
            stop()
            throw SeaweedError(
                "weed server did not start; its log (\(logPath)):\n\(PrivateSeaweedFS.log(logPath).suffix(4000))")
        }
    }

    /// Kills volume server `index` (from 0) at once.
    public func killVolume(_ index: Int) {
        volumes[index].process.signalGroup(SIGKILL)
        _ = volumes[index].process.wait(timeout: 10)
    }

    /// Bytes stored under volume server `index`'s folder.
    public func storedBytes(_ index: Int) -> Int {
        var total = 0
        let folder = volumes[index].directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            total += ((try? FileManager.default.attributesOfItem(atPath: "\(folder)/\(name)"))?[.size] as? Int) ?? 0
        }
        return total
    }

    /// Stops every process: SIGTERM, then SIGKILL after 10 seconds. Idempotent.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        for process in [server] + volumes.map(\.process) where process.isRunning {
            process.signalGroup(SIGTERM)
        }
        for process in [server] + volumes.map(\.process) where process.wait(timeout: 10) == nil {
            process.signalGroup(SIGKILL)
            _ = process.wait(timeout: 10)
        }
        PrivateSeaweedFS.removeSockets(of: ports)
    }

    deinit { stop() }
}
