import Foundation

/// The rules for the names users give or see: add-on names (`postgresql-sunny-40213`) and attachment names (`--as
/// REPORTING`, which sets `REPORTING_URL`). Both end up in file names, SQL identifiers and config vars, so nothing
/// outside the rules gets through.
public enum AddonNames {
    /// The add-on name rule, as shown to users.
    public static let rule = "use 3 to 40 lowercase letters, digits and dashes, starting with a letter"
    /// The attachment name rule, as shown to users.
    public static let attachmentRule = "use up to 40 capital letters, digits and underscores, starting with a letter"

    /// Whether `name` is a valid add-on name: `[a-z][a-z0-9-]{2,39}`, not ending in a dash.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...40).contains(bytes.count), let first = bytes.first, isLower(first), bytes.last != UInt8(ascii: "-")
        else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// Throws unless `name` is a valid add-on name.
    public static func validate(_ name: String) throws(AddonError) {
        guard isValid(name) else {
            throw AddonError(.invalidValue, "'\(shown(name))' is not an add-on name: \(rule)")
        }
    }

    /// The attachment name `word` (`REPORTING`; a trailing `_URL` is dropped, as Heroku does), or the refusal.
    public static func attachment(_ word: String) throws(AddonError) -> String {
        let name = word.hasSuffix("_URL") ? String(word.dropLast(4)) : word
        let bytes = Array(name.utf8)
        guard (1...40).contains(bytes.count), let first = bytes.first, isUpper(first),
            bytes.allSatisfy({ isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
        else {
            throw AddonError(.invalidValue, "'\(shown(word))' is not an attachment name: \(attachmentRule)")
        }
        return name
    }

    /// The name of the database and of the role an add-on gets on a PostgreSQL server: `addon_` and its name with
    /// underscores for dashes (a valid unquoted SQL identifier, at most 46 characters).
    public static func sqlIdentifier(_ name: String) -> String {
        "addon_" + name.replacingOccurrences(of: "-", with: "_")
    }

    /// `word` safe to print: at most 60 characters, control characters and non-ASCII shown as `?`.
    static func shown(_ word: String) -> String {
        let printable = word.unicodeScalars.prefix(60).map { $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" }
        return String(printable) + (word.unicodeScalars.count > 60 ? "…" : "")
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
