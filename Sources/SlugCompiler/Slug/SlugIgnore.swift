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
        let full = Array(path.utf8)
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
func globMatch(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
    let slash = UInt8(ascii: "/")
    var p = pattern.startIndex
    var t = text.startIndex
    while p < pattern.endIndex {
        let c = pattern[p]
        switch c {
        case UInt8(ascii: "*"):
            let doubleStar = p + 1 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "*")
            var rest = p + (doubleStar ? 2 : 1)
            // "**/" also matches zero folders.
            if doubleStar, rest < pattern.endIndex, pattern[rest] == slash,
                globMatch(pattern[(rest + 1)...], text[t...])
            {
                return true
            }
            if doubleStar == false { while rest < pattern.endIndex && pattern[rest] == UInt8(ascii: "*") { rest += 1 } }
            var i = t
            while true {
                if globMatch(pattern[rest...], text[i...]) { return true }
                if i == text.endIndex || (!doubleStar && text[i] == slash) { return false }
                i += 1
            }
        case UInt8(ascii: "?"):
            guard t < text.endIndex, text[t] != slash else { return false }
            p += 1
            t += 1
        case UInt8(ascii: "["):
            guard t < text.endIndex, text[t] != slash else { return false }
            guard let (matched, next) = matchClass(pattern, p, text[t]) else {
                // An unclosed '[' is a literal.
                guard text[t] == c else { return false }
                p += 1
                t += 1
                continue
            }
            guard matched else { return false }
            p = next
            t += 1
        case UInt8(ascii: "\\") where p + 1 < pattern.endIndex:
            guard t < text.endIndex, text[t] == pattern[p + 1] else { return false }
            p += 2
            t += 1
        default:
            guard t < text.endIndex, text[t] == c else { return false }
            p += 1
            t += 1
        }
    }
    return t == text.endIndex
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
