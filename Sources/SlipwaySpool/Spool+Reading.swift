import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading what the spool holds: a release's manifest and slug, each checked against the other.
extension Spool {
    /// Reads and checks the entry at `path` (in `new/` or `cur/`): opens its signed `release.json` with `key`
    /// (``SignedRelease/open(_:with:)``: the door's signature, the sealed config vars), then checks that the slug's
    /// size and SHA-256 match the manifest. Returns the manifest, config vars opened, and the slug's path.
    public func read(entryAt path: String, key: RunnerReleaseKey) throws -> (ReleaseManifest, slugPath: String) {
        try Self.readRelease(manifestAt: "\(path)/\(Self.manifestFileName)", key: key)
    }

    /// Reads and checks a release outside the spool as well: with a `key`, a signed `release.json` as
    /// ``read(entryAt:key:)`` does (an unsigned one is refused); without, a plain one such as `slugc build`'s output.
    /// Either way the slug its `slug.path` names in the same folder is checked against it.
    public static func readRelease(manifestAt manifestPath: String, key: RunnerReleaseKey? = nil) throws -> (
        ReleaseManifest, slugPath: String
    ) {
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
            manifest = try key.map { try SignedRelease.open(data, with: $0) } ?? ReleaseManifest.decode(data)
        } catch let refusal as ReleaseRefusal {
            if case .unreadable(let reason) = refusal {
                throw SpoolError(
                    .invalidManifest, path: manifestPath, "spool: \(manifestPath): \(reason); move the entry aside")
            }
            throw SpoolError(.refusedSignature, path: manifestPath, "\(refusal)")
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

    /// The folder holding `path`.
    static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Whether `name` is one plain path component: not empty, no `/` or NUL, not `.`/`..`, not hidden.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0")
    }

    /// A short reason for a Foundation or decoding error.
    static func reason(_ error: Error) -> String {
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
    static func codingPath(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
