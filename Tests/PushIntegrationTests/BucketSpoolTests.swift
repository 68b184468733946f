import Foundation
import SlipwayObjectStore
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The spool in an S3 bucket (docs/spool.md, "The spool in object storage"), end to end against a real SeaweedFS on
/// loopback: pushes publish into the bucket, `slugrunner watch --spool s3://…` runs from it.
@Suite(.serialized) struct BucketSpoolTests {
    static let procfile = "web: python3 -u -m http.server $PORT --bind 0.0.0.0\n"

    /// A push lands in the bucket, one of two runners claims and runs it, and a config change and a rollback reach
    /// that runner without the slug being uploaded again.
    @Test func aPushLandsInTheBucketAndExactlyOneOfTwoRunnersRunsIt() throws {
        let b = try BucketHarness("bucket-flow")
        let h = b.push
        _ = try h.deployedApp(["Procfile": Self.procfile])

        // The slug first, then the manifest; nothing in the local spool.
        let keys = try b.keys()
        let slugs = keys.filter { $0.hasPrefix("slugs/myapp/") }
        #expect(slugs.count == 1, "\(keys)")
        #expect(keys.contains("releases/myapp/0000000001.json"), "\(keys)")
        #expect(try h.spoolEntries().isEmpty)
        let manifest = try openRelease(try #require(try b.object("releases/myapp/0000000001.json")), root: h.root)
        #expect(manifest.version == 1 && slugs == ["slugs/myapp/\(manifest.slug.sha256).tgz"])

        // Two runners on one bucket: one claims v1 and runs it; the other never does. One reads the keys from the
        // environment, the other from its root's credentials file.
        let (first, firstRoot, firstLog) = try b.startRunner(
            "one", environment: ["AWS_ACCESS_KEY_ID": b.accessKey, "AWS_SECRET_ACCESS_KEY": b.secretKey])
        defer { first.terminate(grace: 30) }
        let secondRoot = h.scratch.url("runner-two")
        try FileManager.default.createDirectory(atPath: secondRoot, withIntermediateDirectories: true)
        try BucketHarness.writeCredentials(root: secondRoot, b.accessKey, b.secretKey)
        let (second, _, secondLog) = try b.startRunner("two")
        defer { second.terminate(grace: 30) }
        let roots = [firstRoot, secondRoot]
        let logs = { "\(Self.read(firstLog))\n---\n\(Self.read(secondLog))" }
        #expect(waitUntil(seconds: 90) { roots.contains { BucketHarness.runningVersion(root: $0) == 1 } }, "\(logs())")
        let winner = try #require(roots.firstIndex { BucketHarness.runningVersion(root: $0) == 1 })
        let claim = try #require(try b.object("claims/myapp/0000000001.json"))
        #expect(String(decoding: claim, as: UTF8.self).contains(roots[winner]))

        // A config change and a rollback publish by reference: with the slug upload made fatal, both succeed.
        var environment = ProcessInfo.processInfo.environment
        environment["SLIPWAY_FAILPOINTS"] = "before-slug-upload"
        let set = try runTool(
            [TestPaths.product("receive-pack"), "config:set", "--root", h.root, "myapp", "GREETING=hello"],
            environment: environment, mergeOutput: true)
        #expect(set.status == 0 && set.output.contains("v2"), "\(set.output)")
        let rollback = try runTool(
            [TestPaths.product("receive-pack"), "rollback", "--root", h.root, "myapp", "v1"], environment: environment,
            mergeOutput: true)
        #expect(rollback.status == 0 && rollback.output.contains("v3"), "\(rollback.output)")
        #expect(try b.keys("slugs/") == slugs)
        #expect(try b.keys("releases/") == (1...3).map { "releases/myapp/000000000\($0).json" })

        // v3, the newest, runs on whichever runner claimed it. v2 is claimed only if a runner looked between the
        // config change and the rollback. Each release claimed was claimed and downloaded by one runner only.
        #expect(waitUntil(seconds: 90) { roots.contains { BucketHarness.runningVersion(root: $0) == 3 } }, "\(logs())")
        let v3 = try #require(roots.firstIndex { BucketHarness.runningVersion(root: $0) == 3 })
        let v3Claim = try #require(try b.object("claims/myapp/0000000003.json"))
        #expect(String(decoding: v3Claim, as: UTF8.self).contains(roots[v3]))
        let claims = try b.keys("claims/")
        #expect(claims.contains("claims/myapp/0000000001.json") && claims.contains("claims/myapp/0000000003.json"))
        #expect(Set(claims).isSubset(of: (1...3).map { "claims/myapp/000000000\($0).json" }), "\(claims)")
        for version in 1...3 where claims.contains("claims/myapp/000000000\(version).json") {
            let takers = [firstLog, secondLog].filter { Self.read($0).contains("myapp v\(version): claimed") }
            #expect(takers.count == 1, "v\(version): \(logs())")
        }
        #expect(!Self.read(firstLog).contains(b.secretKey) && !Self.read(secondLog).contains(b.secretKey))
    }

    /// Wrong keys and a missing bucket fail at once, with one line naming the fix; nothing reaches the bucket.
    @Test func aWrongSecretOrAMissingBucketFailsThePushClearly() throws {
        let b = try BucketHarness("bucket-refusals")
        let h = b.push
        try BucketHarness.writeCredentials(root: h.root, b.accessKey, "not-the-secret")
        let repo = try h.makeApp(files: ["Procfile": Self.procfile, ".buildpacks": "\(try h.buildpack())\n"])
        let refused = try h.push(repo)
        #expect(refused.status != 0)
        #expect(refused.output.contains("refused the credentials"), "\(refused.output)")
        #expect(refused.output.contains("AWS_SECRET_ACCESS_KEY"), "\(refused.output)")
        #expect(!refused.output.contains("not-the-secret"), "\(refused.output)")
        #expect(try h.serverRef() == nil)

        try BucketHarness.writeCredentials(root: h.root, b.accessKey, b.secretKey)
        let missing = try h.receivePack([
            "init", "--spool", "s3://no-such-bucket/x", "--s3-endpoint", b.endpoint, "--s3-path-style",
        ])
        #expect(missing.status != 0 && missing.output.contains("does not exist"), "\(missing.output)")
        // Point the root at a missing bucket behind init's back: the push says so.
        let settings = "\(h.root)/spool.json"
        let text = try String(contentsOfFile: settings, encoding: .utf8)
        try text.replacingOccurrences(of: "\"spool\"", with: "\"no-such-bucket\"").write(
            toFile: settings, atomically: true, encoding: .utf8)
        let noBucket = try h.push(repo)
        #expect(noBucket.status != 0 && noBucket.output.contains("no-such-bucket does not exist"), "\(noBucket.output)")
        #expect(try h.serverRef() == nil)
        #expect(try b.keys().isEmpty)
    }

    /// The S3 server dies while the slug is being uploaded: the push fails with one line and no release exists.
    @Test func aServerKilledMidUploadFailsThePushAndPublishesNothing() throws {
        let b = try BucketHarness("bucket-killed")
        let h = b.push
        // About 120 MB of random bytes: a slug that takes a while to upload.
        let bp = try h.buildpack(compile: "head -c 120000000 /dev/urandom > \"$1/noise.bin\"")
        let repo = try h.makeApp(files: ["Procfile": Self.procfile, ".buildpacks": "\(bp)\n"])
        let push = try h.startPush(repo)
        let slugs = "\(h.root)/apps/myapp/slugs"
        #expect(
            waitUntil(seconds: 120) { !((try? FileManager.default.contentsOfDirectory(atPath: slugs)) ?? []).isEmpty })
        b.weed?.kill()
        let status = push.wait(timeout: 120)
        let output = push.text
        #expect(status != 0, "\(output)")
        #expect(output.contains("Cannot store the slug in \(BucketHarness.url)"), "\(output)")
        #expect(try h.serverRef() == nil)
        let ledger = (try? String(contentsOfFile: "\(h.root)/apps/myapp/releases.jsonl", encoding: .utf8)) ?? ""
        #expect(ledger.isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(h.root)/spool/outbox")) ?? []).isEmpty)
    }

