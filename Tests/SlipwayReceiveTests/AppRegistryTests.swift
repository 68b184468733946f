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

@Suite struct AppRegistryTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot
    let registry: AppRegistry

    init() throws {
        scratch = try ScratchDirectory("apps")
        root = SlipwayRoot(scratch.url("root"))
        registry = AppRegistry(root: root)
    }

    @Test func createAndReadBack() throws {
        let created = try registry.create("myapp", owner: "alice")
        #expect(created.name == "myapp")
        #expect(created.owner == "alice")
        #expect(created.collaborators.isEmpty)
        #expect(created.deployBranch == nil)
        #expect(created.buildpacks.isEmpty)
        #expect(created.buildDir == nil)
        #expect(ISO8601DateFormatter().date(from: created.createdAt) != nil)
        #expect(try registry.settings("myapp") == created)
        #expect(try registry.settings("other") == nil)

        let json = try scratch.read("root/apps/myapp/app.json")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["owner"] as? String == "alice")
        #expect(object?["created_at"] as? String == created.createdAt)
        #expect(json.hasSuffix("}\n"))
    }

    @Test func snakeCaseRoundTrip() throws {
        var settings = try registry.create("myapp", owner: "alice")
        settings.deployBranch = "production"
        settings.buildpacks = ["https://github.com/heroku/heroku-buildpack-nodejs"]
        settings.buildDir = "web"
        settings.collaborators = ["bob"]
        try registry.save(settings)
        #expect(try registry.settings("myapp") == settings)
        let json = try scratch.read("root/apps/myapp/app.json")
        for key in ["\"deploy_branch\"", "\"build_dir\"", "\"created_at\"", "\"buildpacks\"", "\"collaborators\""] {
            #expect(json.contains(key))
        }
        #expect(json.contains("https://github.com/heroku"))  // slashes not escaped
    }

    @Test func handWrittenSettingsDecode() throws {
        try scratch.write("root/apps/handmade/app.json", #"{"name": "handmade", "owner": "alice"}"#)
        let settings = try #require(try registry.settings("handmade"))
        #expect(settings.collaborators == [])
        #expect(settings.buildpacks == [])
        try scratch.write("root/apps/broken/app.json", "{")
        #expect(#expect(throws: DoorError.self) { try registry.settings("broken") }?.code == .storage)
    }

    @Test func listIsSortedAndSkipsNonApps() throws {
        try registry.create("zebra", owner: "alice")
        try registry.create("apple", owner: "bob")
        try registry.create("mango", owner: "carol")
        try scratch.makeDirectory("root/apps/halfmade")
        try scratch.makeDirectory("root/apps/Not_An_App")
        try scratch.write("root/apps/stray-file", "x")
        #expect(try registry.list().map(\.name) == ["apple", "mango", "zebra"])
    }

    @Test func listWithoutAppsFolder() throws {
        #expect(try registry.list().isEmpty)
    }

    @Test func accessAndCollaborators() throws {
        let app = try registry.create("myapp", owner: "alice")
        #expect(registry.canAccess(user: "alice", app: app))
        #expect(!registry.canAccess(user: "bob", app: app))
        try registry.addCollaborator("bob", to: "myapp")
        try registry.addCollaborator("bob", to: "myapp")  // idempotent
        try registry.addCollaborator("alice", to: "myapp")  // the owner already can
        let updated = try #require(try registry.settings("myapp"))
        #expect(updated.collaborators == ["bob"])
        #expect(registry.canAccess(user: "bob", app: updated))
        #expect(!registry.canAccess(user: "carol", app: updated))

        #expect(#expect(throws: DoorError.self) { try registry.addCollaborator("bob", to: "nope") }?.code == .notFound)
        #expect(
            #expect(throws: DoorError.self) { try registry.addCollaborator("Bob", to: "myapp") }?.code == .invalidName)
    }

    @Test func concurrentCollaboratorsAreAllKept() throws {
        try registry.create("myapp", owner: "alice")
        let registry = registry
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            try? registry.addCollaborator("user\(index)", to: "myapp")
        }
        #expect(Set(try #require(try registry.settings("myapp")).collaborators) == Set((0..<8).map { "user\($0)" }))
    }

    @Test func noAccessMessage() {
        #expect(
            AppRegistry.noAccess(user: "bob", app: "myapp")
                == DoorError(.noAccess, "slipway: bob has no access to myapp"))
    }

    @Test func createRefusesDuplicatesAndBadNames() throws {
        try registry.create("myapp", owner: "alice")
        #expect(throws: DoorError(.appExists, "slipway: app myapp already exists")) {
            try registry.create("myapp", owner: "bob")
        }
        #expect(try registry.settings("myapp")?.owner == "alice")
        #expect(#expect(throws: DoorError.self) { try registry.create("My_App", owner: "alice") }?.code == .invalidName)
        #expect(#expect(throws: DoorError.self) { try registry.create("other", owner: "Alice") }?.code == .invalidName)
        #expect(#expect(throws: DoorError.self) { try registry.settings("../etc") }?.code == .invalidName)
        #expect(!scratch.exists("root/apps/other"))
    }

    @Test func concurrentCreatesHaveExactlyOneWinner() throws {
        let registry = registry
        for round in 0..<10 {
            let app = "race\(round)"
            let winners = Failures()
            let losers = Failures()
            DispatchQueue.concurrentPerform(iterations: 4) { index in
                do {
                    _ = try registry.create(app, owner: "user\(index)")
                    winners.append("user\(index)")
                } catch let error as DoorError where error.code == .appExists {
                    losers.append("user\(index)")
                } catch {
                    losers.append("unexpected: \(error)")
                }
            }
            #expect(winners.all.count == 1)
            #expect(losers.all.count == 3)
            #expect(!losers.all.contains { $0.hasPrefix("unexpected") }, "\(losers.all)")
            #expect(try registry.settings(app)?.owner == winners.all.first)
        }
    }

    @Test func destroyRemovesEverything() throws {
        try registry.create("myapp", owner: "alice")
        try registry.create("keep", owner: "alice")
        try scratch.write("root/apps/myapp/repo.git/HEAD", "ref: refs/heads/main\n")
        try scratch.write("root/apps/myapp/slugs/abc.tgz", "slug")
        try registry.destroy("myapp")
        #expect(!scratch.exists("root/apps/myapp"))
        #expect(try registry.settings("myapp") == nil)
        #expect(try registry.list().map(\.name) == ["keep"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.tmpDirectory).isEmpty)
        // The name is free again.
        #expect(try registry.create("myapp", owner: "bob").owner == "bob")
        #expect(#expect(throws: DoorError.self) { try registry.destroy("nothere") }?.code == .notFound)
        #expect(#expect(throws: DoorError.self) { try registry.destroy("../keep") }?.code == .invalidName)
    }

    @Test func destroyWaitsForNoBuild() throws {
        try registry.create("myapp", owner: "alice")
        let fd = open(root.app("myapp").lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        #expect(FileLock.wait(fd))
        #expect(throws: DoorError.self) { try registry.destroy("myapp") }
        #expect(scratch.exists("root/apps/myapp/app.json"))
        // Released explicitly: a close alone keeps the lock while a process another test spawns at this moment
        // still holds a copy of the descriptor (until its exec).
        FileLock.release(fd)
        close(fd)
        try registry.destroy("myapp")
        #expect(!scratch.exists("root/apps/myapp"))
    }
}
