public import Foundation
public import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Cleans up after builds that were killed: work folders whose owner is gone, staged releases git never accepted,
/// and half-built spool entries. Runs at the start of every push.
///
/// A build's work folder `<root>/tmp/build-<id>/` holds an `owner` file that the build keeps `flock`ed; if the lock
/// can be taken, the build is dead and its folder is removed.
public enum Sweeper {
    /// Creates a work folder for build `id` and locks it as this process's; returns the folder and the lock's fd.
    static func claimWorkFolder(root: SlipwayRoot, id: String) throws -> (String, Int32) {
        let folder = "\(root.tmpDirectory)/build-\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fd = open("\(folder)/owner", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DoorError(
                .pushFailed, lines: "Cannot lock the build folder \(folder).",
                systemError: SystemError("open", "\(folder)/owner", errno: errno))
        }
        // Blocking: `isRunning` (builds, builds:cancel) may hold a shared lock for an instant.
        guard FileLock.wait(fd) else {
            close(fd)
            throw DoorError(.pushFailed, lines: "Cannot lock the build folder \(folder).")
        }
        return (folder, fd)
    }

    /// Whether build `id` is running: its work folder exists and its owner holds the folder's lock.
    static func isRunning(root: SlipwayRoot, buildID id: String) -> Bool {
        let fd = open("\(root.tmpDirectory)/build-\(id)/owner", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // A shared lock is refused only while the build holds its exclusive one; it is dropped again at close.
        return !FileLock.attempt(fd, .shared)
    }

    /// What a sweep removed.
    public struct Outcome: Sendable, Equatable {
        /// Work folders of builds that were killed.
        public var buildFolders = 0
        /// Staged builds older than the limit.
        public var staged = 0
        /// Spool entries left half-written in `spool/tmp/` for an hour.
        public var spoolEntries = 0
    }

    /// Removes what killed builds left behind.
    @discardableResult
    public static func sweep(root: SlipwayRoot, stagedOlderThan age: TimeInterval = 24 * 3600) -> Outcome {
        var outcome = Outcome()
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: root.tmpDirectory)) ?? [] where name.hasPrefix("build-") {
            let folder = "\(root.tmpDirectory)/\(name)"
            let fd = open("\(folder)/owner", O_RDWR | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                guard FileLock.attempt(fd) else { continue }  // its build is still running
            } else if let created = (try? fm.attributesOfItem(atPath: folder))?[.modificationDate] as? Date,
                Date().timeIntervalSince(created) < 60
            {
                continue  // being created right now
            }
            try? FileSystem.removeTree(folder)
            outcome.buildFolders += 1
        }
        for app in (try? fm.contentsOfDirectory(atPath: root.appsDirectory)) ?? [] {
            let staged = "\(root.appsDirectory)/\(app)/staged"
            for name in (try? fm.contentsOfDirectory(atPath: staged)) ?? [] {
                let path = "\(staged)/\(name)"
                if let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                    Date().timeIntervalSince(modified) > age
                {
                    unlink(path)
                    outcome.staged += 1
                }
            }
        }
        outcome.spoolEntries = (try? Spool(directory: root.spoolDirectory).sweepTemporary(olderThan: 3600)) ?? 0
        return outcome
    }

}
