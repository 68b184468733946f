import CGit2
import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What ``Repository/exportTree(of:to:threads:)`` writes, in tree order, once every entry has been checked.
struct ExportPlan {
    /// A regular file to write.
    struct File {
        /// The entry's name as libgit2 gave it, byte for byte, with its terminating NUL.
        var name: [CChar]
        /// The path from the export directory, for messages.
        var path: String
        var id: git_oid
        var mode: mode_t
    }

    enum Step {
        /// Create the folder `name` in the current folder and make it the current folder.
        case enterFolder(name: [CChar], path: String)
        /// Go back to the parent folder.
        case leaveFolder
        case file(File)
        case symlink(name: [CChar], path: String, id: git_oid)
        case submodule(path: String)
    }

    var steps: [Step] = []
}

/// Carries out an ``ExportPlan``: folders and symlinks on the calling thread, in tree order; regular files in
/// batches of one folder each, on worker threads and on the calling thread once the walk is done.
///
/// Each thread reads blobs through its own repository handle; a batch owns a duplicate of its folder's descriptor,
/// so every file is still created relative to its parent with `O_NOFOLLOW | O_EXCL`.
struct TreeWriter {
    /// The most files in one batch. A batch holds the files of one folder, so two threads seldom create files in the
    /// same folder at once (creating a file locks its folder); only a folder with more files than this is split.
    static let batchSize = 256

    var plan: ExportPlan
    var repository: Repository
    var threads: Int

    func write(into root: Int32) throws -> ExportReport {
        let queue = ExportQueue(workers: threads - 1, limit: 4 * max(1, threads))
        let origin = repository.origin
        for index in 0..<(threads - 1) {
            let thread = Thread { ExportQueue.work(queue, origin: origin) }
            thread.name = "slipway-export-\(index)"
            thread.start()
        }
        var report = ExportReport()
        let own: BlobWriter
        do {
            own = try BlobWriter(repository)
            try walk(into: root, queue: queue, writer: own, report: &report)
        } catch {
            queue.fail(error)
            queue.close()
            queue.drain()
            queue.waitForWorkers()
            throw queue.failure ?? error
        }
        queue.close()
        // The walk is done: help the workers with what is left.
        while let batch = queue.take() { queue.run(batch, with: own) }
        queue.waitForWorkers()
        if let failure = queue.failure { throw failure }
        let written = queue.written
        report.fileCount = written.files
        report.byteCount = written.bytes
        report.lfsPointers = written.lfsPointers.sorted { $0.order < $1.order }.map(\.path)
        return report
    }

    /// Creates the folders and symlinks in tree order and queues the files.
    private func walk(into root: Int32, queue: ExportQueue, writer: BlobWriter, report: inout ExportReport) throws {
        // The open folders from the export directory down to the current one; the first is the caller's.
        var folders: [Int32] = [root]
        var batch: FileBatch?
        var order = 0
        defer {
            if let batch { close(batch.folder) }
            for fd in folders.dropFirst() { close(fd) }
        }
        func flush() {
            if let full = batch { queue.put(full, helpingWith: writer) }
            batch = nil
        }
        for step in plan.steps {
            if queue.hasFailed { return }
            let current = folders[folders.count - 1]
            switch step {
            case .enterFolder(let name, let path):
                flush()
                guard mkdirat(current, name, 0o755) == 0 else { throw GitError.system("mkdirat", errno, path: path) }
                let child = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw GitError.system("openat", errno, path: path) }
                folders.append(child)
                guard fchmod(child, 0o755) == 0 else { throw GitError.system("fchmod", errno, path: path) }
                report.directoryCount += 1
            case .leaveFolder:
                flush()
                close(folders.removeLast())
            case .file(let file):
                if batch == nil {
                    let copy = fcntl(current, F_DUPFD_CLOEXEC, 0)
                    guard copy >= 0 else { throw GitError.system("fcntl", errno, path: file.path) }
                    batch = FileBatch(folder: copy)
                }
                batch?.files.append((file, order))
                order += 1
                if let count = batch?.files.count, count >= Self.batchSize { flush() }
            case .symlink(let name, let path, let id):
                try writer.withBlob(id, path: path) { target in
                    try makeSymlink(to: target, named: name, in: current, path: path)
                }
                report.symlinkCount += 1
            case .submodule(let path):
                report.skippedSubmodules.append(path)
            }
        }
        flush()
    }
}

/// A run of files of one folder, handed to one thread. It owns `folder`, a duplicated descriptor, and whoever
/// takes the batch closes it.
final class FileBatch: @unchecked Sendable {
    let folder: Int32
    var files: [(file: ExportPlan.File, order: Int)] = []

    init(folder: Int32) {
        self.folder = folder
    }
}

