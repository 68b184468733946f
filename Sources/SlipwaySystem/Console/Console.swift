import Foundation

/// Where build output goes, line by line, in Heroku's format.
///
/// `-----> ` starts a step, seven spaces indent a detail, ` !     ` marks an error; a buildpack's own lines pass
/// through unchanged. Every call writes at once with `write(2)` (no stdio buffering), so a line reaches the user when
/// it is printed, even when the output is a pipe. `slugc` writes to stdout; the push hook writes to stderr, because
/// there stdout belongs to git's protocol.
public final class Console: @unchecked Sendable {
    /// Where the bytes go.
    public enum Destination: Sendable {
        /// A file descriptor (1 for stdout, 2 for stderr).
        case fileDescriptor(Int32)
        /// A file descriptor that must never block the build: it is switched to non-blocking mode, a line waits at
        /// most a short while for room, and is dropped after that. The push hook writes to git's sideband pipe this
        /// way: once the pusher is gone, git stops draining that pipe, and a blocking write would hang the build
        /// (and hold the app's lock) forever. Observers (the build log) still get every line.
        case nonBlockingFileDescriptor(Int32)
        /// An in-memory buffer, for tests (read it with ``captured``).
        case buffer
    }

    private let destination: Destination
    private let colors: Bool
    private let lock = NSLock()
    private var buffer = Data()
    /// Called with every line written, after it was written (the build log on disk listens here).
    private var observers: [(String) -> Void] = []

    /// Creates a console. `colors` defaults to on when the destination is a terminal and `NO_COLOR` is unset.
    public init(_ destination: Destination, colors: Bool? = nil) {
        self.destination = destination
        if let colors {
            self.colors = colors
        } else if case .fileDescriptor(let fd) = destination {
            self.colors = isatty(fd) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        } else {
            self.colors = false
        }
        if case .nonBlockingFileDescriptor(let fd) = destination {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }

    /// Whether lines were dropped because the destination stopped taking them (the pusher hung up).
    public private(set) var droppedLines = 0

    /// Everything written so far, when the destination is ``Destination/buffer``.
    public var captured: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

    /// Registers `observer` to receive every line (without colour codes) after it is written.
    public func observe(_ observer: @escaping (String) -> Void) {
        lock.withLock { observers.append(observer) }
    }

    /// `-----> text`: the start of a step.
    public func step(_ text: String) {
        emit("-----> " + text, styled: colors ? "\u{1B}[1m-----> \(text)\u{1B}[0m" : nil)
    }

    /// Seven spaces then `text`: a detail of the current step.
    public func detail(_ text: String) { emit("       " + text) }

    /// ` !     text`: an error or warning line.
    public func error(_ text: String) {
        emit(" !     " + text, styled: colors ? "\u{1B}[31m !     \(text)\u{1B}[0m" : nil)
    }

    /// A line exactly as a buildpack printed it.
    public func raw(_ line: String) { emit(line) }

    /// A blank line.
    public func blank() { emit("") }

    /// Replaces every occurrence of `path` in later lines with `replacement`: the push hook hides the server's root
    /// from pushers (an error naming a file under it says `<server>/…` instead).
    public func redact(_ path: String, as replacement: String = "<server>") {
        guard !path.isEmpty else { return }
        lock.withLock { redactions.append((path, replacement)) }
    }

    private var redactions: [(String, String)] = []

    private func emit(_ rawPlain: String, styled rawStyled: String? = nil) {
        var plain = rawPlain
        var styled = rawStyled
        for (path, replacement) in lock.withLock({ redactions }) where plain.contains(path) {
            plain = plain.replacingOccurrences(of: path, with: replacement)
            styled = styled?.replacingOccurrences(of: path, with: replacement)
        }
        let text = (styled ?? plain) + "\n"
        lock.lock()
        let listeners = observers
        switch destination {
        case .buffer:
            buffer.append(contentsOf: Array(text.utf8))
        case .fileDescriptor(let fd):
            writeAll(fd, Array(text.utf8))
        case .nonBlockingFileDescriptor(let fd):
            // Once a line was dropped, later ones get no grace period: the audience is most likely gone.
            let patience: Int32 = droppedLines == 0 ? 2000 : 0
            if !writeWithin(fd, Array(text.utf8), milliseconds: patience) { droppedLines += 1 }
        }
        lock.unlock()
        for listener in listeners { listener(plain) }
    }
}
