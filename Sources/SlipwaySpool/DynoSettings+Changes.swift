import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Changing an app's `dynos.json`: the `type=value` words of `ps:scale`, `ps:resize` and `slugrunner scale`, and the
/// locked read-modify-write that both the door and `slugrunner scale` use, so that neither loses the other's change.
extension DynoSettings {
    /// Why `type=value` words were refused; each side words the message its own way.
    public enum ChangeError: Error, Equatable, Sendable {
        /// No word at all.
        case nothingGiven
        /// This word is not `type=value` with a process type and a value in range.
        case malformed(String)
        /// The `release` process type was named: it runs once per deploy and cannot be scaled or resized.
        case releaseType
        /// This process type was given twice.
        case repeated(String)
    }

    /// Parses `type=value` words (`web=2`, `worker=0`, `web=1024`), in order: a process type (``isProcessType(_:)``,
    /// not `release`) given once each, and a decimal value in `values`.
    public static func parseChanges(_ words: [String], values: ClosedRange<Int>) throws(ChangeError) -> [(
        type: String, value: Int
    )] {
        guard !words.isEmpty else { throw .nothingGiven }
        var changes: [(type: String, value: Int)] = []
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, isProcessType(parts[0]), !parts[1].isEmpty, parts[1].utf8.count <= 9,
                parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(parts[1]),
                values.contains(value)
            else { throw .malformed(word) }
            guard parts[0] != "release" else { throw .releaseType }
            guard !changes.contains(where: { $0.type == parts[0] }) else { throw .repeated(parts[0]) }
            changes.append((parts[0], value))
        }
        return changes
    }

    /// The formation as `web=2 worker=1`, `web` first, then by name; `none` when nothing runs.
    public var summary: String {
        let counts = quantities
        let parts = Self.sortedTypes(counts.keys).filter { counts[$0] != 0 }.map { "\($0)=\(counts[$0] ?? 0)" }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }

    /// Process types in the order listings show them: `web` first, then by name.
    public static func sortedTypes(_ types: some Sequence<String>) -> [String] {
        types.sorted { ($0 == "web" ? 0 : 1, $0) < ($1 == "web" ? 0 : 1, $1) }
    }

    /// Reads `app`'s settings under its lock (``RootLayout/dynoSettingsLock(_:)``), lets `change` modify them, and
    /// saves them when they changed (temporary name, fsync, rename). Returns the settings as saved. The app's folder
    /// is created when missing (a runner with its own root); a new folder or file gets the owner of `<root>` when
    /// this runs as root, so the door can still replace it.
    @discardableResult
    public static func update(
        _ layout: RootLayout, app: String, _ change: (inout DynoSettings) throws -> Void
    ) throws -> DynoSettings {
        let path = layout.dynoSettings(app)
        let folder = (path as NSString).deletingLastPathComponent
        var folderInfo = stat()
        if stat(folder, &folderInfo) != 0 {
            try FileSystem.makeFolders(folder, mode: 0o755)
            var rootInfo = stat()
            if getuid() == 0, stat(layout.path, &rootInfo) == 0 { _ = chown(folder, rootInfo.st_uid, rootInfo.st_gid) }
        }
        let lock = try HeldLock(layout.dynoSettingsLock(app))
        return try withExtendedLifetime(lock) {
            let current = try load(from: path)
            var changed = current
            try change(&changed)
            if changed != current {
                try changed.check(path: path)
                try changed.save(to: path, keepOwner: true)
            }
            return changed
        }
    }
}
