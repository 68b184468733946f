import Foundation
import SlipwayReceive
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// The private sshd the integration tests push through, and Slipway's authorized_keys lines in a real sshd.
@Suite struct PrivateSSHDTests {
    @Test func forcedCommandRunsAndStopLeavesNothing() throws {
        let scratch = try ScratchDirectory("sshd")
        let key = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "alice")
        // command= runs through the user's shell, which expands $SSH_ORIGINAL_COMMAND.
        let keys = try scratch.write(
            "authorized_keys", "command=\"/bin/echo forced:$SSH_ORIGINAL_COMMAND\",no-pty \(key.publicKey)\n",
            mode: 0o600)
        let sshd = try PrivateSSHD(directory: try scratch.makeDirectory("sshd"), authorizedKeysFile: keys)
        let port = sshd.port
        let pid = sshd.pid

        let result = try runTool(sshArguments(key: key, port: port) + ["root@127.0.0.1", "hello"], timeout: 60)
        #expect(result.status == 0, "\(result.output)\n--- sshd log:\n\(log(sshd))")
        #expect(result.stdout == "forced:hello\n")

        sshd.stop()
        #expect(!loopbackPortAcceptsConnections(port))
        #expect(!processIsAlive(pid))
        sshd.stop()  // idempotent
    }

    @Test func unknownKeyIsRefused() throws {
        let scratch = try ScratchDirectory("sshd")
        let known = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "known")
        let stranger = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "stranger")
        let keys = try scratch.write("authorized_keys", "command=\"/bin/echo in\" \(known.publicKey)\n", mode: 0o600)
        let sshd = try PrivateSSHD(directory: try scratch.makeDirectory("sshd"), authorizedKeysFile: keys)
        defer { sshd.stop() }
        let result = try runTool(
            sshArguments(key: stranger, port: sshd.port) + ["root@127.0.0.1", "hello"], timeout: 60)
        #expect(result.status == 255)
        #expect(!result.stdout.contains("in"))
    }

    /// A line written by ``AuthorizedKeys`` works in OpenSSH: the forced command gets its arguments as written, even
    /// with spaces in the paths, the client's command arrives in SSH_ORIGINAL_COMMAND untouched, and the
    /// restrictions hold (no terminal).
    @Test func slipwayLinesWorkInOpenSSH() throws {
        let scratch = try ScratchDirectory("sshd")
        let receivePack = try scratch.write(
            "bin dir/receive-pack",
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\nprintf '\\n%s\\n' \"$SSH_ORIGINAL_COMMAND\"\n[ -t 0 ] && echo tty\nexit 0\n",
            mode: 0o755)
        let root = try scratch.makeDirectory("my root")
        let file = AuthorizedKeys(path: "\(root)/authorized_keys", receivePackPath: receivePack, root: root)
        let alice = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "alice")
        let bob = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "bob", type: "ecdsa")
        try file.add(user: "alice", key: try PublicKey(parsing: alice.publicKey))
        try file.add(user: "bob", key: try PublicKey(parsing: bob.publicKey))
        let sshd = try PrivateSSHD(directory: try scratch.makeDirectory("sshd"), authorizedKeysFile: file.path)
        defer { sshd.stop() }

        let pushed = try runTool(
            sshArguments(key: alice, port: sshd.port) + ["root@127.0.0.1", "git-receive-pack '$(id)'; ls"], timeout: 60)
        #expect(pushed.status == 0, "\(pushed.output)\n--- sshd log:\n\(log(sshd))")
        #expect(pushed.stdout == "[shell][--root][\(root)][--user][alice]\ngit-receive-pack '$(id)'; ls\n")

        // no-pty: a client that insists on a terminal gets none (OpenSSH's client then gives up, or runs without).
        let withTTY = try runTool(
            sshArguments(key: alice, port: sshd.port) + ["-tt", "root@127.0.0.1", "git-receive-pack 'x'"], timeout: 60)
        #expect(withTTY.output.contains("PTY allocation request failed"), "\(withTTY.output)")
        #expect(!withTTY.stdout.contains("tty\n"))

        let cloned = try runTool(
            sshArguments(key: bob, port: sshd.port) + ["root@127.0.0.1", "git-upload-pack 'x'"], timeout: 60)
        #expect(cloned.stdout == "[shell][--root][\(root)][--user][bob]\ngit-upload-pack 'x'\n")
    }

    private func log(_ sshd: PrivateSSHD) -> String {
        (try? String(contentsOfFile: sshd.logPath, encoding: .utf8)) ?? ""
    }
}
