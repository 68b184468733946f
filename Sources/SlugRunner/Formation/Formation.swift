import Foundation
import SlipwayRunnerKit
import SlipwaySpool

/// How many processes of each type run for an app: `web=2 worker=1`. Types the release does not declare are
/// ignored; the `release` type never runs as a regular process (it is the release phase).
///
/// Stored per app in `<root>/apps/<app>/dynos.json` (``DynoSettings``, written by `slugrunner scale` and the door's
/// `ps:scale`); without it an app runs `web=1`, as on Heroku.
public struct Formation: Equatable, Sendable {
    /// What an app runs until it is scaled.
    public static let `default` = Formation(["web": 1])
    /// The most processes of one type (each one is a process group and, for `web`, a port).
    public static let maximumCount = 100

    /// Process type → count. A type left out runs 0 processes.
    public private(set) var counts: [String: Int]

    public init(_ counts: [String: Int]) {
        self.counts = counts
    }

    /// How many processes of `type` run.
    public func count(of type: String) -> Int { counts[type] ?? 0 }

    /// This formation with `changes` applied (other types keep their counts).
    public func applying(_ changes: [String: Int]) -> Formation {
        Formation(counts.merging(changes) { _, new in new })
    }

    /// The formation as `web=2 worker=1`, sorted with `web` first; `none` when nothing runs.
    public var summary: String {
        let types = counts.keys.sorted { ($0 == "web" ? 0 : 1, $0) < ($1 == "web" ? 0 : 1, $1) }
        let parts = types.filter { counts[$0] != 0 }.map { "\($0)=\(counts[$0] ?? 0)" }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }

    /// Parses `type=count` arguments (`web=2`, `worker=0`). A type may appear once; counts are 0 to
    /// ``maximumCount``; `release` cannot be scaled. (The door's `ps:scale` parses them with the same rules,
    /// ``DynoSettings/parseChanges(_:values:)``.)
    public static func parseChanges(_ arguments: [String]) throws -> [String: Int] {
        do throws(DynoSettings.ChangeError) {
            let changes = try DynoSettings.parseChanges(arguments, values: 0...maximumCount)
            return Dictionary(changes.map { ($0.type, $0.value) }, uniquingKeysWith: { _, new in new })
        } catch .nothingGiven {
            throw RunnerError(.usage, "slugrunner: say what to scale, for example `web=2 worker=1`")
        } catch .malformed(let argument) {
            throw RunnerError(
                .usage,
                "slugrunner: '\(argument)' is not a valid scale: use TYPE=COUNT with a process type from the "
                    + "Procfile and a count from 0 to \(maximumCount), for example web=2")
        } catch .releaseType {
            throw RunnerError(.usage, "slugrunner: the release process type runs once per deploy and cannot be scaled")
        } catch .repeated(let type) {
            throw RunnerError(.usage, "slugrunner: \(type) is given twice; give each process type once")
        }
    }
}
