import SlipwayDoorRecords

/// One line git gives the pre-receive and post-receive hooks: `<old-sha> <new-sha> <ref-name>`.
public struct RefUpdate: Equatable, Sendable {
    public var old: String
    public var new: String
    /// The full ref name, as the pusher sent it. Untrusted: it may hold `$(…)`, `;`, quotes or a leading `-`.
    public var ref: String

    static let zero = String(repeating: "0", count: 40)

    public var isDelete: Bool { new == Self.zero }
    public var isCreate: Bool { old == Self.zero }
    /// The branch name for `refs/heads/<name>`, nil for tags and other refs.
    public var branch: String? { ref.hasPrefix("refs/heads/") ? String(ref.dropFirst(11)) : nil }

    /// Parses the hook's standard input. A line that is not two 40-hex object ids and a ref name throws.
    public static func parse(_ text: String) throws -> [RefUpdate] {
        try text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, isObjectID(parts[0]), isObjectID(parts[1]), !parts[2].isEmpty else {
                throw DoorError(
                    .pushRefused, lines: "Unexpected input from git: the hook expects '<old> <new> <ref>' lines.")
            }
            return RefUpdate(old: parts[0], new: parts[1], ref: parts[2])
        }
    }

    static func isObjectID(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
