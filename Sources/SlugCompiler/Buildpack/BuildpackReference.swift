/// Where a buildpack comes from, as written in `-b`, `.buildpacks` or `BUILDPACK_URL`.
public enum BuildpackReference: Equatable, Sendable, CustomStringConvertible {
    /// One of the built-in buildpacks in `buildpacks/`, by folder name (`python`; `heroku/python` also names it).
    case builtin(String)
    /// A buildpack folder on this machine.
    case directory(String)
    /// A git repository, cloned with libgit2, with an optional `#ref` (branch, tag or commit).
    case git(url: String, ref: String?)

    /// Interprets `text`: a URL (`https://…`, `file://…`, `git@…`, or anything ending in `.git`, each with an optional
    /// `#ref`) is a git repository; a built-in name is a built-in; anything else is a local folder.
    public init(_ text: String, builtinNames: [String]) {
        let trimmed = text.trimmingSpaces()
        let base = trimmed.split(separator: "#", maxSplits: 1).first.map(String.init) ?? trimmed
        if base.contains("://") || base.hasPrefix("git@") || base.hasSuffix(".git") {
            let ref = trimmed.firstIndex(of: "#").map { String(trimmed[trimmed.index(after: $0)...]) }
            self = .git(url: base, ref: ref?.isEmpty == true ? nil : ref)
        } else if builtinNames.contains(trimmed) {
            self = .builtin(trimmed)
        } else if trimmed.hasPrefix("heroku/"), builtinNames.contains(String(trimmed.dropFirst(7))) {
            self = .builtin(String(trimmed.dropFirst(7)))
        } else {
            self = .directory(trimmed)
        }
    }

    /// The reference as the user wrote it (recorded in the release manifest).
    public var description: String {
        switch self {
        case .builtin(let name): name
        case .directory(let path): path
        case .git(let url, let ref): ref.map { "\(url)#\($0)" } ?? url
        }
    }

    /// Parses a `.buildpacks` file: one reference a line; blank lines and `#` comments skipped.
    public static func parseList(_ text: String, builtinNames: [String]) -> [BuildpackReference] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { return nil }
            return BuildpackReference(line, builtinNames: builtinNames)
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        Substring(self).trimmingSpaces()
    }
}
