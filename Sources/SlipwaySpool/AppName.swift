/// App names, Heroku's rule: `[a-z][a-z0-9-]{1,29}`, ASCII only, and none of the names of the server's own folders.
/// Part of the contract with runners: the server never publishes a release of an app outside it, and a runner
/// refuses one.
///
/// The name becomes a folder under the root, a log file's name and part of remotes and URLs, so nothing outside the
/// rule gets through: no dots or slashes (no path tricks), no upper case (no two apps differing by case on a
/// case-insensitive disk), no Unicode look-alikes (a Cyrillic `а` is not an `a`).
public enum AppName {
    /// The rule, as shown to users.
    public static let rule = "use 2 to 30 lowercase letters, digits and dashes, starting with a letter"

    /// Names that follow the rule but name the server's own folders (`<root>/spool`, an app's `cache`, …): no app
    /// may take them, so no path built from an app name can ever mean one of them.
    public static let reserved: Set<String> = [
        "apps", "spool", "tmp", "run", "logs", "runner", "cache", "slugs", "builds", "staged", "repo", "git",
    ]

    /// Whether `name` follows the rule, reserved names aside.
    public static func followsRule(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (2...30).contains(bytes.count), let first = bytes.first, isLower(first) else { return false }
        return bytes.allSatisfy { isLower($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// Whether `name` is a valid app name: it follows the rule and is not reserved.
    public static func isValid(_ name: String) -> Bool { followsRule(name) && !reserved.contains(name) }

    private static func isLower(_ byte: UInt8) -> Bool { (0x61...0x7a).contains(byte) }
}
