import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A refusal at the SSH door or in the access files: one line for the user, starting `slipway: `.
///
/// The door prints ``message`` as it is (on stderr, never stdout, which belongs to git's protocol), so every message
/// says what was wrong and, where there is one, what to do instead.
public struct DoorError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of refusal this is, for callers that react to one kind (a lost race to create an app).
    public enum Code: String, Sendable {
        /// The SSH command is not a `git push` or `git clone` the door serves.
        case notGitCommand
        /// An app or user name breaks the naming rule.
        case invalidName
        /// A public key or an authorized_keys setting cannot be used.
        case invalidKey
        /// The key is already authorized.
        case duplicateKey
        /// The user may not use the app, or the app does not exist (the same message, on purpose).
        case noAccess
        /// An app of that name exists already (another creator won).
        case appExists
        /// The app or user asked for does not exist.
        case notFound
        /// A file of the server could not be read or written.
        case storage
        /// A management command cannot be split into words (an unclosed quote, NUL, too long).
        case malformedCommand
        /// The first word is not a command the door serves.
        case unknownCommand
        /// A command got the wrong number of arguments or an option it does not take.
        case usage
        /// An argument breaks its rule: a config var name, a setting, a release version.
        case invalidValue
        /// The command cannot run now (no build to cancel, nothing to roll back to).
        case notPossible
    }

    /// The kind of refusal.
    public var code: Code
    /// The one line shown to the user, starting `slipway: `.
    public var message: String

    /// A refusal whose `message` must already start with `slipway: `.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension DoorError {
    /// `<path>: <strerror(errno)>` as a storage error, for a failed system call.
    static func storage(_ what: String, _ path: String, errno code: Int32) -> DoorError {
        DoorError(.storage, "slipway: cannot \(what) \(path): \(String(cString: strerror(code)))")
    }
}
