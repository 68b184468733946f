import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

/// What dynos are built from: a copy of a release that keeps its shape and never leaves it, a sandbox root where a
/// mount point the host lacks can be made, and a child that is in its control groups before it runs anything.
@Suite struct DynoPrimitivesTests {
    @Test func copyTreeKeepsLinksAsLinksAndModesAndNeverReadsOutside() throws {
        let scratch = try ScratchDirectory("copy-tree")
        _ = try scratch.write("outside/secret.txt", "secret")
        _ = try scratch.write("tree/bin/run", "#!/bin/sh\n", mode: 0o755)
        _ = try scratch.write("tree/data/config.txt", "config", mode: 0o600)
        #expect(symlink("bin/run", scratch.url("tree/start")) == 0)
        #expect(symlink(scratch.url("outside"), scratch.url("tree/escape")) == 0)
        #expect(chmod(scratch.url("tree/data"), 0o500) == 0)

        try FileSystem.copyTree(scratch.url("tree"), to: scratch.url("copy"))

        #expect(try FileSystem.read(scratch.url("copy/bin/run")) == Data("#!/bin/sh\n".utf8))
        var info = stat()
        #expect(stat(scratch.url("copy/bin/run"), &info) == 0 && info.st_mode & 0o777 == 0o755)
        #expect(stat(scratch.url("copy/data/config.txt"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(scratch.url("copy/data"), &info) == 0 && info.st_mode & 0o777 == 0o500, "read-only folders too")
        #expect(lstat(scratch.url("copy/escape"), &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: scratch.url("copy/start")) == "bin/run",
            "links keep their target as written")
        #expect(throws: SystemError.self) { try FileSystem.copyTree(scratch.url("tree"), to: scratch.url("copy")) }
        try FileSystem.removeTree(scratch.url("copy"))
        try FileSystem.removeTree(scratch.url("tree"))
        #expect(try FileSystem.read(scratch.url("outside/secret.txt")) == Data("secret".utf8))
    }

    @Test func aMountWhereTheHostHasNothingGetsARootOfItsOwn() {
        let plain = Sandbox(bubblewrap: "/usr/bin/bwrap", mounts: [.bind("/srv/x", at: "/tmp/build")])
        #expect(!plain.needsOwnRoot)
        #expect(bindsHostRoot(plain.wrap("/bin/true", []).1))
        let dyno = Sandbox(
            bubblewrap: "/usr/bin/bwrap", mounts: [.bind("/srv/x", at: "/app-that-is-not-on-this-host")],
            directory: "/app-that-is-not-on-this-host")
        let arguments = dyno.wrap("/bin/true", []).1
        #expect(dyno.needsOwnRoot)
        #expect(!bindsHostRoot(arguments))
        #expect(arguments.contains("/usr") && arguments.contains("--remount-ro"))
    }

    private func bindsHostRoot(_ arguments: [String]) -> Bool {
        arguments.indices.dropLast(2).contains {
            arguments[$0] == "--ro-bind" && arguments[$0 + 1] == "/" && arguments[$0 + 2] == "/"
        }
    }

    @Test(.enabled(if: Sandbox.workingBubblewrap != nil, "needs a working bubblewrap"))
    func theOwnRootIsReadOnlyWithTheMountWritable() throws {
        let scratch = try ScratchDirectory("own-root")
        _ = try scratch.write("app/hello.txt", "hello")
        let sandbox = Sandbox(
            bubblewrap: Sandbox.workingBubblewrap, mounts: [.bind(scratch.url("app"), at: "/app")], directory: "/app")
        let (executable, arguments) = sandbox.wrap(
            "/bin/sh", ["-c", "cat hello.txt; touch /app/new && echo app-ok; touch /x 2>/dev/null || echo root-ro"])
        let result = try runTool([executable] + arguments, timeout: 30)
        #expect(result.stdout == "helloapp-ok\nroot-ro\n", "\(result.output)")
        #expect(FileManager.default.fileExists(atPath: scratch.url("app/new")))
    }
}

