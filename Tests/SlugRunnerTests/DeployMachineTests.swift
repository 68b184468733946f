import SlipwaySpool
import SlipwaySystem
import SlugRunner
import Testing

@Suite struct DeployMachineTests {
    typealias Candidate = ReleaseSelection.Candidate
    typealias Plan = DeployMachine.DynoPlan

    let start = ContinuousClock.now

    /// Version `version` of `myapp`, with these process types, as the watcher unpacked it.
    func release(_ version: Int, _ processTypes: [String: String] = ["web": "serve"]) -> UnpackedRelease {
        var manifest = ReleaseManifest(
            app: "myapp", stack: "slipway-1", sourceVersion: nil, buildpacks: [], processTypes: processTypes,
            configVars: [:], addons: [],
            slug: .init(path: "slug.tgz", size: 1, sha256: String(repeating: "0", count: 64)),
            createdAt: "2026-01-01T00:00:00Z", timings: [:])
        manifest.version = version
        let entry = "\(version).myapp.v\(version)"
        return UnpackedRelease(entry: entry, manifest: manifest, directory: "/releases/\(entry)")
    }

    func candidate(_ release: UnpackedRelease) -> Candidate {
        Candidate(entry: release.entry, version: release.version)
    }

    /// Claims and unpacks `release`, as the watcher does before any of it runs; what the machine answers.
    func receive(_ release: UnpackedRelease, _ machine: inout DeployMachine) -> [DeployMachine.Effect] {
        _ = machine.handle(.claimed([candidate(release)]), at: start)
        return machine.handle(.unpacked(release), at: start)
    }

    /// A machine that runs `current`, as after a restart.
    func running(_ current: UnpackedRelease, formation: Formation = .default) -> DeployMachine {
        var machine = DeployMachine(formation: formation, releaseTimeout: .seconds(3600), bootTimeout: .seconds(60))
        #expect(machine.handle(.restored(current), at: start) == [])
        return machine
    }

