import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Repository {
    /// Clones `url` into `path` (a new or empty folder) and, if `reference` is given, checks it out.
    ///
    /// `url` may be a local path, a `file://` URL (both work offline) or whatever remote transports this libgit2
    /// supports (http, https). Proxies are found as git finds them (`http.proxy`, `https_proxy`...). Submodules are
    /// not cloned.
    ///
    /// `reference` may be a branch of the remote, a tag, or a commit sha (short or full); anything else
    /// `git rev-parse` understands works too. A branch wins over a tag of the same name. The working tree is forced
    /// to match that commit and `HEAD` is left detached at it. Without `reference`, the remote's default branch is
    /// checked out, as `git clone` does.
    ///
    /// An unreachable URL or an unknown reference throws a ``GitError`` whose message names it. If the reference
    /// is unknown, the clone has already been made; the folder is left for the caller to remove.
    public static func clone(url: String, to path: String, reference: String? = nil) throws -> Repository {
        try LibGit2.ready()
        var options = git_clone_options()
        try check(git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION)), "git_clone_options_init")
        options.fetch_opts.proxy_opts.type = GIT_PROXY_AUTO
        if reference != nil {
            // The reference's checkout below writes the whole tree; skip writing the default branch first.
            options.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE.rawValue
        }
        var repo: OpaquePointer?
        let code = git_clone(&repo, url, path, &options)
        if code < 0 { throw cloneError(code, url: url) }
        let repository = try Repository(owning: repo, "git_clone", origin: .path(path))
        if let reference {
            try repository.checkOutDetached(reference)
        }
        return repository
    }

    /// The error for a failed `git_clone`, made to name `url`.
    private static func cloneError(_ code: Int32, url: String) -> GitError {
        var error = GitError.library("git_clone", code)
        let localPath = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
        let looksLikePath = url.hasPrefix("/") || url.hasPrefix(".") || !url.contains(":")
        if looksLikePath, !isExistingPath(url) {
            // libgit2 only treats a string as a local path if something exists there; anything else is taken for a
            // URL, so a mistyped path reports "unsupported URL protocol".
            error.message = "no repository at '\(url)': not an existing path nor a URL (libgit2: \(error.message))"
        } else if !error.message.contains(url), !error.message.contains(localPath) {
            error.message += " ('\(url)')"
        }
        return error
    }

    /// Forces the working tree and index to match `reference` and detaches `HEAD` there.
    private func checkOutDetached(_ reference: String) throws {
        let commit = try lookupCommit(resolveRemoteBranch(reference) ?? reference)
        defer { git_commit_free(commit) }
        var options = git_checkout_options()
        try check(
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "git_checkout_options_init")
        // RECREATE_MISSING: the clone wrote no working tree, and every file counts as missing from it.
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_RECREATE_MISSING.rawValue
        try check(git_checkout_tree(handle, commit, &options), "git_checkout_tree", subject: reference)
        try check(
            git_repository_set_head_detached(handle, git_commit_id(commit)), "git_repository_set_head_detached",
            subject: reference)
    }

    /// `refs/remotes/origin/<name>` when the clone's remote has a branch called `name`, else nil.
    ///
    /// A clone only has a local branch for the default branch; the others exist as remote-tracking branches,
    /// which `git rev-parse <name>` does not find by their short name.
    private func resolveRemoteBranch(_ name: String) -> String? {
        let full = "refs/remotes/origin/\(name)"
        var ref: OpaquePointer?
        guard git_reference_lookup(&ref, handle, full) == 0 else {
            git_error_clear()
            return nil
        }
        git_reference_free(ref)
        return full
    }
}

/// Whether anything (even a dangling symlink) exists at `path`.
private func isExistingPath(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
}
