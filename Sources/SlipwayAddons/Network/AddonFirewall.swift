import SlipwaySystem

/// The runner's side of add-on networking: dynos, whose packets to the host are dropped (docs/runner.md), may open
/// exactly the add-on servers' ports on the host. The runner's nftables table holds a set, `addon_ports`, and a rule
/// accepting a dyno's TCP connection to a port in it (``setDeclaration``, ``inputRule``); this fills the set from
/// ``AddonPorts`` whenever the list changes, and every 5 seconds makes sure the set and rule are there (another
/// runner of the machine may have replaced the table).
public final class AddonFirewall {
    /// The set, declared in the runner's `inet slipway` table.
    public static let setDeclaration = "set addon_ports { type inet_service; }"
    /// The rule of the table's input chain, before its drop of what dynos send the host.
    public static let inputRule = "iifname \"slwd*\" tcp dport @addon_ports accept"

    private let ports: AddonPorts
    private let nft: String
    private var applied: [UInt16]?
    private var appliedAt = ContinuousClock.now

    /// The firewall of the server at `root`, driven with `nft` (the runner's).
    public init(root: String, nft: String) {
        ports = AddonPorts(root: root)
        self.nft = nft
    }

    /// Brings the set up to date when the list changed, and every 5 seconds puts the set and the rule back if the
    /// table was replaced without them (by a runner of another version); a failure is tried again next time.
    public func sync() {
        let now = ports.list()
        guard now != applied || ContinuousClock.now - appliedAt > .seconds(5) else { return }
        var script = "add set inet slipway addon_ports { type inet_service; }\n"
        if !hasRule() { script += "insert rule inet slipway input \(Self.inputRule)\n" }
        script += "flush set inet slipway addon_ports\n"
        if !now.isEmpty {
            script += "add element inet slipway addon_ports { \(now.map(String.init).joined(separator: ", ")) }\n"
        }
        do throws(SandboxError) {
            try SystemTool.run(
                nft, ["-f", "-"], input: script, package: "nftables", what: "nft, letting dynos reach add-ons,",
                hint: "Check the runner's firewall.")
            applied = now
            appliedAt = .now
        } catch {
            applied = nil
        }
    }

    /// Whether the table's input chain has the rule.
    private func hasRule() -> Bool {
        let child = ChildProcess(
            executable: nft, arguments: ["list", "chain", "inet", "slipway", "input"], environment: [:],
            stdout: .capture(limit: 256 * 1024))
        guard let result = try? child.run(), result.status.succeeded else { return false }
        return String(decoding: result.stdout, as: UTF8.self).contains("@addon_ports")
    }
}
