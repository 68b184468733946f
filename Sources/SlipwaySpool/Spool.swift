public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The hand-off from the build server to runners: a Maildir-style folder `spool/{tmp,new,cur}`
/// (format described in `docs/spool.md`).
///
/// Each release is one entry, a folder named `<unix milliseconds, 13 digits>.<app>.v<version>` holding
/// `release.json` and `slug.tgz`. The server builds an entry in `tmp/` and renames it into `new/` once every byte
/// is on disk, so `new/` only ever holds complete entries. A runner claims an entry by renaming it into `cur/`;
/// the rename is atomic, so exactly one runner wins. The server never touches an entry after publishing it.
public struct Spool: Sendable {
    /// The version of the spool's layout described in `docs/spool.md`.
    public static let formatVersion = 2
    /// The manifest's file name inside an entry.
    public static let manifestFileName = "release.json"
    /// The slug's file name inside an entry.
    public static let slugFileName = "slug.tgz"

    /// The spool folder itself (`<root>/spool`).
    public let directory: String

    /// A spool in `directory` (the folder that holds `tmp/`, `new/` and `cur/`). Nothing is touched until a
    /// method is called.
    public init(directory: String) {
        self.directory = directory
    }

    /// `tmp/`: entries being written. Runners ignore it.
    public var temporaryDirectory: String { "\(directory)/tmp" }
    /// `new/`: complete entries waiting for a runner.
    public var newDirectory: String { "\(directory)/new" }
    /// `cur/`: entries a runner has claimed.
    public var currentDirectory: String { "\(directory)/cur" }

    /// Creates the spool folder and its `tmp/`, `new/` and `cur/` (idempotent), fsyncing each folder it creates
    /// and that folder's parent, so the layout survives a crash.
    public func prepare() throws {
        try makeDirectory(directory)
        for sub in [temporaryDirectory, newDirectory, currentDirectory] {
            try makeDirectory(sub)
        }
    }

