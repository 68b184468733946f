import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The end of a build: the process types (the Procfile over the buildpacks' defaults), then the slug and
/// `release.json`, written under temporary names and renamed into the output folder only when both are complete.
struct ReleaseWriter {
    let options: BuildOptions
    let console: Console
    let signals: SignalWatcher?
    let deadline: ContinuousClock.Instant
    private let clock = ContinuousClock()

    init(options: BuildOptions, console: Console, signals: SignalWatcher?, deadline: ContinuousClock.Instant) {
        self.options = options
        self.console = console
        self.signals = signals
        self.deadline = deadline
    }

    /// Merges the Procfile over the buildpacks' default process types and prints them as Heroku does.
    func discoverProcessTypes(_ workspace: Workspace, defaults: [String: String]) throws -> [String: String] {
        console.step("Discovering process types")
        var types = defaults
        var declared: [String] = []
        let procfilePath = "\(workspace.buildDirectory)/Procfile"
        var st = stat()
        if lstat(procfilePath, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG,
                let text = try? String(contentsOfFile: procfilePath, encoding: .utf8)
            else {
                throw BuildError(
                    .procfileInvalid, "The Procfile is not a readable UTF-8 text file.",
                    hint: "Fix the Procfile and build again.")
            }
            let procfile = try Procfile(parsing: text)
            declared = procfile.entries.map(\.name)
            for entry in procfile.entries { types[entry.name] = entry.command }
        }
        let fromDefaults = defaults.keys.filter { !declared.contains($0) }.sorted()
        if !declared.isEmpty { console.detail("Procfile declares types     -> " + declared.joined(separator: ", ")) }
        if !fromDefaults.isEmpty {
            console.detail("Default types for buildpack -> " + fromDefaults.joined(separator: ", "))
        }
        if types.isEmpty { console.detail("No process types declared") }
        if types["web"] == nil {
            console.error("Warning: no 'web' process type: this app will not receive web traffic.")
            console.error("Add a line such as 'web: <command that listens on $PORT>' to the Procfile.")
        }
        return types
    }

    /// Packs the slug and writes the manifest under temporary names, then renames both into place.
    func pack(
        _ workspace: Workspace, mtime: Int64, cacheLinks: CacheLinks? = nil,
        manifest makeManifest: (ReleaseManifest.Slug) throws -> ReleaseManifest
    ) throws -> BuildResult {
        let output = options.outputDirectory
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw BuildError(
                .outputUnwritable, "Cannot create the output folder \(output).", hint: "Pass a writable folder with -o."
            )
        }
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let slugName = options.compression.slugFileName
        let slugTemp = "\(output)/.\(slugName).\(token).tmp"
        let manifestTemp = "\(output)/.release.json.\(token).tmp"
        let slugPath = "\(output)/\(slugName)"
        let manifestPath = "\(output)/release.json"
        var renamedSlug = false
        var committed = false
        defer {
            if !committed {
                unlink(slugTemp)
                unlink(manifestTemp)
                if renamedSlug { unlink(slugPath) }
            }
        }

        let limit = Int64(options.maxSlugSizeMB) * 1_048_576
        var packer = SlugPacker(mtime: mtime, compression: options.compression)
        packer.unpackedLimit = Int64(options.maxUnpackedSlugMB) << 20
        packer.segmentCacheDirectory = options.cacheDirectory
        packer.cacheLinks = cacheLinks
        // The commit's time changes with every commit; a fixed SOURCE_DATE_EPOCH means every entry gets it.
        packer.reusedFoldersKeepTheirTime = options.sourceDateEpoch == nil
        packer.checkpoint = { [self] in
            try signals?.check(phase: .pack)
            if clock.now >= deadline {
                throw BuildError(.packFailed, "The build ran past its time limit while packing the slug.")
            }
        }
        let packed: SlugPacker.Output
        do {
            packed = try packer.pack(workspace.buildDirectory, into: slugTemp)
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError(.packFailed, "Could not write the slug: \(error).", hint: freeSpaceHint(output))
        }
        console.step("Compressing... done, \(formatSize(packed.size))")
        if !packed.reusedFolders.isEmpty {
            console.detail("Reused the compressed \(packed.reusedFolders.joined(separator: ", ")) of the last build")
        }
        if packed.size > limit {
            throw BuildError(
                .slugTooLarge,
                "Compiled slug size: \(formatSize(packed.size)) is too large (max is \(options.maxSlugSizeMB)M).",
                hint: "Remove files from the slug with .slugignore, or raise --max-slug-size.")
        }
        if packed.size > 300 * 1_048_576 {
            console.error(
                "Warning: Your slug size (\(formatSize(packed.size))) exceeds the soft limit (300M), which may affect boot time."
            )
        }
        let manifest = try makeManifest(
            .init(path: slugName, size: packed.size, sha256: packed.sha256, compression: options.compression.rawValue))
        do {
            do {
                try DurableFile.create(manifestTemp, with: try manifest.encoded())
            } catch let failure as SystemError {
                throw FileTreeError(operation: failure.operation, path: failure.path, code: failure.errno)
            }
            guard rename(slugTemp, slugPath) == 0 else { throw FileTree.posixError("rename", slugPath) }
            renamedSlug = true
            guard rename(manifestTemp, manifestPath) == 0 else { throw FileTree.posixError("rename", manifestPath) }
            try? DurableFile.syncFolder(output)
        } catch {
            throw BuildError(.packFailed, "Could not write the release: \(error).", hint: freeSpaceHint(output))
        }
        committed = true
        // A slug of the other compression left by an earlier build would no longer match release.json.
        for other in SlugCompression.allCases where other != options.compression {
            unlink("\(output)/\(other.slugFileName)")
        }
        if !options.pushWording {
            // A pusher has no use for the server's paths (and should not learn them).
            console.detail("Slug:     \(slugPath) (sha256 \(packed.sha256.prefix(12)))")
            console.detail("Manifest: \(manifestPath)")
        }
        return BuildResult(manifest: manifest, slugPath: slugPath, manifestPath: manifestPath)
    }

    /// What to do when writing the output failed: a pusher learns nothing of the server's folders.
    private func freeSpaceHint(_ output: String) -> String {
        options.pushWording
            ? "The server may be out of disk space: tell its operator." : "Check free space in \(output)."
    }
}
