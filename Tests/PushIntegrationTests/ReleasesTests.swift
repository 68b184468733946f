import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// The release ledger and rollbacks over the SSH door.
@Suite(.serialized) struct ReleasesTests {
    @Test func releasesListNewestFirstAndRollbackRepublishesOldSlugs() throws {
        let h = try PushHarness("releases")
        let repo = try h.deployedApp(["version.txt": "one"])
        let sha1 = try git(["rev-parse", "HEAD"], in: repo).stdout.prefix(7)
        #expect(try h.ssh("config:set myapp GREETING=hello").status == 0)  // v2
        try h.commit(repo, "version.txt", "two")
        #expect(try h.push(repo).status == 0)  // v3
        let sha3 = try git(["rev-parse", "HEAD"], in: repo).stdout.prefix(7)
        let slugs = try h.spoolEntries().map(\.manifest.slug.sha256)
        #expect(
            slugs[0] == slugs[1] && slugs[1] != slugs[2], "a config change keeps the slug; a deploy makes a new one")

        let list = try h.ssh("releases myapp", merge: false)
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "=== myapp releases (current: v3)")
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("v3  Deploy \(sha3)            alice  20"), "\(lines)")
        #expect(lines[2].hasPrefix("v2  Set GREETING config vars  alice  20"), "\(lines)")
        #expect(lines[3].hasPrefix("v1  Deploy \(sha1)            alice  20"), "\(lines)")

        // Default: the release before the current one, with its slug and its config.
        let back = try h.ssh("rollback myapp")
        #expect(back.status == 0, "\(back.output)")
        #expect(back.output.hasPrefix("Rolling back myapp to v2... done, v4\n"))
        let entry = try #require(try h.spoolEntries().last)
        var latest = entry.manifest
        #expect(latest.version == 4 && latest.description == "Rollback to v2")
        #expect(latest.slug.sha256 == slugs[1])
        #expect(latest.configVars == ["GREETING": "hello"])
        #expect(try Spool.sha256(ofFile: "\(h.root)/spool/new/\(entry.name)/slug.tgz") == slugs[1])

        // To v1: no config vars then, so none now.
        #expect(try h.ssh("rollback myapp v1").status == 0)
        latest = try #require(try h.spoolEntries().last?.manifest)
        #expect(latest.version == 5 && latest.description == "Rollback to v1" && latest.slug.sha256 == slugs[0])
        #expect(latest.configVars.isEmpty)
        #expect(try h.storedConfig().isEmpty, "the app's config follows the rollback")
        #expect(try h.ssh("config myapp", merge: false).stdout == "myapp has no config vars.\n")

        let info = try h.ssh("releases:info myapp v2", merge: false)
        #expect(info.status == 0)
        #expect(
            info.stdout.hasPrefix("=== myapp v2\nChange:      Set GREETING config vars\nBy:          alice\n"),
            "\(info.stdout)")
        #expect(info.stdout.contains("Slug:        sha256:\(slugs[1].prefix(12)) ("))
        #expect(info.stdout.hasSuffix("=== v2 config vars\nGREETING: hello\n"))
        #expect(
            try h.ssh("releases:info myapp", merge: false).stdout.hasPrefix(
                "=== myapp v5\nChange:      Rollback to v1\n"))

        let missing = try h.ssh("rollback myapp v9")
        #expect(missing.status == 1)
        #expect(
            missing.output
                == "slipway: myapp has no release v9 (its releases are v1 to v5): releases myapp lists them\n")
        try FileManager.default.removeItem(atPath: "\(h.root)/apps/myapp/slugs/\(slugs[2]).tgz")
        let gone = try h.ssh("rollback myapp v3")
        #expect(gone.status == 1)
        #expect(
            gone.output.hasPrefix("slipway: the slug of v3 of myapp is gone (\(slugs[2].prefix(12)) is not in "),
            "\(gone.output)")
        #expect(try h.spoolEntries().count == 5, "a refused rollback publishes nothing")
        #expect(try h.ssh("releases:info myapp v3", merge: false).stdout.contains("(gone)"))
    }

    @Test func operatorRunsTheSameCommandsLocally() throws {
        let h = try PushHarness("releases-local")
        _ = try h.deployedApp()
        let set = try h.receivePack(["config:set", "myapp", "A=1 2"])
        #expect(set.status == 0, "\(set.output)")
        #expect(set.stderr == "Setting A and restarting myapp... done, v2\n")
        #expect(try h.spoolEntries().last?.manifest.user == "operator")
        #expect(try h.receivePack(["config:get", "myapp", "A"]).stdout == "1 2\n")
        let releases = try h.receivePack(["releases", "myapp"])
        #expect(releases.stdout.contains("v2  Set A config vars  operator  "), "\(releases.stdout)")
        let apps = try h.receivePack(["apps"])
        #expect(apps.stdout == "NAME   RELEASE  OWNER  COLLABORATORS\nmyapp  v2       alice\n", "\(apps.output)")
        #expect(try h.receivePack(["config", "nosuchapp"]).stderr.hasPrefix("slipway: no app nosuchapp"))
        #expect(
            try h.ssh("apps", merge: false).stdout
                == "=== Apps alice can push to\nNAME   RELEASE  OWNER  COLLABORATORS\nmyapp  v2       alice\n")
    }
}

/// Every command the table marks as served locally exists as `receive-pack <command>` for the operator.
@Suite struct OperatorCommandTests {
    @Test func everyLocalCommandIsASubcommand() throws {
        for command in ManagementCommands.all where command.servedLocally {
            let help = try runTool([TestPaths.product("receive-pack"), command.name, "--help"])
            #expect(help.status == 0, "receive-pack \(command.name): \(help.output)")
            #expect(help.stdout.contains("USAGE: receive-pack \(command.name)"), "\(help.stdout)")
        }
    }
}
