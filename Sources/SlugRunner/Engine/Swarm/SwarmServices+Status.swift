import Foundation
import NIOHTTP1
import SlipwayRouting
import SlipwaySpool
import SlipwaySwarm

/// What the swarm runs of an app, for `slugrunner ps`, the router and the app's log.
extension SwarmServices {
    /// The app's dynos: for each process type and slot, its running task, else its latest one.
    func processes(of app: String) -> [AppStatus.Process] {
        let services = services(of: app)
        var processes: [AppStatus.Process] = []
        for (type, service) in services.sorted(by: { $0.key < $1.key }) {
            let all = tasks.filter { $0.serviceID == service.id }
            for slot in Set(all.map(\.slot)).sorted() {
                let attempts = all.filter { $0.slot == slot }.sorted(by: SwarmTask.earlier)
                guard
                    let task = attempts.last(where: \.isRunning) ?? attempts.last(where: {
                        $0.desiredState == "running"
                    })
                        ?? (type == ProcessType.release ? attempts.last : nil)
                else { continue }
                let failures = attempts.filter { $0.hasFailed && $0.entry == task.entry }
                processes.append(
                    AppStatus.Process(
                        dyno: task.dyno, type: type, state: Self.dynoState(task.state), port: task.publishedPort ?? 0,
                        pid: nil, release: task.release,
                        startedAt: task.state == "running" ? task.since.map(AppStatus.isoTime) : nil, uptime: nil,
                        restarts: failures.count, crashLoop: failures.count >= 3 && !task.isRunning,
                        command: service.command, startTicks: nil, node: nodeName(task.nodeID)))
            }
        }
        return processes
    }

    /// A task's state in `ps`'s words.
    static func dynoState(_ state: String) -> String {
        switch state {
        case "running": "up"
        case "complete": "complete"
        case "failed", "rejected": "crashed"
        case "shutdown", "remove", "orphaned": "stopping"
        default: "starting"
        }
    }

    /// Where the router sends the app's requests: each running web task, at its node's address and published port.
    /// When none is both running and meant to run (the node that held them all was drained), the tasks still
    /// draining: Swarm clears a stopping task's ports, so their last known ones are used, and its replacement starts
    /// only once it has stopped.
    func upstreams(of app: String) -> [RouteTable.Upstream] {
        guard let web = services(of: app)[ProcessType.web] else { return [] }
        let mine = tasks.filter { $0.serviceID == web.id }
        var chosen = mine.filter(\.isRunning)
        if chosen.isEmpty { chosen = mine.filter { $0.state == "running" } }
        return chosen.compactMap { task in
            guard let port = task.publishedPort ?? knownPorts[task.id], let node = nodes[task.nodeID],
                !node.address.isEmpty
            else { return nil }
            return RouteTable.Upstream(dyno: task.dyno, port: UInt16(clamping: port), host: node.address)
        }.sorted { $0.dyno < $1.dyno }
    }

    /// The tasks whose state changed since the last call, as log lines for their app.
    func taskChanges() -> [(app: String, dyno: String, text: String)] {
        var lines: [(String, String, String)] = []
        var seen: [String: String] = [:]
        let appOf = Dictionary(services.values.map { ($0.id, $0.app ?? "") }) { first, _ in first }
        for task in tasks.sorted(by: SwarmTask.earlier) {
            seen[task.id] = task.state
            guard taskStates[task.id] != task.state, let app = appOf[task.serviceID], !app.isEmpty else { continue }
            let detail = task.error.map { ": \($0)" } ?? ""
            let port = task.publishedPort.map { ", port \($0)" } ?? ""
            lines.append(
                (
                    app, task.dyno,
                    "Task \(task.id.prefix(12)) of v\(task.release) on \(nodeName(task.nodeID))\(port): "
                        + "\(task.state)\(detail)"
                ))
        }
        taskStates = seen
        return lines
    }

    /// The lines the app's services printed since the last call, with the dyno each came from and the spool entry
    /// of the release its task runs: at most the last `limit` of each service's (a bounded read on the watcher's
    /// loop, whatever a task prints), and the services whose output had more (`overflowed`: older lines were lost).
    func newLogLines(of app: String, limit: Int) -> (
        lines: [(dyno: String, date: Date, text: String, entry: String?)], overflowed: [String]
    ) {
        var lines: [(String, Date, String, String?)] = []
        var overflowed: [String] = []
        let taskOf = Dictionary(tasks.map { ($0.id, $0) }) { first, _ in first }
        for service in services(of: app).values {
            var cursor = logCursors[service.id] ?? LogCursor()
            let query = [
                ("stdout", "1"), ("stderr", "1"), ("timestamps", "1"), ("details", "1"), ("since", cursor.since),
                ("tail", "\(limit)"),
            ]
            guard let reply = try? docker.send(.GET, "/services/\(service.id)/logs", query: query),
                reply.status == 200
            else { continue }
            let read = DockerLogStream.lines(reply.body)
            if read.count >= limit { overflowed.append(service.type ?? "dyno") }
            for line in read {
                guard let entry = DockerLogStream.Entry(line), cursor.isNew(entry) else { continue }
                let task = entry.task.flatMap { taskOf[$0] }
                lines.append((task?.dyno ?? service.type ?? "dyno", entry.date, entry.text, task?.entry))
            }
            logCursors[service.id] = cursor
        }
        return (lines.sorted { $0.1 < $1.1 }, overflowed)
    }
}

/// Where a service's log was read up to: `since` (whole seconds, as the API takes it) and the lines of that last
/// second already taken, so that asking again from there repeats nothing.
struct LogCursor {
    private var second = 0
    private var taken: Set<String> = []

    var since: String { "\(second)" }

    /// Whether `entry` was not taken before; takes it.
    mutating func isNew(_ entry: DockerLogStream.Entry) -> Bool {
        let at = Int(entry.date.timeIntervalSince1970)
        if at < second { return false }
        if at > second {
            second = at
            taken = []
        }
        return taken.insert(entry.raw).inserted
    }
}

/// The Engine API's log stream: frames of an 8-byte header (stream, 0, 0, 0, length big-endian) and a payload, each
/// line `<RFC 3339 time> <details> <text>` with `timestamps` and `details` asked for.
enum DockerLogStream {
    struct Entry {
        var raw: String
        var date: Date
        var task: String?
        var text: String

        init?(_ line: String) {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let date = SwarmTask.date(String(parts[0])) else { return nil }
            raw = line
            self.date = date
            let details = parts[1].split(separator: ",")
            task = details.first { $0.hasPrefix("com.docker.swarm.task.id=") }.map {
                String($0.dropFirst("com.docker.swarm.task.id=".count))
            }
            text = parts.count > 2 ? String(parts[2]) : ""
        }
    }

    /// The lines of a whole (not followed) log answer.
    static func lines(_ data: Data) -> [String] {
        var bytes = [UInt8](data)
        var text: [UInt8] = []
        var offset = 0
        while offset + 8 <= bytes.count, bytes[offset] <= 2, bytes[offset + 1] == 0 {
            let length = bytes[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
            let end = min(bytes.count, offset + 8 + length)
            text += bytes[(offset + 8)..<end]
            offset = end
        }
        if offset == 0 { text = bytes }  // a container with a TTY: no frames
        bytes = []
        return String(decoding: text, as: UTF8.self).split(separator: "\n").map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
    }
}
