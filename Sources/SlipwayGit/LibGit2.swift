import CGit2

/// The one place libgit2 is initialised.
///
/// `git_libgit2_init()` runs once per process, the first time any entry point touches ``ready()``; it is never
/// shut down, since other code in the process may still hold libgit2 objects at exit. Swift runs the initialiser of
/// a `static let` exactly once, even when several threads race to it.
enum LibGit2 {
    private static let initResult: Result<Void, GitError> = {
        let code = git_libgit2_init()
        if code < 0 { return .failure(GitError.library("git_libgit2_init", code)) }
        return .success(())
    }()

    /// Initialises libgit2 if that has not happened yet; throws if initialisation failed.
    static func ready() throws(GitError) {
        try initResult.get()
    }
}
