import Foundation
import SlipwayHTTP
import SlipwayObjectStore
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 31's first finding, on both spools: a release written into the spool by someone who can write there (a dyno
/// that reaches the bucket's filer, a leaked bucket key) naming another app's slug as `shop`'s next version is refused
/// with a line in shop's log and never runs, and shop keeps serving; config vars never lie in the spool in clear.
@Suite(.serialized) struct SignedReleaseTests {
    /// Writes `$SECRET` where the router would serve it, so that the test sees the config vars reach the dyno.
    static let shopProcfile =
        "web: printf '%s' \"${SECRET:-none}\" > secret.txt; exec python3 -u -m http.server $PORT --bind 0.0.0.0\n"
    static let malloryProcfile =
        "web: echo mallory was here > secret.txt; exec python3 -u -m http.server $PORT --bind 0.0.0.0\n"

    @Test func aReleaseWrittenIntoTheSpoolFolderByHandIsRefusedAndTheCurrentOneKeepsServing() throws {
        let h = try PushHarness("signed-folder", users: ["alice", "mallory"])
        let log = h.scratch.url("watch.log")
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "none",
            ], stdout: .file(log), stderr: .file(log))
        defer { watcher.terminate(grace: 30) }
        try Self.pushShopAndAaa(h)
        let shopV1 = try #require(Self.web(root: h.root, app: "shop", version: 1), "\(Self.read(log))")
        #expect(try Self.get(shopV1, "secret.txt") == "none")
        #expect(Self.web(root: h.root, app: "aaa", version: 1) != nil, "\(Self.read(log))")
        let claimed = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/spool/cur")
        let aaaEntry = try #require(claimed.first { $0.hasSuffix(".aaa.v1") }, "\(claimed)")
        let aaa = try openRelease(atPath: "\(h.root)/spool/cur/\(aaaEntry)/release.json", root: h.root)

        // Mallory's release as shop's v2 (a plain manifest, her slug beside it), and as v3 signed by a key of hers.
        let forged = Self.forgedShop(from: aaa)
        let slug = "\(h.root)/apps/aaa/slugs/\(aaa.slug.sha256).tgz"
        let spool = "\(h.root)/spool"
        try Self.writeEntry(spool, version: 2, manifest: try forged(2).encoded(), slug: slug)
        try Self.writeEntry(
            spool, version: 3, manifest: try SignedRelease.seal(forged(3), with: try Self.malloryKey(h)), slug: slug)

        let shopLog = "\(h.root)/logs/shop.log"
        #expect(
            waitUntil(seconds: 60) {
                Self.read(shopLog).contains("slugrunner[release]: v2 refused: it is not signed by the door")
                    && Self.read(shopLog).contains("slugrunner[release]: v3 refused: its signature is not the door's")
            }, "\(Self.read(shopLog))\n---\n\(Self.read(log))")
        let rejected = try FileManager.default.contentsOfDirectory(atPath: "\(spool)/rejected")
        #expect(rejected.filter { $0.contains(".shop.v") }.count == 2, "\(rejected)")
        #expect(!Self.read(shopLog).contains("Received v2") && !Self.read(shopLog).contains("Received v3"))
        #expect(Self.web(root: h.root, app: "shop", version: 1, seconds: 1) != nil, "shop still runs v1")
        #expect(try Self.get(shopV1, "secret.txt") == "none", "v1 answers, not mallory's slug")
        // The owner sees the refusal with `logs`, without any of the server's paths.
        let logs = try h.ssh("logs shop", merge: false)
        #expect(logs.stdout.contains("v2 refused: it is not signed by the door"), "\(logs.output)")
        #expect(!logs.stdout.contains(h.root), "\(logs.output)")

        // The door's own next release still runs, with its config var, which no file of the spool holds in clear.
        let secret = "s3cr3t-\(UInt64.random(in: 0...UInt64.max))"
        let set = try h.ssh("config:set shop SECRET=\(secret)")
        #expect(set.status == 0 && set.output.contains("v2"), "\(set.output)")
        let shopV2 = try #require(Self.web(root: h.root, app: "shop", version: 2), "\(Self.read(log))")
        #expect(try Self.get(shopV2, "secret.txt") == secret)
        let files = try Self.files(under: spool)
        #expect(files.count >= 4, "\(files)")
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(!Self.reveals(data, secret), "\(file) holds the config var in clear")
        }
    }

    @Test func aReleaseWrittenIntoTheBucketByHandIsRefusedAndNeverClaimed() throws {
        let b = try BucketHarness("signed-bucket", users: ["alice", "mallory"])
        let h = b.push
        let (runner, runnerRoot, runnerLog) = try b.startRunner(
            "one", environment: ["AWS_ACCESS_KEY_ID": b.accessKey, "AWS_SECRET_ACCESS_KEY": b.secretKey])
        defer { runner.terminate(grace: 30) }
        try Self.pushShopAndAaa(h)
        #expect(
            waitUntil(seconds: 90) { BucketHarness.runningVersion(root: runnerRoot, app: "shop") == 1 },
            "\(Self.read(runnerLog))")
        let aaaData = try #require(try b.object("releases/aaa/0000000001.json"))
        let aaa = try openRelease(aaaData, root: h.root)

        // With the bucket's key (or the filer, which takes none): mallory's slug copied under shop's name, and
        // manifests naming it as shop's v5 (plain) and v6 (signed by her own key), above the door's next version.
        let forged = Self.forgedShop(from: aaa)
        let slugKey = "slugs/shop/\(aaa.slug.sha256).tgz"
        let slug = try #require(try b.object("slugs/aaa/\(aaa.slug.sha256).tgz", limit: 1 << 26))
        let plain = try forged(5).encoded()
        let otherKey = try SignedRelease.seal(forged(6), with: try Self.malloryKey(h))
        try Blocking.withClient(b.location, b.credentials) { client in
            try await client.put(slugKey, slug)
            try await client.put("releases/shop/0000000005.json", plain, contentType: "application/json")
            try await client.put("releases/shop/0000000006.json", otherKey, contentType: "application/json")
        }

        let shopLog = "\(runnerRoot)/logs/shop.log"
        #expect(
            waitUntil(seconds: 60) {
                Self.read(shopLog).contains("slugrunner[release]: v5 refused: it is not signed by the door")
                    && Self.read(shopLog).contains("slugrunner[release]: v6 refused: its signature is not the door's")
            }, "\(Self.read(shopLog))\n---\n\(Self.read(runnerLog))")
        let claims = try b.keys("claims/shop/")
        #expect(claims == ["claims/shop/0000000001.json"], "never claimed: \(claims)")
        #expect(BucketHarness.runningVersion(root: runnerRoot, app: "shop") == 1)
        let shopV1 = try #require(Self.web(root: runnerRoot, app: "shop", version: 1), "\(Self.read(runnerLog))")
        #expect(try Self.get(shopV1, "secret.txt") == "none")

        // The door's v2 runs although forged v5 and v6 sit above it, with its config var; no object holds it in clear.
        let secret = "s3cr3t-\(UInt64.random(in: 0...UInt64.max))"
        let set = try h.receivePack(["config:set", "shop", "SECRET=\(secret)"])
        #expect(set.status == 0 && set.output.contains("v2"), "\(set.output)")
        let shopV2 = try #require(Self.web(root: runnerRoot, app: "shop", version: 2), "\(Self.read(runnerLog))")
        #expect(try Self.get(shopV2, "secret.txt") == secret)
        let keys = try b.keys()
        #expect(keys.contains("releases/shop/0000000002.json"), "\(keys)")
        for key in keys {
            let data = try #require(try b.object(key, limit: 1 << 26), "\(key)")
            #expect(!Self.reveals(data, secret), "\(key) holds the config var in clear")
        }
        for file in try Self.files(under: "\(h.root)/spool") {
            #expect(!Self.reveals(try Data(contentsOf: URL(fileURLWithPath: file)), secret), "\(file)")
        }
    }

    // MARK: - Helpers

    /// Alice pushes `shop`, mallory pushes `aaa`: both built by the spy buildpack, each running python's web server.
    static func pushShopAndAaa(_ h: PushHarness) throws {
        let buildpack = try h.buildpack()
        let shop = try h.makeApp("shop-src", files: ["Procfile": shopProcfile, ".buildpacks": "\(buildpack)\n"])
        let pushed = try h.push(shop, app: "shop")
        #expect(pushed.status == 0, "\(pushed.output)")
        let aaa = try h.makeApp("aaa-src", files: ["Procfile": malloryProcfile, ".buildpacks": "\(buildpack)\n"])
        let mallory = try h.push(aaa, app: "aaa", as: "mallory")
        #expect(mallory.status == 0, "\(mallory.output)")
    }

    /// Mallory's manifest made into shop's release `version`.
    static func forgedShop(from aaa: ReleaseManifest) -> (Int) -> ReleaseManifest {
        { version in
            var forged = aaa
            forged.app = "shop"
            forged.version = version
            forged.description = "Deploy 1234567"
            forged.user = "alice"
            forged.configVars = ["STOLEN": "yes"]
            return forged
        }
    }

    /// A release key of mallory's own, the door's kind.
    static func malloryKey(_ h: PushHarness) throws -> DoorReleaseKey {
        try DoorReleaseKey.loadOrCreate(RootLayout(try h.scratch.makeDirectory("mallory-key")))
    }

    /// Writes a spool entry by hand, as whoever can write into the folder would: `tmp/`, then renamed into `new/`.
    static func writeEntry(_ spool: String, version: Int, manifest: Data, slug: String) throws {
        let name = Spool.entryName(app: "shop", version: version)
        let work = "\(spool)/tmp/\(name)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try manifest.write(to: URL(fileURLWithPath: "\(work)/release.json"))
        try FileManager.default.copyItem(atPath: slug, toPath: "\(work)/slug.tgz")
        #expect(rename(work, "\(spool)/new/\(name)") == 0)
    }

    /// Whether `data`, or a base64 field of it (a signed release's manifest), holds `secret`.
    static func reveals(_ data: Data, _ secret: String) -> Bool {
        if data.range(of: Data(secret.utf8)) != nil { return true }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object.values.contains { value in
            guard let text = value as? String, let decoded = Data(base64Encoded: text) else { return false }
            return decoded.range(of: Data(secret.utf8)) != nil
        }
    }

    /// Every regular file under `folder`.
    static func files(under folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        return walker.compactMap { $0 as? String }.map { "\(folder)/\($0)" }.filter {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder) && !isFolder.boolValue
        }
    }

    /// Where `app`'s web.1 of `version` listens once it is up under the runner at `root`.
    static func web(root: String, app: String, version: Int, seconds: Double = 120) -> (address: String, port: Int)? {
        var found: (String, Int)?
        _ = waitUntil(seconds: seconds) {
            let ps = try? runTool([TestPaths.product("slugrunner"), "ps", app, "--json", "--root", root])
            guard let data = ps?.stdout.data(using: .utf8),
                let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                (status["release"] as? [String: Any])?["version"] as? Int == version,
                let web = (status["processes"] as? [[String: Any]])?.first(where: {
                    $0["dyno"] as? String == "web.1" && $0["release"] as? Int == version
                        && $0["state"] as? String == "up"
                }),
                let port = web["port"] as? Int
            else { return false }
            found = (web["address"] as? String ?? "127.0.0.1", port)
            return true
        }
        return found
    }

    /// GETs `/<path>` from a dyno.
    static func get(_ web: (address: String, port: Int), _ path: String) throws -> String? {
        let result = try runTool(
            ["/usr/bin/curl", "-sf", "--max-time", "5", "http://\(web.address):\(web.port)/\(path)"], timeout: 10)
        return result.status == 0 ? result.stdout : nil
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(nothing at \(path))"
    }
}