/// A child joins its control groups before exec (root and a memory controller).
@Suite(.enabled(if: geteuid() == 0 && ControlGroup.current() != nil, "needs root and a memory controller"))
struct SpawnJoiningTests {
    @Test func theChildIsInItsGroupBeforeItRunsAnything() throws {
        let hierarchy = try #require(ControlGroup.current())
        let group = try ControlGroup.create(
            "slipway-test/\(getpid())-join", in: hierarchy, memoryBytes: 64 << 20, processes: 16)
        defer {
            _ = waitUntil(seconds: 10) { group.remove() }
            for folder in group.folders { rmdir((folder as NSString).deletingLastPathComponent) }
        }
        let pipe = try PipeEnds()
        var spawn = Spawn(executable: "/bin/cat", arguments: ["/proc/self/cgroup"], environment: [:])
        spawn.stdout = .descriptor(pipe.writeEnd)
        spawn.group = .newSession
        spawn.joining = group.procsFiles
        let pid = try spawn.start()
        close(pipe.writeEnd)
        let output = readAll(pipe.readEnd)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status == 0)
        #expect(output.contains("slipway-test/\(getpid())-join"), "\(output)")

        var missing = Spawn(executable: "/nonexistent/program", environment: [:])
        missing.joining = group.procsFiles
        #expect(throws: Spawn.Failure(path: "/nonexistent/program", errno: ENOENT)) { try missing.start() }
        var nowhere = Spawn(executable: "/bin/true", environment: [:])
        nowhere.joining = ["/nonexistent/cgroup.procs"]
        #expect(throws: Spawn.Failure(path: "/nonexistent/cgroup.procs", errno: ENOENT)) { try nowhere.start() }
    }

    private func readAll(_ fd: Int32) -> String {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        close(fd)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A network namespace of its own: only its loopback and `eth0`, the host reaches it at its address, and it is gone
/// once removed (root and iproute2).
@Suite(.enabled(if: geteuid() == 0 && access(NetworkNamespace.ip, X_OK) == 0, "needs root and iproute2"))
struct NetworkNamespaceTests {
    @Test func aProgramInItSeesItsOwnInterfacesAndTheHostReachesItsAddress() throws {
        let slot = Int(getpid() % 250)
        let namespace = NetworkNamespace(
            name: "slipway-test-\(getpid())", hostInterface: "slwt\(getpid() % 100_000)",
            hostAddress: "10.252.\(slot).1", address: "10.252.\(slot).2")
        try namespace.create()
        defer { namespace.remove() }
        #expect(NetworkNamespace.names(startingWith: "slipway-test-\(getpid())") == [namespace.name])

        let sandbox = Sandbox(bubblewrap: nil, network: namespace.path)
        let (executable, arguments) = sandbox.wrap("/bin/cat", ["/proc/net/dev"])
        #expect(executable == NetworkNamespace.nsenter && arguments.first == "--net=\(namespace.path)")
        let listed = try runTool([executable] + arguments, timeout: 30)
        let interfaces = listed.stdout.split(separator: "\n").dropFirst(2).compactMap {
            $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces)
        }
        #expect(interfaces.sorted() == ["eth0", "lo"], "\(listed.output)")

        let port = try freeLoopbackPort()
        let (server, serverArguments) = sandbox.wrap(
            "/usr/bin/python3", ["-m", "http.server", "\(port)", "--bind", "0.0.0.0"])
        let process = try TestProcess([server] + serverArguments)
        defer { process.terminate(grace: 5) }
        #expect(waitUntil(seconds: 30) { portAcceptsConnections(port, host: namespace.address) })
        #expect(!portAcceptsConnections(port, host: "127.0.0.1"), "not on the host's loopback")

        namespace.remove()
        #expect(NetworkNamespace.names(startingWith: "slipway-test-\(getpid())").isEmpty)
    }
}
