import Foundation

/// Passes a byte stream to a ``CompressingSink`` on a thread of its own, through a short queue of buffers: the
/// in-process form of `tar | zstd`.
///
/// The writer (reading files and formatting tar) goes on while the compressor works, waits for one of its workers,
/// or writes and hashes its output. Bytes reach the compressor in the order they were written, in pieces of
/// `bufferSize` (the compressors here give the same output however their input is cut). At most `depth` buffers
/// wait. A failure of the compressor is thrown by the next ``write(_:)`` or by ``finish()``.
public final class ThreadedSink: CompressingSink {
    private let queue: BufferQueue
    private let bufferSize: Int
    private var current: [UInt8]
    private var finished = false

    /// Starts the thread that feeds `next`; from now on only that thread touches `next`, until ``finish()`` returns.
    public init(_ next: CompressingSink, bufferSize: Int = 256 * 1024, depth: Int = 4) {
        self.bufferSize = bufferSize
        queue = BufferQueue(depth: depth)
        current = []
        current.reserveCapacity(bufferSize)
        let consumer = Consumer(queue: queue, next: next)
        let thread = Thread { consumer.run() }
        thread.name = "slipway-compress"
        thread.start()
    }

    deinit {
        // Released without finish (a failure upstream): let the thread end; what it still holds is dropped.
        if !finished { queue.put(.end(finish: false)) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw ArchiveError("write", "write after finish") }
        var offset = 0
        while offset < bytes.count {
            let count = min(bufferSize - current.count, bytes.count - offset)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
            offset += count
            if current.count == bufferSize { try send() }
        }
    }

    /// Sends what is left, lets the compressor finish, and waits for it.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        if !current.isEmpty { try send() }
        queue.put(.end(finish: true))
        if let error = queue.waitUntilDone() { throw error }
    }

    private func send() throws {
        if let error = queue.failure { throw error }
        queue.put(.bytes(current))
        current = []
        current.reserveCapacity(bufferSize)
    }
}

/// The buffers between the writer and the compressing thread, and the compressor's first failure.
private final class BufferQueue: @unchecked Sendable {
    enum Item {
        case bytes([UInt8])
        /// No more bytes; `finish` says whether to finish the compressor (false: abandon it).
        case end(finish: Bool)
    }

    private let condition = NSCondition()
    private let depth: Int
    // Guarded by `condition`.
    private var items: [Item] = []
    private var error: Error?
    private var done = false

    init(depth: Int) {
        self.depth = depth
    }

    /// Queues `item`, waiting while `depth` items already wait (an end marker never waits).
    func put(_ item: Item) {
        condition.lock()
        if case .bytes = item {
            while items.count >= depth && error == nil { condition.wait() }
        }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func take() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func fail(_ failure: Error) {
        condition.lock()
        if error == nil { error = failure }
        condition.broadcast()
        condition.unlock()
    }

    var failure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return error
    }

    func markDone() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the compressing thread has ended; returns the compressor's failure, if any.
    func waitUntilDone() -> Error? {
        condition.lock()
        defer { condition.unlock() }
        while !done { condition.wait() }
        return error
    }
}

/// The compressing thread's side: feeds the compressor until the end marker. After a failure it only drains.
private final class Consumer: @unchecked Sendable {
    private let queue: BufferQueue
    /// Used by this thread only.
    private let next: CompressingSink

    init(queue: BufferQueue, next: CompressingSink) {
        self.queue = queue
        self.next = next
    }

    func run() {
        var failed = false
        while true {
            switch queue.take() {
            case .bytes(let bytes):
                guard !failed else { continue }
                do {
                    try bytes.withUnsafeBytes { try next.write($0) }
                } catch {
                    failed = true
                    queue.fail(error)
                }
            case .end(let finish):
                if finish && !failed {
                    do { try next.finish() } catch { queue.fail(error) }
                }
                queue.markDone()
                return
            }
        }
    }
}
