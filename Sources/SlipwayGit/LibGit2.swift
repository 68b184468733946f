import CGit2

/// The one place libgit2 is initialised.
///
/// `git_libgit2_init()` runs once per process, the first time any entry point touches ``ready()``; it is never
/// shut down, since other code in the process may still hold libgit2 objects at exit. Swift runs the initialiser of
/// a `static let` exactly once, even when several threads race to it.
///
/// Strict hash verification is turned off: libgit2 would otherwise hash every object it reads again (SHA-1 with
/// collision detection, the largest cost of exporting a tree). Every object Slipway reads was hashed when it
/// arrived: `git receive-pack` runs `index-pack` (and, with `receive.fsckObjects`, fsck) on each push, and clones
/// go through libgit2's own indexer. An object corrupted on disk afterwards is not detected by this check.
enum LibGit2 {
    private static let initResult: Result<Void, GitError> = {
        let code = git_libgit2_init()
        if code < 0 { return .failure(GitError.library("git_libgit2_init", code)) }
        let option = slipway_git_set_strict_hash_verification(0)
        if option < 0 { return .failure(GitError.library("git_libgit2_opts", option)) }
        return .success(())
    }()

    /// Initialises libgit2 if that has not happened yet; throws if initialisation failed.
    static func ready() throws(GitError) {
        try initResult.get()
    }
}
