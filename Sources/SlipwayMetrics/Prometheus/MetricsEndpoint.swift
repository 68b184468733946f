import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// `slugrunner watch --metrics <address:port>`: `GET /metrics` answers with the Prometheus text of the last
/// published ``MetricsSnapshot``; any other path gets 404, any other method 405. It runs on an event loop thread of
/// its own, so a slow scraper never holds the watcher's loop, which only swaps the snapshot in.
public final class MetricsEndpoint: Sendable {
    private let snapshot = NIOLockedValueBox(MetricsSnapshot())
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel = NIOLockedValueBox<Channel?>(nil)

    public init() {}

    /// Listens on `host:port` (port 0: a free one); returns the port it listens on.
    public func start(host: String, port: Int) throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(endpoint: self))
                }
            }
        let bound = try bootstrap.bind(host: host, port: port).wait()
        channel.withLockedValue { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    /// Replaces what `/metrics` serves.
    func publish(_ new: MetricsSnapshot) {
        snapshot.withLockedValue { $0 = new }
    }

    /// The page as it is now.
    func page() -> String {
        PrometheusText.render(snapshot.withLockedValue { $0 })
    }

    /// Stops listening and the thread.
    public func stop() {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? bound?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Answers each request of one connection.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let endpoint: MetricsEndpoint
    private var head: HTTPRequestHead?

    init(endpoint: MetricsEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            let (status, body, type): (HTTPResponseStatus, String, String) =
                if request.method != .GET && request.method != .HEAD {
                    (.methodNotAllowed, "GET /metrics\n", "text/plain; charset=utf-8")
                } else if path == "/metrics" {
                    (.ok, endpoint.page(), PrometheusText.contentType)
                } else {
                    (.notFound, "Not found: the figures are at /metrics\n", "text/plain; charset=utf-8")
                }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            let response = HTTPResponseHead(version: request.version, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            if request.method != .HEAD {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            }
            let keepAlive = request.isKeepAlive
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { bound.value.close(promise: nil) }
            }
        }
    }
}
