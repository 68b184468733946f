import SlipwaySpool
import Testing

@Suite struct DynoNameTests {
    @Test func aNameIsAProcessTypeADotAndANumberFromOne() throws {
        let web = try #require(DynoName("web.1"))
        #expect(web.type == "web" && web.number == 1 && !web.isOneOff)
        #expect(DynoName("worker_2-x.12") == DynoName(type: "worker_2-x", number: 12))
        #expect(DynoName("run.3")?.isOneOff == true)
        #expect(DynoName("release.1")?.type == ProcessType.release)
        #expect(DynoName.oneOff(7).description == "run.7")
        #expect(DynoName(type: "web", number: 2).description == "web.2")
    }

    @Test(arguments: [
        "", "web", "web.", ".1", "web.0", "web.01", "web.+1", "web.-1", "web.1.2", "web.1 ", "we b.1", "web.x",
        "run.99999999999999999999", String(repeating: "a", count: 64) + ".1",
    ])
    func otherTextIsNoName(_ text: String) {
        #expect(DynoName(text) == nil)
    }

    @Test func oneOffNamesAtTheDoorAndTheRunnerAreRunAndANumber() {
        #expect(OneOffRequest.isOneOffName("run.1") && OneOffRequest.isOneOffName("run.12"))
        #expect(!OneOffRequest.isOneOffName("web.1") && !OneOffRequest.isOneOffName("run.01"))
        #expect(!OneOffRequest.isOneOffName("run.0") && !OneOffRequest.isOneOffName("run"))
    }
}
