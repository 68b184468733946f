import NIOCore

/// Reads the CGI process's stdout and hands it to the request's handler.
final class CGIOutputReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let handler: GitHTTPHandler
    private var ended = false

    init(handler: GitHTTPHandler) { self.handler = handler }

    /// Where the CGI header block ends (`\r\n\r\n` or `\n\n`): the index of its terminator and of the body.
    static func headerEnd(_ bytes: ByteBufferView) -> (start: Int, body: Int)? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x0A {
                let next = index + 1
                if next < bytes.endIndex && bytes[next] == 0x0A { return (index, next + 1) }
                if next + 1 < bytes.endIndex && bytes[next] == 0x0D && bytes[next + 1] == 0x0A {
                    return (index, next + 2)
                }
            }
            index += 1
        }
        return nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handler.output(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { end() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        handler.stdinWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // EPIPE on the child's stdin when it stopped reading: the request ends when the child does.
        context.close(mode: .output, promise: nil)
    }

    private func end() {
        guard !ended else { return }
        ended = true
        handler.outputClosed()
    }
}
