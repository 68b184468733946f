import Crypto
import Foundation
import NIOHTTP1
import SlipwayReceive
import Testing

@testable import SlipwayDoorRecords

/// Webhook signatures and events of each forge, and the commit-status requests, as pure functions.
struct ForgeTests {
    let commit = "0123456789abcdef0123456789abcdef01234567"

    func body(ref: String = "refs/heads/main", after: String? = nil) -> [UInt8] {
        Array(
            """
            {"ref":"\(ref)","after":"\(after ?? commit)","project_id":7,"project":{"id":7,"web_url":"https://gl.example/a/b"},
             "repository":{"full_name":"alice/shop","html_url":"https://github.com/alice/shop"}}
            """.utf8)
    }

    func hmac(_ body: [UInt8], _ secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    @Test func githubChecksTheSignatureAndReadsThePush() throws {
        let b = body()
        let headers = [
            "x-github-event": "push", "x-github-delivery": "d1", "x-hub-signature-256": "sha256=" + hmac(b, "s"),
        ]
        let event = try Forge.github.verify(headers: headers, body: b, secret: "s")
        #expect(
            event
                == .push(
                    .init(
                        branch: "main", commit: commit, delivery: "d1", repository: "alice/shop",
                        webURL: "https://github.com/alice/shop")))
        #expect(throws: DoorError.self) { try Forge.github.verify(headers: headers, body: b, secret: "other") }
        var tampered = b
        tampered[0] = UInt8(ascii: " ")
        #expect(throws: DoorError.self) { try Forge.github.verify(headers: headers, body: tampered, secret: "s") }
        #expect(throws: DoorError.self) { try Forge.github.verify(headers: headers, body: b, secret: "") }
    }

    @Test func gitlabComparesTheTokenAndGiteaTheHMAC() throws {
        let b = body()
        let gitlab = try Forge.gitlab.verify(
            headers: ["x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "u1", "x-gitlab-token": "s"], body: b,
            secret: "s")
        guard case .push(let push) = gitlab else { throw DoorError(.malformedDelivery, "slipway: no push") }
        #expect(push.repository == "7" && push.delivery == "u1")
        #expect(throws: DoorError.self) {
            try Forge.gitlab.verify(
                headers: ["x-gitlab-event": "Push Hook", "x-gitlab-token": "t"], body: b, secret: "s")
        }
        let gitea = try Forge.gitea.verify(
            headers: ["x-gitea-event": "push", "x-gitea-delivery": "g1", "x-gitea-signature": hmac(b, "s")], body: b,
            secret: "s")
        guard case .push(let giteaPush) = gitea else { throw DoorError(.malformedDelivery, "slipway: no push") }
        #expect(giteaPush.repository == "alice/shop")
    }

    @Test func otherEventsTagsAndDeletionsAreIgnoredWithAReason() throws {
        let b = body()
        let sign = { (body: [UInt8], event: String) in
            ["x-gitea-event": event, "x-gitea-delivery": "g", "x-gitea-signature": self.hmac(body, "s")]
        }
        #expect(
            try Forge.gitea.verify(headers: sign(b, "issues"), body: b, secret: "s")
                == .ignored("event 'issues' is not a push"))
        let tag = body(ref: "refs/tags/v1")
        #expect(
            try Forge.gitea.verify(headers: sign(tag, "push"), body: tag, secret: "s")
                == .ignored("refs/tags/v1 is not a branch"))
        let deleted = body(after: String(repeating: "0", count: 40))
        #expect(
            try Forge.gitea.verify(headers: sign(deleted, "push"), body: deleted, secret: "s")
                == .ignored("the push deleted refs/heads/main"))
    }

    @Test func commitStatusRequestsFollowEachForgesAPI() {
        let status = CommitStatus(state: .failure, description: "Build 1 failed", context: "slipway/shop")
        let github = status.request(
            forge: .github, api: "https://api.github.com/", repository: "alice/shop", commit: commit, token: "t")
        #expect(github.url == "https://api.github.com/repos/alice/shop/statuses/\(commit)")
        #expect(github.headers["Authorization"] == ["Bearer t"])
        #expect(github.body == ["state": "failure", "description": "Build 1 failed", "context": "slipway/shop"])
        let gitlab = status.request(
            forge: .gitlab, api: "https://gl.example", repository: "7", commit: commit, token: "t")
        #expect(gitlab.url == "https://gl.example/api/v4/projects/7/statuses/\(commit)")
        #expect(gitlab.headers.map { "\($0.name): \($0.value)" } == ["PRIVATE-TOKEN: t"])
        #expect(gitlab.body == ["state": "failed", "description": "Build 1 failed", "name": "slipway/shop"])
        let gitea = status.request(
            forge: .gitea, api: "https://gitea.example", repository: "alice/shop", commit: commit, token: "t")
        #expect(gitea.url == "https://gitea.example/api/v1/repos/alice/shop/statuses/\(commit)")
        #expect(gitea.headers.map { "\($0.name): \($0.value)" } == ["Authorization: token t"])
    }

    /// The status token's destination comes from what the operator set (the source URL), never from a delivery.
    @Test func theDefaultAPIComesFromTheSourceURL() {
        let cases: [(Forge, String, String?)] = [
            (.github, "https://github.com/a/b.git", "https://api.github.com"),
            (.github, "git@github.com:a/b.git", "https://api.github.com"),
            (.github, "ssh://git@github.com/a/b.git", "https://api.github.com"),
            (.github, "https://ghe.example/a/b.git", "https://ghe.example/api/v3"),
            (.gitea, "https://gitea.example:3000/a/b.git", "https://gitea.example:3000"),
            (.gitea, "http://127.0.0.1:3000/a/b.git", "http://127.0.0.1:3000"),
            (.gitlab, "git@gitlab.example:group/b.git", "https://gitlab.example"),
            (.gitlab, "ssh://git@gitlab.example:2222/group/b.git", "https://gitlab.example"),
            (.github, "git://127.0.0.1:9418/shop.git", "https://127.0.0.1/api/v3"),
            (.gitea, "not a url", nil),
        ]
        for (forge, source, api) in cases {
            #expect(CommitStatus.defaultAPI(forge: forge, sourceURL: source) == api, "\(forge) \(source)")
        }
        #expect(CommitStatus.defaultAPI(forge: .github, sourceURL: nil) == nil)
    }

    @Test func sourceURLsAreGitURLsOnly() throws {
        #expect(
            try SourceSettings.parseSource("https://github.com/a/b.git#prod") == ("https://github.com/a/b.git", "prod"))
        #expect(try SourceSettings.parseSource("git@github.com:a/b.git") == ("git@github.com:a/b.git", "main"))
        for bad in [
            "ext::sh -c touch% /tmp/x", "/srv/git/a.git", "file:///etc", "-uhttps://x", "https://x/a.git#bad..branch",
        ] {
            #expect(throws: DoorError.self, "\(bad)") { try SourceSettings.parseSource(bad) }
        }
    }
}
