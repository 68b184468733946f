/// Which claimed entries of one app to deploy, skip or leave waiting (docs/spool.md, "Ordering"): a runner never
/// goes backwards, so an entry whose version is not above the running one is skipped; of the others, only the
/// highest version is deployed (the ones below it would be replaced at once), and they wait in case it fails.
public struct ReleaseSelection: Equatable, Sendable {
    /// A claimed entry: its name and the version its `release.json` carries.
    public struct Candidate: Equatable, Sendable {
        public var entry: String
        public var version: Int

        public init(entry: String, version: Int) {
            self.entry = entry
            self.version = version
        }
    }

    /// The entry to deploy now, if any.
    public var deploy: Candidate?
    /// Entries at or below the running version: dropped.
    public var skip: [Candidate]

    /// Chooses among `candidates` of one app that runs `currentVersion` (0 when nothing runs). Ties in version
    /// (an entry re-queued by hand) go to the later name.
    public init(candidates: [Candidate], currentVersion: Int) {
        skip = candidates.filter { $0.version <= currentVersion }
        deploy = candidates.filter { $0.version > currentVersion }
            .max { ($0.version, $0.entry) < ($1.version, $1.entry) }
    }
}
