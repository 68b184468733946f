#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a spool operation failed: one line that names the path and says what to do.
public struct SpoolError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for callers that react differently (a runner skips ``notPending``).
    public enum Code: Sendable, Equatable {
        /// A system call failed; ``SpoolError/errorNumber`` holds its error number.
        case system
        /// The spool's folders are missing: `prepare()` (or `receive-pack setup`) has not run on this folder.
        case notPrepared
        /// An entry name is not a single plain file name.
        case invalidName
        /// An entry with this name is already in `new/` or `cur/` (or being written in `tmp/`).
        case entryExists
        /// The entry is no longer in `new/`: another runner claimed it, or it never existed.
        case notPending
        /// The slug file to publish does not exist.
        case slugMissing
        /// `release.json` is missing, unreadable, or not a manifest this code can use.
        case invalidManifest
        /// `release.json` is not a release the door signed, or its config vars do not open with the runner's key;
        /// the description completes `v3 refused: ` (``ReleaseRefusal``).
        case refusedSignature
        /// `slug.tgz` does not match the size or SHA-256 that `release.json` records.
        case slugMismatch
        /// An app's `dynos.json` (``DynoSettings``) is unreadable or holds values out of range.
        case invalidSettings
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file or folder concerned.
    public var path: String
    /// The system error number, for ``Code/system`` (and for codes detected through one, such as ``Code/notPending``).
    public var errorNumber: Int32?
    /// The message: what happened to which path, and what to do.
    public var description: String

    init(_ code: Code, path: String, errorNumber: Int32? = nil, _ description: String) {
        self.code = code
        self.path = path
        self.errorNumber = errorNumber
        self.description = description
    }

    /// A failed system call: `function` failed on `path` with `number`; `fix` says what to do.
    static func system(_ function: String, path: String, errno number: Int32, fix: String? = nil) -> SpoolError {
        let reason = String(cString: strerror(number))
        let advice = fix ?? Self.advice(for: number)
        return SpoolError(
            .system, path: path, errorNumber: number,
            "spool: \(function) \(path) failed: \(reason)" + (advice.isEmpty ? "" : "; \(advice)"))
    }

    /// A generic next step for common error numbers.
    private static func advice(for number: Int32) -> String {
        switch number {
        case EACCES, EPERM: "check the owner and mode of the spool folders (the server and runners share them)"
        case ENOSPC, EDQUOT: "free some disk space and publish again"
        case EROFS: "the spool must be on a writable file system"
        case ENOENT: "check that the path exists"
        case ENAMETOOLONG: "use a shorter spool path or entry name"
        default: ""
        }
    }
}
