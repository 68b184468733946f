/// The rules of an app's `.slugignore`: what to leave out of the slug, removed before any buildpack runs.
///
/// Heroku's format: one glob pattern a line, `#` starts a comment, blank lines are skipped. A pattern without a `/`
/// matches a file or folder name at any depth; a leading `/` (or a `/` inside the pattern) anchors it to the app's
/// root; a trailing `/` matches folders only. `*` and `?` do not cross `/`, `**` does, `[abc]` is a character class.
/// There is no negation (`!`), as on Heroku.
public struct SlugIgnore: Sendable {
    struct Rule: Sendable {
        var pattern: [UInt8]
        var anchored: Bool
        var directoryOnly: Bool
    }

    var rules: [Rule]

    /// Parses the text of a `.slugignore` file.
    public init(parsing text: String) {
        rules = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var directoryOnly = false
            while line.hasSuffix("/") {
                directoryOnly = true
                line.removeLast()
            }
            var anchored = false
            if line.hasPrefix("/") {
                anchored = true
                line = String(line.drop(while: { $0 == "/" }))
            } else if line.hasPrefix("./") {
                anchored = true
                line = String(line.dropFirst(2))
            }
            if line.contains("/") { anchored = true }
            if line.isEmpty { continue }
            rules.append(Rule(pattern: Array(line.utf8), anchored: anchored, directoryOnly: directoryOnly))
        }
    }

    /// Whether there are no rules.
    public var isEmpty: Bool { rules.isEmpty }

    /// Whether the entry at `path` (relative to the app's root, `/`-separated, no leading `./`) is ignored.
    public func ignores(_ path: String, isDirectory: Bool) -> Bool {
        ignores(bytes: Array(path.utf8), isDirectory: isDirectory)
    }

    /// ``ignores(_:isDirectory:)`` for a path given as bytes (a name need not be UTF-8).
    public func ignores(bytes full: [UInt8], isDirectory: Bool) -> Bool {
        let name = full.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? full
        for rule in rules {
            if rule.directoryOnly && !isDirectory { continue }
            if globMatch(rule.pattern[...], rule.anchored ? full[...] : name[...]) { return true }
        }
        return false
    }
}

/// Matches `text` against a glob `pattern`, byte by byte: `*` and `?` stop at `/`, `**` crosses it,
/// `[...]` is a set (`[!...]` or `[^...]` negated, `a-z` ranges), `\x` matches `x` literally.
///
/// Each (pattern position, text position) pair is decided once and remembered, so the time is bounded by the
/// product of the two lengths: a pattern such as `*a*a*a*a*b` cannot make a build backtrack without end.
func globMatch(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
    var matcher = GlobMatcher(pattern: Array(pattern), text: Array(text))
    return matcher.match(0, 0)
}

private struct GlobMatcher {
    let pattern: [UInt8]
    let text: [UInt8]
    /// 0 unknown, 1 matches, 2 does not.
    var memo: [UInt8]

    init(pattern: [UInt8], text: [UInt8]) {
        self.pattern = pattern
        self.text = text
        memo = [UInt8](repeating: 0, count: (pattern.count + 1) * (text.count + 1))
    }

    mutating func match(_ p: Int, _ t: Int) -> Bool {
        let key = p * (text.count + 1) + t
        if memo[key] != 0 { return memo[key] == 1 }
        let result = decide(p, t)
        memo[key] = result ? 1 : 2
        return result
    }

    private mutating func decide(_ p: Int, _ t: Int) -> Bool {
        let slash = UInt8(ascii: "/")
        guard p < pattern.count else { return t == text.count }
        let c = pattern[p]
        switch c {
        case UInt8(ascii: "*"):
            let doubleStar = p + 1 < pattern.count && pattern[p + 1] == UInt8(ascii: "*")
            var rest = p + (doubleStar ? 2 : 1)
            // "**/" also matches zero folders.
            if doubleStar, rest < pattern.count, pattern[rest] == slash, match(rest + 1, t) { return true }
            if !doubleStar { while rest < pattern.count && pattern[rest] == UInt8(ascii: "*") { rest += 1 } }
            var i = t
            while true {
                if match(rest, i) { return true }
                if i == text.count || (!doubleStar && text[i] == slash) { return false }
                i += 1
            }
        case UInt8(ascii: "?"):
            guard t < text.count, text[t] != slash else { return false }
            return match(p + 1, t + 1)
        case UInt8(ascii: "["):
            guard t < text.count, text[t] != slash else { return false }
            guard let (matched, next) = matchClass(pattern[...], p, text[t]) else {
                // An unclosed '[' is a literal.
                return text[t] == c && match(p + 1, t + 1)
            }
            return matched && match(next, t + 1)
        case UInt8(ascii: "\\") where p + 1 < pattern.count:
            guard t < text.count, text[t] == pattern[p + 1] else { return false }
            return match(p + 2, t + 1)
        default:
            guard t < text.count, text[t] == c else { return false }
            return match(p + 1, t + 1)
        }
    }
}

/// Matches one byte against the class starting at `start` (`[`); returns the result and the index after `]`.
private func matchClass(_ pattern: ArraySlice<UInt8>, _ start: Int, _ byte: UInt8) -> (Bool, Int)? {
    var i = start + 1
    var negate = false
    if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
        negate = true
        i += 1
    }
    var matched = false
    var first = true
    while i < pattern.endIndex {
        let c = pattern[i]
        if c == UInt8(ascii: "]") && !first { return (matched != negate, i + 1) }
        first = false
        if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
            if byte >= c && byte <= pattern[i + 2] { matched = true }
            i += 3
        } else {
            if byte == c { matched = true }
            i += 1
        }
    }
    return nil
}
