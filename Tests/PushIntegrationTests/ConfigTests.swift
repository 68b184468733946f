import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Config vars over the SSH door: `ssh host config:set myapp KEY=VALUE` and friends, against a real OpenSSH sshd.
@Suite(.serialized) struct ConfigTests {
    @Test func setGetUnsetAndListMakeReleases() throws {
        let h = try PushHarness("config")
        _ = try h.deployedApp()
        let v1 = try #require(try h.spoolEntries().first)

        let set = try h.ssh("config:set myapp GREETING=hello")
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output == "Setting GREETING and restarting myapp... done, v2\n")
        var entries = try h.spoolEntries()
        #expect(entries.map(\.manifest.version) == [1, 2])
        let v2 = entries[1].manifest
        #expect(v2.configVars["GREETING"] == "hello")
        #expect(v2.slug.sha256 == v1.manifest.slug.sha256, "the same slug, new config")
        #expect(v2.description == "Set GREETING config vars")
        #expect(v2.user == "alice")
        #expect(try Spool.sha256(ofFile: "\(h.root)/spool/new/\(entries[1].name)/slug.tgz") == v1.manifest.slug.sha256)

        let get = try h.ssh("config:get myapp GREETING", merge: false)
        #expect(get.status == 0 && get.stdout == "hello\n" && get.stderr.isEmpty, "\(get.output)")
        #expect(try h.ssh("config:set myapp OTHER=x 'LONGER_KEY=two words'").status == 0)
        let list = try h.ssh("config myapp", merge: false)
        #expect(list.stdout == "=== myapp config vars\nGREETING:   hello\nLONGER_KEY: two words\nOTHER:      x\n")
        let shell = try h.ssh("config myapp --shell", merge: false)
        #expect(shell.stdout == "GREETING=hello\nLONGER_KEY='two words'\nOTHER=x\n")
        let json = try h.ssh("config myapp --json", merge: false)
        let stored = try h.storedConfig()
        #expect(try JSONDecoder().decode([String: String].self, from: Data(json.stdout.utf8)) == stored)

        let unset = try h.ssh("config:unset myapp GREETING OTHER")
        #expect(unset.output == "Unsetting GREETING, OTHER and restarting myapp... done, v4\n", "\(unset.output)")
        entries = try h.spoolEntries()
        #expect(entries.last?.manifest.configVars == ["LONGER_KEY": "two words"])
        #expect(entries.last?.manifest.description == "Unset GREETING, OTHER config vars")
        let missing = try h.ssh("config:get myapp GREETING", merge: false)
        #expect(missing.status == 1 && missing.stdout.isEmpty)
        #expect(missing.stderr == "slipway: myapp has no config var GREETING\n")

