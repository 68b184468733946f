/// The rule that makes a host name belong to one app: which names a domain (`www.example.com`) or a wildcard
/// (`*.example.com`) claims, when two claims overlap, and which of two matching claims is the more specific.
///
/// For ownership a wildcard claims every name under it, at any depth (`*.example.com` claims `www.example.com` and
/// `a.b.example.com`, not `example.com`), as a DNS wildcard record sends them all to the server; the router matches
/// one label, as Caddy does, and prefers the more specific of two matching claims (``specificity``).
public enum DomainName {
    /// `word` as a stored domain: lowercase, without one final dot (`WWW.Example.COM.` is `www.example.com`); nil
    /// when it is not a host name (``DynoSettings/isDomain(_:)``). Only ASCII names: an international name is given
    /// in its `xn--` form.
    public static func normalized(_ word: String) -> String? {
        var host = Substring(word.lowercased())
        if host.hasSuffix("."), !host.hasSuffix("..") { host = host.dropLast() }
        let name = String(host)
        return DynoSettings.isDomain(name) ? name : nil
    }

    /// Whether `name` is a wildcard (`*.example.com`).
    public static func isWildcard(_ name: String) -> Bool { name.hasPrefix("*.") }

    /// Whether some host name is claimed by both `a` and `b` (both normalized): the same name, a wildcard and a name
    /// under it, or two wildcards one of which is under the other (or the same).
    public static func overlaps(_ a: String, _ b: String) -> Bool {
        switch (isWildcard(a), isWildcard(b)) {
        case (false, false): return a == b
        case (true, false): return b.hasSuffix(a.dropFirst())
        case (false, true): return a.hasSuffix(b.dropFirst())
        case (true, true): return a.hasSuffix(b.dropFirst()) || b.hasSuffix(a.dropFirst())
        }
    }

    /// How specific a claim is, larger first: a name before any wildcard, a wildcard with more labels before one
    /// with fewer (`*.api.example.com` before `*.example.com`).
    public static func specificity(_ name: String) -> Int {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).count
        return isWildcard(name) ? labels : 1_000 + labels
    }
}
