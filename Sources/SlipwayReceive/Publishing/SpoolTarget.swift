public import Foundation
public import SlipwayDoorRecords
import SlipwayHTTP
public import SlipwayObjectStore
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// Where the root hands releases to runners: the spool folder (the default), or an S3 bucket, chosen at
/// `receive-pack init --spool s3://bucket/prefix --s3-endpoint …` and kept in `<root>/spool.json`.
public enum SpoolTarget: Equatable, Sendable {
    case folder
    case bucket(S3Location)

    /// `<root>/spool.json`: the bucket's location (never credentials). Absent: the folder.
    static func settingsPath(_ root: SlipwayRoot) -> String { "\(root.path)/spool.json" }

    /// `<root>/s3-credentials`: `AWS_ACCESS_KEY_ID=…` and `AWS_SECRET_ACCESS_KEY=…` lines, mode 0600.
    public static func credentialsPath(_ root: SlipwayRoot) -> String { "\(root.path)/s3-credentials" }

    /// The root's spool.
    public static func load(_ root: SlipwayRoot) throws -> SpoolTarget {
        let path = settingsPath(root)
        guard let data = FileManager.default.contents(atPath: path) else { return .folder }
        do {
            return .bucket(try JSONDecoder().decode(S3Location.self, from: data))
        } catch {
            throw DoorError(
                .configuration, lines: "\(path) is unreadable (\(error)): run receive-pack init --spool … again.")
        }
    }

    /// Records `location` as the root's spool (`nil`: back to the folder).
    public static func save(_ location: S3Location?, _ root: SlipwayRoot) throws {
        guard let location else {
            unlink(settingsPath(root))
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try StateFiles.writeAtomically(try encoder.encode(location), to: settingsPath(root), mode: 0o640)
    }

    /// The credentials for the root's bucket: the environment's, else the root's file.
    public static func credentials(
        _ root: SlipwayRoot, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> S3Credentials
    {
        try S3Credentials.load(environment: environment, file: credentialsPath(root))
    }
}

extension ServerSetup {
    /// `receive-pack init --spool …`: `s3://bucket/prefix` makes the bucket the root's spool, after checking that it
    /// answers to the credentials; `local` goes back to the folder. Returns a line saying where releases go.
    public static func configureSpool(
        _ root: SlipwayRoot, spool: String, endpoint: String?, region: String, pathStyle: Bool
    ) throws -> String {
        guard spool != "local" else {
            try SpoolTarget.save(nil, root)
            return "Releases go to the spool folder \(root.spoolDirectory)."
        }
        guard let endpoint else {
            throw DoorError(
                .configuration, lines: "--spool \(spool) needs --s3-endpoint https://… (the S3 server's address).")
        }
        let location: S3Location
        let credentials: S3Credentials
        do {
            location = try S3Location(url: spool, endpoint: endpoint, region: region, pathStyle: pathStyle)
            credentials = try SpoolTarget.credentials(root)
        } catch let error as ObjectStoreError {
            throw DoorError(.configuration, lines: "\(error.message).")
        }
        do {
            _ = try Blocking.withClient(location, credentials) { try await $0.list(BucketLayout.releasesPrefix) }
        } catch let error as ObjectStoreError {
            throw DoorError(.configuration, lines: "Cannot use \(location.url) as the spool: \(error.message).")
        }
        try SpoolTarget.save(location, root)
        return "Releases go to \(location.url) on \(location.endpoint) (see docs/spool.md)."
    }
}
