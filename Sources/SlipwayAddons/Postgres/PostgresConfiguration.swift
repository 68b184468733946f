import Foundation

/// The files Slipway writes into its cluster's data folder: pure functions of the cluster's settings, so that the
/// security-relevant lines are unit-tested (docs/addons.md, "Security model").
enum PostgresConfiguration {
    /// The dyno networks of the local engine's runners (`10.200.0.0/16` to `10.249.0.0/16`, docs/runner.md), inside
    /// this /10.
    static let dynoNetworks = "10.192.0.0/10"

    /// `slipway.conf`, included last by `postgresql.conf`.
    static func settings(_ settings: PostgresCluster.Settings, socket: String) -> String {
        """
        # Written by Slipway (docs/addons.md); changes here are lost when the cluster is made again.
        listen_addresses = '*'
        port = \(settings.port)
        unix_socket_directories = '\(quoted(socket))'
        unix_socket_permissions = 0700
        ssl = on
        ssl_cert_file = 'server.crt'
        ssl_key_file = 'server.key'
        ssl_min_protocol_version = 'TLSv1.2'
        password_encryption = 'scram-sha-256'
        max_connections = 200
        log_connections = off
        log_line_prefix = '%m [%p] %q%u@%d '

        """
    }

    /// `pg_hba.conf`, replacing initdb's: the administrator over the socket only (peer); every other role over TLS
    /// only, with scram-sha-256, into the database of its own name only, from loopback, the server's own address,
    /// a dyno network, or, with the swarm engine, this machine's address on the swarm's network and the swarm's
    /// clients (``SwarmNetwork``). Nothing else matches, so everything else is refused.
    static func hostRules(_ settings: PostgresCluster.Settings, swarm: SwarmNetwork? = nil) -> String {
        var sources = ["127.0.0.1/32", dynoNetworks]
        if settings.host != "127.0.0.1" { sources.insert("\(settings.host)/32", at: 1) }
        if let swarm {
            for source in ["\(swarm.address)/32"] + swarm.clients where !sources.contains(source) {
                sources.append(source)
            }
        }
        let lines = sources.map { "hostssl sameuser all \($0) scram-sha-256" }
        return """
            # Written by Slipway (docs/addons.md): TYPE DATABASE USER ADDRESS METHOD
            local all \(settings.admin) peer
            \(lines.joined(separator: "\n"))

            """
    }

    /// `text` inside single quotes of postgresql.conf.
    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "'", with: "''")
    }
}
