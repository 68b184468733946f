import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// The management commands' table and dispatch, run in-process against a scratch root.
@Suite struct ManagementCommandTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot

    init() throws {
        scratch = try ScratchDirectory("manage")
        root = SlipwayRoot(scratch.url("root"))
        try AppRegistry(root: root).create("myapp", owner: "alice")
        try AppRegistry(root: root).create("other", owner: "bob")
    }

    /// Runs `words` as `actor`; returns the status, stdout and stderr.
    func run(_ words: [String], as actor: Actor = .user("alice")) -> (status: Int32, out: String, err: String) {
        runCommand(words, root: root, as: actor)
    }

    @Test func tableIsConsistent() {
        let names = ManagementCommands.all.map(\.name)
        #expect(Set(names).count == names.count, "names are unique")
        for command in ManagementCommands.all {
            #expect(command.name.allSatisfy { $0.isLowercase || $0 == ":" || $0 == "-" }, "\(command.name)")
            #expect(command.usage.hasPrefix(command.name))
            #expect(command.summary.hasSuffix("."), "\(command.name)")
            #expect(ManagementCommands.named(command.name)?.usage == command.usage)
        }
        // The operator has `receive-pack apps`, `--help`, and `receive-pack tokens` (for any user) instead.
        #expect(
            ManagementCommands.all.filter { !$0.servedLocally }.map(\.name)
                == ["apps", "tokens", "tokens:create", "tokens:revoke", "help"])
        let required = [
            "apps", "apps:info", "apps:set", "buildpacks:set", "buildpacks:clear", "config", "config:get", "config:set",
            "config:unset", "releases", "releases:info", "rollback", "builds", "builds:output", "builds:cancel",
            "cache:purge", "help",
        ]
        for name in required { #expect(names.contains(name), "\(name)") }
    }

    @Test func helpListsEveryCommand() {
        let help = run(["help"])
        #expect(help.status == 0)
        for command in ManagementCommands.all {
            #expect(help.out.contains("  \(command.usage)  "), "\(command.name)")
            #expect(help.out.contains(command.summary))
        }
        let one = run(["help", "config:set"])
        #expect(one.out == "usage: config:set <app> KEY=VALUE…\n  \(ManagementCommands.named("config:set")!.summary)\n")
        #expect(run(["config:set", "--help"]).out == one.out)
        #expect(run(["help", "nope"]).err == "slipway: unknown command 'nope': `help` lists the commands\n")
    }

    @Test func refusalsAreOneLine() {
        let cases: [([String], String)] = [
            (["ls", "/"], "slipway: unknown command 'ls': `help` lists the commands"),
            ([], "slipway: unknown command (none): `help` lists the commands"),
            (["config"], "slipway: usage: config <app> [--json|--shell]"),
            (["config:get", "myapp"], "slipway: usage: config:get <app> <KEY>"),
            (["config:get", "myapp", "A", "B"], "slipway: usage: config:get <app> <KEY>"),
            (
                ["config", "myapp", "--yaml"],
                "slipway: config has no option --yaml; usage: config <app> [--json|--shell]"
            ),
            (["config", "myapp", "--json", "--shell"], "slipway: give --json or --shell, not both"),
            (["config:set", "myapp", "A"], "slipway: 'A' is not KEY=VALUE"),
            (["config:set", "myapp", "1A=x"], "slipway: '1A' is not a valid config var name"),
            (["config:set", "myapp", "=x"], "slipway: '' is not a valid config var name"),
            (["config:unset", "myapp", "A-B"], "slipway: 'A-B' is not a valid config var name"),
            (["config:get", "myapp", "MISSING"], "slipway: myapp has no config var MISSING"),
            (["releases:info", "myapp", "3x"], "slipway: '3x' is not a release version: write it as v3"),
            (["rollback", "myapp"], "slipway: myapp has no releases yet: git push deploys it first"),
            (["apps:set", "myapp", "colour=blue"], "slipway: 'colour=blue' is not a setting"),
            (["apps:set", "myapp", "build-dir=../x"], "slipway: '../x' cannot be a build dir"),
            (["apps:set", "myapp", "deploy-branch=a..b"], "slipway: 'a..b' is not a valid branch name"),
            (["buildpacks:set", "myapp", "a b"], "slipway: 'a b' is not a buildpack"),
            (["builds:cancel", "myapp"], "slipway: no build of myapp is running"),
            (["builds:output", "myapp"], "slipway: myapp has no builds yet."),
            (["config", "Bad_Name"], "slipway: 'Bad_Name' is not a valid app name"),
        ]
        for (words, expected) in cases {
            let result = run(words)
            #expect(result.status == 1, "\(words)")
            #expect(result.err.hasPrefix(expected), "\(words): \(result.err)")
            #expect(result.err.filter { $0 == "\n" }.count == 1, "one line: \(result.err)")
            #expect(result.out.isEmpty)
        }
    }

    @Test func deniedAndMissingAppsLookTheSame() {
        for command in ManagementCommands.all where command.arguments.hasPrefix("<app>") {
            var words = [command.name, "other"]
            if command.name == "config:get" || command.name == "config:unset" { words.append("A") }
            if command.name == "config:set" { words.append("A=1") }
            if command.name == "apps:set" { words.append("build-dir=x") }
            if command.name == "buildpacks:set" { words.append("python") }
            if command.name == "ps:resize" || command.name == "ps:disk" { words.append("web=1024") }
            if command.name.hasPrefix("domains:") { words.append("www.example.com") }
            if command.name.hasPrefix("drains:") { words.append("syslog://logs.example.com:514") }
            if command.name == "run" { words.append("ls") }
            if command.name == "ps:stop" { words.append("run.1") }
            if command.name.hasPrefix("addons:") || command.name == "pg:backups:restore" { words.append("postgresql") }
            if command.name.hasPrefix("ps:autoscale") { words.append("web") }
            if command.name == "webhooks:add" || command.name == "webhooks:remove" { words.append("https://a.test/") }
            let denied = run(words)
            words[1] = "nosuchapp"
            let missing = run(words)
            #expect(denied.status == 1 && missing.status == 1, "\(command.name)")
            #expect(denied.err == "slipway: alice has no access to other\n", "\(command.name): \(denied.err)")
            #expect(missing.err == "slipway: alice has no access to nosuchapp\n", "\(command.name): \(missing.err)")
        }
        #expect(run(["config", "nosuchapp"], as: .serverOperator).err.hasPrefix("slipway: no app nosuchapp"))
        #expect(run(["config", "other"], as: .serverOperator).status == 0, "the operator may use every app")
    }

    @Test func configWithoutReleaseIsOnlyStored() throws {
        let set = run(["config:set", "myapp", "B=2", "A=hello world", "A=1"])
        #expect(set.status == 0, "\(set.err)")
        #expect(set.err == "Setting B, A on myapp... done (no release yet: the first push uses it)\n")
        #expect(run(["config", "myapp"]).out == "=== myapp config vars\nA: 1\nB: 2\n")
        #expect(run(["config:get", "myapp", "A"]).out == "1\n")
        #expect(run(["config:set", "myapp", "A=1"]).err == "Setting A on myapp... no change, so no new release\n")
        var info = stat()
        #expect(stat(root.app("myapp").config, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(run(["config:unset", "myapp", "A", "NOPE"]).status == 0)
        #expect(try AppConfig.load(root.app("myapp")) == ["B": "2"])
        #expect(!FileManager.default.fileExists(atPath: root.app("myapp").ledger), "no release without a slug")
    }

    @Test func settingsAndBuildpacks() throws {
        #expect(run(["apps:set", "myapp", "deploy-branch=develop", "build-dir=./services/api/"]).status == 0)
        var settings = try #require(try AppRegistry(root: root).settings("myapp"))
        #expect(settings.deployBranch == "develop" && settings.buildDir == "services/api")
        #expect(run(["apps:info", "myapp"]).out.contains("Build dir:      services/api\n"))
        #expect(run(["apps:set", "myapp", "deploy-branch=", "build-dir=."]).status == 0)
        settings = try #require(try AppRegistry(root: root).settings("myapp"))
        #expect(settings.deployBranch == nil && settings.buildDir == nil)

        #expect(run(["buildpacks:set", "myapp", "https://example.com/bp.git#v1", "python"]).status == 0)
        #expect(
            try AppRegistry(root: root).settings("myapp")?.buildpacks == ["https://example.com/bp.git#v1", "python"])
        #expect(
            run(["buildpacks", "myapp"]).out == "=== myapp buildpacks\n1. https://example.com/bp.git#v1\n2. python\n")
        #expect(run(["buildpacks:clear", "myapp"]).status == 0)
        #expect(try AppRegistry(root: root).settings("myapp")?.buildpacks == [])
    }

    @Test func appsListsOnlyWhatTheUserMayUse() {
        #expect(
            run(["apps"]).out
                == "=== Apps alice can push to\nNAME   RELEASE  OWNER  COLLABORATORS\nmyapp  none     alice\n")
        let all = run(["apps"], as: .serverOperator).out
        #expect(all == "NAME   RELEASE  OWNER  COLLABORATORS\nmyapp  none     alice\nother  none     bob\n")
    }
}