    /// Killed after the ledger line, before the manifest reached the bucket: `receive-pack recover` hands it over.
    @Test func recoverPublishesWhatTheLedgerRecorded() throws {
        let b = try BucketHarness("bucket-recover")
        let h = b.push
        _ = try h.deployedApp(["Procfile": Self.procfile])
        var environment = ProcessInfo.processInfo.environment
        environment["SLIPWAY_FAILPOINTS"] = "after-ledger"
        let killed = try runTool(
            [TestPaths.product("receive-pack"), "config:set", "--root", h.root, "myapp", "GREETING=hi"],
            environment: environment, mergeOutput: true)
        #expect(killed.status != 0)
        #expect(try b.keys("releases/") == ["releases/myapp/0000000001.json"])
        let recovered = try h.receivePack(["recover"])
        #expect(recovered.status == 0 && recovered.output.contains("handed over v2"), "\(recovered.output)")
        #expect(try b.keys("releases/") == ["releases/myapp/0000000001.json", "releases/myapp/0000000002.json"])
        let again = try h.receivePack(["recover"])
        #expect(again.output.contains("Nothing to recover."), "\(again.output)")
    }

    /// SeaweedFS as a master with volume servers that keep every file twice: killing one volume server after a push
    /// leaves the release readable and runnable. Three volume servers (the server's own and two more): with only
    /// two, replication 001 has nowhere to write while one is down, so the bucket turns read-only and no runner
    /// can write its claim.
    @Test func aReleaseStaysRunnableWhenAVolumeServerDies() throws {
        let b = try BucketHarness("bucket-replicas", replicatedVolumes: 2)
        let cluster = try #require(b.cluster)
        _ = try b.push.deployedApp(["Procfile": Self.procfile])
        #expect(try b.keys("releases/") == ["releases/myapp/0000000001.json"])
        // Kill the separate volume server that holds the most: with three servers and two copies, one of the two
        // separate ones holds part of the slug.
        let victim = cluster.storedBytes(0) >= cluster.storedBytes(1) ? 0 : 1
        #expect(cluster.storedBytes(victim) > 1_000)
        cluster.killVolume(victim)

        let (runner, root, log) = try b.startRunner(
            "after-loss",
            environment: [
                "AWS_ACCESS_KEY_ID": b.accessKey, "AWS_SECRET_ACCESS_KEY": b.secretKey,
            ])
        defer { runner.terminate(grace: 30) }
        #expect(waitUntil(seconds: 120) { BucketHarness.runningVersion(root: root) == 1 }, "\(Self.read(log))")
        #expect(Self.read(log).contains("myapp v1: claimed and downloaded"))
    }

    /// An endpoint given as an IP address works without `--s3-path-style` (the only way to reach a bucket there),
    /// and a runner started on the door's own root needs no bucket flags: it reads what `receive-pack init` recorded.
    @Test func aRunnerOnTheDoorsRootReadsTheBucketThatInitRecorded() throws {
        let b = try BucketHarness("bucket-root")
        let h = b.push
        let again = try h.receivePack(["init", "--spool", BucketHarness.url, "--s3-endpoint", b.endpoint])
        #expect(again.status == 0 && again.output.contains("Releases go to \(BucketHarness.url)"), "\(again.output)")
        _ = try h.deployedApp(["Procfile": Self.procfile])

        let log = h.scratch.url("runner-root.log")
        let runner = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "none",
            ], stdout: .file(log), stderr: .file(log))
        defer { runner.terminate(grace: 30) }
        #expect(waitUntil(seconds: 90) { BucketHarness.runningVersion(root: h.root) == 1 }, "\(Self.read(log))")
        #expect(Self.read(log).contains("Watching \(BucketHarness.url)"), "\(Self.read(log))")
        #expect(try b.object("claims/myapp/0000000001.json") != nil)
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(nothing at \(path))"
    }
}
