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
