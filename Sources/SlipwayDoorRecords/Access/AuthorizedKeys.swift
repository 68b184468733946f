import Foundation
import SlipwaySystem

/// One key Slipway authorized: whose it is and the key.
public struct AuthorizedKeyEntry: Equatable, Sendable {
    /// The user, from `--user` in the line's forced command.
    public var user: String
    /// The key.
    public var key: PublicKey

    public init(user: String, key: PublicKey) {
        self.user = user
        self.key = key
    }
}

/// The authorized_keys file OpenSSH reads (`<root>/authorized_keys` by default).
///
/// Each key Slipway adds gets a forced command and no forwarding or terminal:
///
/// ```
/// command="<receive-pack> shell --root <root> --user <user>",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty <type> <base64> [comment]
/// ```
///
/// so whatever the client asks for, sshd runs `receive-pack shell`, which reads the request from
/// `SSH_ORIGINAL_COMMAND`. Lines Slipway did not write (an operator's own keys, comments) are kept as they are.
/// Changes are made under an exclusive lock on `<path>.lock` and written atomically: concurrent adds never lose a
/// line, and sshd never reads a half-written file.
public struct AuthorizedKeys: Sendable {
    /// The file.
    public let path: String
    /// The absolute path of `receive-pack`, written into each forced command.
    public let receivePackPath: String
    /// The server's root, written into each forced command.
    public let root: String

    /// The restrictions after the forced command, in the order written.
    public static let restrictions = "no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty"

    public init(path: String, receivePackPath: String, root: String) {
        self.path = path
        self.receivePackPath = receivePackPath
        self.root = root
    }

    /// Authorizes `key` for `user`.
    ///
    /// Refuses a key already in the file, for anyone (sshd would only ever use the first line with it). Creates the
    /// file (mode 0600) and its folder (0700) if missing.
    public func add(user: String, key: PublicKey) throws {
        let newLine = try line(user: user, key: key)
        try update { lines in
            for existing in lines {
                if let entry = Self.entry(in: existing) {
                    if entry.key.sameKey(as: key) {
                        throw DoorError(.duplicateKey, "slipway: that key is already authorized for \(entry.user)")
                    }
                } else if Self.words(of: existing).contains(key.base64) {
                    throw DoorError(
                        .duplicateKey,
                        "slipway: that key is already in \(path), on a line Slipway did not write: remove that line first"
                    )
                }
            }
            lines.append(Array(newLine.utf8))
        }
    }

    /// The keys Slipway authorized, in file order.
    public func list() throws -> [AuthorizedKeyEntry] {
        guard let data = try StateFiles.contents(of: path) else { return [] }
        return StateFiles.lines(of: data).compactMap(Self.entry(in:))
    }

    /// Removes every key of `user`; returns how many were removed. Throws if the user had none.
    @discardableResult
    public func remove(user: String) throws -> Int {
        try UserName.validate(user)
        var removed = 0
        try update { lines in
            let before = lines.count
            lines.removeAll { Self.entry(in: $0)?.user == user }
            removed = before - lines.count
            guard removed > 0 else {
                throw DoorError(
                    .notFound, "slipway: \(user) has no authorized keys (receive-pack keys list shows them)")
            }
        }
        return removed
    }

    /// The user `key` belongs to, nil if it is not authorized. Compares type and key data, not comments.
    public func user(for key: PublicKey) throws -> String? {
        try list().first { $0.key.sameKey(as: key) }?.user
    }

    /// The exact line written for `user` and `key`.
    ///
    /// The forced command runs through the user's login shell, so the paths in it are shell-quoted when they need
    /// it (a space, for example). Paths that are not absolute, or that contain `"`, `\`, `'` or control characters,
    /// are refused: sshd's quoting has no safe way to carry them.
    public func line(user: String, key: PublicKey) throws -> String {
        try UserName.validate(user)
        // The key's fields are public and settable: check them again so a newline cannot add a second line.
        let checked = try PublicKey(parsing: key.line)
        let command =
            "\(try Self.shellWord(receivePackPath, "receive-pack path")) shell --root \(try Self.shellWord(root, "root")) --user \(user)"
        return "command=\"\(command)\",\(Self.restrictions) \(checked.line)"
    }

    // MARK: - Reading lines back

    private static let commandPrefix = "command=\""

    /// The entry a line holds if Slipway wrote it: the forced command `… shell --root … --user <user>` with
    /// Slipway's restrictions, then a key. Any other line is foreign and kept as it is.
    public static func entry(in bytes: [UInt8]) -> AuthorizedKeyEntry? {
        guard let line = String(validating: bytes, as: UTF8.self), line.hasPrefix(commandPrefix) else { return nil }
        let afterOpen = line.dropFirst(commandPrefix.count)
        guard let close = afterOpen.firstIndex(of: "\"") else { return nil }
        let command = afterOpen[..<close]
        let rest = afterOpen[afterOpen.index(after: close)...]
        let options = ",\(restrictions) "
        guard rest.hasPrefix(options), let key = try? PublicKey(parsing: String(rest.dropFirst(options.count))),
            let userMarker = command.range(of: " --user ", options: .backwards),
            command[..<userMarker.lowerBound].contains(" shell --root ")
        else { return nil }
        let user = String(command[userMarker.upperBound...])
        guard (try? UserName.validate(user)) != nil else { return nil }
        return AuthorizedKeyEntry(user: user, key: key)
    }

    /// The whitespace-separated words of a foreign line, to spot the same key written by someone else.
    private static func words(of bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split { $0 == " " || $0 == "\t" }.map(String.init)
    }

    // MARK: - Writing

    /// Read-modify-write of the file's lines under the lock, replaced atomically.
    private func update(_ change: (inout [[UInt8]]) throws -> Void) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try StateFiles.withExclusiveLock("\(path).lock") {
            var lines = try StateFiles.contents(of: path).map(StateFiles.lines(of:)) ?? []
            try change(&lines)
            try StateFiles.writeAtomically(StateFiles.text(of: lines), to: path, mode: 0o600)
        }
    }

    /// `path` as one word for the shell that runs the forced command: bare if it is plain, else single-quoted.
    private static func shellWord(_ path: String, _ what: String) throws -> String {
        guard path.hasPrefix("/") else {
            throw DoorError(
                .invalidKey,
                "slipway: the \(what) in authorized_keys must be absolute, not '\(TerminalText.printable(path))'")
        }
        let refused = path.unicodeScalars.contains {
            $0 == "\"" || $0 == "\\" || $0 == "'" || $0.properties.generalCategory == .control
        }
        guard !refused else {
            throw DoorError(
                .invalidKey,
                "slipway: the \(what) '\(TerminalText.printable(path))' cannot go in authorized_keys: it contains a quote, a backslash or a control character; move it to a plain path"
            )
        }
        let plain = path.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "/._-+:@%,=".unicodeScalars.contains($0))
        }
        return plain ? path : "'\(path)'"
    }
}
