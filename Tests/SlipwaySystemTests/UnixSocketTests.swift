import Foundation
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Unix sockets that carry descriptors: what the door uses to hand an SSH session's stdio to the runner.
@Suite struct UnixSocketTests {
    @Test func descriptorsTravelWithTheBytesAndStayUsable() throws {
        let scratch = try ScratchDirectory("socket")
        let path = scratch.url("control.sock")
        let listener = try UnixSocket.listen(at: path, mode: 0o600)
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK && info.st_mode & 0o777 == 0o600)
        #expect(try listener.accept() == nil, "nobody waits yet, and accept does not block")

        var client: UnixSocket? = try UnixSocket.connect(to: path)
        let server = try #require(try listener.accept())
        let pipe = try PipeEnds()
        defer { pipe.close() }
        try client?.send(Data("hello\n".utf8), fds: [pipe.writeEnd, pipe.writeEnd])
        #expect(server.waitReadable(milliseconds: 5000))
        let received = try server.receive(maximumDescriptors: 4)
        #expect(String(decoding: received.data, as: UTF8.self) == "hello\n")
        #expect(received.fds.count == 2)
        #expect(received.fds.allSatisfy { $0 != pipe.writeEnd && fcntl($0, F_GETFD) & FD_CLOEXEC != 0 })

        // Writing through the received copy reaches the pipe this side created.
        writeAll(received.fds[0], Array("through\n".utf8))
        for fd in received.fds { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(pipe.readEnd, &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(0, count)], as: UTF8.self) == "through\n")

        #expect(!server.peerClosed)
        try server.send(Data("reply\n".utf8))
        #expect(String(decoding: try #require(client).receive().data, as: UTF8.self) == "reply\n")
        client = nil
        #expect(waitUntil(seconds: 5) { server.peerClosed })
        #expect(try server.receive().data.isEmpty, "end of file once the peer is gone")
    }

    @Test func tooManyDescriptorsAreRefusedAndNoneLeaks() throws {
        let scratch = try ScratchDirectory("socket")
        let listener = try UnixSocket.listen(at: scratch.url("s.sock"))
        let client = try UnixSocket.connect(to: scratch.url("s.sock"))
        let server = try #require(try listener.accept())
        try client.send(Data("x".utf8), fds: [0, 1, 2])
        #expect(server.waitReadable(milliseconds: 5000))
        #expect(throws: SystemError.self) { try server.receive(maximumDescriptors: 2) }
    }

    @Test func aStaleSocketIsReplacedAndAMissingOneIsNamed() throws {
        let scratch = try ScratchDirectory("socket")
        let path = scratch.url("control.sock")
        do {
            let first = try UnixSocket.listen(at: path)
            _ = first
        }
        // The first listener is gone; its file stayed behind.
        #expect(FileManager.default.fileExists(atPath: path))
        let error = #expect(throws: SystemError.self) { try UnixSocket.connect(to: path) }
        #expect(error?.errno == ECONNREFUSED)
        let second = try UnixSocket.listen(at: path)
        _ = try UnixSocket.connect(to: path)
        #expect(try second.accept() != nil)
        let missing = #expect(throws: SystemError.self) { try UnixSocket.connect(to: scratch.url("none.sock")) }
        #expect(missing?.errno == ENOENT)
        let long = String(repeating: "x", count: UnixSocket.maximumPathLength + 1)
        #expect(throws: SystemError.self) { try UnixSocket.connect(to: long) }
    }
}
