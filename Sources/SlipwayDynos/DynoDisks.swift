import Foundation
import SlipwayRunnerKit
import SlipwaySpool
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Whether dynos get a disk of their own (`slugrunner watch --dyno-disk`).
public enum DynoDiskMode: String, CaseIterable, Sendable {
    /// A disk per dyno where the runner is root and has loop devices, `mkfs.ext4` and `mount`, else the host's.
    case auto
    /// A disk per dyno, or the runner does not start.
    case bounded
    /// A disk per dyno whose whole size is taken from the host when the dyno starts (or the runner does not start):
    /// the reserve then holds however fast dynos write, and fewer dynos fit.
    case preallocated
    /// Dynos write to the host's disk without a bound.
    case unbounded
}

/// A disk of its own for every dyno start: its `/app` and `/tmp` live on one ext4 file system of the process type's
/// size (`ps:disk`, default ``SlipwaySpool/DynoSettings/defaultDiskMB``) in a sparse image (``LoopDisk``), so a dyno
/// writing without end fills its own disk, never the host's; the watcher then stops it (``check(_:)``). The host
/// keeps a reserve the operator sets (`--disk-reserve`): no dyno starts while the host's free space is under it, and
/// when writing dynos take the host under it, the one whose disk holds the most is stopped.
///
/// The runner makes each disk's image (a few empty ones of the default size are kept ready, ``replenish()``, so a
/// booting dyno does not wait for `mkfs.ext4`); the dyno's first process mounts it in a mount namespace of its own
/// and copies the release in (``DynoDiskEntry``), so the disk is never mounted where another sandbox could see or
/// hold it, and goes with the dyno's last process.
public final class DynoDisks {
    /// `<root>/runner/dynos`.
    public let folder: String
    /// `slugrunner`, whose `dyno-disk` step mounts a dyno's disk.
    public let helper: String
    /// The host's free space no dyno may take.
    public let reserveBytes: Int64
    /// Whether each disk takes its whole size of the host's disk when it is made (``DynoDiskMode/preallocated``).
    public let preallocate: Bool
    /// Empty disks of the default size kept ready.
    public static let spareCount = 2
    /// A disk counts as full below this much free space (the file system keeps a little for itself).
    public static let fullBelowBytes: Int64 = 1 << 20
    private var spares: [String] = []
    private var finishing = false

    /// Removes the spares a runner before left. Throws what is missing, in the operator's terms.
    public init(folder: String, helper: String, reserveMB: Int, preallocate: Bool = false) throws {
        self.folder = folder
        self.helper = helper
        reserveBytes = Int64(reserveMB) << 20
        self.preallocate = preallocate
        try Files.makeFolders(folder)
        do throws(SandboxError) {
            try LoopDisk.checkTools()
        } catch {
            throw RunnerError(.sandbox, "slugrunner: dynos cannot get a disk of their own: \(error)")
        }
        for name in (try? FileSystem.names(in: folder)) ?? [] where name.hasPrefix(Self.sparePrefix) {
            Self.remove("\(folder)/\(name)")
        }
    }

    /// What the runner says of it at start.
    public var summary: String {
        "a disk of its own per dyno for /app and /tmp (\(DynoSettings.defaultDiskMB) MB unless ps:disk says"
            + (preallocate ? ", taken whole from the host when the dyno starts" : "")
            + "); the host keeps \(reserveBytes >> 20) MB free (--disk-reserve)"
    }

    /// Where a place's files are: its disk's mount point.
    public static func files(_ place: String) -> String { "\(place)/files" }

    /// Makes the place folder `place` (which must not exist) holding the image of a disk of `megabytes`: a spare one
    /// when the size is the default, else a new one.
    public func make(at place: String, megabytes: Int) throws -> LoopDisk {
        if let free = hostFree, free < reserveBytes {
            throw RunnerError(
                .disk,
                "slugrunner: the server's disk has \(free >> 20) MB free, under the \(reserveBytes >> 20) MB the "
                    + "operator keeps in reserve, so no dyno starts until space is freed on it (or --disk-reserve "
                    + "is lowered)")
        }
        if preallocate, let free = hostFree, free - (Int64(megabytes) << 20) < reserveBytes {
            throw RunnerError(
                .disk,
                "slugrunner: the server's disk has \(free >> 20) MB free; a \(megabytes) MB disk for this dyno would "
                    + "leave less than the \(reserveBytes >> 20) MB the operator keeps in reserve, so it does not start "
                    + "(free space on the server, give the process type a smaller disk with ps:disk, or lower "
                    + "--disk-reserve)")
        }
        if megabytes == DynoSettings.defaultDiskMB, let spare = spares.popLast() {
            if rename(spare, place) == 0 { return LoopDisk(image: "\(place)/disk.img", mountPoint: Self.files(place)) }
            Self.remove(spare)
        }
        do throws(SandboxError) {
            return try Self.makeDisk(at: place, bytes: Int64(megabytes) << 20, preallocate: preallocate)
        } catch {
            throw RunnerError(.disk, "slugrunner: cannot make a disk for a dyno: \(error)")
        }
    }

