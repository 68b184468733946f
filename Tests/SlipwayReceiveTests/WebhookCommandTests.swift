import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// The webhook commands through the door's table, in-process: options with values, one-line refusals, the secret
/// shown once, private receivers refused unless the operator allows them.
@Suite struct WebhookCommandTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot

    init() throws {
        scratch = try ScratchDirectory("webhook-commands")
        root = SlipwayRoot(scratch.url("root"))
        try AppRegistry(root: root).create("myapp", owner: "alice")
    }

    func run(_ words: [String], environment: [String: String] = [:]) -> (status: Int32, out: String, err: String) {
        runCommand(words, root: root, as: .user("alice")) { $0.environment = environment }
    }

    @Test func optionsTakeTheirValuesAndTheSecretIsShownOnce() throws {
        let made = run(["webhooks:add", "myapp", "--include", "build", "https://ci.example.com/hook"])
        #expect(made.status == 0, "\(made.err)")
        #expect(made.err.contains("(api:build) to myapp... done"), "\(made.err)")
        let secret = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit), "\(made.out)")

        let given = run(["webhooks:add", "myapp", "https://b.example.com/hook", "--secret", "my-secret-1"])
        #expect(given.status == 0 && given.out.isEmpty, "a given secret is not printed back: \(given.out)")

        let listed = run(["webhooks", "myapp"])
        #expect(listed.out.contains("https://ci.example.com/hook  api:build\n"), "\(listed.out)")
        #expect(listed.out.contains("https://b.example.com/hook   api:build,api:release\n"), "\(listed.out)")
        #expect(!listed.out.contains(secret) && !listed.out.contains("my-secret-1"))
        #expect(run(["webhooks:deliveries", "myapp"]).out == "myapp has no webhook deliveries yet\n")
        #expect(run(["webhooks:remove", "myapp", "https://b.example.com/hook"]).status == 0)
        #expect(!run(["webhooks", "myapp"]).out.contains("b.example.com"))
    }

    @Test func badInputGetsOneLineNamingTheFix() {
        let cases: [([String], String)] = [
            (
                ["webhooks:add", "myapp", "ftp://x.example/"],
                "slipway: 'ftp://x.example/' is not a webhook URL: give http:// or https://, a host and an optional "
                    + "port, as in https://example.com/hooks/slipway\n"
            ),
            (
                ["webhooks:add", "myapp", "https://x.example/", "--include", "deploys"],
                "slipway: 'deploys' is not an event: --include takes release, build or both (release,build)\n"
            ),
            (
                ["webhooks:add", "myapp", "https://x.example/", "--secret"],
                "slipway: the secret must be 8 to 200 printable characters without spaces; leave --secret out to "
                    + "get one made\n"
            ),
            (
                ["webhooks:add", "myapp", "http://127.0.0.1:8080/"],
                "slipway: webhooks may not go to this server or its private network (127.0.0.1); the server's "
                    + "operator can allow it (SLIPWAY_WEBHOOK_ALLOW_PRIVATE=1)\n"
            ),
            (
                ["webhooks:remove", "myapp", "nope"],
                "slipway: myapp has no webhook nope (webhooks myapp lists them)\n"
            ),
            (["webhooks:add", "myapp"], "slipway: usage: webhooks:add <app> <url> [options…]\n"),
        ]
        for (words, message) in cases {
            let refused = run(words)
            #expect(refused.status == 1, "\(words)")
            #expect(refused.err == message, "\(words): \(refused.err)")
        }
        #expect(run(["webhooks", "myapp"]).out.contains("myapp has no webhooks"))
        // The operator allows receivers on the server's own networks.
        let allowed = run(
            ["webhooks:add", "myapp", "http://127.0.0.1:8080/"], environment: ["SLIPWAY_WEBHOOK_ALLOW_PRIVATE": "1"])
        #expect(allowed.status == 0, "\(allowed.err)")
    }
}
