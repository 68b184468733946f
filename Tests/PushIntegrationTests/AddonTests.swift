import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Add-ons over the SSH door (issue 24): PostgreSQL databases on the cluster Slipway owns, attached as config vars.
@Suite(.serialized) struct AddonTests {
    @Test func createAttachDetachDestroyAndIsolation() throws {
        let h = try PushHarness("addons", users: ["alice", "bob"])
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        let repo = try h.deployedApp()
        #expect(try h.push(repo, app: "other").status == 0)

        let created = try h.ssh("addons:create myapp postgresql", merge: false)
        #expect(created.status == 0, "\(created.output)")
        let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(name.hasPrefix("postgresql-"), "\(created.output)")
        #expect(created.stderr.contains("Creating \(name) on myapp... done\n"), "\(created.stderr)")
        #expect(created.stderr.contains("Setting DATABASE_URL and restarting myapp... done, v2\n"), "\(created.stderr)")
        let urlA = try #require(try h.storedConfig()["DATABASE_URL"])
        #expect(urlA.hasPrefix("postgres://addon_") && urlA.hasSuffix("?sslmode=require"))
        #expect(try h.spoolEntries().last?.manifest.configVars["DATABASE_URL"] == urlA, "a release has it")

        // A's URL opens A's database, over TLS.
        #expect(try psql(urlA, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('a row')").status == 0)
        #expect(try psql(urlA, "SELECT body FROM notes").stdout == "a row\n")
        #expect(try psql(urlA, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").stdout == "t\n")
        let plain = try psql(urlA.replacingOccurrences(of: "sslmode=require", with: "sslmode=disable"), "SELECT 1")
        #expect(plain.status != 0, "no connection without TLS")

        // B's URL opens neither A's database nor the cluster's own.
        let createdB = try h.ssh("addons:create other postgresql", merge: false)
        #expect(createdB.status == 0, "\(createdB.output)")
        let urlB = try #require(try h.storedConfig("other")["DATABASE_URL"])
        let databaseA = try #require(URL(string: urlA)?.path.dropFirst())
        for database in [String(databaseA), "postgres", "template1"] {
            let denied = try psql(url(urlB, database: database), "SELECT 1")
            #expect(denied.status != 0, "\(database): \(denied.output)")
        }
        #expect(try psql(urlB, "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'").stdout == "0\n")

        // Attach A's database to the other app as REPORTING_URL, then detach it: releases both times.
        let attached = try h.ssh("addons:attach other \(name) --as REPORTING")
        #expect(attached.status == 0 && attached.output.contains("done, v3"), "\(attached.output)")
        #expect(try h.storedConfig("other")["REPORTING_URL"] == urlA)
        let listed = try h.ssh("addons other", merge: false)
        #expect(listed.stdout.contains("other::REPORTING_URL") && listed.stdout.contains("myapp::DATABASE_URL"))
        let detached = try h.ssh("addons:detach other \(name)")
        #expect(detached.status == 0 && detached.output.contains("done, v4"), "\(detached.output)")
        #expect(try h.storedConfig("other")["REPORTING_URL"] == nil)
        #expect(try psql(urlA, "SELECT body FROM notes").stdout == "a row\n", "detaching keeps the data")

        // Another user sees none of it; bad input gets one line and makes nothing.
        let hidden = try h.ssh("addons:info \(name)", as: "bob", merge: false)
        #expect(
            hidden.status == 1 && hidden.stderr == "slipway: no add-on \(name) that you may use (addons lists yours)\n")
        let refusals: [(String, String)] = [
            ("addons:create myapp mysql", "slipway: 'mysql' is not a kind of add-on: use postgresql or redis\n"),
            (
                "addons:create myapp postgresql --as 'bad name'",
                "slipway: 'bad name' is not an attachment name: use up to 40 capital letters, digits and underscores, "
                    + "starting with a letter\n"
            ),
            (
                "addons:create myapp postgresql",
                "slipway: myapp has DATABASE_URL set already: attach under another name with --as NAME (NAME_URL)\n"
            ),
            (
                "addons:destroy \(name)",
                "slipway: destroying \(name) deletes its data for good: run addons:destroy \(name) --confirm \(name)\n"
            ),
            (
                "addons:destroy ../../etc --confirm ../../etc",
                "slipway: no add-on ../../etc that you may use (addons lists yours)\n"
            ),
        ]
        for (command, line) in refusals {
            let refused = try h.ssh(command, merge: false)
            #expect(refused.status == 1 && refused.stderr == line, "\(command): \(refused.stderr)")
        }
        #expect(servers.records().count == 2, "\(servers.records())")

