import Foundation

/// A failed system call: what it was doing, on which path or object, and `errno`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `write`, `replace`, `create`, `fsync`, `pipe2`…
    public var operation: String
    /// The path (or other object) it was done to; empty when there is none.
    public var path: String
    public var errno: Int32

    public init(_ operation: String, _ path: String = "", errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// `cannot fsync /srv/x: No space left on device`.
    public var description: String {
        let reason = String(cString: strerror(errno))
        return path.isEmpty ? "cannot \(operation): \(reason)" : "cannot \(operation) \(path): \(reason)"
    }
}
