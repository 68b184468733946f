import Foundation
import Testing

@testable import SlipwayAddons

/// Who reaches add-on servers: the swarm's nodes through the runner's table and the cluster's host rules, and each
/// external Redis add-on's user, its own keys only.
@Suite struct AddonReachTests {
    @Test func theSwarmTableOpensTheAddonPortsToTheSwarmOnly() {
        let table = AddonSwarmAccess.table(
            name: "slipway_addons_1a2b", ports: [5432, 6380], clients: ["10.0.0.11/32", "172.18.0.0/16"])
        let lines = table.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Array(lines.prefix(2)) == ["table inet slipway_addons_1a2b", "delete table inet slipway_addons_1a2b"])
        #expect(lines.contains("set ports { type inet_service; elements = { 5432, 6380 }; }"))
        #expect(
            lines.contains(
                "set clients { type ipv4_addr; flags interval; elements = { 10.0.0.11/32, 172.18.0.0/16 }; }"))
        let chain = Array(lines.drop { !$0.hasPrefix("type filter hook input") }.dropFirst().prefix(7))
        #expect(
            chain == [
                "tcp dport != @ports accept", "iifname \"lo\" accept", "iifname \"slwd*\" accept",
                "iifname \"docker_gwbridge\" accept", "ip saddr @clients accept", "drop", "}",
            ])
        let empty = AddonSwarmAccess.table(name: "t", ports: [], clients: [])
        #expect(empty.contains("set ports { type inet_service; }") && !empty.contains("elements"))
    }

    @Test func tableNamesAreTheRootsOwn() {
        let one = AddonSwarmAccess.tableName(root: "/var/lib/slipway")
        #expect(one == AddonSwarmAccess.tableName(root: "/var/lib/slipway"))
        #expect(one != AddonSwarmAccess.tableName(root: "/srv/other"))
        #expect(one.hasPrefix("slipway_addons_") && one.count <= 23)
    }

    @Test func networksAreNormalised() {
        #expect(SwarmNetwork.network(of: "172.18.0.1/16") == "172.18.0.0/16")
        #expect(SwarmNetwork.network(of: "10.0.0.11/32") == "10.0.0.11/32")
        #expect(SwarmNetwork.network(of: "10.0.0.11/33") == nil)
        #expect(SwarmNetwork.network(of: "10.0.0.11") == nil)
        #expect(SwarmNetwork.network(of: "x/8") == nil)
    }

    @Test func theClusterLetsTheSwarmIn() {
        let settings = PostgresCluster.Settings(port: 5433, host: "192.0.2.2", admin: "postgres")
        let swarm = SwarmNetwork(address: "10.0.0.1", clients: ["10.0.0.11/32", "10.0.0.12/32"])
        let rules = PostgresConfiguration.hostRules(settings, swarm: swarm)
        for source in ["10.0.0.1/32", "10.0.0.11/32", "10.0.0.12/32", "192.0.2.2/32", "127.0.0.1/32"] {
            #expect(rules.contains("hostssl sameuser all \(source) scram-sha-256\n"), "\(source)")
        }
        #expect(!PostgresConfiguration.hostRules(settings).contains("10.0.0."))
    }

    @Test func anExternalRedisUserHasItsOwnKeysOnly() {
        let rule = RedisACL.setUser("addon_redis_sunny_1", password: "ab12")
        #expect(
            rule
                == "ACL SETUSER addon_redis_sunny_1 reset on >ab12 ~addon_redis_sunny_1:* &addon_redis_sunny_1:* "
                + "+@all -@admin -@dangerous -scan -randomkey")
        #expect(RedisACL.keyPattern("addon_redis_sunny_1") == "addon_redis_sunny_1:*")
        #expect(RedisACL.unlinkScript.contains("'MATCH', ARGV[1]"))
    }

    @Test func redisAdminURLs() {
        let url = RedisAdminURL("redis://admin:p%40ss@cache.internal:6390")
        #expect(url == RedisAdminURL(user: "admin", password: "p@ss", host: "cache.internal", port: 6390))
        #expect(RedisAdminURL("redis://:secret@cache")?.user == "default")
        #expect(RedisAdminURL("redis://:secret@cache")?.port == 6379)
        #expect(RedisAdminURL("postgres://admin:x@db") == nil)
        #expect(RedisAdminURL("redis://") == nil)
    }
}

/// The names backups have, in a folder and in the bucket.
@Suite struct BackupKeysTests {
    @Test func onlyNumberedDumpsAreBackups() {
        #expect(BackupKeys.number("b001.dump") == 1)
        #expect(BackupKeys.number("b120.dump") == 120)
        for name in [".b001.dump.tmp", "b000.dump", "bx.dump", "b001.dump.tmp", "c001.dump", "b-1.dump"] {
            #expect(BackupKeys.number(name) == nil, "\(name)")
        }
        #expect(BackupKeys.key("postgresql-amber-1", "b002") == "backups/postgresql-amber-1/b002.dump")
    }
}
