/// A dyno's name, as Heroku's: its process type, a dot and its number from 1 (`web.1`, `worker.3`; `run.2` for a
/// one-off dyno, `release.1` for the release phase). The door, the runner, its router and its metrics read names
/// through it.
public struct DynoName: Hashable, Sendable, CustomStringConvertible {
    /// The process type (``ProcessType``).
    public let type: String
    /// From 1.
    public let number: Int

    /// The process type of one-off dynos (`heroku run`).
    public static let oneOffType = "run"

    public init(type: String, number: Int) {
        self.type = type
        self.number = number
    }

    /// Reads `name`; nil unless it is a valid process type, a dot, and a number from 1 written without a sign or a
    /// leading zero.
    public init?(_ name: String) {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let type = String(name[..<dot])
        let digits = name[name.index(after: dot)...]
        guard ProcessType.isValid(type), let number = Int(digits), number > 0, digits == "\(number)" else {
            return nil
        }
        self.init(type: type, number: number)
    }

    /// The one-off dyno `run.<number>`.
    public static func oneOff(_ number: Int) -> DynoName {
        DynoName(type: oneOffType, number: number)
    }

    /// Whether it is a one-off dyno's name (`run.N`).
    public var isOneOff: Bool { type == Self.oneOffType }

    public var description: String { "\(type).\(number)" }
}
