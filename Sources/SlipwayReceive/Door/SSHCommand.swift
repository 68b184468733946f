public import SlipwayDoorRecords
import SlipwaySpool

/// The two git services the door serves.
public enum GitService: String, Sendable {
    /// `git push`.
    case receivePack = "git-receive-pack"
    /// `git clone` and `git fetch`.
    case uploadPack = "git-upload-pack"
}

/// A git request the door accepted: which service, on which app (a valid ``AppName``).
public struct GitRequest: Equatable, Sendable {
    public var service: GitService
    public var app: String

    public init(service: GitService, app: String) {
        self.service = service
        self.app = app
    }
}

/// The parser of `SSH_ORIGINAL_COMMAND`, the command line the SSH client asked for.
///
/// A pure function, run without a shell: it accepts the few forms git sends and refuses everything else, as
/// gitlab-shell's `commandargs` does. git runs `git-receive-pack '<path>'` (the path single-quoted, quotes inside
/// written `'\''`), where the path is what the user wrote after `host:` in the remote.
public enum SSHCommand {
    /// The longest command considered; anything longer is refused before it is looked at.
    public static let maximumLength = 4096

    /// The refusal for everything that is not a `git push` or `git clone` (an interactive login included).
    public static let notServed = DoorError(.notGitCommand, "slipway: only git push and git clone are served here")

    /// Whether `original` asks for a git program (its first word starts with `git-`), so that ``parse(_:)`` and not
    /// the management commands' parser decides on it.
    public static func isGitCommand(_ original: String) -> Bool {
        original.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("git-")
    }

    /// Parses `git-receive-pack '<app>'` or `git-upload-pack '<app>'`.
    ///
    /// `<app>` may be written `app`, `app.git`, `/app`, `/app.git`, `~/app` or `~/app.git`, single-quoted (as git
    /// sends it) or bare. Everything else throws ``notServed``: no command (an interactive login), any other
    /// program, extra arguments, shell syntax (`;`, `|`, `&`, `$`, backticks, redirections, double quotes,
    /// backslashes), unbalanced quotes, line breaks or NUL, `..`, more than one path segment, `~user/`, other
    /// absolute paths, a leading `-`. A well-formed request whose app name breaks the rule throws the
    /// ``AppName`` error instead, naming the rule.
    public static func parse(_ original: String?) throws -> GitRequest {
        guard let original, original.utf8.count <= maximumLength else { throw notServed }
        let bytes = Array(original.utf8)
        guard !bytes.contains(where: forbidden.contains) else { throw notServed }
        let words = try split(bytes)
        guard words.count == 2, let program = String(validating: words[0], as: UTF8.self),
            let service = GitService(rawValue: program)
        else { throw notServed }
        let name = try appName(inPath: words[1])
        try AppName.validate(name)
        return GitRequest(service: service, app: name)
    }

    // Bytes refused anywhere: line breaks and NUL (a second command, or a truncated one in C), and the shell's
    // syntax. Nothing here runs a shell, but the command must not mean something else to anything that does.
    private static let forbidden: Set<UInt8> = Set("\0\n\r;|&$`\"\\<>".utf8)

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let quote = UInt8(ascii: "'")

    /// The words of the command: separated by spaces; a word is either bare (no quote in it) or one single-quoted
    /// string with nothing glued to it.
    private static func split(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var words: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == space || bytes[index] == tab {
                index += 1
                continue
            }
            var word: [UInt8] = []
            if bytes[index] == quote {
                guard let close = bytes[(index + 1)...].firstIndex(of: quote) else { throw notServed }
                word = Array(bytes[(index + 1)..<close])
                index = close + 1
                guard index == bytes.count || bytes[index] == space else { throw notServed }
            } else {
                while index < bytes.count && bytes[index] != space {
                    guard bytes[index] != quote else { throw notServed }
                    word.append(bytes[index])
                    index += 1
                }
            }
            words.append(word)
        }
        return words
    }

    /// The app named by a repository path: one segment, optionally after `/` or `~/`, optionally ending `.git`.
    private static func appName(inPath path: [UInt8]) throws -> String {
        // Byte-wise on UTF-8: every byte compared here is ASCII, which never occurs inside a multi-byte character,
        // so no combining mark can hide a `/` from the check.
        var rest = path[...]
        guard !rest.isEmpty, rest.first != UInt8(ascii: "-") else { throw notServed }
        guard !containsDotDot(rest) else { throw notServed }
        if rest.starts(with: "~/".utf8) {
            rest = rest.dropFirst(2)
        } else if rest.first == UInt8(ascii: "/") {
            rest = rest.dropFirst()
        }
        guard !rest.contains(UInt8(ascii: "/")), !rest.contains(UInt8(ascii: "~")) else { throw notServed }
        if rest.count >= 4 && rest.suffix(4).elementsEqual(".git".utf8) {
            rest = rest.dropLast(4)
        }
        guard !rest.isEmpty, rest.first != UInt8(ascii: "-") else { throw notServed }
        // Invalid UTF-8 cannot be an app name; it gets the name rule's message with the bytes replaced.
        return String(decoding: rest, as: UTF8.self)
    }

    private static func containsDotDot(_ bytes: ArraySlice<UInt8>) -> Bool {
        zip(bytes, bytes.dropFirst()).contains { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }
    }
}
