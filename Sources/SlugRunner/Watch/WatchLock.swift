import Foundation
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One watcher per root: an exclusive lock (`FileLock`) on `runner/watch.lock`, held for the watcher's life and released
/// by the kernel when it dies (even by SIGKILL). The file holds the holder's pid, for messages.
final class WatchLock {
    private let fd: Int32

    /// Takes the lock or throws ``RunnerError/Code/locked`` naming the watcher that holds it.
    init(root: RunnerRoot) throws {
        let path = root.watchLock
        try Files.makeFolders((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.system("open", path, errno: errno) }
        guard FileLock.attempt(fd) else {
            let number = errno
            let holder = (try? Files.readLine(path)).flatMap { $0 }.map { " (pid \($0))" } ?? ""
            close(fd)
            if number == EWOULDBLOCK {
                throw RunnerError(
                    .locked,
                    "slugrunner: another `slugrunner watch`\(holder) is running for \(root.path); stop it first "
                        + "(one watcher per root)")
            }
            throw RunnerError.system("flock", path, errno: number)
        }
        ftruncate(fd, 0)
        try? Files.writeAll(fd, Data("\(getpid())\n".utf8), path: path)
        self.fd = fd
    }

    deinit { close(fd) }
}
