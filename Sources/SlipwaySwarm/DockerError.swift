/// Why a call of the Docker Engine API failed: one line that names the problem and what to do.
public struct DockerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        /// The engine's address is not one this runner can use.
        case usage
        /// The engine answered 404: the service, task or image asked for does not exist.
        case notFound
        /// The engine answered with another error status (its own message is in the description).
        case refused
        /// The engine could not be reached at all.
        case unreachable
    }

    /// What kind of failure this is.
    public var code: Code
    /// The message shown to the user.
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
