import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One app's figures per minute on disk, `<root>/runner/apps/<app>/metrics/` (``RootLayout/runnerMetrics(_:)``):
/// a file per hour, `<hour>.json` (the hour as Unix time / 3600), holding that hour's minutes:
///
/// ```json
/// {"version": 1, "minutes": [{"minute": 29431234, "types": {"web": {"requests": 12, "responses": {"2xx": 12}, …}}}]}
/// ```
///
/// Each file is replaced whole (``DurableFile``), so a reader sees an hour as it was before a write or after it. The
/// runner writes; the door reads. Hours older than ``retentionHours`` are removed, and, should an app's files pass
/// ``maxBytes`` (a day of a few thousand distinct service times every minute), the oldest hours go first.
public struct MetricsStore: Sendable {
    /// The format's version.
    public static let currentVersion = 1
    /// How long minutes are kept.
    public static let retentionHours = 24
    /// The app's folder of hour files.
    public let folder: String
    /// The most bytes the app's files may take together.
    public var maxBytes: Int64

    public init(folder: String, maxBytes: Int64 = 16 << 20) {
        self.folder = folder
        self.maxBytes = maxBytes
    }

    struct HourFile: Codable {
        var version: Int
        var minutes: [MinuteFigures]
    }

    /// The file of `hour`.
    func path(ofHour hour: Int) -> String { "\(folder)/\(hour).json" }

    /// The hours that have a file, oldest first.
    public func hours() -> [Int] {
        ((try? FileSystem.names(in: folder)) ?? []).compactMap { name in
            name.hasSuffix(".json") ? Int(name.dropLast(5)) : nil
        }.sorted()
    }

    /// The minutes stored for `hour`, oldest first; none when its file is missing or unreadable (a file of a newer
    /// version included).
    public func minutes(ofHour hour: Int) -> [MinuteFigures] {
        guard let data = try? FileSystem.read(path(ofHour: hour)),
            let file = try? JSONDecoder().decode(HourFile.self, from: data), file.version <= Self.currentVersion
        else { return [] }
        return file.minutes.filter { $0.minute / 60 == hour }.sorted { $0.minute < $1.minute }
    }

    /// The minutes from `first` to `last` (minutes as Unix time / 60), oldest first.
    public func minutes(from first: Int, to last: Int) -> [MinuteFigures] {
        hours().filter { $0 >= first / 60 && $0 <= last / 60 }.flatMap { minutes(ofHour: $0) }.filter {
            $0.minute >= first && $0.minute <= last
        }
    }

    /// Replaces the file of `hour` with `minutes` (given to the owner of the folder, the door's user when the runner
    /// is root).
    public func save(hour: Int, _ minutes: [MinuteFigures]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(HourFile(version: Self.currentVersion, minutes: minutes))
        try DurableFile.replace(path(ofHour: hour), with: data, mode: 0o640, keepOwner: true)
    }

    /// Removes the hours older than ``retentionHours`` before `hour`, then the oldest while the files take more than
    /// ``maxBytes`` (never `hour` itself).
    public func prune(now hour: Int) {
        var kept: [(hour: Int, bytes: Int64)] = []
        for stored in hours() {
            if stored <= hour - Self.retentionHours {
                unlink(path(ofHour: stored))
            } else {
                var info = stat()
                kept.append((stored, stat(path(ofHour: stored), &info) == 0 ? Int64(info.st_size) : 0))
            }
        }
        var total = kept.reduce(0) { $0 + $1.bytes }
        for file in kept where total > maxBytes && file.hour != hour {
            unlink(path(ofHour: file.hour))
            total -= file.bytes
        }
    }

    /// The bytes the app's files take.
    public func bytesOnDisk() -> Int64 {
        hours().reduce(0) { total, hour in
            var info = stat()
            return total + (stat(path(ofHour: hour), &info) == 0 ? Int64(info.st_size) : 0)
        }
    }
}
