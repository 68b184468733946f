import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

@Suite struct FileSystemTests {
    @Test func createOnceWritesWholeAndNeverReplacesAnotherWritersFile() throws {
        let scratch = try ScratchDirectory("fs-create-once")
        let path = scratch.url("key.json")
        #expect(try DurableFile.createOnce(path, with: Data("first".utf8), mode: 0o600))
        #expect(try !DurableFile.createOnce(path, with: Data("second".utf8), mode: 0o600), "the first one stays")
        #expect(try FileSystem.read(path) == Data("first".utf8))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["key.json"], "no temporary left")
    }

    @Test func removeTreeTakesReadOnlyFoldersButNeverFollowsALink() throws {
        let scratch = try ScratchDirectory("fs-remove")
        let outside = try scratch.write("outside/keep.txt", "keep")
        _ = try scratch.write("tree/a/b/file.txt", "x")
        #expect(symlink(scratch.url("outside"), scratch.url("tree/a/link")) == 0)
        #expect(chmod(scratch.url("tree/a/b"), 0o500) == 0)
        #expect(chmod(scratch.url("tree/a"), 0o500) == 0)

        try FileSystem.removeTree(scratch.url("tree"))

        #expect(!FileManager.default.fileExists(atPath: scratch.url("tree")))
        #expect(try FileSystem.read(outside) == Data("keep".utf8), "the link's target is left alone")
        try FileSystem.removeTree(scratch.url("tree"))  // nothing there is fine
    }

    @Test func removeTreeTakesNamesThatAreNotUTF8() throws {
        let scratch = try ScratchDirectory("fs-bytes")
        try FileSystem.makeFolders(scratch.url("tree/sub"), mode: 0o755)
        let folder = open(scratch.url("tree/sub"), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(folder >= 0)
        let name: [UInt8] = [0x66, 0xFF, 0xFE, 0x2E, 0x74, 0x78, 0x74]  // "f\xFF\xFE.txt"
        let fd = openat(folder, FileSystem.cString(name), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        close(fd)
        #expect(try FileSystem.names(inFolder: folder) == [name], "names come back byte for byte")
        close(folder)

        try FileSystem.removeTree(scratch.url("tree"))

        #expect(!FileManager.default.fileExists(atPath: scratch.url("tree")))
    }

    @Test func readTellsMissingFromFailing() throws {
        let scratch = try ScratchDirectory("fs-read")
        #expect(try FileSystem.read(scratch.url("missing")) == nil)
        #expect(try FileSystem.read(scratch.url("missing/below")) == nil)
        try FileSystem.makeFolders(scratch.url("x/y/z"), mode: 0o750)
        #expect(throws: SystemError.self, "a folder is not a file") { try FileSystem.read(scratch.url("x/y/z")) }
    }

    @Test func pipeEndsAreCloseOnExecAndReadCanBeNonBlocking() throws {
        let pipe = try PipeEnds(nonBlockingRead: true)
        defer { pipe.close() }
        #expect(fcntl(pipe.readEnd, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(pipe.writeEnd, F_GETFD) & FD_CLOEXEC != 0)
        var byte: UInt8 = 0
        #expect(read(pipe.readEnd, &byte, 1) == -1 && errno == EAGAIN, "an empty pipe does not block the reader")
    }
}

@Suite struct SandboxTests {
    @Test func wrapConfinesInTheDocumentedOrder() {
        let sandbox = Sandbox(
            bubblewrap: "/usr/bin/bwrap", user: Sandbox.User(uid: 1234, gid: 1234, name: "app"),
            limits: Sandbox.Limits(processes: 256, fileSize: 1024, openFiles: 64), hidden: ["/srv/root"],
            mounts: [.bind("/srv/dyno/app", at: "/app"), .readOnly("/srv/env", at: "/env"), .tmpfs("/scratch")],
            directory: "/app")
        let (executable, arguments) = sandbox.wrap("/bin/sh", ["-c", "run"])
        #expect(executable == "/usr/bin/bwrap")
        let line = arguments.joined(separator: " ")
        // /app is no folder of the host: the sandbox's root is a tmpfs holding the host's top-level entries read-only
        // (so that /app can be made in it), made read-only itself once everything is mounted.
        #expect(line.contains("--ro-bind /usr /usr"))
        #expect(!line.contains("--ro-bind / /"))
        #expect(
            line.contains(
                "--dev /dev --proc /proc --perms 1777 --tmpfs /tmp --perms 1777 --tmpfs /var/tmp --tmpfs /srv/root"))
        #expect(
            line.contains(
                "--bind /srv/dyno/app /app --ro-bind /srv/env /env --tmpfs /scratch --remount-ro / --chdir /app --"))
        // Where every mount point exists on the host, the host's root is bound read-only as a whole.
        let plain = Sandbox(bubblewrap: "/usr/bin/bwrap", mounts: [.tmpfs("/usr")]).wrap("/bin/true", [])
        #expect(
            plain.1.joined(separator: " ").contains("--ro-bind / / --dev /dev --proc /proc --perms 1777 --tmpfs /tmp"))
        #expect(
            line.hasSuffix(
                "-- /usr/bin/setpriv --reuid=1234 --regid=1234 --clear-groups --no-new-privs -- "
                    + "/usr/bin/prlimit --fsize=1024 --nofile=64 --core=0 --nproc=256 -- /bin/sh -c run"))
    }

    @Test func withoutBubblewrapOnlyTheLimitsApply() {
        let (executable, arguments) = Sandbox(bubblewrap: nil).wrap("/bin/true", [])
        #expect(executable == "/usr/bin/prlimit")
        #expect(arguments == ["--core=0", "--", "/bin/true"])
    }
}