        let same = try h.ssh("config:set myapp LONGER_KEY='two words'")
        #expect(same.output.contains("no change, so no new release"))
        #expect(try h.spoolEntries().count == 4)
        var info = stat()
        #expect(stat("\(h.root)/apps/myapp/config.json", &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    /// Spaces, both quotes, `$HOME`, a backslash, a newline and Unicode survive ssh, the door, storage, the spool and
    /// the next build's ENV_DIR byte for byte.
    @Test func valuesRoundTripByteForByte() throws {
        let h = try PushHarness("config-bytes")
        // The buildpack copies ENV_DIR's file into its CACHE_DIR, the one server folder a sandboxed buildpack shares.
        let seen = "\(h.root)/apps/myapp/cache/seen"
        let repo = try h.deployedApp(compile: "cp \"$3/TRICKY\" \"$2/seen\" 2>/dev/null || true")
        let value = "hello world 'single' \"double\" $HOME `id` $(id) \\back\\slash;|&\nsecond line ünïcödé ✓ 🚀\t!"
        let set = try h.ssh("config:set myapp " + CommandWords.quote("TRICKY=" + value))
        #expect(set.status == 0, "\(set.output)")
        #expect(try h.storedConfig()["TRICKY"] == value)
        let get = try h.ssh("config:get myapp TRICKY", merge: false)
        #expect(get.stdout == value + "\n")
        let json = try h.ssh("config myapp --json", merge: false)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(json.stdout.utf8))["TRICKY"] == value)
        #expect(try h.spoolEntries().last?.manifest.configVars["TRICKY"] == value)

        // `config --shell` output set back through the door gives the same config.
        let shell = try h.ssh("config myapp --shell", merge: false).stdout
        #expect(try h.ssh("config:unset myapp TRICKY").status == 0)
        #expect(try h.ssh("config:set myapp \(shell)").status == 0)
        #expect(try h.storedConfig()["TRICKY"] == value)

        // The lead's example, typed as a user would: double quotes for the local shell, single for the server.
        #expect(try h.ssh("config:set myapp 'GREETING=hello $HOME \"x\"'").status == 0)
        #expect(try h.storedConfig()["GREETING"] == "hello $HOME \"x\"")

        // The next build gets it in ENV_DIR, unchanged.
        try h.commit(repo, "README", "rebuild")
        #expect(try h.push(repo).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: seen)) == Data(value.utf8))
    }

    @Test func usersWithoutAccessAndBadInputAreRefused() throws {
        let h = try PushHarness("config-refusals", users: ["alice", "bob"])
        _ = try h.deployedApp()
        #expect(try h.ssh("config:set myapp A=1").status == 0)

        for command in [
            "config myapp", "config:get myapp A", "config:set myapp A=2", "config:unset myapp A", "releases myapp",
            "rollback myapp",
        ] {
            let denied = try h.ssh(command, as: "bob")
            #expect(denied.status == 1, "\(command)")
            #expect(denied.output == "slipway: bob has no access to myapp\n", "\(command): \(denied.output)")
        }
        #expect(try h.ssh("config nosuchapp", as: "bob").output == "slipway: bob has no access to nosuchapp\n")
        #expect(try h.storedConfig() == ["A": "1"], "nothing changed")
        #expect(try h.spoolEntries().count == 2)

        let refusals: [(String, String)] = [
            (
                "config:set myapp 1BAD=x",
                "slipway: '1BAD' is not a valid config var name: use letters, digits and underscores, not starting with a digit\n"
            ),
            (
                "config:set myapp MY-KEY=x",
                "slipway: 'MY-KEY' is not a valid config var name: use letters, digits and underscores, not starting with a digit\n"
            ),
            (
                "config:set myapp NOVALUE",
                "slipway: 'NOVALUE' is not KEY=VALUE (a value with spaces needs quotes for the server too: \"config:set myapp 'KEY=a b'\")\n"
            ),
            (
                "config:set myapp A=hello world",
                "slipway: 'world' is not KEY=VALUE (a value with spaces needs quotes for the server too: \"config:set myapp 'KEY=a b'\")\n"
            ),
            (
                "config:set myapp 'A=1",
                "slipway: the command has an unclosed ' quote (at 'A=1): close it; for a value with quotes inside, quote it with the other kind\n"
            ),
            ("frobnicate myapp", "slipway: unknown command 'frobnicate': `help` lists the commands\n"),
            ("ls /", "slipway: unknown command 'ls': `help` lists the commands\n"),
            ("config:get myapp", "slipway: usage: config:get <app> <KEY>\n"),
        ]
        for (command, message) in refusals {
            let refused = try h.ssh(command)
            #expect(refused.status == 1, "\(command)")
            #expect(refused.output == message, "\(command): \(refused.output)")
        }
        #expect(try h.storedConfig() == ["A": "1"], "a refused command changes nothing")
        #expect(try h.spoolEntries().count == 2)

        let help = try h.ssh("help", merge: false)
        #expect(help.status == 0)
        for command in ManagementCommands.all { #expect(help.stdout.contains(command.usage), "\(command.name)") }
    }

    /// Config changes wait for the build that holds the app's lock, so none slips between a build and its release;
    /// six of them released at once all land, one release each, in order.
    @Test func concurrentSetsWaitForTheBuildAndLoseNoChange() throws {
        let h = try PushHarness("config-concurrent")
        _ = try h.deployedApp()
        // The test plays a running build: it holds the app's lock.
        let lockFD = open("\(h.root)/apps/myapp/lock", O_RDWR)
        #expect(lockFD >= 0 && FileLock.wait(lockFD))
        let keys = (1...6).map { "KEY_\($0)" }
        let sets = try keys.map { try h.startSSH("config:set myapp \($0)=\($0.lowercased())") }
        for set in sets {
            #expect(set.waitFor("slipway: Waiting for another push to myapp to finish", timeout: 30), "\(set.text)")
        }
        #expect(try h.storedConfig().isEmpty, "nothing changes while the build runs")
        close(lockFD)

        let statuses = sets.map { $0.wait() }
        #expect(statuses.allSatisfy { $0 == 0 }, "\(sets.map(\.text))")
        let expected = Dictionary(uniqueKeysWithValues: keys.map { ($0, $0.lowercased()) })
        #expect(try h.storedConfig() == expected)
        let entries = try h.spoolEntries()
        #expect(entries.map(\.manifest.version) == Array(1...7), "one release per change, numbers in order")
        #expect(entries.last?.manifest.configVars == expected, "the last release holds every change")
    }

    /// A user who gives up while a config change waits for a build gets no change made behind their back.
    @Test func hangingUpWhileWaitingChangesNothing() throws {
        let h = try PushHarness("config-hangup")
        _ = try h.deployedApp()
        let lockFD = open("\(h.root)/apps/myapp/lock", O_RDWR)
        #expect(lockFD >= 0 && FileLock.wait(lockFD))
        defer { close(lockFD) }
        let set = try h.startSSH("config:set myapp A=1")
        #expect(set.waitFor("slipway: Waiting for", timeout: 30), "\(set.text)")
        #expect(!doors(of: h.root).isEmpty)
        set.send(SIGKILL)
        set.wait()
        var waiting = doors(of: h.root)
        // Within 10s: well before the door's next "Waiting" line (every 20s), whose write would kill it anyway.
        for _ in 0..<100 where !waiting.isEmpty {
            usleep(100_000)
            waiting = doors(of: h.root)
        }
        #expect(waiting.isEmpty, "the door stops waiting once its client is gone")
        FileLock.release(lockFD)
        #expect(try h.storedConfig().isEmpty)
        #expect(try h.spoolEntries().count == 1)
    }

    /// In another git server's repository the hook holds the app's lock in pre-receive only; a config change made
    /// before post-receive still reaches the release.
    @Test func configChangedBetweenBuildAndReleaseInAPlainRepository() throws {
        let scratch = try ScratchDirectory("config-plain")
        let plain = try PlainRepository(scratch, hooks: ["pre-receive"])
        let receivePack = TestPaths.product("receive-pack")
        let root = plain.root
        #expect(try runTool([receivePack, "apps", "create", "shop", "--owner", "alice", "--root", root]).status == 0)
        // The change lands after pre-receive has built and released the lock, before Slipway's post-receive runs
        // (kept in a subfolder: the hook takes its name from $0).
        try FileManager.default.createDirectory(
            atPath: "\(plain.bare)/hooks/slipway", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "\(TestPaths.repositoryRoot)/hooks/post-receive", toPath: "\(plain.bare)/hooks/slipway/post-receive"
        )
        try scratch.write(
            "shop.git/hooks/post-receive",
            "#!/bin/sh\n'\(receivePack)' config:set --root '\(root)' shop LATE=yes >&2\n"
                + "exec \"$(dirname \"$0\")/slipway/post-receive\"\n",
            mode: 0o755)
        let pushed = try plain.push()
        #expect(pushed.status == 0, "\(pushed.output)")
        let spool = Spool(directory: "\(root)/spool")
        let name = try #require(try spool.pending().first)
        let manifest = try openRelease(atPath: "\(root)/spool/new/\(name)/release.json", root: root)
        #expect(manifest.configVars["LATE"] == "yes", "\(pushed.output)")
    }

    /// The pids of `receive-pack shell` processes serving `root`.
    private func doors(of root: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.contains("shell") && words.contains(root) && processIsAlive(pid)
        }
    }
}
