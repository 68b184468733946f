public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who listens on a TCP port of this network namespace, from `/proc/net/tcp{,6}` and the processes' descriptors: the
/// proof that a connection to a port reaches a given process tree, and not whoever else bound the port a moment
/// before (any process of the machine can, when dynos share the host's network).
public enum ListeningSockets {
    /// The socket inodes listening on `port`, on any address, IPv4 or IPv6.
    public static func inodes(listeningOn port: UInt16) -> Set<UInt64> {
        var found: Set<UInt64> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let data = try? FileSystem.read(table) else { continue }
            found.formUnion(inodes(listeningOn: port, table: String(decoding: data, as: UTF8.self)))
        }
        return found
    }

    /// The inodes of the listening sockets (state `0A`) on `port` in one of the kernel's tables, whose lines read
    /// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …`, addresses as `HEX:PORT`.
    static func inodes(listeningOn port: UInt16, table: String) -> Set<UInt64> {
        var found: Set<UInt64> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A",
                let local = fields[1].split(separator: ":").last, UInt16(local, radix: 16) == port,
                let inode = UInt64(fields[9]), inode != 0
            else { continue }
            found.insert(inode)
        }
        return found
    }

    /// Whether a process of the tree under `root` (itself included) holds one of `inodes`.
    public static func tree(of root: pid_t, holdsAnyOf inodes: Set<UInt64>) -> Bool {
        guard !inodes.isEmpty else { return false }
        var pending = [root]
        var seen: Set<pid_t> = []
        while let pid = pending.popLast() {
            guard seen.insert(pid).inserted else { continue }
            if holds(pid, anyOf: inodes) { return true }
            pending.append(contentsOf: ChildProcess.childProcesses(of: pid))
        }
        return false
    }

    /// Whether `pid` has a descriptor open on one of the sockets `inodes` (its links read `socket:[inode]`).
    static func holds(_ pid: pid_t, anyOf inodes: Set<UInt64>) -> Bool {
        let folder = "/proc/\(pid)/fd"
        guard let names = try? FileSystem.names(in: folder) else { return false }
        var buffer = [CChar](repeating: 0, count: 64)
        for name in names {
            let length = readlink("\(folder)/\(name)", &buffer, buffer.count - 1)
            guard length > 9 else { continue }
            let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target.hasPrefix("socket:["), target.hasSuffix("]"),
                let inode = UInt64(target.dropFirst(8).dropLast())
            else { continue }
            if inodes.contains(inode) { return true }
        }
        return false
    }
}
