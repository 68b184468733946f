public import Foundation

/// `release.json`: what a build produced and how to run it. Versioned; documented in `docs/release-manifest.md`
/// with its JSON Schema in `docs/schemas/release.schema.json`.
///
/// Runners must refuse a manifest whose ``schemaVersion`` they do not know.
public struct ReleaseManifest: Codable, Equatable, Sendable {
    /// The version of this format that the writer followed.
    public static let currentSchemaVersion = 1

    /// One buildpack that ran, in run order.
    public struct Buildpack: Codable, Equatable, Sendable {
        /// Where it came from: a built-in name (`python`), a local path, or a git URL with an optional `#ref`.
        public var url: String
        /// The name its `bin/detect` printed (for example `Python`).
        public var name: String

        public init(url: String, name: String) {
            self.url = url
            self.name = name
        }
    }

    /// The slug file this manifest describes.
    public struct Slug: Codable, Equatable, Sendable {
        /// The slug's file name, relative to the manifest's folder.
        public var path: String
        /// Size in bytes of the compressed file.
        public var size: Int64
        /// Hex SHA-256 of the compressed file.
        public var sha256: String
        /// The compression of the tar stream: a ``SlugCompression`` raw value, `gzip` or `zstd`. A string, so a
        /// reader can name a value it does not know instead of failing to decode the manifest.
        public var compression: String

        public init(path: String, size: Int64, sha256: String, compression: String = "gzip") {
            self.path = path
            self.size = size
            self.sha256 = sha256
            self.compression = compression
        }
    }

    public var schemaVersion: Int
    /// The app's name.
    public var app: String
    /// The stack the slug was built for (``defaultStack`` unless the build asked for another).
    public var stack: String
    /// The stack slugs are built for and runners accept when nobody names one.
    public static let defaultStack = "slipway-1"
    /// The commit the slug was built from, when known.
    public var sourceVersion: String?
    /// The buildpacks that ran, in order.
    public var buildpacks: [Buildpack]
    /// Process type name → command, after the Procfile was merged over the buildpacks' defaults.
    public var processTypes: [String: String]
    /// Config vars: the buildpacks' defaults, overridden by the app's own config when the release carries it.
    /// Empty in a signed spool manifest, which carries them in ``sealedConfigVars`` instead.
    public var configVars: [String: String]
    /// In a signed release's manifest only (``SignedRelease``): the config vars sealed to the runners' key (HPKE),
    /// base64. Absent everywhere else.
    public var sealedConfigVars: String?
    /// Add-ons the buildpacks asked for (informational).
    public var addons: [String]
    /// The slug.
    public var slug: Slug
    /// When the build finished, in ISO 8601 (UTC).
    public var createdAt: String
    /// Seconds spent in each phase: `detect`, `compile`, `release`, `pack`.
    public var timings: [String: Double]
    /// The release's version number (`v7` is 7); set by the server, absent from `slugc build`'s own manifest.
    public var version: Int?
    /// What made the release (`Deploy 1a2b3c4`, `Set GREETING config vars`, `Rollback to v3`); set by the server.
    public var description: String?
    /// Who made the release; set by the server.
    public var user: String?

    public init(
        app: String, stack: String, sourceVersion: String?, buildpacks: [Buildpack],
        processTypes: [String: String], configVars: [String: String], addons: [String], slug: Slug,
        createdAt: String, timings: [String: Double]
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.app = app
        self.stack = stack
        self.sourceVersion = sourceVersion
        self.buildpacks = buildpacks
        self.processTypes = processTypes
        self.configVars = configVars
        self.addons = addons
        self.slug = slug
        self.createdAt = createdAt
        self.timings = timings
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case app, stack
        case sourceVersion = "source_version"
        case buildpacks
        case processTypes = "process_types"
        case configVars = "config_vars"
        case sealedConfigVars = "sealed_config_vars"
        case addons, slug
        case createdAt = "created_at"
        case timings, version, description, user
    }

    /// The manifest as pretty-printed JSON with sorted keys (stable for diffs and hashing), ending in a newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0a)
        return data
    }

    /// Reads a manifest, refusing one written in a schema version this code does not know.
    public static func decode(_ data: Data) throws -> ReleaseManifest {
        try decode(data, schemaVersion: currentSchemaVersion)
    }

    /// Reads a manifest of exactly `schemaVersion` (a signed release's inner manifest is version 2).
    static func decode(_ data: Data, schemaVersion: Int) throws -> ReleaseManifest {
        let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: data)
        guard manifest.schemaVersion == schemaVersion else {
            throw ManifestVersionError(found: manifest.schemaVersion, supported: schemaVersion)
        }
        return manifest
    }
}

/// A manifest written in a schema version this reader does not understand.
public struct ManifestVersionError: Error, CustomStringConvertible, Sendable {
    public var found: Int
    public var supported: Int
    public var description: String {
        "release.json has schema_version \(found), but this reader understands version \(supported) only"
    }
}
