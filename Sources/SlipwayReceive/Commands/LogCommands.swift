import Foundation
import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `logs`: the app's log as the runner writes it (`<root>/logs/<app>.log`, see slugrunner): each process's lines
/// and the runner's own events.
extension ManagementCommands {
    /// Lines printed without `--tail`, as `heroku logs` does by default.
    static let logLines = 100

    static let logCommands = [
        ManagementCommand(
            "logs", "<app> [--tail]",
            "Print the app's last \(logLines) log lines (its processes and the runner's events); --tail keeps following.",
            arity: 1...1, options: ["--tail"]
        ) { run in
            let (app, _) = try run.app()
            let path = run.root.layout.log(app.name)
            var reader = LogFollower(path: path)
            let lines = reader.lastLines(logLines)
            if lines.isEmpty && !run.options.contains("--tail") {
                run.out("\(app.name) has no logs yet: they appear once a runner (slugrunner watch) runs a release.")
                return
            }
            for line in lines { run.out(line) }
            guard run.options.contains("--tail") else { return }
            while !(run.context.signals?.poll() != nil || run.context.connectionClosed()) {
                for line in reader.newLines() { run.out(line) }
                usleep(300_000)
            }
        }
    ]
}

/// Reads a log file's tail, then what is appended to it; starts over when the file is replaced (rotated).
struct LogFollower {
    let path: String
    private var offset: Int64 = 0
    private var inode: UInt64 = 0
    private var partial = Data()

    init(path: String) { self.path = path }

    /// The last `count` complete lines; later reads start after them.
    mutating func lastLines(_ count: Int) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let data = (try? handle.readToEnd()) ?? Data()
        offset = Int64(data.count)
        inode = Self.inode(path)
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if let last = lines.last, !data.isEmpty, data.last != 0x0A {
            partial = Data(last)
            lines.removeLast()
        } else if lines.last?.isEmpty == true {
            lines.removeLast()
        }
        return lines.suffix(count).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The complete lines appended since the last read.
    mutating func newLines() -> [String] {
        let current = Self.inode(path)
        var st = stat()
        guard current != 0, stat(path, &st) == 0 else { return [] }
        if current != inode || Int64(st.st_size) < offset {
            // Rotated: read the new file from its start.
            inode = current
            offset = 0
            partial = Data()
        }
        guard Int64(st.st_size) > offset, let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        let data = (try? handle.readToEnd()) ?? Data()
        offset += Int64(data.count)
        partial.append(data)
        var lines = partial.split(separator: 0x0A, omittingEmptySubsequences: false)
        partial = Data(lines.removeLast())
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }

    private static func inode(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
