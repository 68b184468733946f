import Foundation
import SlipwaySpool
import Testing

@Suite struct ManifestTests {
    func sample() -> ReleaseManifest {
        ReleaseManifest(
            app: "demo", stack: "slipway-1", sourceVersion: "abc", buildpacks: [.init(url: "python", name: "Python")],
            processTypes: ["web": "gunicorn app:application"], configVars: ["A": "1"], addons: [],
            slug: .init(path: "slug.tgz", size: 10, sha256: String(repeating: "0", count: 64)),
            createdAt: "2026-01-01T00:00:00Z", timings: ["pack": 0.5])
    }

    @Test func roundTripsWithSnakeCaseKeys() throws {
        let data = try sample().encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"schema_version\" : 1"))
        #expect(text.contains("\"process_types\""))
        #expect(text.contains("\"source_version\" : \"abc\""))
        #expect(try ReleaseManifest.decode(data) == sample())
    }

    @Test func refusesAnUnknownSchemaVersion() throws {
        var manifest = sample()
        manifest.schemaVersion = 99
        #expect(throws: ManifestVersionError.self) { try ReleaseManifest.decode(try manifest.encoded()) }
    }
}
