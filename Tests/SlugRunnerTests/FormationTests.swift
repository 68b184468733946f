import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

@testable import SlipwayRunnerKit

@Suite struct FormationTests {
    @Test func changesParseAndMergeOverTheCurrentFormation() throws {
        let changes = try Formation.parseChanges(["web=2", "worker=1", "clock_2-x=0"])
        #expect(changes == ["web": 2, "worker": 1, "clock_2-x": 0])
        let formation = Formation.default.applying(["worker": 3])
        #expect(formation.counts == ["web": 1, "worker": 3])
        #expect(formation.applying(["web": 0]).summary == "worker=3")
        #expect(Formation(["zeta": 1, "web": 2, "alpha": 1]).summary == "web=2 alpha=1 zeta=1")
        #expect(Formation([:]).summary == "none")
    }

    @Test(arguments: [
        ["web"], ["web="], ["=2"], ["web=-1"], ["web=101"], ["web=2x"], ["we b=1"], ["web.1=1"], ["web=١"],
        ["release=1"], ["web=1", "web=2"], [],
    ])
    func malformedChangesAreRefused(_ arguments: [String]) {
        let error = #expect(throws: RunnerError.self) { try Formation.parseChanges(arguments) }
        #expect(error?.code == .usage)
    }

    @Test func theSettingsFileRoundTripsDefaultsToOneWebAndRefusesBadValues() throws {
        let scratch = try ScratchDirectory("formation")
        let path = scratch.url("apps/myapp/dynos.json")
        #expect(try DynoSettings.load(from: path) == DynoSettings())
        #expect(DynoSettings().quantities == ["web": 1])
        let settings = DynoSettings().scaling("worker", to: 2).resizing("web", to: 1024).restarting(["web"])
        try scratch.write("apps/myapp/.keep", "")
        try settings.save(to: path)
        let loaded = try DynoSettings.load(from: path)
        #expect(loaded == settings)
        #expect(loaded.quantities == ["web": 1, "worker": 2])
        #expect(loaded.memoryMB(of: "web") == 1024 && loaded.memoryMB(of: "worker") == 512)
        #expect(loaded.restarts == ["web": 1])
        for bad in [
            #"{"web": 2}"#, #"{"version": 9, "formation": {}, "restarts": {}, "domains": []}"#,
            #"{"version": 1, "formation": {"web": {"quantity": 101}}, "restarts": {}, "domains": []}"#,
            #"{"version": 1, "formation": {"web": {"quantity": 1, "memoryMB": 1}}, "restarts": {}, "domains": []}"#,
            #"{"version": 1, "formation": {}, "restarts": {}, "domains": ["Bad Host"]}"#,
            #"{"version": 1, "formation": {}, "restarts": {}, "domains": [], "healthcheck": "up"}"#,
        ] {
            #expect(throws: SpoolError.self, "\(bad)") { try DynoSettings.decode(Data(bad.utf8), path: path) }
        }
    }

    @Test func scalingWritesTheFileTheWatcherReads() throws {
        let scratch = try ScratchDirectory("scale")
        let root = RunnerRoot(scratch.path)
        #expect(try Scaling.scale(root: root, app: "myapp", arguments: ["worker=2"]).counts == ["web": 1, "worker": 2])
        #expect(try Scaling.scale(root: root, app: "myapp", arguments: ["web=0"]).counts == ["web": 0, "worker": 2])
        // The file the door's ps:scale writes too.
        #expect(try DynoSettings.load(from: root.layout.dynoSettings("myapp")).summary == "worker=2")
        #expect(try Scaling.current(root: root, app: "myapp").summary == "worker=2")
        #expect(throws: RunnerError.self) { try Scaling.scale(root: root, app: "../etc", arguments: ["web=1"]) }
    }

    @Test func appNamesFollowHerokusRule() {
        for good in ["ab", "my-app", "a1", String(repeating: "a", count: 30)] { #expect(AppName.isValid(good)) }
        for bad in ["a", "1app", "My-app", "my.app", "my/app", "", String(repeating: "a", count: 31), "аpp"] {
            #expect(!AppName.isValid(bad), "\(bad)")
        }
    }
}
