import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file system of a fixed size for a sandboxed program (a dyno's `/app` and `/tmp`): an ext4 file system in a
/// sparse image file, mounted through a loop device. What is written into it can never take more of the host's disk
/// than its size, and it takes only what is written (the image is sparse). Made with e2fsprogs' `mkfs.ext4` and
/// util-linux's `mount` (which picks a free loop device and lets it go at the unmount), removed with `umount2`.
/// Root only.
///
/// The file system has no journal (what a dyno writes does not outlive it, so there is nothing to recover after a
/// crash), no blocks reserved for root, and its inode tables are never zeroed in the background (`noinit_itable`):
/// an empty disk takes about a megabyte of the host's. It is mounted `nosuid,nodev`.
public struct LoopDisk: Sendable, Equatable {
    /// The image file.
    public let image: String
    /// Where the file system is mounted.
    public let mountPoint: String

    /// The programs used.
    public static let mkfs = SystemTool.firstExecutable(["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"])
    public static let mount = SystemTool.firstExecutable(["/usr/bin/mount", "/bin/mount"])

    public init(image: String, mountPoint: String) {
        self.image = image
        self.mountPoint = mountPoint
    }

    /// Fails unless this process is root and the tools and loop devices are there.
    public static func checkTools() throws(SandboxError) {
        guard geteuid() == 0 else {
            throw SandboxError("A bounded disk per dyno needs root.", hint: "Run the runner as root.")
        }
        for (tool, package) in [(mkfs, "e2fsprogs"), (mount, "mount")] where access(tool, X_OK) != 0 {
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

    /// Makes an image of `bytes` at `image` (which must not exist), a file system in it whose top folder belongs to
    /// `owner`, and mounts it at `mountPoint` (an empty folder). With `preallocate`, the image takes its whole size
    /// of the host's disk at once (`posix_fallocate`), so nothing written into it ever needs more. Anything made before a
    /// failure is removed again.
    public static func create(
        image: String, mountPoint: String, bytes: Int64, owner: FileSystem.Owner?, preallocate: Bool = false
    ) throws(SandboxError) -> LoopDisk {
        let disk = LoopDisk(image: image, mountPoint: mountPoint)
        let fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SandboxError(
                "Cannot make the disk image \(image): \(String(cString: strerror(errno))).",
                hint: "Check the runner's root.")
        }
        let sizeError =
            preallocate
            ? posix_fallocate(fd, 0, off_t(bytes)) : (ftruncate(fd, off_t(bytes)) == 0 ? 0 : errno)
        let sized = sizeError == 0
        close(fd)
        do throws(SandboxError) {
            guard sized else {
                throw SandboxError(
                    "Cannot size the disk image \(image): \(String(cString: strerror(sizeError))).",
                    hint: "Check the runner's root.")
            }
            let rootOwner = owner.map { ",root_owner=\($0.uid):\($0.gid)" } ?? ""
            try SystemTool.run(
                mkfs,
                ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1" + rootOwner, image],
                package: "e2fsprogs", what: "mkfs.ext4 of a dyno's disk",
                hint: "Check the runner's root and its free space.")
            try SystemTool.run(
                mount, ["-t", "ext4", "-o", "loop,nosuid,nodev,noinit_itable", image, mountPoint], package: "mount",
                what: "mounting a dyno's disk",
                hint: "Check that this host has free loop devices (losetup -f) and can mount ext4.")
        } catch {
            disk.remove()
            throw error
        }
        return disk
    }

    /// Unmounts the file system (at once, even where a process still has a file of it open: it goes when the last
    /// one does) and removes the image. Nothing if either is gone.
    public func remove() {
        Self.unmount(mountPoint)
        unlink(image)
    }

    /// Detaches whatever is mounted at `path`, if anything is.
    public static func unmount(_ path: String) {
        while umount2(path, Int32(MNT_DETACH)) == 0 {}
    }

    /// The file system's size and what is left of it, in bytes; nil if it cannot be read.
    public var space: (size: Int64, free: Int64)? {
        Self.space(of: mountPoint)
    }

    /// The size and free space of the file system that holds `path`, in bytes (free: what an unprivileged user may
    /// still write); nil if it cannot be read.
    public static func space(of path: String) -> (size: Int64, free: Int64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_blocks) * unit, Int64(info.f_bavail) * unit)
    }

    /// What the image takes of the host's disk now, in bytes.
    public var allocatedBytes: Int64 {
        var info = stat()
        return stat(image, &info) == 0 ? Int64(info.st_blocks) * 512 : 0
    }

    /// Makes `folder` a mount point of its own with shared propagation (a bind mount onto itself), so that a disk
    /// mounted below it and later unmounted here goes from every sandbox that started meanwhile (bubblewrap makes
    /// its copy of the host's mounts a slave of them). Without it, a sandbox would keep another dyno's disk, and
    /// its space on the host, until it ended. Nothing mounted at `folder` before is kept.
    public static func makeSharedMountPoint(_ folder: String) throws(SandboxError) {
        unmount(folder)
        guard Glibc.mount(folder, folder, nil, UInt(MS_BIND), nil) == 0,
            Glibc.mount(nil, folder, nil, UInt(MS_SHARED), nil) == 0
        else {
            let reason = String(cString: strerror(errno))
            unmount(folder)
            throw SandboxError(
                "Cannot make \(folder) a shared mount point: \(reason).",
                hint: "The runner needs root and mount rights.")
        }
    }
}
