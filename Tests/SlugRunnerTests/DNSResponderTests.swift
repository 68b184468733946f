import Testing

@testable import SlipwayRouting
@testable import SlugRunner

/// The router's DNS answers what Caddy asks (SRV, then A for each target) and nothing else.
@Suite struct DNSResponderTests {
    let zone = RouteZone(
        RouteTable(apps: [
            .init(
                name: "shop", hosts: ["shop.localhost"],
                upstreams: [.init(dyno: "web.1", port: 5001), .init(dyno: "web.2", port: 5002)])
        ]))

    /// A query as Go's resolver sends it: id, recursion desired, one question, an EDNS0 OPT record.
    func query(_ name: String, type: UInt16, id: UInt16 = 0xBEEF) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        bytes += DNSResponder.encodeName(name) + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        bytes += [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]
        return bytes
    }

    func code(_ answer: [UInt8]) -> UInt8 { answer[3] & 0x0F }
    func answers(_ answer: [UInt8]) -> Int { Int(answer[6]) << 8 | Int(answer[7]) }

    @Test func srvListsTheWebDynosAndATheirAddress() throws {
        let srv = try #require(DNSResponder.answer(query("_web._tcp.SHOP.slipway.internal.", type: 33), zone: zone))
        #expect(srv[0] == 0xBE && srv[1] == 0xEF, "the query's id")
        #expect(srv[2] & 0x80 != 0 && srv[2] & 0x04 != 0, "an authoritative response")
        #expect(code(srv) == 0 && answers(srv) == 2)
        let question = try #require(DNSResponder.parseQuestion(srv, at: 12))
        #expect(question.name == "_web._tcp.shop.slipway.internal" && question.type == 33)
        // The first answer: a pointer to the question's name, SRV, IN, TTL 0, then priority, weight, port, target.
        let first = Array(srv[question.end...])
        #expect(Array(first[0..<4]) == [0xC0, 0x0C, 0, 33])
        #expect(Array(first[16..<18]) == [0x13, 0x89], "port 5001")
        let target = try #require(DNSResponder.parseQuestion(Array(first[18...]) + [0, 1, 0, 1], at: 0))
        #expect(target.name == "1.h7f000001-5001.web.shop.slipway.internal")

        let a = try #require(DNSResponder.answer(query(target.name + ".", type: 1), zone: zone))
        #expect(code(a) == 0 && answers(a) == 1)
        #expect(Array(a.suffix(4)) == [127, 0, 0, 1])
        let aaaa = try #require(DNSResponder.answer(query(target.name, type: 28), zone: zone))
        #expect(code(aaaa) == 0 && answers(aaaa) == 0, "the name exists, without an IPv6 address")
    }

    @Test func anythingElseIsNoSuchNameOrRefused() throws {
        let missing = try #require(DNSResponder.answer(query("_web._tcp.other.slipway.internal", type: 33), zone: zone))
        #expect(code(missing) == 3 && answers(missing) == 0)
        let outside = try #require(DNSResponder.answer(query("example.com", type: 1), zone: zone))
        #expect(code(outside) == 3)
        var truncated = query("_web._tcp.shop.slipway.internal", type: 33)
        truncated.removeLast(20)
        #expect(DNSResponder.answer(truncated, zone: zone).map(code) == 1)
        var response = query("x", type: 1)
        response[2] |= 0x80
        #expect(DNSResponder.answer(response, zone: zone) == nil, "a response is never answered")
        #expect(DNSResponder.answer([1, 2, 3], zone: zone) == nil)
    }
}
