import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Backups of PostgreSQL add-ons (issue 24): captured, listed, restored, and gone with their add-on.
@Suite(.serialized) struct AddonBackupTests {
    @Test func aRestoredBackupBringsADeletedRowBack() throws {
        let h = try PushHarness("addons-backup")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        _ = try h.deployedApp()
        let none = try h.ssh("pg:backups:capture myapp", merge: false)
        #expect(none.stderr == "slipway: myapp has no PostgreSQL add-on: addons:create myapp postgresql makes one\n")
        let created = try h.ssh("addons:create myapp postgresql", merge: false)
        let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = try #require(try h.storedConfig()["DATABASE_URL"])
        #expect(try psql(url, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')").status == 0)

        let captured = try h.ssh("pg:backups:capture myapp", merge: false)
        #expect(captured.status == 0 && captured.stdout == "b001\n", "\(captured.output)")
        let listed = try h.ssh("pg:backups myapp", merge: false)
        #expect(listed.stdout.hasPrefix("=== \(name) backups\nID    Taken"), "\(listed.stdout)")
        #expect(listed.stdout.contains("\nb001  "), "\(listed.stdout)")
        let folder = "\(h.root)/addons/backups/\(name)"
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["b001.dump"], "no temporary left")
        var info = stat()
        #expect(stat("\(folder)/b001.dump", &info) == 0 && info.st_mode & 0o777 == 0o600)

        #expect(try psql(url, "DELETE FROM notes").status == 0)
        let unconfirmed = try h.ssh("pg:backups:restore myapp b001", merge: false)
        #expect(
            unconfirmed.status == 1
                && unconfirmed.stderr
                    == "slipway: restoring b001 replaces \(name)'s data: run pg:backups:restore myapp b001 --confirm myapp\n"
        )
        let missing = try h.ssh("pg:backups:restore myapp b007 --confirm myapp", merge: false)
        #expect(missing.stderr == "slipway: \(name) has no backup b007 (pg:backups myapp lists them)\n")
        #expect(try psql(url, "SELECT count(*) FROM notes").stdout == "0\n")
        let restored = try h.ssh("pg:backups:restore myapp b001 --confirm myapp")
        #expect(restored.status == 0, "\(restored.output)")
        #expect(try psql(url, "SELECT body FROM notes").stdout == "kept\n")
        let role = String(try #require(URL(string: url)?.user))
        #expect(try psql(url, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'").stdout == "\(role)\n")
        // Another user's app cannot reach them.
        try h.addUser("bob")
        let denied = try h.ssh("pg:backups myapp", as: "bob", merge: false)
        #expect(denied.status == 1 && denied.stderr == "slipway: bob has no access to myapp\n", "\(denied.stderr)")

        #expect(try h.ssh("addons:destroy \(name) --confirm \(name)").status == 0)
        #expect(!FileManager.default.fileExists(atPath: folder), "the backups go with their add-on")
    }
}

/// Backups when the spool is a bucket (issue 24): they go to the bucket, create-only, and nothing stays on the door's
/// machine.
@Suite(.serialized) struct AddonBucketBackupTests {
    @Test func backupsGoToTheSpoolsBucket() throws {
        let b = try BucketHarness("addons-backup-bucket")
        let h = b.push
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        _ = try h.deployedApp()
        let created = try h.ssh("addons:create myapp postgresql", merge: false)
        #expect(created.status == 0, "\(created.output)")
        let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = try #require(try h.storedConfig()["DATABASE_URL"])
        #expect(try psql(url, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')").status == 0)

        let captured = try h.ssh("pg:backups:capture myapp", merge: false)
        #expect(captured.status == 0 && captured.stdout == "b001\n", "\(captured.output)")
        #expect(try b.keys("backups/") == ["backups/\(name)/b001.dump"])
        let dump = try #require(try b.object("backups/\(name)/b001.dump"))
        #expect(dump.starts(with: Data("PGDMP".utf8)), "a pg_dump -Fc archive")
        let left = { (try? FileManager.default.subpathsOfDirectory(atPath: "\(h.root)/addons")) ?? [] }
        #expect(!left().contains { $0.hasPrefix("backups") || $0.hasPrefix("transfer/") }, "\(left())")
        let listed = try h.ssh("pg:backups myapp", merge: false)
        #expect(listed.stdout.contains("\nb001  ") && listed.stdout.contains(" \(dump.count) bytes"), "\(listed)")

        #expect(try psql(url, "DELETE FROM notes").status == 0)
        let restored = try h.ssh("pg:backups:restore myapp b001 --confirm myapp")
        #expect(restored.status == 0, "\(restored.output)")
        #expect(try psql(url, "SELECT body FROM notes").stdout == "kept\n")
        #expect(!left().contains { $0.hasPrefix("transfer/") }, "the restore's copy is gone: \(left())")

        #expect(try h.ssh("pg:backups:capture myapp", merge: false).stdout == "b002\n")
        #expect(try b.keys("backups/").count == 2)
        #expect(try h.ssh("addons:destroy \(name) --confirm \(name)").status == 0)
        #expect(try b.keys("backups/").isEmpty, "the backups go with their add-on")
    }
}

/// `pg:psql` and `redis:cli` over the door: the app's own role and user, SQL and commands on stdin.
@Suite(.serialized) struct AddonClientTests {
    @Test func psqlAndRedisCLIOverTheDoor() throws {
        let h = try PushHarness("addons-clients", users: ["alice", "bob"])
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        _ = try h.deployedApp()
        #expect(try h.ssh("addons:create myapp postgresql").status == 0)
        #expect(try h.ssh("addons:create myapp redis").status == 0)
        let door = sshArguments(key: h.key("alice"), port: h.sshd.port) + ["root@127.0.0.1"]
        let sql = try runTool(
            door + ["pg:psql myapp"], stdin: "SELECT current_user = current_database(), 40 + 2;\n", timeout: 60)
        #expect(sql.status == 0 && sql.stdout.contains(" t        |       42"), "\(sql.output)")
        let redis = try runTool(door + ["redis:cli myapp"], stdin: "SET a 1\nGET a\n", timeout: 60)
        #expect(redis.status == 0 && redis.stdout == "OK\n1\n", "\(redis.output)")
        let bob = sshArguments(key: h.key("bob"), port: h.sshd.port) + ["root@127.0.0.1"]
        let denied = try runTool(bob + ["pg:psql myapp"], stdin: "SELECT 1;\n", timeout: 60)
        #expect(denied.status == 1 && denied.stderr == "slipway: bob has no access to myapp\n", "\(denied.output)")
        #expect(!denied.stdout.contains("1"))
    }
}
