import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SlipwaySpool

/// Syslog over TCP or TLS: one connection, each message octet-counted (RFC 6587) and written in order. A connection
/// the receiver closed is noticed (NIO reads its end) and made again before the next write.
final class SyslogTransport: DrainTransport {
    let url: LogDrainURL
    let tls: NIOSSLContext?
    /// How long a connection or a write may take before the connection is dropped and the write tried again.
    static let timeout: TimeAmount = .seconds(15)
    private var channel: Channel?

    init(url: LogDrainURL, tls: NIOSSLContext?) {
        self.url = url
        self.tls = tls
    }

    deinit { close() }

    func deliver(_ messages: [String]) throws {
        let channel = try connected()
        var buffer = channel.allocator.buffer(capacity: messages.reduce(0) { $0 + $1.utf8.count + 8 })
        for message in messages { buffer.writeBytes(SyslogFormat.octetCounted(message)) }
        // A receiver that stops reading must not hold the drain's thread for ever: past the timeout, the connection
        // is closed, the write fails, and the lines are written again on a new one.
        let timer = channel.eventLoop.scheduleTask(in: Self.timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            try channel.writeAndFlush(buffer).wait()
        } catch {
            close()
            throw DrainDeliveryError(description: "the connection to \(url.host):\(url.port) was lost")
        }
    }

    func close() {
        channel?.close(promise: nil)
        channel = nil
    }

    private func connected() throws -> Channel {
        if let channel, channel.isActive { return channel }
        close()
        let tls = tls
        let hostname = url.host
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(Self.timeout)
            .channelInitializer { channel in
                guard let tls else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    // An IP address is no server name (SNI); the certificate is then checked against the address.
                    let isAddress = (try? SocketAddress(ipAddress: hostname, port: 0)) != nil
                    let handler = try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : hostname)
                    try channel.pipeline.syncOperations.addHandlers([handler, HandshakeWatch(handshake)])
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.connect(host: url.host, port: url.port).wait()
        } catch {
            handshake.fail(error)
            throw DrainDeliveryError(description: "cannot connect to \(url.host):\(url.port)")
        }
        guard tls != nil else {
            handshake.succeed(())
            self.channel = channel
            return channel
        }
        // The handshake, before any line: a server whose certificate is refused gets none, and that is said.
        let timer = channel.eventLoop.scheduleTask(in: Self.timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            try handshake.futureResult.wait()
        } catch {
            channel.close(promise: nil)
            throw DrainDeliveryError(
                description:
                    "the TLS handshake with \(url.host):\(url.port) failed: its certificate is not trusted (the "
                    + "operator's --drain-ca names a CA bundle) or not for that name")
        }
        self.channel = channel
        return channel
    }
}

/// Completes its promise when the TLS handshake is done, or fails it with the first error or the connection's end.
private final class HandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>
    private var done = false

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { finish(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func finish(_ error: Error?) {
        guard !done else { return }
        done = true
        if let error { promise.fail(error) } else { promise.succeed(()) }
    }
}
