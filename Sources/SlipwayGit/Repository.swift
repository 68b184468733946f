import CGit2

/// A git repository opened with libgit2.
///
/// The instance owns its `git_repository` handle and frees it when released. It is not `Sendable`: libgit2
/// objects must not be used from two threads at once, so keep a `Repository` within one task.
public final class Repository {
    /// The `git_repository*`; owned by this instance alone.
    let handle: OpaquePointer
    /// How the repository was opened, so ``Origin/open()`` can give another thread a handle of its own.
    let origin: Origin

    /// How to open the same repository again, with the same view of its objects.
    enum Origin: Sendable {
        /// `git_repository_open` of a path.
        case path(String)
        /// `git_repository_open_ext` with `GIT_REPOSITORY_OPEN_FROM_ENV` (the hook's quarantine included).
        case environment(String?)

        /// Opens a new handle on the repository.
        func open() throws -> Repository {
            switch self {
            case .path(let path): try Repository.open(at: path)
            case .environment(let path): try Repository.openFromEnvironment(at: path)
            }
        }
    }

    private init(handle: OpaquePointer, origin: Origin) {
        self.handle = handle
        self.origin = origin
    }

    deinit {
        git_repository_free(handle)
    }

    /// Opens the repository at `path`: a bare repository, a `.git` folder, or a working tree that contains one.
    ///
    /// No environment variable is consulted and no parent folder is searched.
    public static func open(at path: String) throws -> Repository {
        try LibGit2.ready()
        var repo: OpaquePointer?
        try check(git_repository_open(&repo, path), "git_repository_open", subject: path)
        return try Repository(owning: repo, "git_repository_open", origin: .path(path))
    }

