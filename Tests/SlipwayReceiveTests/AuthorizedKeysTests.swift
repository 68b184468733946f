import Foundation
import SlipwayReceive
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// The authorized_keys file, with real keys from ssh-keygen.
@Suite struct AuthorizedKeysTests {
    let scratch: ScratchDirectory
    let file: AuthorizedKeys

    init() throws {
        scratch = try ScratchDirectory("keys")
        file = AuthorizedKeys(
            path: scratch.url("root/authorized_keys"), receivePackPath: "/usr/local/bin/receive-pack",
            root: scratch.url("root"))
    }

    func key(_ name: String, type: String = "ed25519") throws -> (SSHClientKey, PublicKey) {
        let pair = try SSHClientKey(in: try scratch.makeDirectory("client"), name: name, type: type)
        return (pair, try PublicKey(parsing: pair.publicKey))
    }

    @Test func addListRemoveRoundTrip() throws {
        let (_, ed25519) = try self.key("alice", type: "ed25519")
        let (_, ecdsa) = try self.key("bob", type: "ecdsa")
        let (_, rsa) = try self.key("carol", type: "rsa")
        try file.add(user: "alice", key: ed25519)
        try file.add(user: "bob", key: ecdsa)
        try file.add(user: "carol", key: rsa)

        #expect(
            try file.list() == [
                AuthorizedKeyEntry(user: "alice", key: ed25519), AuthorizedKeyEntry(user: "bob", key: ecdsa),
                AuthorizedKeyEntry(user: "carol", key: rsa),
            ])
        #expect(try file.user(for: ecdsa) == "bob")
        #expect(try file.user(for: rsa) == "carol")

