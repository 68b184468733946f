import Foundation
import SlipwaySystem

/// The TCP ports of add-on servers on this machine, which dynos may open on the host: `<root>/addons/ports`, one a
/// line, written by the door (whole, ``DurableFile``) and read by the runner, which lets exactly these ports through
/// its firewall (``AddonFirewall``).
public struct AddonPorts: Sendable {
    let layout: AddonLayout

    public init(root: String) {
        layout = AddonLayout(root: root)
    }

    /// The ports listed now; none when there is no file.
    public func list() -> [UInt16] {
        guard let bytes = (try? FileSystem.read(layout.ports)).flatMap({ $0 }) else { return [] }
        return Self.parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Adds `port` to the list (under the add-ons' folder; nothing when it is there).
    func add(_ port: UInt16) throws(AddonError) {
        try change { $0.insert(port) }
    }

    /// Removes `port` from the list.
    func remove(_ port: UInt16) throws(AddonError) {
        try change { $0.remove(port) }
    }

    private func change(_ edit: (inout Set<UInt16>) -> Void) throws(AddonError) {
        do {
            let lock = try HeldLock("\(layout.ports).lock")
            try withExtendedLifetime(lock) {
                var ports = Set(list())
                let before = ports
                edit(&ports)
                guard ports != before else { return }
                let text = ports.sorted().map { "\($0)\n" }.joined()
                try DurableFile.replace(layout.ports, with: Data(text.utf8), mode: 0o644)
            }
        } catch {
            throw AddonError(.serverDown, "the add-ons' port list cannot be written")
        }
    }

    /// The valid ports in `text` (one a line; anything else is skipped).
    static func parse(_ text: String) -> [UInt16] {
        text.split(whereSeparator: \.isNewline).compactMap { UInt16($0.trimmingCharacters(in: .whitespaces)) }
            .filter { $0 > 0 }
    }
}
