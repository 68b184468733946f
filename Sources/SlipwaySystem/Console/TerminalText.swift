/// Makes a line a buildpack printed safe to show on the pusher's terminal: a buildpack may colour its output, but
/// never drive the terminal (move the cursor, clear the screen, set the window title, answer-back tricks).
///
/// - SGR sequences (`ESC [ <digits and ;> m`: colours, bold) pass unchanged.
/// - Every other escape sequence is removed whole: other CSI sequences (`ESC [ 2J`, cursor moves), OSC
///   (`ESC ] 0;title BEL`), DCS/SOS/PM/APC strings, two-character escapes, and 8-bit C1 controls (U+0080–U+009F,
///   where U+009B is a CSI of its own).
/// - Other control characters are removed, except tab.
/// - A carriage return redraws the line on a terminal (progress bars): only the last non-empty part is kept.
public enum TerminalText {
    public static func sanitize(_ line: String) -> String {
        guard line.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return line
        }
        var text = Substring(line)
        if text.contains("\r") {
            text = text.split(separator: "\r", omittingEmptySubsequences: true).last ?? ""
        }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar.value {
            case 0x1B:
                index = skipEscape(scalars, from: index, keepingInto: &out)
                continue
            case 0x09:
                out.append(scalar)
            case 0x00..<0x20, 0x7F...0x9F:
                break
            default:
                out.append(scalar)
            }
            index += 1
        }
        return String(out)
    }

    /// Skips the escape sequence starting at `start` (an ESC); appends it to `out` when it is a colour (SGR)
    /// sequence. Returns the index after it.
    private static func skipEscape(
        _ scalars: [Unicode.Scalar], from start: Int, keepingInto out: inout String.UnicodeScalarView
    ) -> Int {
        var index = start + 1
        guard index < scalars.count else { return index }
        switch scalars[index] {
        case "[":
            // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, one final byte 0x40–0x7E.
            index += 1
            let parameters = index
            while index < scalars.count, (0x30...0x3F).contains(scalars[index].value) { index += 1 }
            let parameterEnd = index
            while index < scalars.count, (0x20...0x2F).contains(scalars[index].value) { index += 1 }
            guard index < scalars.count, (0x40...0x7E).contains(scalars[index].value) else { return index }
            let isColour =
                scalars[index] == "m" && parameterEnd == index
                && scalars[parameters..<parameterEnd].allSatisfy { $0 == ";" || ("0"..."9").contains($0) }
            if isColour { out.append(contentsOf: scalars[start...index]) }
            return index + 1
        case "]", "P", "X", "^", "_":
            // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
            index += 1
            while index < scalars.count {
                if scalars[index].value == 0x07 { return index + 1 }
                if scalars[index].value == 0x1B, index + 1 < scalars.count, scalars[index + 1] == "\\" {
                    return index + 2
                }
                index += 1
            }
            return index
        default:
            // A two-character escape (ESC c resets the terminal, ESC 7 saves the cursor, …).
            return index + 1
        }
    }
}

extension TerminalText {
    /// `text` from a client (a name, a path, a ref) made safe to print inside one line of the server's: control,
    /// format and separator characters as `\u{…}`, cut at `limit` printed characters (then `…`). Unlike
    /// ``sanitize(_:)``, which keeps a buildpack's colours, nothing of `text` reaches the terminal or a log as a
    /// control.
    public static func printable(_ text: some StringProtocol, limit: Int = 64) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                piece = "\\u{\(String(scalar.value, radix: 16))}"
            default:
                piece = String(scalar)
            }
            if count + piece.count > limit {
                out += "…"
                return out
            }
            out += piece
            count += piece.count
        }
        return out
    }
}
