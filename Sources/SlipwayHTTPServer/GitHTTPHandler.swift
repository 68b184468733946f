import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SlipwayDoorKit
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP connection of the door, one request at a time (each response ends the connection, as git expects of
/// a server that says `Connection: close`).
///
/// A git request is authenticated here, then served by `receive-pack http-backend` as a CGI program: the request body
/// streams into its stdin as it arrives, and its stdout (CGI headers, then git's protocol with the build's
/// `remote:` lines in it) streams back as the response, with back-pressure both ways, so no pack is held in memory.
/// If the client hangs up first, the process gets SIGTERM, which cancels git and the build as over SSH.
final class GitHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let door: HTTPDoor
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The client's address: the connection's (``peer``), or what a trusted proxy says it is.
    private var remote = "unknown"
    /// The address of the connection's other end (a proxy's, behind one).
    private var peer = "unknown"
    private var summary = ""
    private var user = ""
    private var started = ContinuousClock.now

    private var pid: pid_t?
    private var session: ActiveSessions.Token?
    private var stdio: Channel?
    private var pendingInput: [ByteBuffer] = []
    private var inputEnded = false
    private var ignoringRequest = false
    /// The child's output until its CGI header block is complete.
    private var header = ByteBuffer()
    private var responseStarted = false
    private var responseStatus = 0
    private var exitStatus: Int32?
    private var outputEnded = false
    private var finished = false
    /// The connection is gone (or failed): nothing more is written to it.
    private var closed = false
    /// Whether the response ends only with the process (git), or when its output ends (a webhook builds after).
    private var endsWithProcess = true
    /// Whether the request's head has arrived.
    private var requestArrived = false

    init(door: HTTPDoor, logger: Logger) {
        self.door = door
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress?.ipAddress { (remote, peer) = (address, address) }
        // A client that sends no request within the grace time is closed (slow or idle connections).
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        context.eventLoop.scheduleTask(
            in: .nanoseconds(Int64(door.options.loginGraceTime.components.seconds * 1_000_000_000))
        ) {
            if !bound.value.requestArrived { channel.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestArrived = true
            guard pid == nil, !ignoringRequest else { return }
            handle(head, context: context)
        case .body(let buffer):
            guard !ignoringRequest else { return }
            if let stdio { write(buffer, to: stdio, context: context) } else { pendingInput.append(buffer) }
        case .end:
            guard !ignoringRequest else { return }
            inputEnded = true
            stdio?.close(mode: .output, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let pid, exitStatus == nil, !finished {
            // The client hung up mid-request: cancel it as a dropped SSH connection does.
            kill(pid, SIGTERM)
            logger.info(
                "request cancelled: the client went away",
                metadata: ["user": "\(user)", "remote": "\(remote)", "request": "\(summary)"])
        }
        closed = true
        stdio?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("http connection error: \(error)", metadata: ["remote": "\(remote)"])
        closed = true
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stdio?.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Routing and authentication

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        started = .now
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts.first ?? "")
        let query = parts.count > 1 ? String(parts[1]) : ""
        summary = "\(head.method.rawValue) \(TerminalText.printable(path, limit: 80))"
        // The client's address: the connection's, or the one a trusted proxy forwards (--trusted-proxy).
        let clients = door.proxies.clients(
            peer: peer, forwarded: head.headers["Forwarded"], forwardedFor: head.headers["X-Forwarded-For"])
        remote = clients[0]
        if path.hasPrefix("/hooks/") { return webhook(head, path: path, query: query, context: context) }
        guard let authorization = head.headers["Authorization"].first else {
            return refuse(
                .unauthorized,
                "slipway: log in with any user name and an API token as the password (ssh <host> tokens:create makes one)",
                context: context)
        }
        // A correct token is always let in; only wrong ones are counted, per address and per credential, so nobody's
        // failures (from the same proxy, NAT or machine) lock out anyone else's valid token.
        let login = door.authenticate(authorization)
        guard case .valid(let user, let tokenID) = login else {
            let secret = if case .wrong(let secret) = login { secret } else { "" }
            let blocked = door.limiter.withLockedValue { $0.failed(secret, from: clients) }
            logger.notice(
                "http login refused: wrong or revoked token",
                metadata: ["remote": "\(remote)", "peer": "\(peer)", "limited": "\(blocked)"])
            if blocked {
                return refuse(
                    .tooManyRequests,
                    "slipway: too many failed logins from \(remote) or with this token; wait a minute and check the token",
                    context: context)
            }
            return refuse(
                .unauthorized, "slipway: wrong or revoked token: make a new one with ssh <host> tokens:create",
                context: context)
        }
        self.user = user
        var env = baseEnvironment()
        env["REQUEST_METHOD"] = head.method.rawValue
        env["PATH_INFO"] = path
        env["QUERY_STRING"] = query
        env["REMOTE_ADDR"] = remote
        env["SLIPWAY_TOKEN_ID"] = tokenID
        for (header, variable) in [
            ("Content-Type", "CONTENT_TYPE"), ("Content-Length", "CONTENT_LENGTH"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "HTTP_GIT_PROTOCOL"),
        ] {
            if let value = head.headers[header].first, value.utf8.count < 256, !value.contains("\0") {
                env[variable] = value
            }
        }
        start(
            arguments: ["http-backend", "--root", door.options.root.path, "--user", user], environment: env,
            context: context)
    }

    /// `POST /hooks/<forge>?app=<app>`: no login, the delivery's signature is checked by `receive-pack webhook`,
    /// which answers at once and builds after the response has ended.
    private func webhook(_ head: HTTPRequestHead, path: String, query: String, context: ChannelHandlerContext) {
        let forge = String(path.dropFirst("/hooks/".count))
        guard head.method == .POST, ["github", "gitlab", "gitea"].contains(forge) else {
            return refuse(
                .notFound, "slipway: webhooks are POST /hooks/github, /hooks/gitlab or /hooks/gitea", context: context)
        }
        user = "webhook"
        endsWithProcess = false
        var env = baseEnvironment()
        env["QUERY_STRING"] = query
        env["REMOTE_ADDR"] = remote
        for name in [
            "X-Hub-Signature-256", "X-GitHub-Event", "X-GitHub-Delivery", "X-Gitlab-Token", "X-Gitlab-Event",
            "X-Gitlab-Event-UUID", "Idempotency-Key", "X-Gitea-Signature", "X-Gitea-Event", "X-Gitea-Delivery",
        ] {
            if let value = head.headers[name].first, value.utf8.count < 512, !value.contains("\0") {
                env["HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value
            }
        }
        start(arguments: ["webhook", "--root", door.options.root.path, forge], environment: env, context: context)
        // A forge sends its delivery at once: a body that has not arrived within the grace time is a client holding a
        // connection slot (webhooks need no login), so it is cut off, as a silent client before its request is.
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        context.eventLoop.scheduleTask(
            in: .nanoseconds(Int64(door.options.loginGraceTime.components.seconds * 1_000_000_000))
        ) {
            let handler = bound.value
            guard !handler.inputEnded, !handler.closed else { return }
            handler.logger.notice(
                "webhook delivery cut off: its body did not arrive within --login-grace-time",
                metadata: ["remote": "\(handler.remote)", "request": "\(handler.summary)"])
            channel.close(promise: nil)
        }
    }

    /// What every child gets: the server's settings, PATH, HOME and LANG; nothing of the client's.
    private func baseEnvironment() -> [String: String] {
        var env = door.options.passedEnvironment
        let own = ProcessInfo.processInfo.environment
        env["PATH"] = own["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        env["HOME"] = own["HOME"] ?? door.options.root.path
        env["LANG"] = "C.UTF-8"
        return env
    }

    /// Answers with `status` and one line of text, which git shows the user as a `remote:` line, and closes.
    private func refuse(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        ignoringRequest = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Connection", value: "close")
        if status == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Basic realm=\"Slipway\"") }
        let body = context.channel.allocator.buffer(string: message + "\n")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        logger.info(
            "http request refused",
            metadata: ["remote": "\(remote)", "request": "\(summary)", "status": "\(status.code)"])
    }

    // MARK: - The CGI process

    private func start(arguments: [String], environment: [String: String], context: ChannelHandlerContext) {
        let pipes: [PipeEnds]
        do { pipes = try PipeEnds.several(2) } catch {
            return refuse(.internalServerError, "slipway: the server cannot create pipes", context: context)
        }
        let (input, output) = (pipes[0].descriptors, pipes[1].descriptors)
        let spawned: pid_t
        do {
            spawned = try ChildProcess.spawn(
                executable: door.options.receivePack,
                arguments: arguments, environment: environment, stdin: input[0], stdout: output[1], stderr: 2)
        } catch {
            for fd in input + output { close(fd) }
            logger.error("cannot start \(door.options.receivePack): \(error)")
            return refuse(.internalServerError, "slipway: the server cannot start the request", context: context)
        }
        close(input[0])
        close(output[1])
        pid = spawned
        session = door.sessions.add(spawned, connection: context.channel)
        Listener.reapInBackground(spawned, eventLoop: context.eventLoop) { self.childExited($0) }

        // Until the pipes are a NIO channel, hold the client's data back.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        NIOPipeBootstrap(group: context.eventLoop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CGIOutputReader(handler: bound.value))
                }
            }
            .takingOwnershipOfDescriptors(input: output[0], output: input[1])
            .whenComplete { result in
                let handler = bound.value
                switch result {
                case .success(let stdio):
                    handler.stdio = stdio
                    guard let context = handler.context else { return }
                    for buffer in handler.pendingInput { handler.write(buffer, to: stdio, context: context) }
                    handler.pendingInput = []
                    if handler.inputEnded { stdio.close(mode: .output, promise: nil) }
                    context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                case .failure(let error):
                    handler.logger.error("cannot connect the request's pipes: \(error)")
                    kill(spawned, SIGTERM)
                    handler.context?.close(promise: nil)
                }
            }
    }

    private func write(_ buffer: ByteBuffer, to stdio: Channel, context: ChannelHandlerContext) {
        stdio.writeAndFlush(buffer, promise: nil)
        if !stdio.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    func stdinWritabilityChanged(_ writable: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
    }

    /// Bytes of the child's stdout: the CGI header block first, then the response body, passed on as it comes.
    func output(_ buffer: ByteBuffer) {
        guard let context, !finished, !closed else { return }
        if responseStarted {
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        } else {
            var buffer = buffer
            header.writeBuffer(&buffer)
            let bytes = header.readableBytesView
            guard let end = CGIOutputReader.headerEnd(bytes) else {
                if header.readableBytes > 64 * 1024 { fail(context) }
                return
            }
            let text = String(decoding: bytes[bytes.startIndex..<end.start], as: UTF8.self)
            var rest = header.getSlice(at: end.body, length: bytes.endIndex - end.body) ?? ByteBuffer()
            startResponse(cgiHeader: text, context: context)
            if rest.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(rest))), promise: nil)
                rest.clear()
            }
        }
        if !context.channel.isWritable { stdio?.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    private func startResponse(cgiHeader: String, context: ChannelHandlerContext) {
        responseStarted = true
        var status = HTTPResponseStatus.ok
        var headers = HTTPHeaders()
        // "\r\n" is one Character to Swift: split the scalars.
        for line in cgiHeader.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespacesAndNewlines)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if name.lowercased() == "status" {
                status = HTTPResponseStatus(statusCode: Int(value.prefix(3)) ?? 500)
            } else if !["connection", "transfer-encoding"].contains(name.lowercased()) {
                headers.add(name: name, value: value)
            }
        }
        headers.replaceOrAdd(name: "Connection", value: "close")
        responseStatus = Int(status.code)
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    }

    /// The child wrote no usable CGI header: 502, and the child is stopped.
    private func fail(_ context: ChannelHandlerContext) {
        if let pid, exitStatus == nil { kill(pid, SIGTERM) }
        finished = true
        responseStatus = 502
        refuse(.badGateway, "slipway: the request failed on the server", context: context)
    }

    func outputClosed() {
        outputEnded = true
        finishIfDone()
    }

    private func childExited(_ status: Int32) {
        if let session { door.sessions.exited(session) }
        exitStatus = status
        finishIfDone()
        // A descendant that kept the pipe open gets two seconds, then the response ends without the rest.
        context?.eventLoop.scheduleTask(in: .seconds(2)) { [stdio] in stdio?.close(promise: nil) }
    }

    private func finishIfDone() {
        // git's answer ends when its process does (whose status says whether it was complete); a webhook's ends
        // first, and its build goes on.
        guard outputEnded, exitStatus != nil || (!endsWithProcess && responseStarted), !finished, let context else {
            return
        }
        finished = true
        stdio?.close(promise: nil)
        logger.info(
            "http request served",
            metadata: [
                "user": "\(user)", "remote": "\(remote)", "request": "\(summary)", "http": "\(responseStatus)",
                "status": "\(exitStatus.map(String.init) ?? "running")", "duration": "\(ContinuousClock.now - started)",
            ])
        guard !closed else { return }
        guard responseStarted else {
            finished = false
            return fail(context)
        }
        let channel = context.channel
        if let exitStatus, exitStatus >= 128 {
            // Cancelled (shutdown) or killed: git's answer is cut short, so the client must see a broken transfer,
            // not a clean end it would wait on for the rest of the protocol.
            channel.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
