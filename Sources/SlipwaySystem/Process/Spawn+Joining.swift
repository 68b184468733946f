import CProcessShims

#if canImport(Glibc)
    import Glibc
#endif

extension Spawn {
    /// ``start()`` for a child that joins control groups first: a fork (`slipway_fork_exec`) whose child writes
    /// itself into each `cgroup.procs`, then sets up its group, signals, folder and descriptors as `posix_spawn`
    /// would, and execs. Every file is opened here, before the fork, so that the child only writes and duplicates.
    func startJoining() throws(Failure) -> pid_t {
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        var joinFDs: [Int32] = []
        for path in joining {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(path: path, errno: errno) }
            opened.append(fd)
            joinFDs.append(fd)
        }
        // Every descriptor handed on is first copied above the numbers the child's own take, so that a dup2 never
        // overwrites one that is still to be duplicated.
        let floor = Int32(64 + extraDescriptors.count)
        func copy(_ fd: Int32) throws(Failure) -> Int32 {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, floor)
            guard copy >= 0 else { throw Failure(path: executable, errno: errno) }
            opened.append(copy)
            return copy
        }
        var stdio: [Int32] = []
        for (stream, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            switch stream {
            case .inherit:
                stdio.append(-1)
            case .null:
                let fd = open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC)
                guard fd >= 0 else { throw Failure(path: "/dev/null", errno: errno) }
                opened.append(fd)
                stdio.append(try copy(fd))
            case .descriptor(let fd):
                stdio.append(try copy(fd))
            case .appending(let path):
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw Failure(path: path, errno: errno) }
                opened.append(fd)
                stdio.append(try copy(fd))
            }
        }
        var extras: [Int32] = []
        for fd in extraDescriptors { extras.append(try copy(fd)) }
        let signals = defaultSignals
        let group: Int32 =
            switch self.group {
            case .callers: 0
            case .newGroup: 1
            case .newSession: 2
            }
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        let folder: UnsafeMutablePointer<CChar>? = directory.flatMap { strdup($0) }
        defer {
            for pointer in argv + envp + [folder] { free(pointer) }
        }
        let pid: pid_t = joinFDs.withUnsafeBufferPointer { joins in
            extras.withUnsafeBufferPointer { extraBuffer in
                signals.withUnsafeBufferPointer { signalBuffer in
                    (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
                        (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                            var plan = slipway_fork_plan(
                                join_fds: joins.baseAddress, join_count: Int32(joins.count), group: group,
                                stdio: (stdio[0], stdio[1], stdio[2]), extra_fds: extraBuffer.baseAddress,
                                extra_count: Int32(extraBuffer.count), directory: folder.map { UnsafePointer($0) },
                                default_signals: signalBuffer.baseAddress, default_count: Int32(signalBuffer.count))
                            return slipway_fork_exec(executable, argvBuffer.baseAddress, envpBuffer.baseAddress, &plan)
                        }
                    }
                }
            }
        }
        guard pid > 0 else { throw Failure(path: executable, errno: errno) }
        return pid
    }
}
