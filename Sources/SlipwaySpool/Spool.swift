import Foundation

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
    public static let formatVersion = 1
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
    /// `manifest` must decode as a ``ReleaseManifest`` with `version`, `description` and `user` set, and
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

    /// Names of the entries waiting in `new/`, sorted by their bytes (so by publication time for standard names).
    /// Hidden names and anything that is not a folder are left out.
    public func pending() throws -> [String] {
        try requirePrepared()
        return try Self.visibleFolders(in: newDirectory)
    }

    /// The folders in `path` whose names do not start with a dot, sorted by their bytes.
    private static func visibleFolders(in path: String) throws -> [String] {
        try POSIX.listDirectory(path)
            .filter { name in
                guard !name.hasPrefix(".") else { return false }
                return try POSIX.status("\(path)/\(name)").map(POSIX.isDirectory) ?? false
            }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Claims an entry for a runner: renames `new/<name>` to `cur/<name>` and returns the path in `cur/`.
    ///
    /// The rename is atomic: when runners race for one entry, one wins and the others get a ``SpoolError`` with
    /// code ``SpoolError/Code/notPending``, which means "skip it".
    public func claim(_ name: String) throws -> String {
        try Self.validate(name: name)
        try requirePrepared()
        let source = "\(newDirectory)/\(name)"
        let target = "\(currentDirectory)/\(name)"
        if rename(source, target) != 0 {
            let number = errno
            switch number {
            case ENOENT:
                throw SpoolError(
                    .notPending, path: source, errorNumber: number,
                    "spool: \(source) is no longer waiting: another runner claimed it (or it was never published); "
                        + "skip it")
            case EEXIST, ENOTEMPTY:
                throw SpoolError(
                    .entryExists, path: target, errorNumber: number,
                    "spool: \(target) already exists, so \(name) cannot be claimed; move the old one out of cur/")
            default:
                throw SpoolError.system("rename", path: source, errno: number)
            }
        }
        try POSIX.syncDirectory(currentDirectory)
        try POSIX.syncDirectory(newDirectory)
        return target
    }

    /// Names of the entries in `cur/` (claimed by a runner), sorted like ``pending()``; hidden names and anything
    /// that is not a folder are left out. A runner that restarts looks here for what it had claimed.
    public func claimed() throws -> [String] {
        try requirePrepared()
        return try Self.visibleFolders(in: currentDirectory)
    }

    /// Moves the claimed entry `cur/<name>` aside into `<spool>/<folder>/` (created if missing), for example
    /// `rejected` for an entry that failed its checks, and returns its new path. The folder is the runner's: the
    /// server never looks at it. When `<folder>/<name>` is already taken (an entry re-queued by hand and refused
    /// twice), the entry is kept as `<name>.2`, `<name>.3`…
    @discardableResult
    public func setAside(_ name: String, into folder: String) throws -> String {
        try Self.validate(name: name)
        try Self.validate(name: folder)
        guard !["tmp", "new", "cur"].contains(folder) else {
            throw SpoolError(
                .invalidName, path: folder,
                "spool: entries are set aside into a folder of the runner's, not into \(folder)/; pick another name")
        }
        try requirePrepared()
        let aside = "\(directory)/\(folder)"
        try makeDirectory(aside)
        let source = "\(currentDirectory)/\(name)"
        var target = "\(aside)/\(name)"
        var copy = 1
        while try POSIX.status(target) != nil {
            copy += 1
            target = "\(aside)/\(name).\(copy)"
        }
        if rename(source, target) != 0 {
            let number = errno
            if number == ENOENT {
                throw SpoolError(
                    .notPending, path: source, errorNumber: number,
                    "spool: \(source) is not in cur/, so it cannot be set aside; claim it first")
            }
            throw SpoolError.system("rename", path: source, errno: number)
        }
        try POSIX.syncDirectory(aside)
        try POSIX.syncDirectory(currentDirectory)
        return target
    }

    /// Deletes the claimed entry `cur/<name>` (for example once a newer release of its app replaced it). The
    /// slug is usually a hard link to the server's stored copy, which is left alone: only the link goes.
    public func remove(claimed name: String) throws {
        try Self.validate(name: name)
        try requirePrepared()
        try POSIX.removeTree("\(currentDirectory)/\(name)")
        try POSIX.syncDirectory(currentDirectory)
    }

    /// Reads and checks the entry at `path` (in `new/` or `cur/`): decodes `release.json` with
    /// ``ReleaseManifest/decode(_:)`` (which refuses an unknown `schema_version`), then checks that the slug's
    /// size and SHA-256 match the manifest. Returns the manifest and the slug's path.
    public func read(entryAt path: String) throws -> (ReleaseManifest, slugPath: String) {
        try Self.readRelease(manifestAt: "\(path)/\(Self.manifestFileName)")
    }

    /// Reads and checks a release outside the spool as well, for example `slugc build`'s output: the manifest at
    /// `manifestPath` and the slug its `slug.path` names in the same folder, checked as ``read(entryAt:)`` does.
    public static func readRelease(manifestAt manifestPath: String) throws -> (ReleaseManifest, slugPath: String) {
        let path = parent(of: manifestPath)
        let data: Data
        do {
            data = try POSIX.readFile(manifestPath)
        } catch let error as SpoolError {
            throw SpoolError(
                .invalidManifest, path: manifestPath, errorNumber: error.errorNumber,
                "\(error.description); an entry without a readable release.json is damaged: move it aside")
        }
        let manifest: ReleaseManifest
        do {
            manifest = try ReleaseManifest.decode(data)
        } catch {
            throw SpoolError(
                .invalidManifest, path: manifestPath,
                "spool: \(manifestPath) is not a usable release manifest (\(reason(error))); move the entry aside")
        }
        guard isPlainName(manifest.slug.path) else {
            throw SpoolError(
                .invalidManifest, path: manifestPath,
                "spool: \(manifestPath) names the slug \(manifest.slug.path), which is not a file in the entry's "
                    + "folder; move the entry aside")
        }
        guard manifest.slug.compression == "gzip" else {
            throw SpoolError(
                .invalidManifest, path: manifestPath,
                "spool: \(manifestPath) has slug compression \(manifest.slug.compression), but only gzip is "
                    + "supported; move the entry aside")
        }
        let slugPath = "\(path)/\(manifest.slug.path)"
        guard let info = try POSIX.status(slugPath), POSIX.isRegularFile(info) else {
            throw SpoolError(
                .slugMismatch, path: slugPath,
                "spool: the slug \(slugPath) is missing or not a regular file; move the entry aside")
        }
        guard Int64(info.st_size) == manifest.slug.size else {
            throw SpoolError(
                .slugMismatch, path: slugPath,
                "spool: the slug \(slugPath) is \(info.st_size) bytes but release.json says \(manifest.slug.size); "
                    + "the entry is damaged: move it aside")
        }
        let digest = try sha256(ofFile: slugPath)
        guard digest == manifest.slug.sha256 else {
            throw SpoolError(
                .slugMismatch, path: slugPath,
                "spool: the slug \(slugPath) has SHA-256 \(digest) but release.json says \(manifest.slug.sha256); "
                    + "the entry is damaged: move it aside")
        }
        return (manifest, slugPath)
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

    /// The lowercase hex SHA-256 of the file at `path`, read in 64 KiB pieces (memory does not grow with the size).
    public static func sha256(ofFile path: String) throws -> String {
        let fd = try POSIX.openFile(path, O_RDONLY)
        defer { close(fd) }
        var hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try POSIX.readSome(fd, into: buffer, path: path)
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return SHA256Hasher.hexString(hasher.finalize())
    }

    // MARK: - Helpers

    /// Creates `path` if missing (and its missing parents), fsyncing each folder created and its parent.
    private func makeDirectory(_ path: String) throws {
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
    private func requirePrepared() throws {
        for sub in [temporaryDirectory, newDirectory, currentDirectory] {
            guard let info = try POSIX.status(sub), POSIX.isDirectory(info) else {
                throw SpoolError(
                    .notPrepared, path: sub,
                    "spool: \(sub) is missing: \(directory) is not a prepared spool; run `receive-pack setup` "
                        + "(Spool.prepare()) or check the path")
            }
        }
    }

    /// The folder holding `path`.
    private static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Whether `name` is one plain path component: not empty, no `/` or NUL, not `.`/`..`, not hidden.
    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0")
    }

    /// Refuses a name that is not a single, visible path component.
    private static func validate(name: String) throws {
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
            manifest = try ReleaseManifest.decode(data)
        } catch {
            throw SpoolError(
                .invalidManifest, path: name,
                "spool: the release.json given for \(name) is not a valid release manifest (\(reason(error))); "
                    + "nothing was published")
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

    /// A short reason for a Foundation or decoding error.
    private static func reason(_ error: Error) -> String {
        switch error {
        case let error as DecodingError:
            switch error {
            case .keyNotFound(let key, let context):
                "missing \(codingPath(context.codingPath + [key]))"
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                "wrong type at \(codingPath(context.codingPath))"
            case .dataCorrupted(let context):
                context.codingPath.isEmpty ? "not valid JSON" : "bad value at \(codingPath(context.codingPath))"
            @unknown default:
                "\(error)"
            }
        case let error as CustomStringConvertible:
            error.description
        default:
            "\(error)"
        }
    }

    /// `slug.size`-style path of a decoding error.
    private static func codingPath(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
