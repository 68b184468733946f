import Crypto
public import Foundation

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as a pure function of a request's parts: the canonical request,
/// the string to sign, the signature and the `Authorization` header. No clock and no I/O, so it is tested against
/// AWS's published test suite. See
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
public struct SigV4: Sendable {
    /// The keys that sign.
    public var credentials: S3Credentials
    /// `us-east-1` for most S3-compatible servers.
    public var region: String
    /// `s3`.
    public var service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request to sign. `path` is already URI-encoded as it goes on the wire (S3 encodes each segment once).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Query parameters, not encoded; order does not matter.
        public var query: [(name: String, value: String)]
        /// Headers to sign, `host` among them. Names in any case.
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)], payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The SHA-256 of nothing, the payload hash of a request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// `20150830T123600Z`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// The canonical query string: each name and value encoded, sorted by name then value, joined with `&`.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(String, String)] = query.map { (uriEncode($0.name), uriEncode($0.value)) }
        let sorted = encoded.sorted { left, right in left.0 == right.0 ? left.1 < right.1 : left.0 < right.0 }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Header names in lowercase, sorted, with values trimmed and inner runs of spaces folded into one.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(String, String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let folded = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(folded)
        }
        return merged.map { ($0.key, $0.value.joined(separator: ",")) }.sorted { $0.0 < $1.0 }
    }

    /// `host;x-amz-date`.
    public static func signedHeaders(_ request: Request) -> String {
        canonicalHeaders(request.headers).map(\.0).joined(separator: ";")
    }

    /// Step 1: the canonical request.
    public static func canonicalRequest(_ request: Request) -> String {
        let headers = canonicalHeaders(request.headers)
        return [
            request.method,
            request.path.isEmpty ? "/" : request.path,
            canonicalQuery(request.query),
            headers.map { "\($0.0):\($0.1)\n" }.joined(),
            headers.map(\.0).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// `20150830/us-east-1/service/aws4_request`.
    public func scope(timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// Step 2: the string to sign.
    public func stringToSign(_ request: Request, timestamp: String) -> String {
        [
            "AWS4-HMAC-SHA256", timestamp, scope(timestamp: timestamp),
            Self.hex(SHA256.hash(data: Data(Self.canonicalRequest(request).utf8))),
        ].joined(separator: "\n")
    }

    /// Step 3: the signature, lowercase hex.
    public func signature(_ request: Request, timestamp: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(timestamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let code = HMAC<SHA256>.authenticationCode(
            for: Data(stringToSign(request, timestamp: timestamp).utf8), using: key)
        return Self.hex(code)
    }

    /// The `Authorization` header's value.
    public func authorization(_ request: Request, timestamp: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(timestamp: timestamp)), "
            + "SignedHeaders=\(Self.signedHeaders(request)), Signature=\(signature(request, timestamp: timestamp))"
    }

    /// RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`, and `/` too unless
    /// `keepSlash` (object keys in a path).
    public static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Lowercase hex of a digest or MAC.
    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hex(_ digest: SHA256.Digest) -> String { hex(Array(digest)) }
    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String { hex(Array(code)) }
}