    /// Makes one spare disk when fewer than ``spareCount`` are ready (once per pass of the watcher's loop).
    public func replenish() {
        // Preallocated disks are made when a dyno starts: a spare would hold its whole size of the host's disk.
        guard !finishing, !preallocate, spares.count < Self.spareCount, (hostFree ?? 0) >= reserveBytes else {
            return
        }
        let place = "\(folder)/\(Self.sparePrefix)\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        if (try? Self.makeDisk(at: place, bytes: Int64(DynoSettings.defaultDiskMB) << 20)) != nil {
            spares.append(place)
        }
    }

    /// Removes the spare disks (when the runner stops).
    public func finish() {
        finishing = true
        for spare in spares { Self.remove(spare) }
        spares.removeAll()
    }

    /// The commands that mount `disk` for a dyno start and copy `release` into it, before its sandbox.
    public func launcher(for disk: LoopDisk, release: String, owner: FileSystem.Owner?) -> [String] {
        DynoDiskEntry.launcher(
            helper: helper, image: disk.image, mountPoint: disk.mountPoint, release: release, owner: owner)
    }

    /// The host's free space under the runner's root, in bytes.
    public var hostFree: Int64? { LoopDisk.space(of: folder)?.free }

    /// What the disks of `places` say: the dynos whose disk is full, then, when the host is under its reserve, the
    /// dyno whose disk holds the most. The host's free space counts what the dynos wrote that the kernel has not yet
    /// passed to their images (it is already used on their disks), so the reserve holds before the write-back, and
    /// the images of the dynos that are going: those stopped a moment ago (`ending`), which go once their last
    /// process has, and those whose disk is full, stopped for it in this same look. A dyno stopped for its disk or
    /// the reserve frees its space, and no other is stopped for the space it still holds meanwhile.
    public func check(_ places: [DynoPlace], ending: [DynoPlace] = []) -> [(place: DynoPlace, event: DiskEvent)] {
        var events: [(DynoPlace, DiskEvent)] = []
        var held: [(place: DynoPlace, bytes: Int64)] = []
        var unwritten: Int64 = 0
        var freeing = ending.reduce(Int64(0)) { $0 + ($1.disk?.allocatedBytes ?? 0) }
        for place in places {
            guard let disk = place.disk else { continue }
            // A dyno whose disk can no longer be read has just been stopped: its image goes with it too.
            guard let pid = place.pid, let space = disk.space(seenBy: pid) else {
                freeing += disk.allocatedBytes
                continue
            }
            // A full disk's dyno is stopped now: its image goes as an ending dyno's does, with what it wrote that the
            // kernel has not passed to the image yet.
            if space.free < Self.fullBelowBytes {
                events.append((place, .full(sizeMB: place.diskMB)))
                freeing += disk.allocatedBytes
                continue
            }
            let used = space.size - space.free
            unwritten += max(0, used - disk.allocatedBytes)
            held.append((place, used))
        }
        if let hostFree, hostFree - unwritten + freeing < reserveBytes,
            let biggest = held.max(by: { $0.bytes < $1.bytes })
        {
            events.append(
                (
                    biggest.place,
                    .hostReserve(
                        freeBytes: max(0, hostFree - unwritten), reserveBytes: reserveBytes, heldBytes: biggest.bytes)
                ))
        }
        return events
    }

    // MARK: - Disks

    private static let sparePrefix = ".spare-"

    private static func makeDisk(at place: String, bytes: Int64, preallocate: Bool = false) throws(SandboxError)
        -> LoopDisk
    {
        guard mkdir(place, 0o700) == 0, mkdir(files(place), 0o755) == 0 else {
            let reason = String(cString: strerror(errno))
            remove(place)
            throw SandboxError("Cannot make a dyno's folder: \(reason).", hint: "Check the runner's root.")
        }
        do throws(SandboxError) {
            try LoopDisk.makeImage(image: "\(place)/disk.img", bytes: bytes, preallocate: preallocate)
            return LoopDisk(image: "\(place)/disk.img", mountPoint: files(place))
        } catch {
            remove(place)
            throw error
        }
    }

    /// Removes the place folder `place` (its disk went with its dyno's mount namespace).
    public static func remove(_ place: String) {
        try? FileSystem.removeTree(place)
    }
}

/// What a dyno's disk or the host's did.
public enum DiskEvent: Equatable {
    /// The dyno's disk of `sizeMB` is full: `/app` and `/tmp` hold all of it.
    case full(sizeMB: Int)
    /// The host's free space is under the reserve, and this dyno's disk holds the most.
    case hostReserve(freeBytes: Int64, reserveBytes: Int64, heldBytes: Int64)

    /// The lines the app's log gets, then the dyno is stopped with SIGKILL.
    public var lines: [String] {
        switch self {
        case .full(let size):
            [
                "Disk quota exceeded: /app and /tmp hold all of the dyno's \(size) MB "
                    + "(raise it with ps:disk, or write less)",
                "Stopping process with SIGKILL",
            ]
        case .hostReserve(let free, let reserve, let held):
            [
                "The server's disk is down to \(free >> 20) MB free, under the \(reserve >> 20) MB its operator "
                    + "keeps in reserve; this dyno's /app and /tmp hold \(held >> 20) MB, the most of any dyno here",
                "Stopping process with SIGKILL",
            ]
        }
    }
}
