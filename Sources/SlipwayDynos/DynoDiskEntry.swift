import Foundation
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The first step of a dyno that has a disk of its own (`slugrunner dyno-disk`), run by the dyno's first process
/// after `unshare --mount --propagation private`, so that the disk is mounted in the dyno's mount namespace alone:
/// mounts the image at the place's `files` folder, gives that folder to the app's user, copies the release into
/// `files/app`, makes `files/tmp`, then becomes the rest of the dyno's command line (bubblewrap, usually). A failure
/// is one line on standard error, which is the app's log, and exit status 1.
public enum DynoDiskEntry {
    /// What the runner asks for: ``launcher(helper:image:mountPoint:release:owner:)`` writes it, `dyno-disk` reads
    /// it back.
    public static func run(
        image: String, mountPoint: String, release: String, owner: FileSystem.Owner?, command: [String]
    ) -> Never {
        do {
            try LoopDisk.mount(image: image, at: mountPoint)
            if let owner, chown(mountPoint, owner.uid, owner.gid) != 0 {
                throw SystemError("chown", mountPoint, errno: errno)
            }
            do {
                try FileSystem.copyTree(release, to: "\(mountPoint)/app", owner: owner)
            } catch {
                if let space = LoopDisk.space(of: mountPoint), space.free < DynoDisks.fullBelowBytes {
                    fail(
                        "the release does not fit on this dyno's \(space.size >> 20) MB disk: give the process type "
                            + "a larger one with ps:disk")
                }
                throw error
            }
            let tmp = "\(mountPoint)/tmp"
            guard mkdir(tmp, 0o700) == 0, chmod(tmp, 0o1777) == 0 else { throw SystemError("mkdir", tmp, errno: errno) }
            if let owner { chown(tmp, owner.uid, owner.gid) }
        } catch {
            fail("cannot prepare this dyno's disk: \(error)")
        }
        guard let executable = command.first else { fail("no command to run") }
        var arguments = command.map { strdup($0) } + [nil]
        execv(executable, &arguments)
        fail("cannot run \(executable): \(String(cString: strerror(errno)))")
    }

    /// The commands that come before the dyno's sandbox: a private mount namespace, then this entry.
    public static func launcher(
        helper: String, image: String, mountPoint: String, release: String, owner: FileSystem.Owner?
    ) -> [String] {
        [
            LoopDisk.unshare, "--mount", "--propagation", "private", "--", helper, "dyno-disk", "--image", image,
            "--mount-point", mountPoint, "--release", release,
        ]
            + (owner.map { ["--owner", "\($0.uid):\($0.gid)"] } ?? []) + ["--"]
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("slugrunner: \(message)\n".utf8))
        exit(1)
    }
}
