public import SlipwayHTTP

extension Blocking {
    /// Makes a client for `location` and runs `body` with it, from synchronous code.
    public static func withClient<T: Sendable>(
        _ location: S3Location, _ credentials: S3Credentials, _ body: @escaping @Sendable (S3Client) async throws -> T
    ) throws -> T {
        try run { try await body(S3Client(location: location, credentials: credentials)) }
    }
}
