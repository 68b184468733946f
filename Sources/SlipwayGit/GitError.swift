import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure in the git layer: a libgit2 call, a system call made while exporting a tree, or a refused tree entry.
///
/// The description reads like `git_clone failed: <libgit2 message>`, so it can be shown to a user as is.
public struct GitError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, which tells how to read ``returnCode``.
    public enum Kind: Sendable, Equatable {
        /// A libgit2 function failed; ``GitError/returnCode`` is its (negative) return code, such as -3 for
        /// "not found".
        case library
        /// A system call failed; ``GitError/returnCode`` is `errno`.
        case system
        /// A tree entry was refused because writing it could escape or corrupt the export directory.
        case unsafeTreeEntry
        /// The caller passed something unusable, such as a non-empty export directory.
        case invalidArgument
        /// The tree is larger than an ``ExportLimits`` allows (files, path length, depth, bytes).
        case limitExceeded
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// The function that failed, for example `git_clone` or `openat`.
    public var function: String
    /// The libgit2 return code for ``Kind/library``, `errno` for ``Kind/system``, otherwise -1.
    public var returnCode: Int32
    /// The library's own message (`git_error_last()`), or a message naming the path or reference concerned.
    public var message: String

    /// Creates an error from its parts.
    public init(kind: Kind, function: String, returnCode: Int32, message: String) {
        self.kind = kind
        self.function = function
        self.returnCode = returnCode
        self.message = message
    }

    /// Whether libgit2 reported that the thing asked for does not exist (`GIT_ENOTFOUND`).
    public var isNotFound: Bool { kind == .library && returnCode == GIT_ENOTFOUND.rawValue }

    /// `<function> failed: <message>`.
    public var description: String { "\(function) failed: \(message)" }
}

extension GitError {
    /// Builds an error from libgit2's thread-local last error. Call it on the first line after the failing call,
    /// before anything else can touch libgit2 on this thread.
    static func library(_ function: String, _ code: Int32, subject: String? = nil) -> GitError {
        var message: String
        if let last = git_error_last(), let text = last.pointee.message {
            message = String(cString: text)
        } else {
            message = "unknown error (code \(code))"
        }
        // Most libgit2 messages already name the path or ref; add it when they do not, so the user can act on it.
        if let subject, !message.contains(subject) {
            message += " ('\(subject)')"
        }
        return GitError(kind: .library, function: function, returnCode: code, message: message)
    }

    /// Builds an error from `errno` for a system call made on `path`.
    static func system(_ function: String, _ errnoValue: Int32, path: String) -> GitError {
        let reason = String(cString: strerror(errnoValue))
        return GitError(kind: .system, function: function, returnCode: errnoValue, message: "\(path): \(reason)")
    }
}

/// Throws a ``GitError`` when a libgit2 call returned a negative code; returns the code otherwise.
///
/// Use it around the call itself, `try check(git_x(...), "git_x")`, so the error is captured before any other
/// libgit2 call can replace `git_error_last()`.
@discardableResult
func check(_ code: Int32, _ function: String, subject: String? = nil) throws(GitError) -> Int32 {
    if code < 0 { throw GitError.library(function, code, subject: subject) }
    return code
}
