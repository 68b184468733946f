import SlipwayDoorKit
import SlipwayReceive
import Testing

@testable import SlipwayDoorRecords

@Suite struct ListenTests {
    @Test(arguments: [
        ("127.0.0.1:2222", "127.0.0.1", 2222), ("0.0.0.0:22", "0.0.0.0", 22), (":2222", "0.0.0.0", 2222),
        ("[::1]:2200", "::1", 2200), ("localhost:0", "localhost", 0),
    ])
    func parses(_ text: String, _ host: String, _ port: Int) throws {
        let parsed = try ServerOptions.parseListen(text)
        #expect(parsed.host == host && parsed.port == port)
    }

    @Test(arguments: [
        "", "2222", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "::1:22", "[::1]22", "host:port",
    ])
    func refuses(_ text: String) {
        #expect(throws: DoorError.self) { try ServerOptions.parseListen(text) }
    }
}
