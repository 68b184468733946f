import Foundation
import SlipwayDoorRecords
public import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One release of an app, as its ledger records it: one line of `<app>/releases.jsonl`.
public struct LedgerEntry: Codable, Equatable, Sendable {
    /// The release's number: `v7` is 7. Starts at 1, increases by one per release, never reused.
    public var version: Int
    /// What made the release: `Deploy 1a2b3c4`, `Set GREETING config vars`, `Rollback to v3`.
    public var description: String
    /// Who made the release, when known.
    public var user: String?
    /// The commit the slug was built from, when known.
    public var sourceVersion: String?
    /// Hex SHA-256 of the slug, which is stored as `<app>/slugs/<sha256>.tgz`.
    public var slugSHA256: String
    /// The buildpacks that built the slug, in run order.
    public var buildpacks: [ReleaseManifest.Buildpack]
    /// Process type name → command.
    public var processTypes: [String: String]
    /// The config vars the release runs with.
    public var configVars: [String: String]
    /// When the release was made, in ISO 8601 (UTC).
    public var createdAt: String
    /// The stack the slug was built for; nil in entries written before it was recorded.
    public var stack: String?
    /// Add-ons the buildpacks asked for; nil in entries written before they were recorded.
    public var addons: [String]?
    /// The defaults the buildpacks' `bin/release` gave (included in ``configVars`` unless the app set the same
    /// key), so that a config change or a rollback can tell them from the app's own config vars.
    public var buildpackConfigVars: [String: String]?
    /// The build that made this release, for a deploy: publishing the same build twice (a retry after a crash)
    /// finds it here and does not make a second release.
    public var buildID: String?

    public init(
        version: Int, description: String, user: String?, sourceVersion: String?, slugSHA256: String,
        buildpacks: [ReleaseManifest.Buildpack], processTypes: [String: String], configVars: [String: String],
        createdAt: String, stack: String? = nil, addons: [String]? = nil, buildpackConfigVars: [String: String]? = nil,
        buildID: String? = nil
    ) {
        self.version = version
        self.description = description
        self.user = user
        self.sourceVersion = sourceVersion
        self.slugSHA256 = slugSHA256
        self.buildpacks = buildpacks
        self.processTypes = processTypes
        self.configVars = configVars
        self.createdAt = createdAt
        self.stack = stack
        self.addons = addons
        self.buildpackConfigVars = buildpackConfigVars
        self.buildID = buildID
    }

    enum CodingKeys: String, CodingKey {
        case version, description, user
        case sourceVersion = "source_version"
        case slugSHA256 = "slug_sha256"
        case buildpacks
        case processTypes = "process_types"
        case configVars = "config_vars"
        case createdAt = "created_at"
        case stack, addons
        case buildpackConfigVars = "buildpack_config_vars"
        case buildID = "build_id"
    }
}

/// An app's append-only release ledger, `<app>/releases.jsonl`: one JSON ``LedgerEntry`` per line, oldest first.
///
/// Appends are serialized across threads and processes by an exclusive lock (`FileLock`) on the file itself, so version
/// numbers are never reused or out of order. The kernel drops the lock when its holder closes the file or dies, so
/// a crash never leaves a stale lock. A writer killed mid-line leaves a torn last line: readers ignore it and the
/// next append cuts it off before writing.
public struct ReleaseLedger: Sendable {
    /// The ledger file.
    public let path: String

    /// The ledger at `path` (usually ``AppPaths/ledger``). The file is created by the first ``append(_:)``.
    public init(path: String) {
        self.path = path
    }

