public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// When the runner runs as root and the door as the owner of `<root>` (a `git` user), the files the door reads
/// (`ps` reads `state.json`, `logs` the app's log) are given to that owner: they keep their modes (0750 folders,
/// 0640 logs), so the app's users and other local users still cannot read them. Without root nothing changes (both
/// sides are one user).
public struct DoorAccess: Sendable {
    /// The owner of `<root>`, when this runs as root and it is another user.
    public let owner: (uid: uid_t, gid: gid_t)?

    public init(rootPath: String) {
        var info = stat()
        if getuid() == 0, stat(rootPath, &info) == 0, info.st_uid != 0 {
            owner = (info.st_uid, info.st_gid)
        } else {
            owner = nil
        }
    }

    /// Gives `paths` to the door's user (best effort: a failure leaves them the runner's, and `ps` says so).
    public func share(_ paths: [String]) {
        guard let owner else { return }
        for path in paths { _ = chown(path, owner.uid, owner.gid) }
    }
}
