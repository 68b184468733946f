/// The spool in an S3 bucket (docs/spool.md, "The spool in object storage"): the keys, relative to the spool's
/// prefix. Pure names, shared by the server, which writes them, and runners, which read and claim them.
///
/// ```
/// <prefix>/slugs/<app>/<sha256>.tgz           the slug, immutable, named by its SHA-256, uploaded first
/// <prefix>/releases/<app>/<version>.json      release.json, written last and once: the commit point
/// <prefix>/claims/<app>/<version>.json        a runner's claim, written once: the runner that wrote it runs it
/// ```
///
/// `<version>` is zero-padded to 10 digits, so listing `releases/<app>/` (keys come back in byte order) gives the
/// app's releases in version order.
public enum BucketLayout {
    /// Digits of a version in a key.
    public static let versionDigits = 10

    /// `slugs/<app>/<sha256>.tgz`.
    public static func slugKey(app: String, sha256: String) -> String { "slugs/\(app)/\(sha256).tgz" }

    /// `releases/`: every app's manifests.
    public static let releasesPrefix = "releases/"

    /// `releases/<app>/`.
    public static func releasesPrefix(app: String) -> String { "releases/\(app)/" }

    /// `releases/<app>/<version>.json`.
    public static func manifestKey(app: String, version: Int) -> String {
        "releases/\(app)/\(padded(version)).json"
    }

    /// `claims/<app>/<version>.json`.
    public static func claimKey(app: String, version: Int) -> String { "claims/\(app)/\(padded(version)).json" }

    /// The app and version of a manifest key (`releases/<app>/<version>.json`), nil for any other key.
    public static func parseManifestKey(_ key: String) -> (app: String, version: Int)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "releases", parts[2].hasSuffix(".json") else { return nil }
        let digits = parts[2].dropLast(5)
        guard digits.count == versionDigits, digits.allSatisfy(\.isASCII), let version = Int(digits), version > 0
        else { return nil }
        return (String(parts[1]), version)
    }

    /// `0000000007`.
    static func padded(_ version: Int) -> String {
        let text = String(version)
        return String(repeating: "0", count: max(0, versionDigits - text.count)) + text
    }
}
