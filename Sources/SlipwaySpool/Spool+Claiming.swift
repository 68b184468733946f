import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The runner's side of the folder spool: what is waiting in `new/`, claiming it into `cur/`, setting it aside,
/// and removing it once it was deployed.
extension Spool {
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
}
