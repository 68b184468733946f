import Foundation
import SlipwayArchive
import SlipwayRunnerKit
public import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A release ready to run: its manifest, and the folder holding the unpacked slug (`app/`) and a copy of
/// `release.json`.
public struct UnpackedRelease: Equatable, Sendable {
    /// The spool entry it came from (its name), or the path given to `slugrunner run`.
    public var entry: String
    /// The release's manifest.
    public var manifest: ReleaseManifest
    /// The folder holding `app/` and `release.json`.
    public var directory: String

    public init(entry: String, manifest: ReleaseManifest, directory: String) {
        self.entry = entry
        self.manifest = manifest
        self.directory = directory
    }

    /// The app's home: `HOME` of every process.
    public var home: String { "\(directory)/app" }
    /// The release's version, 0 when the manifest has none (`slugc build`'s own output).
    public var version: Int { manifest.version ?? 0 }
    /// `v3`, or the entry when the release has no version.
    public var label: String { manifest.version.map { "v\($0)" } ?? entry }

    /// Reads a release the watcher unpacked earlier (its `release.json` copy).
    static func load(entry: String, directory: String) throws -> UnpackedRelease {
        guard let data = try Files.read("\(directory)/\(Spool.manifestFileName)") else {
            throw RunnerError(
                .notFound, "slugrunner: \(directory) has no release.json; the release must be unpacked again")
        }
        return UnpackedRelease(entry: entry, manifest: try ReleaseManifest.decode(data), directory: directory)
    }
}

/// Checks a release against its manifest and unpacks its slug, safely (``TarExtractor``).
public struct ReleaseUnpacker: Sendable {
    /// The stack this runner provides; releases built for another are refused.
    public var stacks: [String]
    /// The door's key: with it, only releases the door signed pass (every spool entry); without, only a plain
    /// `release.json` such as `slugc build` writes (`slugrunner run` on one).
    public var key: RunnerReleaseKey?

    /// The most a slug's files may hold once unpacked, in bytes: `SLIPWAY_MAX_SLUG_UNPACKED_MB` (default 4096), as
    /// the build's own limit, so that a slug the build did not make (an older build's, one put in the spool by
    /// hand) cannot fill the runner's disk either.
    public var maximumUnpackedBytes: Int64

    /// The stack slugs are built for by default.
    public static let defaultStack = ReleaseManifest.defaultStack

    /// `environment` nil: this process's.
    public init(
        stacks: [String] = [defaultStack], key: RunnerReleaseKey? = nil, environment: [String: String]? = nil
    ) {
        self.stacks = stacks
        self.key = key
        let environment = environment ?? ProcessInfo.processInfo.environment
        let megabytes = environment["SLIPWAY_MAX_SLUG_UNPACKED_MB"].flatMap(Int64.init).flatMap { $0 > 0 ? $0 : nil }
        maximumUnpackedBytes = (megabytes ?? 4096) << 20
    }

    /// Reads `release.json` at `manifestPath` and checks it and its slug as docs/spool.md asks (the door's signature
    /// when the unpacker has a key, schema version, compression, slug path, size, SHA-256), plus the stack and the
    /// app's name. Throws ``RunnerError/Code/refused`` with the reason.
    public func verify(manifestAt manifestPath: String) throws -> (manifest: ReleaseManifest, slugPath: String) {
        let (manifest, slugPath): (ReleaseManifest, String)
        do {
            (manifest, slugPath) = try Spool.readRelease(manifestAt: manifestPath, key: key)
        } catch let error as SpoolError {
            throw RunnerError(.refused, error.description)
        }
        guard AppName.isValid(manifest.app) else {
            throw RunnerError(
                .refused, "slugrunner: \(manifestPath) names the app '\(manifest.app)', which is not a valid app name")
        }
        guard stacks.contains(manifest.stack) else {
            throw RunnerError(
                .refused,
                "slugrunner: \(manifestPath) was built for the stack \(manifest.stack), but this runner provides "
                    + "\(stacks.joined(separator: ", ")); rebuild it for one of them or start the runner with --stack")
        }
        return (manifest, slugPath)
    }

    /// Unpacks `slugPath` into `target` (which must not exist), next to a copy of `manifest` as `release.json`.
    /// The work happens in a temporary sibling folder renamed to `target` at the end, so `target` is either complete
    /// or absent.
    public func unpack(slugPath: String, manifest: ReleaseManifest, into target: String) throws {
        let parent = (target as NSString).deletingLastPathComponent
        try Files.makeFolders(parent)
        let work = "\(target).partial-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        guard mkdir(work, 0o750) == 0 else { throw RunnerError.system("mkdir", work, errno: errno) }
        do {
            try unpackSlug(slugPath, into: work)
            try Files.writeAtomically(try manifest.encoded(), to: "\(work)/\(Spool.manifestFileName)")
            guard rename(work, target) == 0 else { throw RunnerError.system("rename", work, errno: errno) }
        } catch {
            try? FileSystem.removeTree(work)
            throw error
        }
    }

    /// Unpacks `slugPath` into the existing folder `directory` (giving `directory/app`).
    public func unpackSlug(_ slugPath: String, into directory: String) throws {
        do {
            try TarExtractor(topFolder: "app", maximumBytes: maximumUnpackedBytes).extract(slugPath, into: directory)
        } catch let error as ArchiveError {
            throw RunnerError(.unpack, "slugrunner: cannot unpack \(slugPath): \(error)")
        }
        guard Files.isDirectory("\(directory)/app") else {
            throw RunnerError(.unpack, "slugrunner: \(slugPath) holds no app/ folder; it is not a slug")
        }
    }
}