/// The batches waiting to be written, the first failure, and what was written; shared by the walking thread and
/// the workers under one lock.
final class ExportQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let limit: Int
    // Everything below is guarded by `condition`.
    private var batches: [FileBatch] = []
    private var closed = false
    private var runningWorkers: Int
    private var firstFailure: Error?
    private var files = 0
    private var bytes: Int64 = 0
    private var lfs: [(order: Int, path: String)] = []

    init(workers: Int, limit: Int) {
        runningWorkers = workers
        self.limit = limit
    }

    /// A worker's whole life: open its own repository handle, then write batches until the queue is closed and
    /// empty. After a failure it only closes the descriptors of the batches it takes.
    static func work(_ queue: ExportQueue, origin: Repository.Origin) {
        do {
            let writer = try BlobWriter(try origin.open())
            while let batch = queue.take() { queue.run(batch, with: writer) }
        } catch {
            queue.fail(error)
            queue.drain()
        }
        queue.workerFinished()
    }

    /// Writes every file of `batch` (unless something already failed) and closes its folder.
    func run(_ batch: FileBatch, with writer: BlobWriter) {
        defer { closeDescriptor(batch.folder) }
        var count = 0
        var total: Int64 = 0
        var pointers: [(order: Int, path: String)] = []
        for (file, order) in batch.files {
            if hasFailed { return }
            do {
                let (size, isPointer) = try writer.write(file, in: batch.folder)
                count += 1
                total += Int64(size)
                if isPointer { pointers.append((order, file.path)) }
            } catch {
                fail(error)
                return
            }
        }
        condition.lock()
        files += count
        bytes += total
        lfs += pointers
        condition.unlock()
    }

    /// Queues `batch`; when the queue is full, writes the oldest waiting batch on this thread instead of waiting,
    /// so the number of open descriptors stays bounded and one thread alone still gets through.
    func put(_ batch: FileBatch, helpingWith writer: BlobWriter) {
        condition.lock()
        batches.append(batch)
        condition.signal()
        let oldest = batches.count > limit ? batches.removeFirst() : nil
        condition.unlock()
        if let oldest { run(oldest, with: writer) }
    }

    /// The oldest waiting batch; waits while the queue is open and empty; nil once it is closed and empty.
    func take() -> FileBatch? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !closed { condition.wait() }
        return batches.isEmpty ? nil : batches.removeFirst()
    }

    /// No more batches will come.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the descriptors of every waiting batch without writing anything.
    func drain() {
        condition.lock()
        let left = batches
        batches.removeAll()
        condition.unlock()
        for batch in left { closeDescriptor(batch.folder) }
    }

    /// Records `error` unless an earlier one was recorded.
    func fail(_ error: Error) {
        condition.lock()
        if firstFailure == nil { firstFailure = error }
        condition.unlock()
    }

    var hasFailed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure != nil
    }

    var failure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure
    }

    var written: (files: Int, bytes: Int64, lfsPointers: [(order: Int, path: String)]) {
        condition.lock()
        defer { condition.unlock() }
        return (files, bytes, lfs)
    }

    func workerFinished() {
        condition.lock()
        runningWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until every worker has returned.
    func waitForWorkers() {
        condition.lock()
        while runningWorkers > 0 { condition.wait() }
        condition.unlock()
    }
}

/// Reads blobs through one repository handle and writes them out. Used by one thread only.
final class BlobWriter {
    private let repository: Repository
    private let database: OpaquePointer

    init(_ repository: Repository) throws {
        self.repository = repository
        var database: OpaquePointer?
        try check(git_repository_odb(&database, repository.handle), "git_repository_odb", subject: repository.path)
        guard let database else { throw GitError.library("git_repository_odb", -1, subject: repository.path) }
        self.database = database
    }

    deinit {
        git_odb_free(database)
    }

    /// Reads the blob `id` straight from the object database and passes its bytes to `body`.
    func withBlob<T>(_ id: git_oid, path: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var object: OpaquePointer?
        var id = id
        try check(git_odb_read(&object, database, &id), "git_odb_read", subject: path)
        defer { git_odb_object_free(object) }
        guard git_odb_object_type(object) == GIT_OBJECT_BLOB else {
            throw GitError(
                kind: .library, function: "git_odb_read", returnCode: -1,
                message:
                    "'\(path)' points at a \(String(cString: git_object_type2string(git_odb_object_type(object)))), not a blob"
            )
        }
        return try body(UnsafeRawBufferPointer(start: git_odb_object_data(object), count: git_odb_object_size(object)))
    }

    /// Writes `file` into the folder open as `folder`; returns its size and whether it is a Git LFS pointer.
    func write(_ file: ExportPlan.File, in folder: Int32) throws -> (Int, Bool) {
        try withBlob(file.id, path: file.path) { content in
            try writeFile(content, named: file.name, in: folder, mode: file.mode, path: file.path)
            return (content.count, Repository.isLFSPointer(content))
        }
    }
}

/// `close(2)`, under a name that methods called `close` do not hide.
private func closeDescriptor(_ fd: Int32) {
    close(fd)
}

/// Creates a new file (never replacing or following anything) and writes `content` with as few `write`s as the
/// kernel allows.
private func writeFile(
    _ content: UnsafeRawBufferPointer, named name: UnsafePointer<CChar>, in directory: Int32, mode: mode_t,
    path: String
) throws {
    let fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard fd >= 0 else { throw GitError.system("openat", errno, path: path) }
    var closed = false
    defer { if !closed { close(fd) } }
    guard fchmod(fd, mode) == 0 else { throw GitError.system("fchmod", errno, path: path) }
    do { try DurableFile.writeAll(fd, content, path: path) } catch {
        throw GitError.system("write", error.errno, path: path)
    }
    closed = true
    guard close(fd) == 0 else { throw GitError.system("close", errno, path: path) }
}

/// Creates a symlink whose target is `target`'s bytes, exactly, without ever resolving it.
private func makeSymlink(
    to target: UnsafeRawBufferPointer, named name: [CChar], in directory: Int32, path: String
) throws {
    // A C string cannot hold a NUL; cutting the target there would make a different link than git's.
    guard !target.isEmpty, !target.contains(0) else {
        throw GitError(
            kind: .unsafeTreeEntry, function: "exportTree", returnCode: -1,
            message: "symlink '\(path)' has an empty target or one containing a NUL byte")
    }
    var cTarget = [CChar](repeating: 0, count: target.count + 1)
    cTarget.withUnsafeMutableBytes { $0.copyMemory(from: target) }
    guard symlinkat(cTarget, directory, name) == 0 else { throw GitError.system("symlinkat", errno, path: path) }
}
