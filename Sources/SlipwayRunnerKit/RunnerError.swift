#if canImport(Glibc)
    import Glibc
#endif

/// Why a slugrunner command failed: one line that names the problem and what to do.
public struct RunnerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        /// A command-line value is malformed (an app name, a formation, a port).
        case usage
        /// The release, entry, app or file asked for does not exist.
        case notFound
        /// A release failed its checks (manifest, stack, slug size or SHA-256) and must not run.
        case refused
        /// The slug could not be unpacked.
        case unpack
        /// Another `slugrunner watch` holds the root's lock.
        case locked
        /// A process could not be started.
        case spawn
        /// A system call failed.
        case system
        /// Dynos cannot be confined as asked (no working bubblewrap, a user that cannot reach its files).
        case sandbox
        /// A dyno's disk cannot be made, or the server's disk is under the operator's reserve.
        case disk
    }

    /// What kind of failure this is.
    public var code: Code
    /// The message shown to the user.
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// A failed system call on `path`.
    public static func system(_ function: String, _ path: String, errno number: Int32) -> RunnerError {
        RunnerError(.system, "slugrunner: \(function) \(path) failed: \(String(cString: strerror(number)))")
    }
}