    /// All entries, oldest first; empty when the file does not exist yet.
    ///
    /// A torn last line (no trailing newline, or not valid JSON) is ignored. Any other bad line throws a
    /// ``DoorError`` (``DoorError/Code/corruptLedger``) naming it. Reading takes no lock: an append in progress looks like a torn line.
    public func entries() throws -> [LedgerEntry] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw systemError("open", errno)
        }
        defer { close(fd) }
        return try parse(readAll(fd)).entries
    }

    /// The newest entry, nil when there is none.
    public func latest() throws -> LedgerEntry? {
        try entries().last
    }

    /// The entry of release `version`, nil when there is none.
    public func entry(version: Int) throws -> LedgerEntry? {
        try entries().first { $0.version == version }
    }

    /// Appends the next release and returns it.
    ///
    /// Under an exclusive lock (`FileLock`) on the ledger: cuts off a torn last line if there is one, computes the next
    /// version (the highest so far + 1), calls `make(version)` for the entry (if it throws, nothing is appended and
    /// the error is rethrown), writes the entry's line and its newline with one `write(2)`, and fsyncs. `make` runs
    /// while the lock is held: keep it short, and do not append to the same ledger from inside it.
    public func append(_ make: (Int) throws -> LedgerEntry) throws -> LedgerEntry {
        var created = false
        var fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            // 0600: entries carry the app's config vars, which are often secrets.
            fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            created = fd >= 0
        }
        guard fd >= 0 else { throw systemError("open", errno) }
        // Closing the descriptor also releases the lock.
        defer { close(fd) }
        guard FileLock.wait(fd) else { throw systemError("flock", errno) }
        if created {
            // The new name must survive a crash along with the first line.
            try syncDirectory((path as NSString).deletingLastPathComponent)
        }

        let contents = try readAll(fd)
        let parsed = try parse(contents)
        if parsed.validLength < contents.count {
            guard ftruncate(fd, off_t(parsed.validLength)) == 0 else { throw systemError("ftruncate", errno) }
        }
        let version = (parsed.entries.map(\.version).max() ?? 0) + 1
        let entry = try make(version)
        guard entry.version == version else {
            throw DoorError(
                .wrongLedgerVersion,
                lines: "ledger \(path): the new entry says v\(entry.version) but the next version is "
                    + "v\(version); build the entry with the version append(_:) passes in. Nothing was appended.")
        }

        var line = try Self.encoder.encode(entry)
        line.append(0x0a)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            let number = written < 0 ? errno : ENOSPC
            // Take back a partial line now rather than leave it for the next append.
            _ = ftruncate(fd, off_t(parsed.validLength))
            throw systemError("write", number)
        }
        try synced { try DurableFile.sync(fd, path: path) }
        return entry
    }

    // MARK: - Reading

    /// Entries, and the length of the file up to the end of the last good line (less than the file's length
    /// when the last line is torn).
    private func parse(_ data: [UInt8]) throws -> (entries: [LedgerEntry], validLength: Int) {
        var entries: [LedgerEntry] = []
        var validLength = 0
        var start = 0
        var number = 0
        let decoder = JSONDecoder()
        while start < data.count {
            number += 1
            let newline = data[start...].firstIndex(of: 0x0a)
            let end = newline ?? data.count
            let isLast = newline == nil || end + 1 == data.count
            guard newline != nil else { break }  // no newline: torn
            let entry: LedgerEntry
            do {
                entry = try decoder.decode(LedgerEntry.self, from: Data(data[start..<end]))
            } catch {
                if isLast { break }
                throw DoorError(
                    .corruptLedger,
                    lines: "ledger \(path): line \(number) is not a valid release entry (\(Self.reason(error))); "
                        + "repair or remove that line by hand")
            }
            if let previous = entries.last, entry.version <= previous.version {
                throw DoorError(
                    .corruptLedger,
                    lines: "ledger \(path): line \(number) has v\(entry.version) after v\(previous.version); "
                        + "versions must increase: repair the file by hand")
            }
            entries.append(entry)
            start = end + 1
            validLength = start
        }
        return (entries, validLength)
    }

    /// The whole file from its start, read through `fd`.
    private func readAll(_ fd: Int32) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError("read", errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            offset += off_t(count)
        }
    }

    // MARK: - Helpers

    /// One compact line of JSON; keys sorted so that lines are stable and diffable.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    private func syncDirectory(_ directory: String) throws {
        try synced { try DurableFile.syncFolder(directory) }
    }

    /// Runs a flush of the system layer, reporting its failure as the ledger's own error.
    private func synced(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as SystemError {
            var error = systemError(failure.operation, failure.errno)
            error.systemError = failure
            throw error
        }
    }

    private func systemError(_ function: String, _ number: Int32) -> DoorError {
        var advice = ""
        switch number {
        case ENOENT: advice = "; the app's folder does not exist: create the app first"
        case EACCES, EPERM: advice = "; check the owner and mode of the app's folder"
        case ENOSPC, EDQUOT: advice = "; free some disk space and try again"
        default: break
        }
        return DoorError(
            .ledgerFailed,
            lines: "ledger \(path): \(function) failed: \(String(cString: strerror(number)))\(advice)",
            systemError: SystemError(function, path, errno: number))
    }

    private static func reason(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, _): return "missing \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .dataCorrupted: return "not valid JSON"
        @unknown default: return "\(error)"
        }
    }
}
