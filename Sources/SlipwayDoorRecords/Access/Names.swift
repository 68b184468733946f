public import SlipwaySpool
import SlipwaySystem

extension AppName {
    /// Throws ``DoorError`` (`invalidName`) unless `name` follows the rule and is not reserved.
    public static func validate(_ name: String) throws {
        guard followsRule(name) else {
            throw DoorError(.invalidName, "slipway: '\(TerminalText.printable(name))' is not a valid app name: \(rule)")
        }
        guard !reserved.contains(name) else {
            throw DoorError(
                .invalidName,
                "slipway: '\(name)' is reserved: it names one of the server's own folders; choose another name")
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
            throw DoorError(
                .invalidName, "slipway: '\(TerminalText.printable(name))' is not a valid user name: \(rule)")
        }
    }
}

/// `[a-z][a-z0-9<extra>]*` with a length range, checked byte by byte on the UTF-8 form so that no Unicode
/// normalization or look-alike can slip through.
public enum NameRule {
    public static func matches(_ name: String, maxLength: Int, minLength: Int, extra: Set<UInt8>) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count >= minLength, bytes.count <= maxLength, let first = bytes.first else { return false }
        guard isLower(first) else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || extra.contains($0) }
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// Config var names, Heroku's rule: `[A-Za-z_][A-Za-z0-9_]*`. The name becomes a file name in the build's `ENV_DIR`
/// and an environment variable of the app, so nothing outside the rule gets through.
public enum ConfigKey {
    /// The rule, as shown to users.
    public static let rule = "use letters, digits and underscores, not starting with a digit"

    /// Throws ``DoorError`` (`invalidValue`) unless `key` follows the rule.
    public static func validate(_ key: String) throws {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, !isDigit(first), bytes.count <= 256,
            bytes.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
        else {
            throw DoorError(
                .invalidValue, "slipway: '\(TerminalText.printable(key))' is not a valid config var name: \(rule)")
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// Branch names, as `git check-ref-format --branch` accepts them, less a leading `-` (it would read as an option).
public enum BranchName {
    /// Throws ``DoorError`` (`invalidValue`) unless `name` is a branch name git accepts.
    public static func validate(_ name: String) throws {
        guard isValid(name) else {
            throw DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(name))' is not a valid branch name: "
                    + "use letters, digits, '-', '_', '.' and '/', as git branch does")
        }
    }

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255, name != "@", bytes.first != UInt8(ascii: "-") else { return false }
        let forbidden = Set(" ~^:?*[\\".utf8)
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7f || forbidden.contains($0) }) else { return false }
        guard !name.contains(".."), !name.contains("@{"), !name.contains("//") else { return false }
        guard !name.hasPrefix("/"), !name.hasSuffix("/"), !name.hasSuffix(".") else { return false }
        return name.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.hasSuffix(".lock") }
    }
}

/// An app's build directory: a relative folder inside the pushed tree, for monorepos (`services/api`).
public enum BuildDirectory {
    /// `path` in its canonical form (no `.` or empty components, no trailing `/`); nil for the whole tree (`""` or
    /// `.`). Throws ``DoorError`` (`invalidValue`) for an absolute path, a `..` component or a control character.
    public static func normalize(_ path: String) throws -> String? {
        func refuse(_ why: String) -> DoorError {
            DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(path))' cannot be a build dir: \(why); give a folder of the repository, "
                    + "relative to its top, such as services/api")
        }
        guard !path.hasPrefix("/") else { throw refuse("it is absolute") }
        guard path.utf8.count <= 1024 else { throw refuse("it is longer than 1024 bytes") }
        guard !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw refuse("it contains a control character")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else { throw refuse("it climbs out with '..'") }
        return components.isEmpty ? nil : components.joined(separator: "/")
    }
}
