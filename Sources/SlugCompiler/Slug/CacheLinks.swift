#if canImport(Glibc)
    import Glibc
#endif

/// Links from the app into its build cache, packed as the folders they name.
///
/// A buildpack keeps a large tree that rarely changes, such as a language runtime, unpacked in `CACHE_DIR` and links
/// it into the app (`ln -s "$CACHE_DIR/ruby/runtime" "$BUILD_DIR/.heroku/ruby"`) instead of copying it into every
/// build: the build runs it through the link, and the slug holds the folder itself, as if it had been copied. Only a
/// link in the build folder whose target is an absolute path inside the cache, as buildpacks see it, reached through
/// folders alone (no `..`, `.` or empty part, no symlink on the way) is followed; inside the folder it names, links stay
/// links. Any other link is packed as a link, as before. The cache is the app's own, so a link can only bring into
/// the slug what the app's own builds wrote.
public struct CacheLinks: Sendable {
    /// The build cache as buildpacks see it (`/tmp/cache` in the sandbox).
    public var inside: String
    /// The build cache on this machine.
    public var outside: String

    public init(inside: String, outside: String) {
        self.inside = inside
        self.outside = outside
    }

    /// The parts of `target` below the cache, when it names a place inside it without `.`, `..` or empty parts.
    func parts(of target: FileTree.Name) -> [FileTree.Name]? {
        let root = Array(inside.utf8).reversed().drop { $0 == UInt8(ascii: "/") }.reversed() + [UInt8(ascii: "/")]
        guard target.count > root.count, target.starts(with: root) else { return nil }
        let parts = target.dropFirst(root.count).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let dot = [UInt8(ascii: ".")]
        guard parts.allSatisfy({ !$0.isEmpty && !$0.elementsEqual(dot) && !$0.elementsEqual(dot + dot) }) else {
            return nil
        }
        return parts.map(Array.init)
    }

    /// The folder `target` names, opened, when it is a folder inside the cache reached through folders only; nil
    /// otherwise (the link is then packed as a link).
    func open(_ target: FileTree.Name) -> Int32? {
        guard let parts = parts(of: target) else { return nil }
        var fd = Glibc.open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        for part in parts {
            let next = FileTree.withCName(part) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            close(fd)
            guard next >= 0 else { return nil }
            fd = next
        }
        return fd
    }
}