    /// The standard entry name, `<unix milliseconds, 13 digits zero-padded>.<app>.v<version>`, so that names sort
    /// by publication time (until the year 2286).
    public static func entryName(app: String, version: Int, date: Date = Date()) -> String {
        let milliseconds = max(0, Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
        let digits = String(milliseconds)
        let padded = String(repeating: "0", count: max(0, 13 - digits.count)) + digits
        return "\(padded).\(app).v\(version)"
    }

    /// Publishes one entry atomically and returns its path in `new/`: ``prepare(name:manifest:slugPath:)`` then
    /// ``commit(prepared:)``.
    ///
    /// If the process dies at any moment, `new/` either has the complete entry or nothing; a leftover in `tmp/` is
    /// removed by ``sweepTemporary(olderThan:)``.
    public func publish(name: String, manifest: Data, slugPath: String) throws -> String {
        try commit(prepared: try prepare(name: name, manifest: manifest, slugPath: slugPath))
    }

    /// Builds the entry `tmp/<name>/` completely, without publishing it: `release.json` from `manifest`,
    /// `slug.tgz` hard-linked from `slugPath` when both are on the same file system (else copied), each file and the
    /// entry's folder fsynced. Returns the name, for ``commit(prepared:)``.
    ///
    /// Publishing in two steps lets a server record the release in its own ledger between them: an entry that is
    /// complete in `tmp/` and recorded in the ledger is committed by the server's recovery after a crash, and one
    /// that is not recorded is swept. Runners never look in `tmp/`.
    ///
    /// `manifest` must be a signed release (``SignedRelease/seal(_:with:)``) whose manifest has `version`,
    /// `description` and `user` set, and
    /// `slug.path` equal to `slug.tgz`; its `slug.size` must match the file at `slugPath`. An entry named `name` in
    /// `new/`, `cur/` or `tmp/` is an error.
    public func prepare(name: String, manifest: Data, slugPath: String) throws -> String {
        try Self.validate(name: name)
        try requirePrepared()
        let parsed = try Self.checkPublishable(manifest, name: name)
        let work = "\(temporaryDirectory)/\(name)"
        for existing in ["\(newDirectory)/\(name)", "\(currentDirectory)/\(name)"] {
            guard try POSIX.status(existing) == nil else {
                throw SpoolError(
                    .entryExists, path: existing,
                    "spool: an entry named \(name) already exists at \(existing); publish under a new name "
                        + "(Spool.entryName gives a fresh one)")
            }
        }
        guard let slugInfo = try POSIX.status(slugPath), POSIX.isRegularFile(slugInfo) else {
            throw SpoolError(
                .slugMissing, path: slugPath,
                "spool: the slug \(slugPath) is missing or not a regular file; nothing was published as \(name)")
        }
        guard Int64(slugInfo.st_size) == parsed.slug.size else {
            throw SpoolError(
                .slugMismatch, path: slugPath,
                "spool: the slug \(slugPath) is \(slugInfo.st_size) bytes but release.json for \(name) says "
                    + "\(parsed.slug.size); nothing was published")
        }

        if mkdir(work, 0o750) != 0 {
            let number = errno
            if number == EEXIST {
                throw SpoolError(
                    .entryExists, path: work, errorNumber: number,
                    "spool: \(work) exists: another publisher is writing \(name), or one was killed while doing so "
                        + "(sweepTemporary removes such leftovers); publish under a new name")
            }
            throw SpoolError.system("mkdir", path: work, errno: number)
        }
        do {
            let manifestPath = "\(work)/\(Self.manifestFileName)"
            try Self.writeNewFile(manifestPath, contents: manifest, mode: 0o640)
            try Self.linkOrCopy(slugPath, to: "\(work)/\(Self.slugFileName)")
            try POSIX.syncDirectory(work)
            try POSIX.syncDirectory(temporaryDirectory)
        } catch {
            try? POSIX.removeTree(work)
            throw error
        }
        return name
    }

    /// Publishes an entry ``prepare(name:manifest:slugPath:)`` built: renames `tmp/<name>` to `new/<name>` and fsyncs
    /// `new/`. Returns the path in `new/`. Should the final fsync fail, the error is thrown although the entry is
    /// already visible there (complete, but perhaps not yet durable).
    @discardableResult
    public func commit(prepared name: String) throws -> String {
        try Self.validate(name: name)
        let work = "\(temporaryDirectory)/\(name)"
        let target = "\(newDirectory)/\(name)"
        guard try POSIX.status("\(currentDirectory)/\(name)") == nil else {
            throw SpoolError(.entryExists, path: "\(currentDirectory)/\(name)", "spool: \(name) was already claimed")
        }
        if rename(work, target) != 0 {
            let number = errno
            if number == EEXIST || number == ENOTEMPTY {
                throw SpoolError(
                    .entryExists, path: target, errorNumber: number,
                    "spool: an entry named \(name) was published at \(target) at the same time; publish under "
                        + "a new name")
            }
            throw SpoolError.system("rename", path: work, errno: number, fix: "nothing was published")
        }
        try POSIX.syncDirectory(newDirectory)
        return target
    }

    /// Names of the entries in `tmp/` (being written, or left by a publisher that died), sorted.
    public func temporaryEntries() throws -> [String] {
        try POSIX.listDirectory(temporaryDirectory).filter { !$0.hasPrefix(".") }.sorted {
            Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
        }
    }

    /// Whether an entry called `name` is in `new/` or `cur/` (published, claimed or not).
    public func isPublished(_ name: String) throws -> Bool {
        try POSIX.status("\(newDirectory)/\(name)") != nil || POSIX.status("\(currentDirectory)/\(name)") != nil
    }

    /// Removes the entry `tmp/<name>` (one that must not be published).
    public func discard(prepared name: String) throws {
        try Self.validate(name: name)
        try POSIX.removeTree("\(temporaryDirectory)/\(name)")
    }

    /// Removes leftovers in `tmp/` that have not changed for more than `age` seconds (a publisher killed mid-way)
    /// and returns how many it removed. A leftover's age is that of the newest of its folder and the files in it.
    @discardableResult
    public func sweepTemporary(olderThan age: TimeInterval) throws -> Int {
        try requirePrepared()
        let cutoff = Date().timeIntervalSince1970 - age
        var removed = 0
        for name in try POSIX.listDirectory(temporaryDirectory) {
            let path = "\(temporaryDirectory)/\(name)"
            guard let info = try POSIX.status(path) else { continue }
            var newest = POSIX.modificationTime(info)
            if POSIX.isDirectory(info) {
                for child in (try? POSIX.listDirectory(path)) ?? [] {
                    if let childInfo = try? POSIX.status("\(path)/\(child)") {
                        newest = max(newest, POSIX.modificationTime(childInfo))
                    }
                }
            }
            guard newest < cutoff else { continue }
            try POSIX.removeTree(path)
            removed += 1
        }
        if removed > 0 { try POSIX.syncDirectory(temporaryDirectory) }
        return removed
    }

    // MARK: - Helpers

    /// Creates `path` if missing (and its missing parents), fsyncing each folder created and its parent.
    func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o750) == 0 {
            try POSIX.syncDirectory(path)
            try POSIX.syncDirectory(Self.parent(of: path))
            return
        }
        switch errno {
        case EEXIST:
            guard let info = try POSIX.status(path), POSIX.isDirectory(info) else {
                throw SpoolError(
                    .system, path: path, errorNumber: EEXIST,
                    "spool: \(path) exists but is not a folder; move it aside and prepare the spool again")
            }
        case ENOENT where Self.parent(of: path) != path:
            try makeDirectory(Self.parent(of: path))
            try makeDirectory(path)
        case let number:
            throw SpoolError.system("mkdir", path: path, errno: number)
        }
    }

    /// Throws ``SpoolError/Code/notPrepared`` unless `tmp/`, `new/` and `cur/` exist.
    func requirePrepared() throws {
        for sub in [temporaryDirectory, newDirectory, currentDirectory] {
            guard let info = try POSIX.status(sub), POSIX.isDirectory(info) else {
                throw SpoolError(
                    .notPrepared, path: sub,
                    "spool: \(sub) is missing: \(directory) is not a prepared spool; run `receive-pack setup` "
                        + "(Spool.prepare()) or check the path")
            }
        }
    }

    /// Refuses a name that is not a single, visible path component.
    static func validate(name: String) throws {
        guard isPlainName(name) else {
            throw SpoolError(
                .invalidName, path: name,
                "spool: '\(name)' is not a valid entry name: use one path component without a leading dot "
                    + "(Spool.entryName gives one)")
        }
    }

    /// Checks what `publish` is about to hand to runners, so that no runner ever sees a manifest it cannot use.
    private static func checkPublishable(_ data: Data, name: String) throws -> ReleaseManifest {
        let manifest: ReleaseManifest
        do {
            manifest = try SignedRelease.peek(data)
        } catch {
            throw SpoolError(
                .invalidManifest, path: name,
                "spool: the release.json given for \(name) is not a signed release (\(error)); sign it with "
                    + "SignedRelease.seal; nothing was published")
        }
        var missing: [String] = []
        if manifest.version == nil { missing.append("version") }
        if manifest.description == nil { missing.append("description") }
        if manifest.user == nil { missing.append("user") }
        guard missing.isEmpty else {
            throw SpoolError(
                .invalidManifest, path: name,
                "spool: the release.json given for \(name) lacks \(missing.joined(separator: ", ")), which the server "
                    + "sets on every release; nothing was published")
        }
        guard manifest.slug.path == slugFileName else {
            throw SpoolError(
                .invalidManifest, path: name,
                "spool: the release.json given for \(name) has slug.path \(manifest.slug.path), but entries hold "
                    + "the slug as \(slugFileName); set slug.path to \(slugFileName)")
        }
        return manifest
    }

    /// Creates `path` (which must not exist), writes `contents` and fsyncs it.
    private static func writeNewFile(_ path: String, contents: Data, mode: mode_t) throws {
        let fd = try POSIX.openFile(path, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        do {
            try contents.withUnsafeBytes { try POSIX.writeAll(fd, $0, path: path) }
            try POSIX.sync(fd, path: path)
        } catch {
            close(fd)
            throw error
        }
        try POSIX.closeFile(fd, path: path)
    }

    /// Makes `target` a hard link to `source`, or a copy when a link is impossible (another file system, a file
    /// system without hard links, or `fs.protected_hardlinks` refusing it), then fsyncs it.
    private static func linkOrCopy(_ source: String, to target: String) throws {
        if link(source, target) == 0 {
            // The data may still be only in the page cache if whoever wrote the slug did not fsync it.
            let fd = try POSIX.openFile(target, O_RDONLY)
            defer { close(fd) }
            try POSIX.sync(fd, path: target)
            return
        }
        switch errno {
        case EXDEV, EPERM, EMLINK, EOPNOTSUPP, EACCES:
            try copyFile(source, to: target)
        case let number:
            throw SpoolError.system("link", path: source, errno: number, fix: "nothing was published")
        }
    }

    /// Copies `source` to the new file `target` in 1 MiB pieces and fsyncs it.
    private static func copyFile(_ source: String, to target: String) throws {
        let input = try POSIX.openFile(source, O_RDONLY)
        defer { close(input) }
        let output = try POSIX.openFile(target, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            while true {
                let count = try POSIX.readSome(input, into: buffer, path: source)
                if count == 0 { break }
                try POSIX.writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: target)
            }
            try POSIX.sync(output, path: target)
        } catch {
            close(output)
            throw error
        }
        try POSIX.closeFile(output, path: target)
    }

}
