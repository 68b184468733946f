import Foundation
import PropertyBased

/// Property-test inputs that look like what an attacker sends: text glued together from shell syntax, quotes,
/// traversal, control characters, Unicode look-alikes and line breaks of every kind, with the words the parser under
/// test cares about (`extra`) mixed in.
public func hostileText(_ extra: [String] = [], fragments length: ClosedRange<Int> = 0...24)
    -> Generator<String, some Sequence & SendableMetatype>
{
    let pieces = hostileFragments + extra
    return Gen<String?>.element(of: pieces).map { $0 ?? "" }.array(of: length).map { $0.joined() }
}

/// The pieces ``hostileText(_:fragments:)`` glues together.
public let hostileFragments: [String] = [
    "a", "z", "0", "9", "-", "_", ".", "..", "/", "~", "~/", " ", "  ", "\t", "'", "\"", "\\", "`", "$", "$(", ")",
    "${", "}", ";", "|", "&", "&&", ">", "<", "*", "?", "[", "]", "!", "#", "=", ":", ",", "\n", "\r", "\r\n",
    "\u{0}", "\u{7}", "\u{1B}", "\u{1B}[2J", "\u{7F}", "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{200B}",
    "\u{202E}", "\u{0430}", "\u{0501}", "\u{FF0F}", "\u{2215}", "é", "e\u{301}", "😀", "\u{10FFFF}", "-o", "--",
    "app", "myapp", "A", "x.git", ".git", "%2e%2e", "\u{FF0E}\u{FF0E}",
]
