import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSH
import SlipwayDoorKit
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One SSH session channel: an `exec` request runs `receive-pack shell --user <user>` with the request in
/// `SSH_ORIGINAL_COMMAND`, exactly as OpenSSH runs the forced command of the user's key, so both doors share one
/// code path (parsing, authorization, messages). Everything else a client may ask of a session (a shell, a
/// terminal, a subsystem, environment variables, X11 or agent forwarding) is refused.
///
/// The child's stdout and stdin are the channel's data, its stderr the channel's extended data; its exit status is
/// sent once all its output was written, then the channel is closed. If the client goes away first, the child gets
/// SIGTERM, which cancels the build the way a hang-up through OpenSSH does.
final class SessionHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let connection: ConnectionState
    private let user: String
    private let options: ServerOptions
    private let sessions: ActiveSessions
    private let logger: Logger

    private var context: ChannelHandlerContext?
    private var pid: pid_t?
    private var session: ActiveSessions.Token?
    private var command = ""
    private var started = ContinuousClock.now
    /// The child's stdout (read) and stdin (write) as one pipe channel; its stderr as another.
    private var stdio: Channel?
    private var stderr: Channel?
    private var openOutputs = 0
    private var exitStatus: Int32?
    private var lastWrite: EventLoopFuture<Void>?
    private var finished = false

    init(connection: ConnectionState, user: String, options: ServerOptions, sessions: ActiveSessions, logger: Logger) {
        self.connection = connection
        self.user = user
        self.options = options
        self.sessions = sessions
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as SSHChannelRequestEvent.ExecRequest:
            exec(request.command, wantReply: request.wantReply, context: context)
        case let request as SSHChannelRequestEvent.ShellRequest:
            // An interactive login: as with OpenSSH's forced command, `receive-pack shell` runs without a command
            // and answers with its refusal and exit status 1, so both doors say the same thing.
            exec(nil, wantReply: request.wantReply, context: context)
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            // sftp and the like: the subsystem's name is the command, which the door refuses.
            exec(request.subsystem, wantReply: request.wantReply, context: context)
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            if request.wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            // Nothing the client sends reaches the session's environment (GIT_*, LD_PRELOAD, …).
            if request.wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
        case ChannelEvent.inputClosed:
            // The client has sent all its input (git's pack): end the child's stdin.
            stdio?.close(mode: .output, promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        guard case .channel = message.type, case .byteBuffer(let buffer) = message.data, let stdio else { return }
        stdio.writeAndFlush(buffer, promise: nil)
        if !stdio.isWritable { readClient(false) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let readable = context.channel.isWritable
        for channel in [stdio, stderr].compactMap({ $0 }) {
            channel.setOption(ChannelOptions.autoRead, value: readable).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let pid, exitStatus == nil {
            // The client hung up mid-session: cancel it the way a dropped OpenSSH connection does.
            kill(pid, SIGTERM)
            logger.info(
                "session cancelled: the client went away",
                metadata: ["user": "\(user)", "remote": "\(connection.remote)", "request": "\(summary)"])
        }
        stdio?.close(promise: nil)
        stderr?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("session error: \(error)", metadata: ["user": "\(user)"])
        context.close(promise: nil)
    }

    // MARK: - Running the session

    /// Runs `receive-pack shell` for `command` (nil: an interactive login).
    private func exec(_ command: String?, wantReply: Bool, context: ChannelHandlerContext) {
        guard pid == nil, !finished else {
            if wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
            return
        }
        self.command = command ?? ""
        started = .now
        let pipes: [PipeEnds]
        do { pipes = try PipeEnds.several(3) } catch {
            return failToStart("cannot create pipes: \(String(cString: strerror(error.errno)))", wantReply, context)
        }
        let (input, output, errors) = (pipes[0].descriptors, pipes[1].descriptors, pipes[2].descriptors)
        let spawned: pid_t
        do {
            spawned = try ChildProcess.spawn(
                executable: options.receivePack,
                arguments: ["shell", "--root", options.root.path, "--user", user, "--server-environment"],
                environment: environment(for: command), stdin: input[0], stdout: output[1], stderr: errors[1])
        } catch {
            for fd in input + output + errors { close(fd) }
            return failToStart("cannot start \(options.receivePack): \(error)", wantReply, context)
        }
        close(input[0])
        close(output[1])
        close(errors[1])
        pid = spawned
        session = sessions.add(spawned, connection: context.channel.parent ?? context.channel)
        connection.update { $0.sessions += 1 }
        openOutputs = 2
        Listener.reapInBackground(spawned, eventLoop: context.eventLoop) { self.childExited($0) }

        // Until the pipes are NIO channels, hold the client's data back.
        readClient(false)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let stdioFuture = NIOPipeBootstrap(group: context.eventLoop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PipeReader(session: bound.value, type: .channel))
                }
            }
            .takingOwnershipOfDescriptors(input: output[0], output: input[1])
        let stderrFuture = NIOPipeBootstrap(group: context.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PipeReader(session: bound.value, type: .stdErr))
                }
            }
            .takingOwnershipOfDescriptor(input: errors[0])
        stdioFuture.and(stderrFuture).whenComplete { result in
            let session = bound.value
            switch result {
            case .success(let (stdio, stderr)):
                session.stdio = stdio
                session.stderr = stderr
                if wantReply { session.context?.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
                session.readClient(true)
            case .failure(let error):
                session.logger.error("cannot connect the session's pipes: \(error)")
                kill(spawned, SIGTERM)
                session.context?.close(promise: nil)
            }
        }
    }

    /// The session's environment: what the forced command needs, and nothing the client sent.
    private func environment(for command: String?) -> [String: String] {
        let own = ProcessInfo.processInfo.environment
        var env = options.passedEnvironment
        env["PATH"] = own["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        env["HOME"] = own["HOME"] ?? options.root.path
        env["LANG"] = "C.UTF-8"
        env["SSH_ORIGINAL_COMMAND"] = command
        return env
    }

    private func failToStart(_ why: String, _ wantReply: Bool, _ context: ChannelHandlerContext) {
        logger.error("session not started: \(why)", metadata: ["user": "\(user)"])
        if wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
        context.close(promise: nil)
    }

    fileprivate func output(_ buffer: ByteBuffer, type: SSHChannelData.DataType) {
        guard let context else { return }
        let write = context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: type, data: .byteBuffer(buffer))))
        lastWrite = write
        if !context.channel.isWritable {
            for channel in [stdio, stderr].compactMap({ $0 }) {
                channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        }
    }

    fileprivate func stdinWritabilityChanged(_ writable: Bool) {
        readClient(writable)
    }

    /// Takes the client's data (git's pack) while the child's stdin keeps up, and holds it back while it does not.
    /// An SSH channel, unlike NIO's sockets, does not read again by itself when `autoRead` is turned back on: without
    /// the `read()` here, the data held back stays buffered in the channel, no window is given back to the client,
    /// and a push larger than what fits in the pipe waits for ever.
    private func readClient(_ on: Bool) {
        guard let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
        if on { context.read() }
    }

    fileprivate func outputEnded() {
        openOutputs -= 1
        finishIfDone()
    }

    private func childExited(_ status: Int32) {
        if let session { sessions.exited(session) }
        exitStatus = status
        finishIfDone()
        // A descendant that kept the pipes open (it should not: the shell waits for its whole tree) gets two
        // seconds, then the session ends without the rest of its output.
        context?.eventLoop.scheduleTask(in: .seconds(2)) { [stdio, stderr] in
            stdio?.close(promise: nil)
            stderr?.close(promise: nil)
        }
    }

    private func finishIfDone() {
        guard let exitStatus, openOutputs <= 0, !finished, let context else { return }
        finished = true
        stdio?.close(promise: nil)
        let duration = ContinuousClock.now - started
        logger.info(
            "session ended",
            metadata: [
                "user": "\(user)", "remote": "\(connection.remote)", "request": "\(summary)",
                "status": "\(exitStatus)", "duration": "\(formatDuration(duration))",
            ])
        sendExitStatusAndClose(exitStatus, context: context)
    }

    /// Sends the exit status once every byte of output is written (channel requests are not flow-controlled and
    /// could overtake data still waiting for window), then closes the channel.
    private func sendExitStatusAndClose(_ status: Int32, context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
        written.whenComplete { _ in
            bound.value.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: Int(status)))
                .whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// What the session asked for, for the log: the service and app of a git request, else the command's first
    /// word (never the values of its arguments, which may be secrets).
    private var summary: String {
        if let request = try? SSHCommand.parse(command) { return "\(request.service.rawValue) \(request.app)" }
        let first = command.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        return first.isEmpty ? "(none)" : String(first.prefix(40))
    }
}

/// Reads one of the child's output pipes and hands the bytes to the session.
private final class PipeReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: SessionHandler
    private let type: SSHChannelData.DataType
    private var ended = false

    init(session: SessionHandler, type: SSHChannelData.DataType) {
        self.session = session
        self.type = type
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.output(unwrapInboundIn(data), type: type)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { end() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if type == .channel { session.stdinWritabilityChanged(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // EPIPE on the child's stdin when it stopped reading: the session ends when the child does.
        context.close(promise: nil)
    }

    private func end() {
        guard !ended else { return }
        ended = true
        session.outputEnded()
    }
}
