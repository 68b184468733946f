import Foundation
import Yams

/// What a buildpack's `bin/release` printed: YAML with `addons`, `config_vars` and `default_process_types`.
public struct ReleaseInfo: Equatable, Sendable {
    public var addons: [String] = []
    public var configVars: [String: String] = [:]
    public var defaultProcessTypes: [String: String] = [:]

    public init(addons: [String] = [], configVars: [String: String] = [:], defaultProcessTypes: [String: String] = [:])
    {
        self.addons = addons
        self.configVars = configVars
        self.defaultProcessTypes = defaultProcessTypes
    }

    /// Parses `bin/release` output with a real YAML parser. Empty output means "nothing to add".
    ///
    /// Broken YAML, or a document that is not a mapping of the known shape, throws a ``BuildError`` that carries the
    /// parser's own message.
    public init(yaml text: String, buildpack: String) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw BuildError(
                .releaseYAMLInvalid, "The release YAML of \(buildpack) does not parse: \(Self.oneLine(error))",
                buildpack: buildpack)
        }
        guard let node, !(node.scalar.map { $0.string.isEmpty || $0.string == "~" || $0.string == "null" } ?? false)
        else { return }
        guard let map = node.mapping else {
            throw Self.shapeError(buildpack, "the document is not a mapping")
        }
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string else { continue }
            switch key {
            case "addons":
                if value.scalar?.string.isEmpty == true || Self.isNull(value) { continue }
                guard let seq = value.sequence else { throw Self.shapeError(buildpack, "'addons' is not a list") }
                addons = try seq.map {
                    guard let s = $0.scalar?.string else {
                        throw Self.shapeError(buildpack, "an addon is not a string")
                    }
                    return s
                }
            case "config_vars":
                configVars = try Self.stringMap(value, key, buildpack)
            case "default_process_types":
                defaultProcessTypes = try Self.stringMap(value, key, buildpack)
            default:
                continue
            }
        }
    }

    private static func stringMap(_ node: Node, _ key: String, _ buildpack: String) throws -> [String: String] {
        if isNull(node) { return [:] }
        guard let map = node.mapping else { throw shapeError(buildpack, "'\(key)' is not a mapping") }
        var result: [String: String] = [:]
        for (k, v) in map {
            guard let name = k.scalar?.string, let text = v.scalar?.string else {
                throw shapeError(buildpack, "'\(key)' must map names to strings")
            }
            result[name] = text
        }
        return result
    }

    private static func isNull(_ node: Node) -> Bool {
        guard let s = node.scalar else { return false }
        return s.string == "~" || s.string == "null" || (s.string.isEmpty && s.style == .plain)
    }

    private static func shapeError(_ buildpack: String, _ why: String) -> BuildError {
        BuildError(.releaseYAMLInvalid, "The release YAML of \(buildpack) is invalid: \(why).", buildpack: buildpack)
    }

    static func oneLine(_ error: Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }
}
