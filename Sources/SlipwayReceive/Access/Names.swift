/// App names, Heroku's rule: `[a-z][a-z0-9-]{1,29}`, ASCII only.
///
/// The name becomes a folder under `<root>/apps/` and part of remotes and URLs, so nothing outside the rule gets
/// through: no dots or slashes (no path tricks), no upper case (no two apps differing by case on a case-insensitive
/// disk), no Unicode look-alikes (a Cyrillic `а` is not an `a`).
public enum AppName {
    /// The rule, as shown to users.
    public static let rule = "use 2 to 30 lowercase letters, digits and dashes, starting with a letter"

    /// Throws ``DoorError`` (`invalidName`) unless `name` follows the rule.
    public static func validate(_ name: String) throws {
        guard NameRule.matches(name, maxLength: 30, minLength: 2, extra: [UInt8(ascii: "-")]) else {
            throw DoorError(.invalidName, "slipway: '\(DoorError.printable(name))' is not a valid app name: \(rule)")
        }
    }
}

/// User names, as written after `--user` in authorized_keys: `[a-z][a-z0-9_-]{0,31}` (the Debian `adduser` rule).
public enum UserName {
    /// The rule, as shown to users.
    public static let rule = "use 1 to 32 lowercase letters, digits, dashes and underscores, starting with a letter"

    /// Throws ``DoorError`` (`invalidName`) unless `name` follows the rule.
    public static func validate(_ name: String) throws {
        guard NameRule.matches(name, maxLength: 32, minLength: 1, extra: [UInt8(ascii: "-"), UInt8(ascii: "_")]) else {
            throw DoorError(.invalidName, "slipway: '\(DoorError.printable(name))' is not a valid user name: \(rule)")
        }
    }
}

/// `[a-z][a-z0-9<extra>]*` with a length range, checked byte by byte on the UTF-8 form so that no Unicode
/// normalization or look-alike can slip through.
enum NameRule {
    static func matches(_ name: String, maxLength: Int, minLength: Int, extra: Set<UInt8>) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count >= minLength, bytes.count <= maxLength, let first = bytes.first else { return false }
        guard isLower(first) else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || extra.contains($0) }
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
