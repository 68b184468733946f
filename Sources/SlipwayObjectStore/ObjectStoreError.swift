/// What went wrong talking to an S3-compatible server, in one line a user can act on. Never holds a secret.
public struct ObjectStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No credentials, or a credentials file others can read.
        case credentials
        /// The server refused the keys or the signature (wrong secret, unknown key, no permission).
        case accessDenied
        /// The bucket does not exist.
        case noSuchBucket
        /// The object does not exist.
        case notFound
        /// A create-only write found the object already there (`If-None-Match: *`).
        case alreadyExists
        /// The server could not be reached, or kept failing after the retries.
        case unreachable
        /// The server answered with an error that retrying does not cure.
        case server
        /// What was read does not match its SHA-256 or size.
        case digestMismatch
        /// A spool URL or endpoint that cannot be used.
        case badLocation
    }

    public let code: Code
    public let message: String

    /// Whether trying again may succeed (the server answered 5xx, 429 or `SlowDown`).
    public let isTransient: Bool

    public init(_ code: Code, _ message: String, transient: Bool = false) {
        self.code = code
        self.message = message
        self.isTransient = transient
    }

    public var description: String { message }
}
