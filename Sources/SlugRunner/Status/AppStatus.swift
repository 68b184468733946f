import Foundation
import SlipwayRunnerKit
public import SlipwaySpool

/// What runs for one app: the spool's ``RunnerState`` (`state.json`), under the name the runner has always used.
/// `slugrunner ps --json` prints it with `watcher` and `uptime` filled in.
public typealias AppStatus = RunnerState

extension RunnerState {
    /// Reads `state.json`; nil when the watcher never wrote one.
    public static func load(from path: String) throws -> AppStatus? {
        guard let data = try Files.read(path) else { return nil }
        guard let status = decode(data) else {
            throw RunnerError(.system, "slugrunner: \(path) is not a state file; it is rewritten when the watcher runs")
        }
        return status
    }

    /// The status as JSON: sorted keys, snake_case, two-space indent and `"key": value` (Foundation's pretty
    /// printer writes `"key" : value`).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return JSONLayout.indent(String(decoding: try encoder.encode(self), as: UTF8.self))
    }
}

/// Re-indents compact JSON: two spaces per level, `"key": value`, empty arrays and objects kept as `[]` and `{}`.
enum JSONLayout {
    static func indent(_ compact: String) -> String {
        var out = ""
        var depth = 0
        var inString = false
        var escaped = false
        let characters = Array(compact)
        var index = 0
        func newline() { out += "\n" + String(repeating: "  ", count: depth) }
        while index < characters.count {
            let character = characters[index]
            defer { index += 1 }
            if inString {
                out.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
                continue
            }
            switch character {
            case "\"":
                inString = true
                out.append(character)
            case "{", "[":
                let closing: Character = character == "{" ? "}" : "]"
                if index + 1 < characters.count && characters[index + 1] == closing {
                    out += "\(character)\(closing)"
                    index += 1
                } else {
                    out.append(character)
                    depth += 1
                    newline()
                }
            case "}", "]":
                depth -= 1
                newline()
                out.append(character)
            case ",":
                out.append(character)
                newline()
            case ":":
                out += ": "
            default:
                out.append(character)
            }
        }
        return out + "\n"
    }
}
