import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The DNS server Caddy asks where an app's web dynos are (``RouteZone``): UDP on a free loopback port, on one
/// event-loop thread of its own, answering from the zone the watcher last set. Nothing but the router's Caddy is
/// told its address.
public final class RouterDNS {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let zone = NIOLockedValueBox(RouteZone())
    private var channel: Channel?

    /// `udp/127.0.0.1:<port>`, as Caddy's resolver settings take it.
    public private(set) var address = ""

    /// Starts answering on a free loopback port.
    public init() throws {
        let zone = self.zone
        let bound: Channel
        do {
            bound = try DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Responder(zone: zone))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw RoutingError("the router's DNS cannot listen on 127.0.0.1: \(error)")
        }
        channel = bound
        address = "udp/127.0.0.1:\(bound.localAddress?.port ?? 0)"
    }

    deinit { stop() }

    /// What Caddy finds from now on.
    public func update(_ new: RouteZone) {
        zone.withLockedValue { $0 = new }
    }

    public func stop() {
        guard let channel else { return }
        self.channel = nil
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class Responder: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let zone: NIOLockedValueBox<RouteZone>

    init(zone: NIOLockedValueBox<RouteZone>) { self.zone = zone }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let query = Array(envelope.data.readableBytesView)
        guard let answer = DNSResponder.answer(query, zone: zone.withLockedValue { $0 }) else { return }
        let buffer = context.channel.allocator.buffer(bytes: answer)
        context.writeAndFlush(
            wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram that could not be sent (the asker went away): nothing to do; the next query is answered.
    }
}

/// Why the routing side could not do its part (its DNS server could not listen).
public struct RoutingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
