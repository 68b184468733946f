/// Where a spool lives in object storage: `s3://bucket/prefix`, and the server that holds it.
public struct S3Location: Sendable, Equatable, Codable {
    /// The bucket's name.
    public var bucket: String
    /// The key prefix, without leading or trailing `/` (may be empty).
    public var prefix: String
    /// `https://s3.example.com` or `http://127.0.0.1:8333`: scheme, host and port.
    public var endpoint: String
    /// The signing region (`us-east-1` unless the server needs another).
    public var region: String
    /// Whether the bucket goes in the path (`endpoint/bucket/key`) rather than in the host name
    /// (`bucket.endpoint/key`). Most self-hosted servers want path-style.
    public var pathStyle: Bool

    public init(bucket: String, prefix: String, endpoint: String, region: String = "us-east-1", pathStyle: Bool) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
    }

    /// Parses `s3://bucket/optional/prefix` and checks the endpoint (`http://` or `https://`, no path).
    public init(url: String, endpoint: String, region: String = "us-east-1", pathStyle: Bool) throws {
        guard url.hasPrefix("s3://") else {
            throw ObjectStoreError(.badLocation, "the spool '\(url)' is not an s3:// URL (s3://bucket/prefix)")
        }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard Self.isValidBucket(bucket) else {
            throw ObjectStoreError(
                .badLocation,
                "'\(bucket)' is not a bucket name: 3 to 63 of a-z, 0-9, '.' and '-', starting with a letter or digit")
        }
        let prefix = rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
        guard !prefix.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw ObjectStoreError(.badLocation, "the prefix '\(prefix)' may not hold '.' or '..' segments")
        }
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        guard trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://"),
            !trimmed.split(separator: "/", omittingEmptySubsequences: true).dropFirst(2).contains(where: { _ in true }),
            trimmed.split(separator: "/").count >= 2
        else {
            throw ObjectStoreError(
                .badLocation, "the S3 endpoint '\(endpoint)' must be http(s)://host[:port] (--s3-endpoint)")
        }
        // A bucket cannot be a host name under an IP address: the AWS SDKs switch to path-style there, and so does
        // this (as for a bucket name with dots, which no TLS certificate of the endpoint's covers).
        let pathStyle = pathStyle || Self.hostIsAnAddress(trimmed) || bucket.contains(".")
        self.init(bucket: bucket, prefix: prefix, endpoint: trimmed, region: region, pathStyle: pathStyle)
    }

    /// Whether the endpoint's host is an IPv4 or IPv6 address rather than a name.
    static func hostIsAnAddress(_ endpoint: String) -> Bool {
        let authority = endpoint.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? ""
        if authority.hasPrefix("[") { return true }
        let host = authority.split(separator: ":").first ?? ""
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part).map { _ in !part.isEmpty } ?? false }
    }

    /// `s3://bucket/prefix`.
    public var url: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The full key of `relative` under the prefix.
    public func key(_ relative: String) -> String { prefix.isEmpty ? relative : "\(prefix)/\(relative)" }

    static func isValidBucket(_ name: String) -> Bool {
        (3...63).contains(name.count)
            && name.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
            }
            && name.first.map { $0.isLetter || $0.isNumber } == true
    }
}
