import Testing

@testable import SlipwayAddons

/// The cluster's security-relevant settings (docs/threat-model.md, add-ons): TLS and scram-sha-256 for every role
/// but the administrator, who has the socket only; each role into its own database only.
@Suite struct PostgresConfigurationTests {
    let settings = PostgresCluster.Settings(port: 54321, host: "192.0.2.2", admin: "postgres")

    @Test func hostRulesAllowOnlyTLSIntoTheRolesOwnDatabase() {
        let lines = PostgresConfiguration.hostRules(settings).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.first == "local all postgres peer")
        let network = lines.dropFirst()
        #expect(network.count == 3)
        for line in network {
            #expect(line.hasPrefix("hostssl sameuser all "), "\(line)")
            #expect(line.hasSuffix(" scram-sha-256"), "\(line)")
        }
        #expect(network.contains("hostssl sameuser all 192.0.2.2/32 scram-sha-256"))
        #expect(network.contains("hostssl sameuser all 10.192.0.0/10 scram-sha-256"))
        #expect(!PostgresConfiguration.hostRules(settings).contains("trust"))
    }

    @Test func settingsTurnTLSOnAndCloseTheSocket() {
        let text = PostgresConfiguration.settings(settings, socket: "/srv/it's/socket")
        #expect(text.contains("ssl = on\n"))
        #expect(text.contains("port = 54321\n"))
        #expect(text.contains("password_encryption = 'scram-sha-256'\n"))
        #expect(text.contains("unix_socket_permissions = 0700\n"))
        #expect(text.contains("unix_socket_directories = '/srv/it''s/socket'\n"))
    }

    @Test func statementsCloseTheDatabaseAndDropBoth() {
        let close = PostgresStatements.closeDatabase("addon_x")
        #expect(close.contains("REVOKE ALL ON DATABASE addon_x FROM PUBLIC;"))
        let drop = PostgresStatements.drop("addon_x")
        #expect(drop.contains("DROP DATABASE IF EXISTS addon_x WITH (FORCE);"))
        #expect(drop.contains("DROP ROLE IF EXISTS addon_x;"))
        let url = PostgresStatements.url(
            AddonCredentials(host: "192.0.2.2", port: 5433, database: "addon_x", user: "addon_x", password: "ab12"))
        #expect(url == "postgres://addon_x:ab12@192.0.2.2:5433/addon_x?sslmode=require")
    }

    @Test func portListsSkipWhatIsNotAPort() {
        #expect(AddonPorts.parse("5432\n\nx\n0\n70000\n 6379 \n") == [5432, 6379])
    }
}

/// Each Redis add-on's server: a password, no administrative commands, a memory ceiling, every write on disk.
@Suite struct RedisConfigurationTests {
    @Test func passwordLimitsAndPersistence() {
        let text = RedisConfiguration.text(
            folder: "/srv/addons/redis/x", port: 40001, password: "ab12", maxMemoryMB: 64)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in [
            "port 40001", "appendonly yes", "appendfsync always", "maxmemory 64mb", "maxmemory-policy noeviction",
            "daemonize yes", "user default on >ab12 ~* &* +@all -@admin", "dir \"/srv/addons/redis/x\"",
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        #expect(!text.contains("nopass"))
    }
}
