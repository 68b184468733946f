import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file system of a fixed size for a sandboxed program (a dyno's `/app` and `/tmp`): an ext4 file system in an
/// image file, mounted through a loop device. What is written into it can never take more of the host's disk than
/// its size, and, the image being sparse, it takes only what is written (unless made with `preallocate`). Made with
/// e2fsprogs' `mkfs.ext4`, mounted with util-linux's `mount` (which picks a free loop device and lets it go at the
/// unmount). Root only.
///
/// The file system has no journal (what a dyno writes does not outlive it, so there is nothing to recover after a
/// crash), no blocks reserved for root, and its inode tables are never zeroed in the background (`noinit_itable`):
/// an empty disk takes about a megabyte of the host's. It is mounted `nosuid,nodev`.
///
/// A dyno's disk is mounted in a mount namespace of the dyno's own (``mount(image:at:)``, run by the dyno's
/// first process after `unshare --mount --propagation private`), never in the host's: so no other sandbox ever holds
/// a copy of it, and no mount or unmount of it can race with bubblewrap setting up another sandbox (bubblewrap fails
/// when a submount it remounts read-only vanishes meanwhile). It goes with the dyno's last process.
public struct LoopDisk: Sendable, Equatable {
    /// The image file.
    public let image: String
    /// Where the file system is mounted, in the dyno's own mount namespace.
    public let mountPoint: String

    /// The programs used.
    public static let mkfs = SystemTool.firstExecutable(["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"])
    public static let mountTool = SystemTool.firstExecutable(["/usr/bin/mount", "/bin/mount"])
    public static let unshare = SystemTool.firstExecutable(["/usr/bin/unshare", "/bin/unshare"])

    public init(image: String, mountPoint: String) {
        self.image = image
        self.mountPoint = mountPoint
    }

    /// Fails unless this process is root and the tools and loop devices are there.
    public static func checkTools() throws(SandboxError) {
        guard geteuid() == 0 else {
            throw SandboxError("A bounded disk per dyno needs root.", hint: "Run the runner as root.")
        }
        for (tool, package) in [(mkfs, "e2fsprogs"), (mountTool, "mount"), (unshare, "util-linux")]
        where access(tool, X_OK) != 0 {
            throw SandboxError(
                "\(tool) is missing: dynos cannot get a disk of their own.",
                hint: "Install Debian's \(package) package.")
        }
        guard access("/dev/loop-control", R_OK | W_OK) == 0 else {
            throw SandboxError(
                "This host has no loop devices (/dev/loop-control): dynos cannot get a disk of their own.",
                hint: "Load the loop module (modprobe loop), or give a container the loop devices.")
        }
    }

    /// Makes an image of `bytes` at `image` (which must not exist) holding an empty file system. With `preallocate`,
    /// the image takes its whole size of the host's disk at once (`posix_fallocate`), so nothing written into it
    /// ever needs more. Nothing is left behind on a failure.
    public static func makeImage(image: String, bytes: Int64, preallocate: Bool = false) throws(SandboxError) {
        let fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SandboxError(
                "Cannot make the disk image \(image): \(String(cString: strerror(errno))).",
                hint: "Check the runner's root.")
        }
        let sizeError =
            preallocate
            ? posix_fallocate(fd, 0, off_t(bytes)) : (ftruncate(fd, off_t(bytes)) == 0 ? 0 : errno)
        close(fd)
        do throws(SandboxError) {
            guard sizeError == 0 else {
                throw SandboxError(
                    "Cannot size the disk image \(image): \(String(cString: strerror(sizeError))).",
                    hint: "Check the runner's root and its free space.")
            }
            try SystemTool.run(
                mkfs, ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1", image],
                package: "e2fsprogs", what: "mkfs.ext4 of a dyno's disk",
                hint: "Check the runner's root and its free space.")
        } catch {
            unlink(image)
            throw error
        }
    }

    /// Mounts the file system in `image` at `mountPoint` (an empty folder), in this process's mount namespace.
    public static func mount(image: String, at mountPoint: String) throws(SandboxError) {
        try SystemTool.run(
            mountTool, ["-t", "ext4", "-o", "loop,nosuid,nodev,noinit_itable", image, mountPoint], package: "mount",
            what: "mounting a dyno's disk",
            hint: "Check that this host has free loop devices (losetup -f) and can mount ext4.")
    }

    /// The size and free space of the file system that holds `path`, in bytes (free: what an unprivileged user may
    /// still write); nil if it cannot be read.
    public static func space(of path: String) -> (size: Int64, free: Int64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_blocks) * unit, Int64(info.f_bavail) * unit)
    }

    /// The file system's size and what is left of it, as the process `pid` sees it (the disk is mounted in that
    /// dyno's own mount namespace); nil before it is mounted there, or once the process is gone.
    public func space(seenBy pid: Int32) -> (size: Int64, free: Int64)? {
        let inside = "/proc/\(pid)/root\(mountPoint)"
        var disk = stat()
        var parent = stat()
        guard stat(inside, &disk) == 0, stat((inside as NSString).deletingLastPathComponent, &parent) == 0,
            disk.st_dev != parent.st_dev
        else { return nil }
        return Self.space(of: inside)
    }

    /// What the image takes of the host's disk now, in bytes.
    public var allocatedBytes: Int64 {
        var info = stat()
        return stat(image, &info) == 0 ? Int64(info.st_blocks) * 512 : 0
    }
}