        // Destroying A drops its database and role, unsets its var, and leaves B's alone.
        let destroyed = try h.ssh("addons:destroy \(name) --confirm \(name)")
        #expect(destroyed.status == 0, "\(destroyed.output)")
        #expect(try h.storedConfig()["DATABASE_URL"] == nil)
        let id = String(databaseA)
        #expect(try servers.admin("SELECT count(*) FROM pg_database WHERE datname = '\(id)'") == "0\n")
        #expect(try servers.admin("SELECT count(*) FROM pg_roles WHERE rolname = '\(id)'") == "0\n")
        #expect(try psql(urlB, "SELECT 1").stdout == "1\n")
        #expect(servers.records().count == 1)
    }

    /// 20 create/destroy cycles leave no role, database or file behind.
    @Test func createDestroyCyclesLeaveNothing() throws {
        let h = try PushHarness("addons-cycles")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        _ = try h.deployedApp()
        let first = try h.ssh("addons:create myapp postgresql --as FIRST", merge: false)
        #expect(first.status == 0, "\(first.output)")
        let name = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try h.ssh("addons:destroy \(name) --confirm \(name)").status == 0)
        let roles = try servers.admin("SELECT count(*) FROM pg_roles")
        let databases = try servers.admin("SELECT count(*) FROM pg_database")
        let files = try FileManager.default.subpathsOfDirectory(atPath: "\(h.root)/addons").filter {
            !$0.hasPrefix("postgresql/")
        }.sorted()
        for cycle in 1...20 {
            let created = try h.ssh("addons:create myapp postgresql", merge: false)
            #expect(created.status == 0, "cycle \(cycle): \(created.output)")
            let addon = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let destroyed = try h.ssh("addons:destroy \(addon) --confirm \(addon)")
            #expect(destroyed.status == 0, "cycle \(cycle): \(destroyed.output)")
        }
        #expect(try servers.admin("SELECT count(*) FROM pg_roles") == roles)
        #expect(try servers.admin("SELECT count(*) FROM pg_database") == databases)
        #expect(
            try FileManager.default.subpathsOfDirectory(atPath: "\(h.root)/addons").filter {
                !$0.hasPrefix("postgresql/")
            }.sorted() == files)
        #expect(servers.records().isEmpty)
        #expect(try h.storedConfig()["DATABASE_URL"] == nil)
    }
}

/// A provider given the admin URL of a PostgreSQL server elsewhere (issue 24, "Past one machine").
@Suite(.serialized) struct ExternalProviderTests {
    @Test func anAdminURLMakesTheDatabaseOnThatServer() throws {
        let h = try PushHarness("addons-external")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        let external = try ExternalPostgres(in: h.scratch)
        defer { external.stop() }
        _ = try h.deployedApp()
        try h.scratch.write("root/addons/providers.json", "{\"postgresql\": {\"adminURL\": \"\(external.adminURL)\"}}")

        let created = try h.ssh("addons:create myapp postgresql", merge: false)
        #expect(created.status == 0, "\(created.output)")
        let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = try #require(try h.storedConfig()["DATABASE_URL"])
        #expect(url.contains("@\(external.address):5432/"), "\(url)")
        #expect(try psql(url, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('there')").status == 0)
        #expect(try psql(url, "SELECT body FROM notes").stdout == "there\n")
        #expect(try psql(url, "SELECT inet_server_addr()").stdout == "\(external.address)\n", "that server's")
        #expect(!FileManager.default.fileExists(atPath: "\(h.root)/addons/postgresql.json"), "no local cluster")
        let info = try h.ssh("addons:info \(name)", merge: false)
        #expect(info.stdout.contains("Provider:     external-postgresql") && info.stdout.contains("available"))

        // A backup there and back.
        #expect(try h.ssh("pg:backups:capture myapp", merge: false).stdout == "b001\n")
        #expect(try psql(url, "DELETE FROM notes").status == 0)
        #expect(try h.ssh("pg:backups:restore myapp b001 --confirm myapp").status == 0)
        #expect(try psql(url, "SELECT body FROM notes").stdout == "there\n")

        let admin = external.adminURL
        let id = String(try #require(URL(string: url)?.user))
        #expect(try h.ssh("addons:destroy \(name) --confirm \(name)").status == 0)
        #expect(try psql(admin, "SELECT count(*) FROM pg_database WHERE datname = '\(id)'").stdout == "0\n")
        #expect(try psql(admin, "SELECT count(*) FROM pg_roles WHERE rolname = '\(id)'").stdout == "0\n")

        // The server down: one line, nothing made.
        _ = try runTool(
            [
                "/usr/sbin/runuser", "-u", "postgres", "--", "\(ExternalPostgres.bin)/pg_ctl", "-D", external.data,
                "-m",
                "immediate", "-w", "-s", "stop",
            ])
        let down = try h.ssh("addons:create myapp postgresql", merge: false)
        #expect(down.status == 1, "\(down.output)")
        #expect(down.stderr.hasPrefix("slipway: the PostgreSQL server at \(external.address):5432 does not answer ("))
        #expect(!down.stderr.contains("secret"), "no admin password in what the user sees")
        #expect(servers.records().isEmpty)
        #expect(try h.storedConfig()["DATABASE_URL"] == nil)
    }
}
