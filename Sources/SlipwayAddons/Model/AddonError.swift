/// Why an add-on command or provider failed: one line in the user's terms with the fix, never a server path.
public struct AddonError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure it is, so a door can map it to its own exit codes.
    public enum Code: Sendable, Equatable {
        /// A name, kind or option the user gave does not follow the rules.
        case invalidValue
        /// No such add-on (or one the user may not see).
        case notFound
        /// The name is taken, or the config var is in use.
        case taken
        /// A destructive command without its confirmation.
        case confirmation
        /// The service's server cannot be reached or started.
        case serverDown
        /// The service refused or failed the operation.
        case failed
    }

    public var code: Code
    /// One line, without the `slipway: ` prefix the door adds.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
