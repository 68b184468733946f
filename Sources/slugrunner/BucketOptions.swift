import ArgumentParser
import Foundation
import SlipwayObjectStore
import SlipwayRunnerKit
import SlipwaySpool
import SlugRunner

/// `--spool s3://…` and its S3 options, for `slugrunner watch`.
struct BucketOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read releases from an S3-compatible bucket, s3://bucket/prefix. (default: the bucket receive-pack init recorded in the root, else the root's spool folder)",
            valueName: "url"))
    var spool: String?
    @Option(help: ArgumentHelp("The S3 server, for --spool s3://… (default: the root's)", valueName: "url"))
    var s3Endpoint: String?
    @Option(
        help: ArgumentHelp(
            "The S3 signing region. (default: the root's, else us-east-1)", valueName: "region"))
    var s3Region: String?
    @Flag(help: "Address the bucket in the path (endpoint/bucket/key), as most self-hosted servers want.")
    var s3PathStyle = false
    @Option(
        help: ArgumentHelp(
            "The name this runner writes into its claims; unique per runner. (default: host name and root)",
            valueName: "id"))
    var runnerID: String?

    /// The bucket to watch, nil for the folder: `--spool`, else the bucket that `receive-pack init` recorded in the
    /// root (its endpoint, region and style too, unless given here). Credentials: AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY, else `<root>/s3-credentials` (mode 0600).
    func source(root: RunnerRoot) throws -> BucketSource? {
        let configured = try BucketSource.configured(root: root)
        guard let spool = spool ?? configured?.url else { return nil }
        guard let endpoint = s3Endpoint ?? configured?.endpoint else {
            throw ValidationError("--spool \(spool) needs --s3-endpoint")
        }
        do {
            let location = try S3Location(
                url: spool, endpoint: endpoint, region: s3Region ?? configured?.region ?? "us-east-1",
                pathStyle: s3PathStyle || (s3Endpoint == nil && configured?.pathStyle == true))
            let credentials = try S3Credentials.load(file: "\(root.path)/s3-credentials")
            return BucketSource(
                location: location, credentials: credentials,
                runnerID: runnerID ?? BucketSource.defaultRunnerID(root: root))
        } catch let error as ObjectStoreError {
            throw ValidationError(error.message)
        }
    }
}
