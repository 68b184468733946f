public import Foundation

extension SigV4 {
    /// The longest a presigned URL may stay valid: 7 days, as S3 allows.
    public static let maximumExpiry = 604_800

    /// The query of a presigned request (SigV4 in the query string, `UNSIGNED-PAYLOAD`, only `host` signed): anyone
    /// holding the URL may send `method` to `path` on `host` until `expires` seconds after `timestamp`, and nothing
    /// else. The signature is the last item.
    public func presignedQuery(
        method: String, path: String, host: String, timestamp: String, expires seconds: Int
    ) -> [(name: String, value: String)] {
        var query: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(timestamp: timestamp))"),
            ("X-Amz-Date", timestamp),
            ("X-Amz-Expires", String(min(max(1, seconds), Self.maximumExpiry))),
            ("X-Amz-SignedHeaders", "host"),
        ]
        let request = Request(
            method: method, path: path, query: query, headers: [("host", host)], payloadHash: "UNSIGNED-PAYLOAD")
        query.append(("X-Amz-Signature", signature(request, timestamp: timestamp)))
        return query
    }
}

extension S3Location {
    /// A URL that lets whoever holds it `GET` the object at `key` (under the prefix) without credentials, for
    /// `expires` (at most 7 days) from `now`. Made here, without asking the server.
    public func presignedURL(
        get key: String, credentials: S3Credentials, expires: Duration, now: Date = Date()
    ) -> String {
        let (base, host, path) = address(key: key)
        let query = SigV4(credentials: credentials, region: region).presignedQuery(
            method: "GET", path: path, host: host, timestamp: SigV4.timestamp(now),
            expires: Int(expires.components.seconds))
        return base + path + "?" + SigV4.canonicalQuery(query)
    }

    /// The URL's start (scheme and authority), the `Host` header and the encoded path of `key`.
    func address(key: String?) -> (base: String, host: String, path: String) {
        let scheme = endpoint.hasPrefix("https://") ? "https://" : "http://"
        let authority = String(endpoint.dropFirst(scheme.count))
        let encodedKey = key.map { SigV4.uriEncode(self.key($0), keepSlash: true) }
        if pathStyle {
            return (scheme + authority, authority, "/\(bucket)" + (encodedKey.map { "/\($0)" } ?? ""))
        }
        let host = "\(bucket).\(authority)"
        return (scheme + host, host, "/" + (encodedKey ?? ""))
    }
}
