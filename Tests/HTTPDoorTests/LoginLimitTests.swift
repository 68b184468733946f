import Foundation
import SlipwayHTTPServer
import SlipwayReceive
import Testing

@testable import SlipwayDoorRecords

/// The HTTP door's own logic: the failed-login limiter and the client's address behind trusted proxies.
struct LoginLimitTests {
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
}
