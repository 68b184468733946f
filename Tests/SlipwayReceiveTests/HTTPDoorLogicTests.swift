import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP door's pure logic: the smart-HTTP path parser, tokens, the failed-login limiter.
struct HTTPDoorLogicTests {
    @Test(arguments: [
        (
            "GET", "/myapp.git/info/refs", "service=git-receive-pack", GitService.receivePack,
            HTTPGitRequest.Step.advertisement
        ),
        ("GET", "/myapp/info/refs", "service=git-upload-pack", .uploadPack, .advertisement),
        ("POST", "/myapp.git/git-receive-pack", "", .receivePack, .exchange),
        ("POST", "/myapp/git-upload-pack", "", .uploadPack, .exchange),
    ])
    func acceptsTheSmartProtocolsRequests(
        method: String, path: String, query: String, service: GitService, step: HTTPGitRequest.Step
    ) throws {
        let request = try HTTPGitRequest.parse(method: method, path: path, query: query)
        #expect(request.git == GitRequest(service: service, app: "myapp"))
        #expect(request.step == step)
    }

    @Test(arguments: [
        ("GET", "/myapp.git/info/refs", ""),  // the dumb protocol
        ("GET", "/myapp.git/HEAD", ""),
        ("GET", "/myapp.git/objects/info/packs", ""),
        ("GET", "/myapp.git/info/refs", "service=git-upload-archive"),
        ("POST", "/myapp.git/info/refs", "service=git-receive-pack"),
        ("GET", "/myapp.git/git-receive-pack", ""),
        ("POST", "/../etc/git-receive-pack", ""),
        ("POST", "/a/b/git-receive-pack", ""),
        ("POST", "/my%61pp/git-receive-pack", ""),
        ("POST", "//git-receive-pack", ""),
        ("POST", "myapp/git-receive-pack", ""),
    ])
    func refusesEverythingElse(method: String, path: String, query: String) {
        #expect(throws: DoorError.self) { try HTTPGitRequest.parse(method: method, path: path, query: query) }
    }

