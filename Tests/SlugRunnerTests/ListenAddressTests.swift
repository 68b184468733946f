import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ListenAddressTests {
    @Test func onlyIPv4AddressesAreAccepted() {
        #expect(ListenAddress(ipv4: "127.0.0.1") == .loopback)
        #expect(ListenAddress(ipv4: "10.1.2.3")?.host == "10.1.2.3")
        for bad in ["localhost", "::1", "127.0.0.1:80", "", "256.0.0.1"] { #expect(ListenAddress(ipv4: bad) == nil) }
    }

    @Test func aFreePortIsFreeUntilSomeoneListensThere() throws {
        let address = ListenAddress.loopback
        let port = try address.freePort()
        #expect(address.isFree(port))
        #expect(!address.acceptsConnections(on: port))

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        socketAddress.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0 && listen(fd, 1) == 0)
        #expect(!address.isFree(port))
        #expect(address.acceptsConnections(on: port))
    }
}
