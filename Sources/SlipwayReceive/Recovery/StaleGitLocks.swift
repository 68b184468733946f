public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The lock files a killed git leaves in a repository, and their removal.
///
/// git changes a ref, `HEAD`, `packed-refs` or `config` by writing `<name>.lock` and renaming it over the file; the
/// lock file also keeps every other git out meanwhile. A git killed in between (SIGKILL, the OOM killer, a power
/// cut) leaves it behind, and from then on every push to that ref fails with `cannot lock ref … File exists`.
///
/// In an app's repository under Slipway's root, every git that writes runs behind the door, which holds the app's
/// lock: whoever holds that lock knows that no git of the repository is running, so every lock file is stale. In a
/// repository of another git server, git runs without Slipway's lock, so only a lock file untouched for
/// ``foreignAge`` is taken as stale (git holds one for milliseconds while it writes a ref).
public enum StaleGitLocks {
    /// Which repository recovery cleans, and how sure it can be that no git is running there.
    public enum Scope: Sendable, Equatable {
        /// The app's repository under the root, with the app's lock held: every lock file is stale.
        case own
        /// A repository of another git server at this path: only lock files older than ``foreignAge``.
        case foreign(String)
    }

    /// How old a lock file in another git server's repository must be before recovery removes it: 10 minutes.
    public static let foreignAge: TimeInterval = 600

    /// The lock files git takes outside `refs/`.
    static let topLevel = ["HEAD.lock", "packed-refs.lock", "config.lock", "shallow.lock", "index.lock"]

    /// The lock files in `repository`, as paths relative to it, sorted.
    public static func find(in repository: String) -> [String] {
        var found = topLevel.filter { isRegularFile("\(repository)/\($0)") }
        found += locks(under: "refs", in: repository)
        return found.sorted()
    }

    /// Removes the lock files of `repository` not modified for `minimumAge` seconds (all when nil); returns those removed.
    @discardableResult
    public static func remove(in repository: String, olderThan minimumAge: TimeInterval? = nil) -> [String] {
        let now = Date().timeIntervalSince1970
        var removed: [String] = []
        for name in find(in: repository) {
            let path = "\(repository)/\(name)"
            if let minimumAge {
                var info = stat()
                guard lstat(path, &info) == 0, now - TimeInterval(info.st_mtim.tv_sec) >= minimumAge else { continue }
            }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// `*.lock` files below `folder` (relative to `repository`), never following a symlink.
    private static func locks(under folder: String, in repository: String, depth: Int = 0) -> [String] {
        guard depth < 64, let names = try? FileManager.default.contentsOfDirectory(atPath: "\(repository)/\(folder)")
        else { return [] }
        var found: [String] = []
        for name in names {
            let relative = "\(folder)/\(name)"
            var info = stat()
            guard lstat("\(repository)/\(relative)", &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: found += locks(under: relative, in: repository, depth: depth + 1)
            case S_IFREG where name.hasSuffix(".lock"): found.append(relative)
            default: continue
            }
        }
        return found
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }
}
