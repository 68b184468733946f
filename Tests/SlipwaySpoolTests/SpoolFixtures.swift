import Foundation
import SlipwaySpool
import SlipwayTestSupport

/// A prepared spool in a scratch folder, and slugs to publish into it.
struct SpoolFixture {
    let scratch: ScratchDirectory
    let spool: Spool
    /// The door's key of the fixture's root: it signs what ``publish(app:version:date:)`` writes.
    let doorKey: DoorReleaseKey

    init(_ label: String = "spool") throws {
        scratch = try ScratchDirectory(label)
        spool = Spool(directory: scratch.url("root/spool"))
        try spool.prepare()
        doorKey = try DoorReleaseKey.loadOrCreate(RootLayout(scratch.url("root")))
    }

    /// `manifest` signed by the fixture's door, as the server publishes it.
    func sign(_ manifest: ReleaseManifest) throws -> Data { try SignedRelease.seal(manifest, with: doorKey) }

    /// What a runner on the fixture's root holds.
    var runnerKey: RunnerReleaseKey { doorKey.runnerKey }

    /// Writes a slug file (any bytes do: the spool does not open the tar) and returns its path.
    func slug(_ name: String = "slug-source.tgz", contents: String = "not really a tarball\n") throws -> String {
        try scratch.write("store/\(name)", contents)
    }

    /// A complete manifest describing the file at `slugPath`.
    func manifest(app: String = "myapp", version: Int = 1, slugPath: String) throws -> ReleaseManifest {
        let size = try FileManager.default.attributesOfItem(atPath: slugPath)[.size] as? Int64 ?? -1
        var manifest = ReleaseManifest(
            app: app, stack: "slipway-1", sourceVersion: "1a2b3c4d5e6f",
            buildpacks: [.init(url: "python", name: "Python")],
            processTypes: ["web": "python -m http.server $PORT"], configVars: ["GREETING": "hello"], addons: [],
            slug: .init(path: "slug.tgz", size: size, sha256: try Spool.sha256(ofFile: slugPath)),
            createdAt: "2026-01-02T03:04:05Z", timings: ["detect": 0.1, "compile": 2.5, "release": 0.1, "pack": 0.7])
        manifest.version = version
        manifest.description = "Deploy 1a2b3c4"
        manifest.user = "alice"
        return manifest
    }

    /// Publishes a fresh release of `app` and returns its name.
    @discardableResult
    func publish(app: String = "myapp", version: Int = 1, date: Date = Date()) throws -> String {
        let slugPath = try slug("\(app)-\(version).tgz", contents: "slug of \(app) v\(version)\n")
        let name = Spool.entryName(app: app, version: version, date: date)
        _ = try spool.publish(
            name: name,
            manifest: try SignedRelease.seal(
                try manifest(app: app, version: version, slugPath: slugPath), with: doorKey),
            slugPath: slugPath)
        return name
    }

    /// The names in one of the spool's folders, sorted.
    func list(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(spool.directory)/\(folder)").sorted()
    }
}

/// `lstat` of `path`.
func fileStatus(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}
