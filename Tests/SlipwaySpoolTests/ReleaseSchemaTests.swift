import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// `docs/schemas/release.schema.json` must describe exactly what ``ReleaseManifest`` writes and reads.
@Suite struct ReleaseSchemaTests {
    static let schemaPath = "\(TestPaths.repositoryRoot)/docs/schemas/release.schema.json"

    /// Whether `python3` can import `jsonschema` with draft 2020-12 support.
    static let pythonHasJSONSchema: Bool = {
        guard let python = which("python3") else { return false }
        let result = try? runTool([python, "-c", "from jsonschema import Draft202012Validator"], timeout: 60)
        return result?.status == 0
    }()

    func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.schemaPath))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The top-level keys of `manifest` as `encoded()` writes them, with those of `slug` and of one buildpack.
    func keys(of manifest: ReleaseManifest) throws -> (top: Set<String>, slug: Set<String>, buildpack: Set<String>) {
        let object = try #require(try JSONSerialization.jsonObject(with: manifest.encoded()) as? [String: Any])
        let slug = try #require(object["slug"] as? [String: Any])
        let buildpack = try #require((object["buildpacks"] as? [[String: Any]])?.first)
        return (Set(object.keys), Set(slug.keys), Set(buildpack.keys))
    }

    /// A manifest as `slugc build` writes it: no server fields, no commit.
    func minimal() -> ReleaseManifest {
        ReleaseManifest(
            app: "myapp", stack: "slipway-1", sourceVersion: nil, buildpacks: [.init(url: "python", name: "Python")],
            processTypes: ["web": "gunicorn app:app"], configVars: [:], addons: ["heroku-postgresql"],
            slug: .init(path: "slug.tgz", size: 1234, sha256: String(repeating: "ab", count: 32)),
            createdAt: "2026-01-02T03:04:05Z", timings: ["detect": 0.1, "compile": 1, "release": 0.1, "pack": 0.2])
    }

    /// A manifest as the server puts it in the spool: every field set.
    func full() -> ReleaseManifest {
        var manifest = minimal()
        manifest.sourceVersion = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
        manifest.version = 3
        manifest.description = "Deploy 1a2b3c4"
        manifest.user = "alice"
        return manifest
    }

    @Test func requiredAndOptionalKeysMatchTheSwiftType() throws {
        let schema = try schema()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let required = Set(try #require(schema["required"] as? [String]))
        let properties = Set(try #require(schema["properties"] as? [String: Any]).keys)
        let minimalKeys = try keys(of: minimal())
        let fullKeys = try keys(of: full())

        #expect(required == minimalKeys.top, "required = what encoded() always writes")
        #expect(properties == fullKeys.top, "properties = every key encoded() can write")
        #expect(properties.subtracting(required) == ["source_version", "version", "description", "user"])
        #expect(schema["additionalProperties"] as? Bool == true, "unknown keys allowed for forward compatibility")

        let defs = try #require(schema["$defs"] as? [String: [String: Any]])
        for (name, expected) in [("slug", fullKeys.slug), ("buildpack", fullKeys.buildpack)] {
            let def = try #require(defs[name])
            #expect(Set(def["required"] as? [String] ?? []) == expected, "\(name) required keys")
            #expect(Set((def["properties"] as? [String: Any] ?? [:]).keys) == expected, "\(name) properties")
        }
        let version = try #require((schema["properties"] as? [String: Any])?["schema_version"] as? [String: Any])
        #expect(version["const"] as? Int == ReleaseManifest.currentSchemaVersion)
    }

    @Test(.enabled(if: pythonHasJSONSchema, "python3 with jsonschema >= 4 is not installed: schema validation not run"))
    func realManifestsValidateAndBrokenOnesDoNot() throws {
        let scratch = try ScratchDirectory("schema")
        // A real spool entry's manifest, written by publish (signed), as a runner opens it.
        let fixture = try SpoolFixture("schema-spool")
        let entry = try fixture.spool.claim(try fixture.publish())
        let opened = try fixture.spool.read(entryAt: entry, key: fixture.runnerKey).0
        let published = String(decoding: try opened.encoded(), as: UTF8.self)

        func edited(_ change: (inout [String: Any]) -> Void) throws -> String {
            var object = try #require(try JSONSerialization.jsonObject(with: full().encoded()) as? [String: Any])
            change(&object)
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let valid: [String: String] = [
            "published": published,
            "minimal": String(decoding: try minimal().encoded(), as: UTF8.self),
            "full": String(decoding: try full().encoded(), as: UTF8.self),
            "future-field": try edited { $0["runtime_hints"] = ["anything": true] },
            "null-optional": try edited { $0["source_version"] = NSNull() },
            "zstd": try edited {
                $0["slug"] = [
                    "path": "slug.tar.zst", "size": 1, "sha256": String(repeating: "0", count: 64),
                    "compression": "zstd",
                ]
            },
        ]
        let invalid: [String: String] = [
            "no-app": try edited { $0["app"] = nil },
            "no-slug": try edited { $0["slug"] = nil },
            "schema-2": try edited { $0["schema_version"] = 2 },
            "bad-sha": try edited {
                $0["slug"] = ["path": "slug.tgz", "size": 1, "sha256": "xyz", "compression": "gzip"]
            },
            "bad-size": try edited {
                $0["slug"] = [
                    "path": "slug.tgz", "size": "1", "sha256": String(repeating: "0", count: 64), "compression": "gzip",
                ]
            },
            "bad-compression": try edited {
                $0["slug"] = [
                    "path": "slug.tar.xz", "size": 1, "sha256": String(repeating: "0", count: 64), "compression": "xz",
                ]
            },
            "bad-config": try edited { $0["config_vars"] = ["PORT": 5000] },
            "bad-version": try edited { $0["version"] = "v3" },
        ]
        for (name, text) in valid.merging(invalid, uniquingKeysWith: { a, _ in a }) {
            try scratch.write("\(name).json", text)
        }
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            schema = json.load(open(sys.argv[1]))
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema)
            for path in sys.argv[2:]:
                errors = list(validator.iter_errors(json.load(open(path))))
                print(path.rsplit("/", 1)[-1], "valid" if not errors else "invalid: " + errors[0].message)
            """
        let files = (Array(valid.keys) + Array(invalid.keys)).sorted().map { scratch.url("\($0).json") }
        let result = try runTool([try #require(which("python3")), "-c", script, Self.schemaPath] + files, timeout: 60)
        try #require(result.status == 0, "\(result.stderr)")
        var verdicts: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            verdicts[String(parts[0]).replacingOccurrences(of: ".json", with: "")] = String(parts[1])
        }
        for name in valid.keys { #expect(verdicts[name] == "valid", "\(name): \(verdicts[name] ?? "no verdict")") }
        for name in invalid.keys {
            #expect(verdicts[name]?.hasPrefix("invalid") == true, "\(name): \(verdicts[name] ?? "no verdict")")
        }
    }
}