    @Test func aNewReleaseRunsItsReleasePhaseBootsAndTakesOverFromThePreviousOne() {
        let v1 = release(1)
        let v2 = release(2, ["web": "serve", "worker": "work", "release": "migrate"])
        var machine = running(v1, formation: Formation(["web": 2, "worker": 1]))

        #expect(machine.handle(.claimed([candidate(v2)]), at: start) == [.prepare(candidate(v2))])
        #expect(machine.isBusy)
        #expect(machine.entries.sorted() == [v1.entry, v2.entry], "both entries are the app's, not to be claimed")
        #expect(
            machine.handle(.unpacked(v2), at: start) == [.announce(v2), .runReleasePhase(v2, command: "migrate")])
        #expect(machine.handle(.tick, at: start + .seconds(3599)) == [], "the release phase may run an hour")
        #expect(
            machine.handle(.releasePhaseExited(.exited(0)), at: start + .seconds(10)) == [
                .releasePhaseSucceeded,
                .boot(
                    v2,
                    [
                        Plan(type: "web", index: 1, command: "serve"), Plan(type: "web", index: 2, command: "serve"),
                        Plan(type: "worker", index: 1, command: "work"),
                    ]),
            ], "the release command itself is never booted")
        #expect(machine.handle(.webUp(dyno: "web.1"), at: start + .seconds(11)) == [], "web.2 is not up yet")
        #expect(machine.current == v1)
        #expect(machine.handle(.webUp(dyno: "web.2"), at: start + .seconds(12)) == [.switchOver(to: v2, from: v1)])
        #expect(machine.current == v2)
        #expect(machine.state == .idle)
    }

    @Test func aFailingReleasePhaseKeepsThePreviousReleaseAndThePushIsNotBooted() {
        let v1 = release(1)
        let v2 = release(2, ["web": "serve", "release": "migrate"])
        var machine = running(v1)
        _ = receive(v2, &machine)

        #expect(
            machine.handle(.releasePhaseExited(.exited(3)), at: start) == [
                .fail(v2, .releaseCommandFailed(.exited(3)), keeping: v1)
            ])
        #expect(machine.current == v1)
        #expect(!machine.isBusy)
        #expect(machine.handle(.webUp(dyno: "web.1"), at: start) == [], "nothing of v2 takes over later")
    }

    @Test func aReleasePhaseFailsWhenItCannotStartOrRunsPastItsTimeout() {
        let v2 = release(2, ["web": "serve", "release": "migrate"])
        var machine = DeployMachine(formation: .default, releaseTimeout: .seconds(5), bootTimeout: .seconds(60))
        _ = receive(v2, &machine)
        #expect(machine.handle(.tick, at: start + .seconds(4)) == [])
        #expect(
            machine.handle(.tick, at: start + .seconds(5)) == [.fail(v2, .releaseCommandTimedOut, keeping: nil)])
        #expect(machine.current == nil)

        _ = receive(v2, &machine)
        #expect(
            machine.handle(.releasePhaseDidNotStart(reason: "no such file"), at: start) == [
                .fail(v2, .releaseCommandDidNotStart("no such file"), keeping: nil)
            ])
    }

    @Test func aWebProcessThatExitsBeforeListeningFailsTheDeployWhileOtherTypesJustRestart() {
        let v1 = release(1)
        let v2 = release(2, ["web": "serve", "worker": "work"])
        var machine = running(v1, formation: Formation(["web": 1, "worker": 1]))
        _ = machine.handle(.claimed([candidate(v2)]), at: start)
        #expect(
            machine.handle(.unpacked(v2), at: start) == [
                .announce(v2),
                .boot(
                    v2,
                    [Plan(type: "web", index: 1, command: "serve"), Plan(type: "worker", index: 1, command: "work")]),
            ], "no release command: straight to boot")

        #expect(machine.handle(.dynoExited(dyno: "worker.1", .exited(1)), at: start) == [.crashed(dyno: "worker.1")])
        #expect(machine.isBusy, "a crashing worker does not decide the deploy")
        #expect(
            machine.handle(.dynoExited(dyno: "web.1", .signaled(9)), at: start) == [
                .fail(v2, .webExited(dyno: "web.1", .signaled(9)), keeping: v1)
            ])
        #expect(machine.current == v1)
    }

    @Test func webProcessesThatNeverListenFailTheDeployAtTheBootTimeout() {
        let v1 = release(1)
        let v2 = release(2)
        var machine = running(v1, formation: Formation(["web": 2]))
        _ = receive(v2, &machine)
        _ = machine.handle(.webUp(dyno: "web.1"), at: start + .seconds(1))
        #expect(machine.handle(.tick, at: start + .seconds(59)) == [])
        #expect(
            machine.handle(.tick, at: start + .seconds(60)) == [
                .fail(v2, .webNotListening(["web.2"]), keeping: v1)
            ], "only the late one is named")
    }

    @Test func aReleaseWithoutWebFailsUnlessScaledToNoWebThenTakesOverAtOnce() {
        let v1 = release(1)
        let v2 = release(2, ["worker": "work"])
        var machine = running(v1)
        _ = machine.handle(.claimed([candidate(v2)]), at: start)
        #expect(machine.handle(.unpacked(v2), at: start) == [.announce(v2), .fail(v2, .noWebProcessType, keeping: v1)])

        machine.formation = Formation(["web": 0, "worker": 1])
        _ = machine.handle(.claimed([candidate(v2)]), at: start)
        #expect(
            machine.handle(.unpacked(v2), at: start) == [
                .announce(v2), .boot(v2, [Plan(type: "worker", index: 1, command: "work")]),
                .switchOver(to: v2, from: v1),
            ], "nothing to wait for")
        #expect(machine.current == v2)
    }

    @Test func aNewerReleaseArrivingMidDeployWaitsForItThenGoesIn() {
        let v1 = release(1)
        let v2 = release(2)
        let v3 = release(3)
        var machine = running(v1)
        _ = machine.handle(.claimed([candidate(v2)]), at: start)
        #expect(machine.handle(.claimed([candidate(v3)]), at: start) == [], "one deploy at a time")
        #expect(machine.handle(.unpacked(v3), at: start) == [], "a result for an entry not awaited is dropped")
        _ = machine.handle(.unpacked(v2), at: start)
        #expect(machine.handle(.claimed([candidate(v3)]), at: start) == [])
        #expect(machine.handle(.webUp(dyno: "web.1"), at: start) == [.switchOver(to: v2, from: v1)])
        #expect(machine.handle(.claimed([candidate(v3)]), at: start) == [.prepare(candidate(v3))])
    }

    @Test func afterARestartTheRestoredReleaseIsKeptAndOnlyNewerEntriesDeploy() {
        let v3 = release(3)
        var machine = running(v3)
        #expect(machine.entries == [v3.entry])
        let claimed = [candidate(release(2)), candidate(release(4)), candidate(release(3))]
        #expect(
            machine.handle(.claimed(claimed), at: start) == [
                .skip(candidate(release(2)), runningVersion: 3), .skip(candidate(release(3)), runningVersion: 3),
                .prepare(candidate(release(4))),
            ])
        #expect(machine.state == .preparing(entry: release(4).entry))
    }

    @Test func aRefusedEntryIsRejectedAndTheNextOneCanGoIn() {
        let v2 = release(2)
        var machine = DeployMachine(formation: .default, releaseTimeout: .seconds(3600), bootTimeout: .seconds(60))
        _ = machine.handle(.claimed([candidate(v2)]), at: start)
        #expect(
            machine.handle(.refused(entry: v2.entry, reason: "bad slug"), at: start) == [
                .reject(entry: v2.entry, reason: "bad slug")
            ])
        #expect(machine.state == .idle)
        #expect(machine.current == nil)
    }

    @Test func stoppingStopsWhatTheDeployStartedAndDeploysNothingMore() {
        let v1 = release(1)
        let v2 = release(2, ["web": "serve", "release": "migrate"])
        var machine = running(v1)
        _ = receive(v2, &machine)
        #expect(machine.handle(.shutdown, at: start) == [.stopDeployment])
        #expect(machine.handle(.releasePhaseExited(.exited(0)), at: start) == [])
        #expect(machine.handle(.claimed([candidate(release(3))]), at: start) == [])
        #expect(machine.current == v1)

        var preparing = running(v1)
        _ = preparing.handle(.claimed([candidate(v2)]), at: start)
        #expect(preparing.handle(.shutdown, at: start) == [], "nothing was started yet")
        #expect(preparing.handle(.unpacked(v2), at: start) == [], "the entry stays claimed for the next watcher")
    }
}
