import Foundation
import SlipwayHTTP
import SlipwayObjectStore
import SlipwayTestSupport

/// A Slipway server whose spool is a bucket of a private SeaweedFS: `receive-pack init --spool s3://spool/slipway`,
/// credentials in `<root>/s3-credentials` (mode 0600), pushes over a private sshd (``PushHarness``).
final class BucketHarness {
    let push: PushHarness
    /// The single-process SeaweedFS (`weed mini`), or nil when ``cluster`` serves.
    let weed: PrivateSeaweedFS?
    /// Or a master with volume servers that replicate.
    let cluster: PrivateSeaweedCluster?
    let location: S3Location
    let endpoint: String
    let accessKey: String
    let secretKey: String
    static let bucket = "spool"
    static let url = "s3://spool/slipway"

    /// With `replicatedVolumes`, a cluster of `weed server` and that many more volume servers, replication 001;
    /// else `weed mini`, listening on `weedAddress`. `sessionEnvironment` reaches the door (``PushHarness``).
    init(
        _ label: String, replicatedVolumes: Int? = nil, weedAddress: String = "127.0.0.1", users: [String] = ["alice"],
        sessionEnvironment: [String: String] = [:]
    ) throws {
        push = try PushHarness(label, users: users, sessionEnvironment: sessionEnvironment)
        let directory = try push.scratch.makeDirectory("weed")
        if let replicatedVolumes {
            let cluster = try PrivateSeaweedCluster(directory: directory, extraVolumes: replicatedVolumes)
            (weed, self.cluster) = (nil, cluster)
            (endpoint, accessKey, secretKey) = (cluster.endpoint, cluster.accessKey, cluster.secretKey)
        } else {
            let weed = try PrivateSeaweedFS(directory: directory, buckets: [Self.bucket], address: weedAddress)
            (self.weed, cluster) = (weed, nil)
            (endpoint, accessKey, secretKey) = (weed.endpoint, weed.accessKey, weed.secretKey)
        }
        location = S3Location(bucket: Self.bucket, prefix: "slipway", endpoint: endpoint, pathStyle: true)
        try Self.writeCredentials(root: push.root, accessKey, secretKey)
        // weed mini creates the bucket a moment after S3 listens; the cluster gets it from an S3 call.
        let (location, credentials, makeBucket) = (location, self.credentials, cluster != nil)
        let ready = waitUntil(seconds: 60) {
            (try? Blocking.withClient(location, credentials) { client -> Int in
                if makeBucket { try await client.createBucket() }
                return try await client.list("").count
            }) != nil
        }
        guard ready else { throw HarnessError("the bucket never appeared; weed's log is in \(directory)") }
        let initialized = try push.receivePack([
            "init", "--spool", Self.url, "--s3-endpoint", endpoint, "--s3-path-style",
        ])
        guard initialized.status == 0, initialized.output.contains("Releases go to \(Self.url)") else {
            throw HarnessError("receive-pack init --spool failed: \(initialized.output)")
        }
    }

    deinit {
        weed?.stop()
        cluster?.stop()
    }

    /// `<root>/s3-credentials` with the two keys, mode 0600.
    static func writeCredentials(root: String, _ id: String, _ secret: String) throws {
        let path = "\(root)/s3-credentials"
        try "AWS_ACCESS_KEY_ID=\(id)\nAWS_SECRET_ACCESS_KEY=\(secret)\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
    }

    var credentials: S3Credentials { S3Credentials(accessKeyID: accessKey, secretAccessKey: secretKey) }

    /// Every key under the spool's prefix (and `prefix`), in the bucket's order.
    func keys(_ prefix: String = "") throws -> [String] {
        try Blocking.withClient(location, credentials) { try await $0.list(prefix).map(\.key) }
    }

    /// The object at `key` under the spool's prefix, nil if none.
    func object(_ key: String, limit: Int = 1 << 20) throws -> Data? {
        try Blocking.withClient(location, credentials) { try await $0.get(key, limit: limit) }
    }

    /// `slugrunner watch --spool s3://…` in a runner root of its own under the scratch folder, as on another machine:
    /// with the door's key that `receive-pack release-key` prints, in a file of its own (`--release-key`).
    func startRunner(_ name: String, environment extra: [String: String] = [:]) throws -> (
        TestProcess, root: String, log: String
    ) {
        let root = try push.scratch.makeDirectory("runner-\(name)")
        let log = push.scratch.url("runner-\(name).log")
        let printed = try push.receivePack(["release-key"])
        guard printed.status == 0 else { throw HarnessError("receive-pack release-key failed: \(printed.output)") }
        let keyFile = push.scratch.url("release-key-\(name).json")
        guard FileManager.default.createFile(atPath: keyFile, contents: Data(printed.stdout.utf8)) else {
            throw HarnessError("cannot write \(keyFile)")
        }
        chmod(keyFile, 0o600)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        let process = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", root, "--grace", "5", "--interval", "0.2",
                "--router", "none",
                "--spool", Self.url, "--s3-endpoint", endpoint, "--s3-path-style", "--release-key", keyFile,
            ], environment: environment, stdout: .file(log), stderr: .file(log))
        return (process, root, log)
    }

    /// The version `app` runs under the runner at `root` with its web process up, nil if none.
    static func runningVersion(root: String, app: String = "myapp") -> Int? {
        guard let ps = try? runTool([TestPaths.product("slugrunner"), "ps", app, "--json", "--root", root]),
            let status = try? JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [String: Any],
            let version = (status["release"] as? [String: Any])?["version"] as? Int,
            (status["processes"] as? [[String: Any]])?.contains(where: {
                $0["release"] as? Int == version && $0["state"] as? String == "up"
            }) == true
        else { return nil }
        return version
    }
}

extension BucketHarness {
    /// Starts `slugrunner watch --engine swarm` on `swarm` for this harness's door, reading the bucket, routing on
    /// 127.0.0.1:`router`, its output in `log`; `extra` flags are added (TLS, the autoscale window…). The caller
    /// terminates it.
    func startSwarmRunner(
        _ swarm: PrivateSwarm, router: UInt16, log: String, extra: [String] = []
    ) throws -> TestProcess {
        try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", push.root, "--engine", "swarm", "--docker-host",
                swarm.manager.dockerHost, "--spool", BucketHarness.url, "--s3-endpoint", endpoint, "--s3-path-style",
                "--router", "127.0.0.1:\(router)", "--grace", "10", "--interval", "0.5", "--boot-timeout", "120",
            ] + extra, stdout: .file(log), stderr: .file(log))
    }
}
