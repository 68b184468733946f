import CProcessShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ChildProcess {
    /// Makes this process adopt the orphans of the programs it runs (`PR_SET_CHILD_SUBREAPER`), so that a program
    /// that leaves its process group (`setsid`, a double fork) is still stopped (or at least reaped) when its run
    /// ends. For the processes that supervise what they start (`slugc`, the push hook, the door, the runner); never
    /// in a process that has other children (a test runner).
    public static func adoptOrphans() {
        _ = slipway_set_child_subreaper()
    }

    /// Asks for SIGTERM when this process's parent exits (a hook whose `git receive-pack` died: its push can no
    /// longer land, so its build stops). Sends it at once if the parent is already gone.
    public static func stopWithParent() {
        if slipway_set_parent_death_signal(SIGTERM, getppid()) == 1 { kill(getpid(), SIGTERM) }
    }

    /// Kills and reaps every child this process has adopted (see ``adoptOrphans()``); nothing when it adopts none.
    /// Children it started itself and still supervises (detect scripts run side by side) are not orphans.
    static func killOrphans() {
        guard slipway_is_child_subreaper() == 1 else { return }
        let me = getpid()
        for _ in 0..<100 {
            let orphans = SupervisedChildren.shared.unsupervised(childProcesses(of: me))
            if orphans.isEmpty { return }
            for pid in orphans {
                kill(pid, SIGKILL)
                _ = reap(pid, block: true)
            }
        }
    }

    /// The processes whose parent is `parent`, from /proc: each of its threads' `children` list (a small file per
    /// thread, where the kernel has them), else a scan of every process's `stat`.
    static func childProcesses(of parent: pid_t) -> [pid_t] {
        let tasks = "/proc/\(parent)/task"
        guard let threads = try? FileSystem.names(in: tasks), let first = threads.first,
            access("\(tasks)/\(first)/children", R_OK) == 0
        else { return ProcessStat.all().filter { $0.stat.parent == parent }.map(\.pid) }
        return threads.flatMap { thread -> [pid_t] in
            let data = (try? FileSystem.read("\(tasks)/\(thread)/children")) ?? nil
            return String(decoding: data ?? Data(), as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap {
                pid_t($0)
            }
        }
    }
}

/// The children this process started (``Spawn/start()``, so ``ChildProcess`` too) and has not reaped yet: a subreaper
/// such as the runner supervises its dynos itself, and a ``ChildProcess`` it runs meanwhile must not kill them as
/// orphans once it ends. A child is started and recorded under one lock, which the search for orphans takes too: one
/// thread's child, started a moment before, is never taken for an orphan by another thread (detect scripts run side
/// by side).
final class SupervisedChildren: @unchecked Sendable {
    static let shared = SupervisedChildren()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []

    /// Starts a child with `start` and records it, under the lock.
    func starting<Failure: Error>(_ start: () throws(Failure) -> pid_t) throws(Failure) -> pid_t {
        lock.lock()
        defer { lock.unlock() }
        let pid = try start()
        pids.insert(pid)
        return pid
    }

    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }

    /// Those of the children `children` lists (read under the lock) that this process did not start.
    func unsupervised(_ children: @autoclosure () -> [pid_t]) -> [pid_t] {
        lock.withLock { children().filter { !pids.contains($0) } }
    }
}

/// Reaps `pid` if it has exited (or waits for it when `block`), returning how it ended.
func reap(_ pid: pid_t, block: Bool) -> ExitStatus? {
    let outcome = Reaping.reap(pid, block: block)
    if outcome != .running { SupervisedChildren.shared.remove(pid) }
    switch outcome {
    case .running: return nil
    case .ended(let status): return status
    case .notAChild: return .exited(127)
    }
}
