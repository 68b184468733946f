/// The name of one recorded event, `<milliseconds>-<sequence>.json` (`1767225600123-000000.json`): the door's clock
/// in milliseconds, 13 digits, and a 6-digit sequence within that millisecond, so that names sort as bytes in the
/// order the door recorded them, even when its clock steps back (the next name is always above the last one).
public struct PlatformEventName: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public var sequence: Int

    public init(milliseconds: Int64, sequence: Int) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// The name that follows `last` at `now` (milliseconds): `now` when it is later, else one more in `last`'s
    /// millisecond.
    public static func next(after last: PlatformEventName?, now: Int64) -> PlatformEventName {
        guard let last, last.milliseconds >= now else { return PlatformEventName(milliseconds: now, sequence: 0) }
        return PlatformEventName(milliseconds: last.milliseconds, sequence: last.sequence + 1)
    }

    /// `1767225600123-000000.json`.
    public var description: String { "\(Self.padded(milliseconds, 13))-\(Self.padded(Int64(sequence), 6)).json" }

    /// The name in `file` (a file name), nil for anything else (temporary files, editors' leftovers).
    public init?(_ file: some StringProtocol) {
        let parts = file.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 13, parts[1].count == 11, parts[1].hasSuffix(".json") else {
            return nil
        }
        let sequence = parts[1].dropLast(5)
        guard parts[0].allSatisfy(\.isASCIIDigit), sequence.allSatisfy(\.isASCIIDigit),
            let milliseconds = Int64(parts[0]), let number = Int(sequence)
        else { return nil }
        self.init(milliseconds: milliseconds, sequence: number)
    }

    public static func < (lhs: PlatformEventName, rhs: PlatformEventName) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }

    private static func padded(_ value: Int64, _ digits: Int) -> String {
        let text = String(max(value, 0))
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
