import SlugRunner
import Testing

@Suite struct ReleaseSelectionTests {
    typealias Candidate = ReleaseSelection.Candidate

    @Test func theHighestNewerVersionIsDeployedAndOlderOnesAreSkipped() {
        let candidates = [
            Candidate(entry: "1.myapp.v2", version: 2), Candidate(entry: "2.myapp.v5", version: 5),
            Candidate(entry: "3.myapp.v4", version: 4), Candidate(entry: "4.myapp.v3", version: 3),
        ]
        let selection = ReleaseSelection(candidates: candidates, currentVersion: 3)
        #expect(selection.deploy == Candidate(entry: "2.myapp.v5", version: 5))
        #expect(selection.skip.map(\.version) == [2, 3], "a runner never goes backwards")
    }

    @Test func withNothingRunningEverythingIsNewer() {
        let selection = ReleaseSelection(candidates: [Candidate(entry: "1.myapp.v1", version: 1)], currentVersion: 0)
        #expect(selection.deploy?.version == 1)
        #expect(selection.skip.isEmpty)
    }

    @Test func aRequeuedVersionGoesToTheLaterEntryAndNothingNewerMeansNothingToDeploy() {
        let twins = [Candidate(entry: "1.myapp.v7", version: 7), Candidate(entry: "2.myapp.v7", version: 7)]
        #expect(ReleaseSelection(candidates: twins, currentVersion: 6).deploy?.entry == "2.myapp.v7")
        let none = ReleaseSelection(candidates: twins, currentVersion: 7)
        #expect(none.deploy == nil)
        #expect(none.skip.count == 2)
    }
}
