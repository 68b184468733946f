import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

#if canImport(Glibc)
    import Glibc
#endif

/// `certs`, `certs:add`, `certs:remove`, `certs:auto`, `certs:auto:disable` (issue 26), in-process against a
/// scratch root, with certificates openssl makes.
@Suite struct CertCommandTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot

    init() throws {
        scratch = try ScratchDirectory("certs")
        root = SlipwayRoot(scratch.url("root"))
        try AppRegistry(root: root).create("myapp", owner: "alice")
    }

    /// Runs `words` as `actor` with `stdin` as the session's input.
    func run(
        _ words: [String], as actor: Actor = .user("alice"), stdin: String = ""
    ) throws -> (status: Int32, out: String, err: String) {
        let input = try scratch.write("stdin-\(UUID().uuidString)", stdin)
        let fd = open(input, O_RDONLY)
        defer { close(fd) }
        return runCommand(words, root: root, as: actor) { $0.sessionDescriptors = [fd, 1, 2] }
    }

    /// A self-signed certificate and key for `names`, as PEM text.
    func certificate(_ names: [String], name: String) throws -> (certificate: String, key: String) {
        let made = try runTool([
            try tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", scratch.url("\(name).key"), "-out", scratch.url("\(name).crt"), "-days", "2", "-subj",
            "/CN=\(names[0])", "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
        ])
        #expect(made.status == 0, "\(made.stderr)")
        return (try scratch.read("\(name).crt"), try scratch.read("\(name).key"))
    }

    @Test func anAppsOwnCertificateIsCheckedAndKeptOutOfReach() throws {
        #expect(try run(["domains:add", "myapp", "www.example.com"]).status == 0)
        let good = try certificate(["www.example.com"], name: "good")
        let other = try certificate(["shop.example.org"], name: "other")

        let added = try run(["certs:add", "myapp"], stdin: good.certificate + good.key)
        #expect(added.status == 0, "\(added.err)")
        #expect(
            added.err.hasPrefix("Adding the certificate of www.example.com to myapp... done (issued by www.example.com")
        )
        var info = stat()
        #expect(stat(root.layout.appCertificateKey("myapp"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try scratch.read("root/apps/myapp/tls/key.pem") == good.key)
        let settings = try DynoSettings.load(from: root.layout.dynoSettings("myapp"))
        #expect(settings.certificate?.count == 64)

        let refusals: [(String, String)] = [
            (
                other.certificate + other.key,
                "slipway: the certificate covers none of myapp's domains (it names shop.example.org)"
            ),
            (good.certificate + other.key, "slipway: the key is not the certificate's"),
            ("hello", "slipway: the certificate is not a PEM certificate"),
            (good.certificate, "slipway: the key is not a PEM private key"),
        ]
        for (input, expected) in refusals {
            let refused = try run(["certs:add", "myapp"], stdin: input)
            #expect(refused.status == 1)
            #expect(refused.err.hasPrefix(expected), "\(refused.err)")
            #expect(refused.err.split(separator: "\n").count == 1)
        }
        // Files named on the server are the operator's alone.
        let paths = try run(["certs:add", "myapp", scratch.url("good.crt"), scratch.url("good.key")])
        #expect(paths.status == 1)
        #expect(paths.err.hasPrefix("slipway: certs:add reads the certificate and key from stdin"), "\(paths.err)")
        let byOperator = try run(
            ["certs:add", "myapp", scratch.url("good.crt"), scratch.url("good.key")], as: .serverOperator)
        #expect(byOperator.status == 0, "\(byOperator.err)")

        #expect(try run(["certs:remove", "myapp"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: root.layout.appCertificateKey("myapp")))
        #expect(try DynoSettings.load(from: root.layout.dynoSettings("myapp")).certificate == nil)
        let again = try run(["certs:remove", "myapp"])
        #expect(again.err == "slipway: myapp has no certificate of its own (certs myapp)\n")
    }

    @Test func automaticCertificatesAreTheAppsChoiceAndCertsShowsTheRunnersReport() throws {
        #expect(try run(["certs:auto:disable", "myapp"]).status == 0)
        #expect(try DynoSettings.load(from: root.layout.dynoSettings("myapp")).automaticCertificates == false)
        #expect(try run(["certs:auto", "myapp"]).status == 0)
        #expect(try DynoSettings.load(from: root.layout.dynoSettings("myapp")).automaticCertificates == nil)

        let none = try run(["certs", "myapp"])
        #expect(none.out.contains("No HTTPS: the router serves plain HTTP only"), "\(none.out)")

        var state = RunnerState(
            app: "myapp", watcher: nil, watcherPid: 1, updatedAt: "", host: nil, release: nil, formation: [:],
            processes: [], lastDeploy: nil, baseDomain: "apps.test")
        state.certificates = [
            .init(host: "myapp.apps.test", state: "installed", issuer: "R11", expires: "2027-01-01T00:00:00Z"),
            .init(host: "www.example.com", state: "failing", reason: "the CA refused the order (x: y)\u{1b}[2J"),
        ]
        try FileSystem.makeFolders("\(root.layout.runnerApps)/myapp", mode: 0o755)
        try DurableFile.replace(
            root.layout.runnerState("myapp"), with: try JSONEncoder().encode(state), mode: 0o644)
        let listed = try run(["certs", "myapp"])
        #expect(
            listed.out == """
                === myapp certificates
                myapp.apps.test  installed  R11  expires 2027-01-01T00:00:00Z
                www.example.com  failing  the CA refused the order (x: y)\\u{1b}[2J
                Automatic certificates: on

                """, "\(listed.out)")
    }
}
