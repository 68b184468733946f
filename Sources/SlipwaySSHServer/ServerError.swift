import Foundation

/// Why the built-in server could not start or go on: one line that names the problem and the fix.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }

    /// A failed system call on `path`, with the system's message.
    static func system(_ what: String, _ path: String) -> ServerError {
        ServerError("cannot \(what) \(path): \(String(cString: strerror(errno)))")
    }
}
