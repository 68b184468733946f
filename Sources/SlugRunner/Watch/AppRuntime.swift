import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Everything the watcher knows about one app.
final class AppRuntime {
    let name: String
    /// The deploy decisions: the current release and the one on its way in.
    var machine: DeployMachine
    /// What the door wants of the app's dynos (`dynos.json`: formation, memory, restarts, domains, health check).
    var wanted = DynoSettings()
    /// Why the formation `dynos.json` asks for is not run (past the runner's limit); nil when it is.
    var formationRefused: String?
    /// `dynos.json`'s bytes when last read, to notice a change.
    var wantedData: Data?
    var lastDeploy: AppStatus.Deploy?
    /// Replaced or failed releases, whose files go once none of their processes is left.
    var retiring: [UnpackedRelease] = []
    /// The status last written to `state.json`.
    var writtenStatus: AppStatus?
    /// The web count autoscaling chose, while `dynos.json` has the app autoscaled.
    var autoscaledWeb: Int?

    init(name: String, machine: DeployMachine) {
        self.name = name
        self.machine = machine
    }

    /// The release that serves.
    var current: UnpackedRelease? { machine.current }

    /// How many processes of each type run.
    var formation: Formation {
        get { machine.formation }
        set { machine.formation = newValue }
    }
}

/// Results of the work done off the main loop (checking and unpacking slugs), and a pipe that wakes the loop.
final class Mailbox: @unchecked Sendable {
    /// How preparing an entry ended.
    enum Outcome: Sendable {
        case ready(UnpackedRelease)
        case refused(String)
    }

    struct Result: Sendable {
        let app: String
        let entry: String
        let outcome: Outcome
    }

    /// Readable when results are waiting.
    let readFD: Int32
    private let writeFD: Int32
    private let lock = NSLock()
    private var results: [Result] = []

    init() throws {
        let pipe = try Spawner.outputPipe()
        readFD = pipe.readEnd
        writeFD = pipe.writeEnd
        // A full pipe already wakes the loop: the worker must never block on it.
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Called from a worker thread.
    func post(_ result: Result) {
        lock.withLock { results.append(result) }
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Wakes the loop without a result (another worker has something for it).
    func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// The results posted since the last call.
    func take() -> [Result] {
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(readFD, $0.baseAddress, $0.count) }) > 0 {}
        return lock.withLock {
            defer { results.removeAll() }
            return results
        }
    }
}
