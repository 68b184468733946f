/// Where add-ons live under the server's root (docs/configuration.md): `<root>/addons/`.
struct AddonLayout: Sendable {
    let root: String

    /// `<root>/addons`: traversable by the cluster's user, readable by the door's only.
    var folder: String { "\(root)/addons" }
    /// One record per add-on, `<name>.json` (its provider, app, attachments and credentials; mode 0600).
    var records: String { "\(folder)/records" }
    func record(_ name: String) -> String { "\(records)/\(name).json" }
    /// Held while add-ons are made, attached, detached or destroyed.
    var lock: String { "\(folder)/addons.lock" }
    /// The local PostgreSQL cluster's folder (its user's): `data/`, `socket/`, `server.log`.
    var postgresFolder: String { "\(folder)/postgresql" }
    /// The local cluster's settings (port, address, administrator).
    var postgresSettings: String { "\(folder)/postgresql.json" }
    /// Held while the local cluster is made or started.
    var postgresLock: String { "\(folder)/postgresql.lock" }
    /// The Redis add-ons' servers, a folder each (their user's).
    var redisFolder: String { "\(folder)/redis" }
    /// PostgreSQL add-ons' backups, a folder per add-on (`b001.dump`, …).
    var backups: String { "\(folder)/backups" }
    /// The TCP ports dynos may open on the host (one a line), which the runner lets through its firewall.
    var ports: String { "\(folder)/ports" }
    /// What the swarm engine's runner found: this machine's address on the swarm's network and its clients
    /// (``SwarmNetwork``).
    var swarm: String { "\(folder)/swarm.json" }
    /// The external providers the operator configured (`providers.json`).
    var providers: String { "\(folder)/providers.json" }
}
