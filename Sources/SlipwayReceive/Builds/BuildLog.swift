public import Foundation
public import SlipwayDoorRecords
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The full output of one build, kept per app as `<app>/builds/<id>.log`; only the newest ``keep`` logs are kept.
public final class BuildLog: @unchecked Sendable {
    /// How many logs an app keeps.
    public static let keep = 20

    /// The build's id, sortable by time (builds of one app run one at a time): `20261122-025501-123-3f2a`.
    public let id: String
    public let path: String
    private let fd: Int32
    private let lock = NSLock()

    /// Creates the log of a new build of `app`.
    public init(app: AppPaths, date: Date = Date()) throws {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss-SSS"
        formatter.timeZone = TimeZone(identifier: "UTC")
        id = "\(formatter.string(from: date))-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
        try FileManager.default.createDirectory(atPath: app.builds, withIntermediateDirectories: true)
        path = "\(app.builds)/\(id).log"
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            let failure = SystemError("create", path, errno: errno)
            throw DoorError(
                .pushFailed, lines: "Cannot create the build log \(path): \(String(cString: strerror(failure.errno))).",
                systemError: failure)
        }
        Self.prune(app)
    }

    deinit { close(fd) }

    /// Appends one line.
    public func append(_ line: String) {
        lock.withLock { writeAll(fd, Array((line + "\n").utf8)) }
    }

    /// The ids of an app's kept builds, oldest first.
    public static func ids(_ app: AppPaths) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: app.builds)) ?? []
        return names.filter { $0.hasSuffix(".log") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Removes all but the newest `keep` logs, with their records.
    static func prune(_ app: AppPaths) {
        let all = ids(app)
        for old in all.dropLast(keep) {
            unlink("\(app.builds)/\(old).log")
            unlink(BuildRecord.path(app, id: old))
            unlink(BuildRecord.cancelMarker(app, id: old))
        }
    }
}
