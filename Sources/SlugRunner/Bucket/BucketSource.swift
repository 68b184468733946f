import Foundation
public import SlipwayObjectStore
public import SlipwayRunnerKit
import SlipwaySpool

/// `slugrunner watch --spool s3://…`: the bucket releases come from, the keys that read it, and the name this
/// runner signs its claims with.
public struct BucketSource: Sendable {
    public var location: S3Location
    public var credentials: S3Credentials
    /// Written into each claim; two runners of one bucket must have different ids (`--runner-id`).
    public var runnerID: String

    public init(location: S3Location, credentials: S3Credentials, runnerID: String) {
        self.location = location
        self.credentials = credentials
        self.runnerID = runnerID
    }

    /// The bucket `receive-pack init --spool s3://…` recorded in the root's `spool.json`, for a runner that shares
    /// the door's root: nil when the root's spool is its folder.
    public static func configured(root: RunnerRoot) throws(RunnerError) -> S3Location? {
        let path = "\(root.path)/spool.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(S3Location.self, from: data)
        } catch {
            throw RunnerError(
                .usage,
                "slugrunner: \(path) is not a bucket's settings (\(error)): run receive-pack init --spool … again, or give --spool"
            )
        }
    }

    /// The default runner id: this host's name and the runner's root, which one watcher holds at a time.
    public static func defaultRunnerID(root: RunnerRoot) -> String {
        "\(ProcessInfo.processInfo.hostName):\(root.path)"
    }
}

/// What a runner writes into `claims/<app>/<version>.json` (docs/spool.md).
struct BucketClaim: Codable, Equatable {
    var runner: String
    var claimedAt: String

    enum CodingKeys: String, CodingKey {
        case runner
        case claimedAt = "claimed_at"
    }
}
