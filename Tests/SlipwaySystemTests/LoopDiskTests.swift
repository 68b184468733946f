import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

/// A disk of a fixed size for a sandbox (root, loop devices, e2fsprogs, bubblewrap): what is written into it stops
/// at its size, it takes of the host only what was written, and once removed it is gone from sandboxes that
/// started while it was mounted too.
@Suite(
    .enabled(
        if: geteuid() == 0 && access("/dev/loop-control", W_OK) == 0 && access(LoopDisk.mkfs, X_OK) == 0
            && access("/usr/bin/bwrap", X_OK) == 0,
        "needs root, loop devices, mkfs.ext4 and bubblewrap"))
struct LoopDiskTests {
    @Test func writesStopAtItsSizeAndItGoesEverywhereWhenRemoved() throws {
        let scratch = try ScratchDirectory("loop-disk")
        let shared = scratch.url("dynos")
        try FileSystem.makeFolders(shared, mode: 0o755)
        try LoopDisk.makeSharedMountPoint(shared)
        defer { LoopDisk.unmount(shared) }
        try FileSystem.makeFolders("\(shared)/one/files", mode: 0o755)
        let disk = try LoopDisk.create(
            image: "\(shared)/one/disk.img", mountPoint: "\(shared)/one/files", bytes: 64 << 20,
            owner: FileSystem.Owner(uid: 4321, gid: 4321))
        defer { disk.remove() }
        var info = stat()
        #expect(stat(disk.mountPoint, &info) == 0 && info.st_uid == 4321, "its top folder is the owner's")
        #expect(disk.allocatedBytes < 4 << 20, "an empty disk takes almost nothing: \(disk.allocatedBytes)")
        let space = try #require(disk.space)
        #expect(space.size > 56 << 20 && space.size <= 64 << 20, "\(space)")

        // A sandbox started now has a copy of the host's mounts, this disk among them.
        let sandbox = try TestProcess([
            "/usr/bin/bwrap", "--die-with-parent", "--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
            "/proc", "--", "/bin/sleep", "60",
        ])
        defer { sandbox.terminate(grace: 1) }
        let inside = { (try? String(contentsOfFile: "/proc/\(sandbox.pid)/mountinfo", encoding: .utf8)) ?? "" }
        #expect(waitUntil(seconds: 10) { inside().contains(disk.mountPoint) }, "\(inside())")

        let written = try runTool(
            ["/bin/dd", "if=/dev/zero", "of=\(disk.mountPoint)/fill", "bs=1M", "count=200"], mergeOutput: true)
        #expect(written.status != 0 && written.output.contains("No space left on device"), "\(written.output)")
        #expect((disk.space?.free ?? 1) < 1 << 20, "the disk is full")
        #expect(disk.allocatedBytes <= 66 << 20, "the host gave it no more than its size: \(disk.allocatedBytes)")

        disk.remove()
        #expect(access(disk.image, F_OK) != 0)
        #expect(waitUntil(seconds: 10) { !inside().contains(disk.mountPoint) }, "gone from the sandbox: \(inside())")
        let loops = try runTool(["/usr/sbin/losetup", "-a"]).stdout
        #expect(!loops.contains(disk.image), "its loop device is free again: \(loops)")
    }
}
