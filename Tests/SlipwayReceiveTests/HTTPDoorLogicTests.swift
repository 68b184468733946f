import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP door's pure logic: the smart-HTTP path parser, tokens.
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
