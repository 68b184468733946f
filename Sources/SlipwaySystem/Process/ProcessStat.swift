import Foundation
public import Glibc

/// What `/proc/<pid>/stat` says of a process that supervisors need: its parent, its process group and when it
/// started. The one reader of that file.
public struct ProcessStat: Sendable, Equatable {
    /// Field 4: the parent's pid.
    public var parent: pid_t
    /// Field 5: the process group.
    public var group: pid_t
    /// Field 22: the start time in clock ticks since boot (with the pid, it names one process for good).
    public var startTicks: UInt64

    /// The process `pid`'s facts; nil if it is gone (or the file cannot be read).
    public static func read(_ pid: pid_t) -> ProcessStat? {
        guard let data = try? FileSystem.read("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let parent = pid_t(fields[1]), let group = pid_t(fields[2]),
            let ticks = UInt64(fields[19])
        else { return nil }
        return ProcessStat(parent: parent, group: group, startTicks: ticks)
    }

    /// Every process of this PID namespace, with its facts.
    public static func all() -> [(pid: pid_t, stat: ProcessStat)] {
        ((try? FileSystem.names(in: "/proc")) ?? []).compactMap { name in
            guard let pid = pid_t(name), let stat = read(pid) else { return nil }
            return (pid, stat)
        }
    }
}
