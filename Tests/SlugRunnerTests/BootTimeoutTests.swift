import Foundation
import Testing

@testable import SlugRunner

/// Heroku's R10 (Boot timeout) as the engines say it: what did not come up, on which `PORT`, and what to do.
@Suite struct BootTimeoutTests {
    @Test func aSwarmWebTaskBoundToLoopbackIsToldToListenOnEveryAddress() {
        let message = BootTimeout.swarm(
            ["web.1"], port: 5000, timeout: .seconds(60), healthcheck: nil,
            bound: ["web.1": "127.0.0.1:5000"])
        #expect(
            message
                == "Error R10 (Boot timeout) -> web.1 failed to bind to $PORT (5000) within 60s of launch: listen on "
                + "0.0.0.0:$PORT, not 127.0.0.1 (its output says: web.1 listens on 127.0.0.1:5000)")
        #expect(!message.contains("port 0"))
    }

    @Test func withoutWhatItBoundTheSwarmMessageStillSaysTheFix() {
        let message = BootTimeout.swarm(
            ["web.1", "web.2"], port: 5000, timeout: .seconds(90), healthcheck: "/up", bound: [:])
        #expect(
            message
                == "Error R10 (Boot timeout) -> web.1, web.2 did not pass the health check GET /up (2xx or 3xx) "
                + "within 90s of launch: listen on 0.0.0.0:$PORT, not 127.0.0.1")
    }

    @Test func theLocalMessageNamesEachDynosPortAndWhereItWasChecked() {
        #expect(
            BootTimeout.local([("web.1", 41583)], address: "127.0.0.1", timeout: .seconds(2), healthcheck: nil)
                == "web.1 (PORT=41583) did not accept connections on 127.0.0.1 within 2s of launch (Error R10, Boot "
                + "timeout: the web process must bind to $PORT)")
        #expect(
            BootTimeout.local(
                [("web.1", 41583), ("web.2", 41590)], address: "127.0.0.1", timeout: .seconds(60), healthcheck: "/up")
                == "web.1 (PORT=41583), web.2 (PORT=41590) did not pass the health check GET /up (2xx or 3xx) on "
                + "127.0.0.1 within 60s of launch (Error R10, Boot timeout)")
    }

    @Test func aDynoWithANetworkOfItsOwnIsToldToBindEveryAddress() {
        #expect(
            BootTimeout.local([("web.1", 5000)], address: nil, timeout: .seconds(60), healthcheck: nil)
                == "web.1 (PORT=5000) did not accept connections on its own address within 60s of launch (Error R10, "
                + "Boot timeout: the web process must bind to 0.0.0.0:$PORT, not 127.0.0.1)")
    }

    @Test(arguments: [
        ("Serving HTTP on 127.0.0.1 port 5000 (http://127.0.0.1:5000/) ...", "127.0.0.1:5000"),
        (" * Running on http://127.0.0.1:5000", "127.0.0.1:5000"),
        ("Listening on http://localhost:3000", "localhost:3000"),
        ("[INFO] Listening at: http://0.0.0.0:5000 (7)", "0.0.0.0:5000"),
        ("Puma starting in single mode... * Listening on tcp://[::1]:5000", "[::1]:5000"),
    ])
    func whatAnAppSaysItListensOnIsRead(line: String, address: String) {
        #expect(BootTimeout.boundAddress(in: line) == address)
    }

    @Test func aLineThatOnlyMentionsAnAddressIsNotTakenForABind() {
        #expect(BootTimeout.boundAddress(in: "connecting to the database at 127.0.0.1:5432") == nil)
        #expect(BootTimeout.boundAddress(in: "Listening for jobs") == nil)
    }
}
