import Foundation

/// The pieces the property tests glue into hostile input (each test target's `hostileText`): shell syntax, quotes,
/// traversal, control characters, Unicode look-alikes and line breaks of every kind. (The generator itself lives in
/// the test targets: swift-property-based needs Swift Testing, which this support target must not, so that release
/// builds of the package still build it.)
public let hostileFragments: [String] = [
    "a", "z", "0", "9", "-", "_", ".", "..", "/", "~", "~/", " ", "  ", "\t", "'", "\"", "\\", "`", "$", "$(", ")",
    "${", "}", ";", "|", "&", "&&", ">", "<", "*", "?", "[", "]", "!", "#", "=", ":", ",", "\n", "\r", "\r\n",
    "\u{0}", "\u{7}", "\u{1B}", "\u{1B}[2J", "\u{7F}", "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{200B}",
    "\u{202E}", "\u{0430}", "\u{0501}", "\u{FF0F}", "\u{2215}", "é", "e\u{301}", "😀", "\u{10FFFF}", "-o", "--",
    "app", "myapp", "A", "x.git", ".git", "%2e%2e", "\u{FF0E}\u{FF0E}",
]
