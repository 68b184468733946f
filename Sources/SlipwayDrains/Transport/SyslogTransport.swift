import Foundation
import NIOCore
import NIOPosix
import NIOSSL
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
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(Self.timeout)
            .channelInitializer { channel in
                guard let tls else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    // An IP address is no server name (SNI); the certificate is then checked against the address.
                    let isAddress = (try? SocketAddress(ipAddress: hostname, port: 0)) != nil
                    let handler = try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : hostname)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        do {
            let channel = try bootstrap.connect(host: url.host, port: url.port).wait()
            self.channel = channel
            return channel
        } catch {
            throw DrainDeliveryError(description: "cannot connect to \(url.host):\(url.port)")
        }
    }
}