        #expect(try file.remove(user: "bob") == 1)
        #expect(try file.list().map(\.user) == ["alice", "carol"])
        #expect(try file.user(for: ecdsa) == nil)
        #expect(#expect(throws: DoorError.self) { try file.remove(user: "bob") }?.code == .notFound)
    }

    @Test func removeTakesEveryKeyOfTheUser() throws {
        let (_, first) = try self.key("one")
        let (_, second) = try self.key("two")
        let (_, other) = try self.key("three")
        try file.add(user: "alice", key: first)
        try file.add(user: "bob", key: other)
        try file.add(user: "alice", key: second)
        #expect(try file.remove(user: "alice") == 2)
        #expect(try file.list() == [AuthorizedKeyEntry(user: "bob", key: other)])
    }

    @Test(arguments: ["ed25519", "ecdsa", "rsa"])
    func fingerprintMatchesSSHKeygen(_ type: String) throws {
        let (pair, key) = try self.key("fp-\(type)", type: type)
        let listed = try runTool(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", "\(pair.privateKeyPath).pub"])
        #expect(listed.status == 0)
        // "256 SHA256:… comment (ED25519)"
        let fields = listed.stdout.split(separator: " ")
        #expect(fields.count >= 2)
        #expect(key.fingerprint == String(fields[1]))
        #expect(key.comment == "fp-\(type)@slipway-test")
    }

    @Test func lineFormat() throws {
        let (pair, key) = try self.key("alice")
        let line = try file.line(user: "alice", key: key)
        #expect(
            line
                == "command=\"/usr/local/bin/receive-pack shell --root \(scratch.url("root")) --user alice\",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty \(pair.publicKey)"
        )
        try file.add(user: "alice", key: key)
        #expect(try scratch.read("root/authorized_keys") == line + "\n")
    }

    @Test func pathsAreQuotedOrRefused() throws {
        let (_, key) = try self.key("alice")
        let spaced = AuthorizedKeys(
            path: scratch.url("k"), receivePackPath: "/opt/slip way/receive-pack", root: "/srv/my root")
        #expect(
            try spaced.line(user: "alice", key: key).hasPrefix(
                "command=\"'/opt/slip way/receive-pack' shell --root '/srv/my root' --user alice\","))
        for (receivePack, root) in [
            ("/bin/rp\"", "/srv"), ("/bin/rp", "/srv\\x"), ("/bin/rp", "/srv/it's"), ("/bin/rp", "/srv\nx"),
            ("receive-pack", "/srv"), ("/bin/rp", "srv"),
        ] {
            let bad = AuthorizedKeys(path: scratch.url("k"), receivePackPath: receivePack, root: root)
            #expect(throws: DoorError.self) { try bad.line(user: "alice", key: key) }
        }
        #expect(throws: DoorError.self) { try file.line(user: "Alice", key: key) }
        #expect(throws: DoorError.self) { try file.line(user: "alice --user root", key: key) }
    }

    @Test func tamperedKeyFieldsCannotAddALine() throws {
        var (_, key) = try self.key("alice")
        key.comment = "x\ncommand=\"/bin/sh\" ssh-ed25519 AAAA"
        #expect(throws: DoorError.self) { try file.add(user: "alice", key: key) }
        #expect(try file.list().isEmpty)
    }

    @Test func duplicateKeyIsRefused() throws {
        let (pair, key) = try self.key("alice")
        try file.add(user: "alice", key: key)
        #expect(throws: DoorError(.duplicateKey, "slipway: that key is already authorized for alice")) {
            try file.add(user: "bob", key: key)
        }
        // The same key with another comment is the same key.
        let renamed = try PublicKey(
            parsing: pair.publicKey.split(separator: " ")[0...1].joined(separator: " ") + " other")
        #expect(throws: DoorError(.duplicateKey, "slipway: that key is already authorized for alice")) {
            try file.add(user: "alice", key: renamed)
        }
        #expect(try file.list().count == 1)
    }

    @Test func keyOnAForeignLineIsRefused() throws {
        let (pair, key) = try self.key("alice")
        try scratch.write("root/authorized_keys", "no-pty \(pair.publicKey)\n", mode: 0o600)
        #expect(#expect(throws: DoorError.self) { try file.add(user: "alice", key: key) }?.code == .duplicateKey)
    }

    @Test func malformedKeysAreRefused() throws {
        let (pair, _) = try self.key("alice")
        let (ecdsaPair, _) = try self.key("bob", type: "ecdsa")
        let parts = pair.publicKey.split(separator: " ").map(String.init)
        let ecdsaParts = ecdsaPair.publicKey.split(separator: " ").map(String.init)
        let bad: [String] = [
            "",
            "   ",
            "ssh-ed25519",
            "ssh-ed25519 AAAA!!!notbase64 alice@host",
            "ssh-ed25519 \(parts[1].dropLast(4)) truncated",
            "ssh-ed25519 \(ecdsaParts[1]) mismatch",  // an ECDSA blob declared as ed25519
            "ecdsa-sha2-nistp384 \(ecdsaParts[1]) wrong-curve",
            "command=\"/bin/sh\" \(pair.publicKey)",
            "no-pty \(pair.publicKey)",
            "no-pty,no-port-forwarding \(pair.publicKey)",
            "\(pair.publicKey)\n\(ecdsaPair.publicKey)",
            "\(pair.publicKey)\r\(ecdsaPair.publicKey)",
            "\(pair.publicKey)\0",
            "ssh-dss AAAAB3NzaC1kc3MAAACBAP comment",
            "ssh-ed25519-cert-v01@openssh.com \(parts[1])",
            "\(parts[0]) \(parts[1]) it's mine",
            "\(parts[0]) \(parts[1]) \"quoted\"",
            "\(parts[0]) \(parts[1]) bell\u{7}",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
        ]
        for line in bad {
            let error = #expect(throws: DoorError.self, "\(line.debugDescription)") { try PublicKey(parsing: line) }
            #expect(error?.code == .invalidKey, "\(line.debugDescription)")
            #expect(error?.message.hasPrefix("slipway: ") == true)
            #expect(error?.message.contains("\n") == false)
        }
        let options = #expect(throws: DoorError.self) { try PublicKey(parsing: "no-pty \(pair.publicKey)") }
        #expect(options?.message.contains("starts with options") == true)
        #expect(options?.message.contains("paste the contents of your id_ed25519.pub") == true)
    }

    @Test func acceptsEveryWellFormedLine() throws {
        let (pair, key) = try self.key("alice")
        let parts = pair.publicKey.split(separator: " ").map(String.init)
        #expect(try PublicKey(parsing: "  \(pair.publicKey)  ") == key)
        #expect(try PublicKey(parsing: "\(parts[0])\t\(parts[1])").comment == "")
        #expect(try PublicKey(parsing: "\(parts[0]) \(parts[1]) two  words").comment == "two  words")
        #expect(key.isSupportedByBuiltinServer)
        #expect(try self.key("e", type: "ecdsa").1.isSupportedByBuiltinServer)
        #expect(try !self.key("r", type: "rsa").1.isSupportedByBuiltinServer)
    }

    @Test func concurrentAddsKeepEveryLine() throws {
        let keys = try (0..<8).map { try self.key("user\($0)").1 }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: keys.count) { index in
            do {
                try file.add(user: "user\(index)", key: keys[index])
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        let lines = try scratch.read("root/authorized_keys").split(separator: "\n")
        #expect(lines.count == 8)
        #expect(Set(try file.list().map(\.user)) == Set((0..<8).map { "user\($0)" }))
    }

    @Test func foreignLinesArePreserved() throws {
        let (_, key) = try self.key("alice")
        let (operatorPair, operatorKey) = try self.key("operator")
        let foreign =
            "# keys of the operators\n\(operatorPair.publicKey)\n\ncommand=\"/usr/bin/backup\",no-pty \(try self.key("backup").0.publicKey)\r\n"
        try scratch.write("root/authorized_keys", foreign, mode: 0o644)
        try file.add(user: "alice", key: key)
        let added = try file.line(user: "alice", key: key)
        #expect(try scratch.read("root/authorized_keys") == foreign + added + "\n")
        #expect(try file.list() == [AuthorizedKeyEntry(user: "alice", key: key)])
        #expect(try file.user(for: operatorKey) == nil)
        #expect(try file.remove(user: "alice") == 1)
        #expect(try scratch.read("root/authorized_keys") == foreign)
    }

    @Test func fileIsPrivate() throws {
        let (_, key) = try self.key("alice")
        try file.add(user: "alice", key: key)
        #expect(try mode(of: file.path) == 0o600)
        // Rewritten files too, whatever mode they had.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        try file.add(user: "bob", key: try self.key("bob").1)
        #expect(try mode(of: file.path) == 0o600)
        // No temporary files left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.url("root")).sorted()
        #expect(names == ["authorized_keys", "authorized_keys.lock"])
    }

    @Test func missingFileListsNothing() throws {
        #expect(try file.list().isEmpty)
        #expect(try file.user(for: try self.key("alice").1) == nil)
    }

    private func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