    /// Opens a repository the way the git command-line tools do inside a hook, honouring git's environment.
    ///
    /// Use this in a `pre-receive` hook: `git receive-pack` keeps pushed objects in a quarantine folder until the
    /// hook accepts them, and tells the hook where they are through `GIT_OBJECT_DIRECTORY` (the quarantine) and
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES` (the repository's own objects). A plain ``open(at:)`` would not see the
    /// pushed commits.
    ///
    /// How `path` and the environment interact (libgit2's `GIT_REPOSITORY_OPEN_FROM_ENV`):
    /// - With a `path`, `GIT_DIR` is **ignored**; the repository is searched for from `path` upwards, stopping at
    ///   `GIT_CEILING_DIRECTORIES` and, unless `GIT_DISCOVERY_ACROSS_FILESYSTEM` is set, at a filesystem boundary.
    /// - With `path` nil, `GIT_DIR` names the repository exactly (no search); without `GIT_DIR`, the search starts
    ///   from the current directory. A hook runs with its current directory in the repository and `GIT_DIR` set,
    ///   so either form works there.
    /// - Either way, `GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES` (split on `:`; git's quoting of
    ///   paths containing `:` or `"` is not understood), `GIT_INDEX_FILE` and `GIT_NAMESPACE` apply.
    /// - `GIT_WORK_TREE` and `GIT_COMMON_DIR` are not supported: if either is set, opening fails.
    public static func openFromEnvironment(at path: String? = nil) throws -> Repository {
        try LibGit2.ready()
        var repo: OpaquePointer?
        // With FROM_ENV libgit2 ignores the other flags and the ceiling argument.
        try check(
            git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_FROM_ENV.rawValue, nil),
            "git_repository_open_ext", subject: path ?? "$GIT_DIR")
        return try Repository(owning: repo, "git_repository_open_ext", origin: .environment(path))
    }

    /// Creates a bare repository at `path`, making missing parent folders; on an existing repository it only
    /// re-initialises (nothing is lost), so calling it twice is safe.
    ///
    /// `HEAD` points at the branch named by `init.defaultBranch` in the user's or system git configuration,
    /// `master` when that is not set.
    public static func initBare(at path: String) throws -> Repository {
        try LibGit2.ready()
        var repo: OpaquePointer?
        try check(git_repository_init(&repo, path, 1), "git_repository_init", subject: path)
        return try Repository(owning: repo, "git_repository_init", origin: .path(path))
    }

    /// Wraps a handle a libgit2 constructor just returned.
    convenience init(owning handle: OpaquePointer?, _ function: String, origin: Origin) throws {
        guard let handle else {
            throw GitError(kind: .library, function: function, returnCode: -1, message: "returned no repository")
        }
        self.init(handle: handle, origin: origin)
    }

    /// The repository's git folder (for a bare repository, the repository itself), absolute, without a trailing
    /// slash.
    public var path: String {
        guard let raw = git_repository_path(handle) else { return "" }
        var text = String(cString: raw)
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// Whether the repository has no working tree.
    public var isBare: Bool { git_repository_is_bare(handle) == 1 }

    // MARK: Commits

    /// The commit that `revision` names: anything `git rev-parse` understands (a sha, short or full, a branch,
    /// a tag, `HEAD~2`...), peeled to a commit.
    public func commit(_ revision: String) throws -> CommitInfo {
        let commit = try lookupCommit(revision)
        defer { git_commit_free(commit) }
        return CommitInfo(commit: commit)
    }

    /// The commit `HEAD` points at, or nil when `HEAD` is unborn (a new repository, or a branch with no commits).
    public func headCommit() throws -> CommitInfo? {
        var ref: OpaquePointer?
        let code = git_repository_head(&ref, handle)
        if code == GIT_EUNBORNBRANCH.rawValue || code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "git_repository_head", subject: "HEAD")
        defer { git_reference_free(ref) }
        var object: OpaquePointer?
        try check(git_reference_peel(&object, ref, GIT_OBJECT_COMMIT), "git_reference_peel", subject: "HEAD")
        defer { git_object_free(object) }
        guard let object else { return nil }
        return CommitInfo(commit: object)
    }

    /// Resolves `revision` and peels it to a commit. The caller owns the result and frees it with
    /// `git_commit_free`.
    func lookupCommit(_ revision: String) throws -> OpaquePointer {
        try lookupObject(revision, peeledTo: GIT_OBJECT_COMMIT)
    }

    /// Resolves `revision` and peels it to an object of `type`. The caller owns the result and frees it with
    /// `git_object_free` (a commit or tree handle is a `git_object` too).
    func lookupObject(_ revision: String, peeledTo type: git_object_t) throws -> OpaquePointer {
        var object: OpaquePointer?
        try check(git_revparse_single(&object, handle, revision), "git_revparse_single", subject: revision)
        defer { git_object_free(object) }
        var peeled: OpaquePointer?
        try check(git_object_peel(&peeled, object, type), "git_object_peel", subject: revision)
        guard let peeled else {
            throw GitError(
                kind: .library, function: "git_object_peel", returnCode: -1, message: "no object for '\(revision)'")
        }
        return peeled
    }

    /// Points `HEAD` at `reference` (for example `refs/heads/main`), which need not exist yet: `HEAD` then names an
    /// unborn branch, as after `git init -b main`. Clones check out the branch `HEAD` names.
    public func setHead(_ reference: String) throws {
        try check(git_repository_set_head(handle, reference), "git_repository_set_head", subject: reference)
    }

    // MARK: Configuration

    /// Sets `key` (for example `receive.denyDeletes`) to a string in the repository's own configuration file.
    public func setConfig(_ key: String, _ value: String) throws {
        try withLocalConfig { config in
            try check(git_config_set_string(config, key, value), "git_config_set_string", subject: key)
        }
    }

    /// Sets `key` to a boolean in the repository's own configuration file.
    public func setConfig(_ key: String, _ value: Bool) throws {
        try withLocalConfig { config in
            try check(git_config_set_bool(config, key, value ? 1 : 0), "git_config_set_bool", subject: key)
        }
    }

    /// The value of `key` as a string, or nil when no configuration level sets it. Reads all levels, as
    /// `git config --get` does, so a value set by the system or user configuration counts.
    public func configString(_ key: String) throws -> String? {
        var config: OpaquePointer?
        try check(git_repository_config(&config, handle), "git_repository_config", subject: path)
        defer { git_config_free(config) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let code = git_config_get_string_buf(&buffer, config, key)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "git_config_get_string_buf", subject: key)
        guard let pointer = buffer.ptr else { return "" }
        return String(cString: pointer)
    }

    /// Runs `body` with the repository-level (`config` file) configuration, so writes never land in the user's
    /// global file.
    private func withLocalConfig(_ body: (OpaquePointer?) throws -> Void) throws {
        var config: OpaquePointer?
        try check(git_repository_config(&config, handle), "git_repository_config", subject: path)
        defer { git_config_free(config) }
        var local: OpaquePointer?
        try check(
            git_config_open_level(&local, config, GIT_CONFIG_LEVEL_LOCAL), "git_config_open_level", subject: path)
        defer { git_config_free(local) }
        try body(local)
    }
}
