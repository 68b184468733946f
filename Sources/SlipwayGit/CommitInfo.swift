import CGit2

/// What the pipeline needs to know about one commit.
public struct CommitInfo: Sendable, Equatable {
    /// The full object id, 40 lowercase hex digits.
    public var sha: String
    /// The committer time, in seconds since the epoch.
    public var time: Int64
    /// The first paragraph of the message, on one line (`git log --format=%s`).
    public var summary: String
    /// The author's name.
    public var authorName: String

    /// Creates a value from its parts.
    public init(sha: String, time: Int64, summary: String, authorName: String) {
        self.sha = sha
        self.time = time
        self.summary = summary
        self.authorName = authorName
    }

    /// The first seven hex digits of ``sha``, as git shows them.
    public var shortSha: String { String(sha.prefix(7)) }
}

extension CommitInfo {
    /// Reads a commit's fields. `commit` is borrowed: the caller keeps it and frees it.
    init(commit: OpaquePointer) {
        let summary = git_commit_summary(commit).map { String(cString: $0) } ?? ""
        let authorName = git_commit_author(commit).flatMap { $0.pointee.name }.map { String(cString: $0) } ?? ""
        self.init(
            sha: hexString(git_commit_id(commit)),
            time: Int64(git_commit_time(commit)),
            summary: summary,
            authorName: authorName)
    }
}

/// The 40-digit hex form of an object id.
func hexString(_ oid: UnsafePointer<git_oid>?) -> String {
    guard let oid else { return "" }
    // git_oid_fmt writes exactly 40 digits and no terminating NUL.
    var buffer = [UInt8](repeating: 0, count: Int(GIT_OID_HEXSZ))
    let code = buffer.withUnsafeMutableBytes { git_oid_fmt($0.baseAddress?.assumingMemoryBound(to: CChar.self), oid) }
    return code == 0 ? String(decoding: buffer, as: UTF8.self) : ""
}