    @Test func anInvalidAppNameGetsTheNameRule() {
        #expect(throws: DoorError.self) {
            do {
                _ = try HTTPGitRequest.parse(method: "POST", path: "/My_App/git-receive-pack", query: "")
            } catch let error as DoorError {
                #expect(error.code == .invalidName)
                throw error
            }
        }
    }

    @Test func tokensAreStoredHashedVerifiedListedAndRevoked() throws {
        let scratch = try ScratchDirectory("tokens")
        let store = TokenStore(root: SlipwayRoot(scratch.path))
        let (secret, token) = try store.create(user: "alice")
        let (other, _) = try store.create(user: "bob")
        #expect(secret.hasPrefix("slw_") && secret.count == 44)
        #expect(try store.verify(secret)?.user == "alice")
        #expect(try store.verify(other)?.user == "bob")
        #expect(try store.verify(secret + "0") == nil)
        #expect(try store.verify("slw_" + String(repeating: "0", count: 40)) == nil)
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(!text.contains(secret), "only the hash is kept")
        var info = stat()
        #expect(stat(store.path, &info) == 0 && info.st_mode & 0o777 == 0o600)

        #expect(try store.list().first?.lastUsedAt == nil)
        try store.markUsed(id: token.id)
        #expect(try store.list().first?.lastUsedAt != nil)

        #expect(throws: DoorError.self) { try store.revoke(id: token.id, as: "bob") }
        try store.revoke(id: token.id, as: "alice")
        #expect(try store.verify(secret) == nil)
        #expect(try store.list().map(\.user) == ["bob"])
        #expect(throws: DoorError.self) { try store.create(user: "Not A User") }
    }

    @Test func failedLoginsBlockAnAddressForItsWindow() {
        var limiter = FailureLimiter(limit: 3, window: 60)
        let start = Date()
        for _ in 0..<3 { limiter.recordFailure("10.0.0.1", now: start) }
        let blocked = limiter.isBlocked("10.0.0.1", now: start.addingTimeInterval(1))
        let other = limiter.isBlocked("10.0.0.2", now: start.addingTimeInterval(1))
        let later = limiter.isBlocked("10.0.0.1", now: start.addingTimeInterval(61))
        #expect(blocked && !other && !later)
    }

    @Test func failedLoginsAreCountedPerAddressAndPerCredential() {
        var limiter = LoginLimiter(limit: 3, window: 60)
        let start = Date()
        let first = (0..<4).map { limiter.failed("slw_\($0)", from: "10.0.0.1", now: start) }
        #expect(first == [false, false, false, true], "the address is over its limit")
        let other = limiter.failed("slw_9", from: "10.0.0.2", now: start)
        #expect(!other, "another address has its own count")
        let spread = (3..<7).map { limiter.failed("slw_same", from: "10.0.1.\($0)", now: start) }
        #expect(spread == [false, false, false, true], "one credential tried from many addresses is limited")
        let later = limiter.failed("slw_0", from: "10.0.0.3", now: start.addingTimeInterval(61))
        #expect(!later, "the window passes")
        // A request with two candidate addresses (disagreeing forwarding headers) is refused if either is over.
        let either = limiter.failed("slw_new", from: ["10.9.9.9", "10.0.0.1"], now: start.addingTimeInterval(1))
        #expect(either)
    }

    /// A flood of made-up tokens within one window cannot grow the limiter without bound, nor free a blocked address.
    @Test func aFloodOfKeysIsBoundedAndKeepsBlockedOnesBlocked() {
        var limiter = FailureLimiter(limit: 3, window: 60)
        let start = Date()
        for _ in 0..<3 { limiter.recordFailure("10.0.0.1", now: start) }
        for index in 0..<(FailureLimiter.capacity * 2) { limiter.recordFailure("key \(index)", now: start) }
        #expect(limiter.count <= FailureLimiter.capacity + 1)
        let blocked = limiter.isBlocked("10.0.0.1", now: start.addingTimeInterval(1))
        #expect(blocked)
    }

    @Test func forwardedHeadersAreReadOnlyFromTrustedProxies() throws {
        let proxies = try TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])
        #expect(proxies.trusts("127.0.0.1") && proxies.trusts("::ffff:127.0.0.1") && proxies.trusts("10.200.3.4"))
        #expect(proxies.trusts("fd12::1") && !proxies.trusts("127.0.0.2") && !proxies.trusts("11.0.0.1"))
        #expect(!proxies.trusts("fe80::1") && !proxies.trusts("garbage") && !proxies.trusts(""))
        let chain = ["198.51.100.1, 203.0.113.7", "10.1.1.1"]
        #expect(proxies.client(peer: "127.0.0.1", forwarded: [], forwardedFor: chain) == "203.0.113.7")
        #expect(proxies.client(peer: "192.0.2.9", forwarded: [], forwardedFor: chain) == "192.0.2.9")
        #expect(TrustedProxies().client(peer: "127.0.0.1", forwarded: [], forwardedFor: chain) == "127.0.0.1")
        #expect(
            proxies.client(
                peer: "127.0.0.1", forwarded: ["for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\""],
                forwardedFor: []) == "2001:db8::1")
        // A proxy that sets one header passes the other on from the client: when they disagree, both count.
        #expect(
            proxies.clients(peer: "127.0.0.1", forwarded: ["for=192.0.2.1"], forwardedFor: chain)
                == ["203.0.113.7", "192.0.2.1"])
        #expect(
            proxies.clients(peer: "127.0.0.1", forwarded: ["for=203.0.113.7"], forwardedFor: chain) == ["203.0.113.7"])
        #expect(proxies.clients(peer: "192.0.2.9", forwarded: ["for=192.0.2.1"], forwardedFor: chain) == ["192.0.2.9"])
        #expect(proxies.client(peer: "127.0.0.1", forwarded: [], forwardedFor: ["unknown"]) == "127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwarded: [], forwardedFor: ["10.0.0.5"]) == "10.0.0.5")
        #expect(proxies.client(peer: "127.0.0.1", forwarded: [], forwardedFor: []) == "127.0.0.1")
        for bad in ["proxy.example", "10.0.0.0/33", "10.0.0.0/", "/8", "::1/129", "10.0.0.0/+8"] {
            #expect(throws: DoorError.self, "\(bad)") { try TrustedProxies([bad]) }
        }
    }

    @Test func constantTimeEqualCompares() {
        #expect(TokenStore.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!TokenStore.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!TokenStore.constantTimeEqual(Array("abc".utf8), Array("ab".utf8)))
    }

    @Test func helpListsTheNewCommands() {
        let help = ManagementCommands.helpText().joined(separator: "\n")
        for name in ["tokens:create", "tokens:revoke", "apps:webhook", "apps:deploy-key"] {
            #expect(help.contains(name), "\(name)")
        }
    }
}
