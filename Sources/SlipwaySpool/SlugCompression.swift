/// How a slug's tar stream is compressed: the value of `slug.compression` in `release.json`.
public enum SlugCompression: String, CaseIterable, Codable, Sendable {
    /// gzip (deflate), which every Heroku-style runner reads. The default, and the only one a spool entry holds.
    case gzip
    /// zstd, for runners that read it: several times faster to pack and to unpack, and smaller.
    case zstd

    /// The slug's file name: `slug.tgz` or `slug.tar.zst`.
    public var slugFileName: String {
        switch self {
        case .gzip: "slug.tgz"
        case .zstd: "slug.tar.zst"
        }
    }
}
